// The hybrid stage as the pages hold it: a room's sources (from the `stage` event and
// `room_state.sources`), its WHEP slots, and what a stage view shows of them: which source
// each video slot carries, which one is large, who is heard but not seen. Pure: no DOM.

/** The role of the hall's own feed (the hall encoder publishes with a technician's token). */
export const HALL_ROLE = 'technician';

// However many slots a room announces, a page never offers more than this many of a kind.
const MOST_SLOTS = 16;
const KINDS = new Set(['audio', 'video']);

export const Layout = Object.freeze({
  // Nothing with a picture on stage.
  EMPTY: 'empty',
  // The hall large, the others beside it (under it on a phone).
  FEATURE: 'feature',
  // Every picture the same size.
  GRID: 'grid',
});

/** A `stage` event body: {room, sources}; throws on a body that is not one. */
export function parseStage(body) {
  if (!body || typeof body !== 'object' || typeof body.room !== 'string' || !Array.isArray(body.sources)) {
    throw new TypeError('not a stage event');
  }
  return Object.freeze({ room: body.room, sources: parseSources(body.sources) });
}

/** The sources of a room; entries that are not sources are left out. Null when `raw` is no list. */
export function parseSources(raw) {
  if (!Array.isArray(raw)) return null;
  return Object.freeze(raw.map(parseSource).filter((source) => source !== null));
}

/** A room's WHEP slots {audio, video}, or null when the server does not announce them. */
export function parseSlots(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const audio = slotCount(raw.audio);
  const video = slotCount(raw.video);
  return audio === null || video === null ? null : Object.freeze({ audio, video });
}

/**
 * The m-lines a stage-aware receiver offers: {audio, video}. Without announced slots, one of
 * each (the server then sends the programme); none of video when `soundOnly`.
 */
export function offeredSlots(slots, { soundOnly = false } = {}) {
  const audio = Math.max(1, slots?.audio ?? 1);
  return Object.freeze({ audio, video: soundOnly ? 0 : (slots?.video ?? 1) });
}

/** An offer of at most one audio and one video m-line gets the programme, not the slots. */
export function isProgramme(offered) {
  return offered.audio <= 1 && offered.video <= 1;
}

/**
 * What a stage view shows of `sources` (null: not known yet) over a session with `offered`
 * m-lines: {layout, columns, tiles: [{slot, id, name, role, speaking, feature}], heard:
 * [{id, name, speaking}] (on stage, heard but not seen), onStage (how many are shown)}.
 * `without`: the page's own source (its session is never sent it); `remoteOnly`: leave the
 * hall out; `featureHall`: the hall's picture large.
 */
export function arrangeStage(sources, offered, { without = null, remoteOnly = false, featureHall = true } = {}) {
  if (isProgramme(offered)) return programme(sources, offered, { without, remoteOnly });
  const shown = onStageFor(sources ?? [], { without, remoteOnly });
  const seen = shown.filter((source) => hasPicture(source, offered.video));
  seen.sort((a, b) => a.slot - b.slot);
  const feature = featureHall && seen.length > 1 ? seen.find((source) => source.role === HALL_ROLE) ?? null : null;
  const ordered = feature === null ? seen : [feature, ...seen.filter((source) => source !== feature)];
  const tiles = ordered.map((source) => tileOf(source, source === feature));
  return Object.freeze({
    layout: layoutOf(tiles.length, feature !== null),
    columns: feature === null ? gridColumns(tiles.length) : 2,
    tiles: Object.freeze(tiles),
    heard: heardOf(shown.filter((source) => !seen.includes(source))),
    onStage: shown.length,
  });
}

/** Columns for `count` pictures of the same size: 1, 2 up to four, 3 up to nine, then 4. */
export function gridColumns(count) {
  if (count <= 1) return 1;
  if (count <= 4) return 2;
  return count <= 9 ? 3 : 4;
}

/** The source `id` among `sources`, or null. */
export function sourceById(sources, id) {
  return (sources ?? []).find((source) => source.id === id) ?? null;
}

/**
 * A plain session's one picture is the programme: shown, without a name, while anyone else
 * is on stage (or, before the server has said who is, always).
 */
function programme(sources, offered, { without, remoteOnly }) {
  const shown = sources === null ? null : onStageFor(sources, { without, remoteOnly });
  const visible = offered.video > 0 && (shown === null || shown.some((source) => source.kinds.includes('video')));
  const tiles = visible
    ? [Object.freeze({ slot: 0, id: null, name: '', role: '', speaking: false, feature: false })]
    : [];
  const heard = heardOf(visible || shown === null ? [] : shown);
  return Object.freeze({
    layout: layoutOf(tiles.length, false),
    columns: 1,
    tiles: Object.freeze(tiles),
    heard,
    onStage: shown === null ? null : shown.length,
  });
}

/** Of `sources`, those on stage that this session is sent. */
function onStageFor(sources, { without, remoteOnly }) {
  return sources.filter((source) => source.onStage && source.id !== without
    && !(remoteOnly && source.role === HALL_ROLE));
}

/** Of `sources`, those that send sound: {id, name, speaking}. */
function heardOf(sources) {
  return Object.freeze(sources.filter((source) => source.kinds.includes('audio'))
    .map(({ id, name, speaking }) => Object.freeze({ id, name, speaking })));
}

function hasPicture(source, videoSlots) {
  return source.slot !== null && source.slot < videoSlots && source.kinds.includes('video');
}

function tileOf(source, feature) {
  const { slot, id, name, role, speaking } = source;
  return Object.freeze({ slot, id, name, role, speaking, feature });
}

function layoutOf(count, featured) {
  if (count === 0) return Layout.EMPTY;
  return featured ? Layout.FEATURE : Layout.GRID;
}

function parseSource(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string' || raw.id === '') return null;
  const slot = Number.isInteger(raw.slot) && raw.slot >= 0 ? raw.slot : null;
  return Object.freeze({
    id: raw.id,
    name: typeof raw.name === 'string' ? raw.name : '',
    role: typeof raw.role === 'string' ? raw.role : '',
    kinds: Object.freeze(Array.isArray(raw.kinds) ? raw.kinds.filter((kind) => KINDS.has(kind)) : []),
    onStage: raw.on_stage === true,
    slot: raw.on_stage === true ? slot : null,
    speaking: raw.speaking === true,
  });
}

function slotCount(value) {
  return Number.isInteger(value) && value >= 0 ? Math.min(value, MOST_SLOTS) : null;
}
