// The agenda as the pages hold it: parsed once from the server's JSON (GET /api/agenda and
// the Socket.IO `agenda` event), kept up to date by `room_state` events, and asked what is
// on now and what comes next. Pure: no DOM, no network, no clock of its own.

import { RoomState } from './roomstate.js';
import { parseSlots, parseSources } from './stage.js';

const KIND_LABELS = Object.freeze({
  remarks: 'Remarks',
  keynote: 'Keynote',
  panel: 'Panel',
  statement: 'Statement',
  break: 'Break',
});

/** Parse the agenda body; throws on a body that is not an agenda. */
export function parseAgenda(body) {
  if (!body || typeof body !== 'object' || !Array.isArray(body.items) || !body.event) {
    throw new TypeError('not an agenda');
  }
  const event = body.event;
  return Object.freeze({
    event: Object.freeze({
      name: String(event.name ?? ''),
      theme: String(event.theme ?? ''),
      venue: String(event.venue ?? ''),
      timeZone: String(event.timezone ?? 'UTC'),
      lobbyMinutes: Number(event.lobby_minutes ?? 0),
    }),
    clock: parseClock(body.clock),
    items: Object.freeze(body.items.map(parseItem)),
  });
}

/** Parse a `room_state` event body (or the `room` of a control ack). */
export function parseRoomState(body) {
  if (!body || typeof body !== 'object' || typeof body.room !== 'string') {
    throw new TypeError('not a room state');
  }
  return Object.freeze({
    id: body.room,
    room: parseRoom({ ...body, id: body.room }),
    now: typeof body.now === 'string' ? body.now : null,
    reason: body.reason === 'override' ? 'override' : 'schedule',
    by: typeof body.by === 'string' && body.by !== '' ? body.by : null,
  });
}

/** The items with one room's new state (and its effective times) applied. */
export function withRoomState(items, update) {
  return Object.freeze(items.map((item) => {
    if (item.room === null || item.room.id !== update.id) return item;
    const room = mergeRoom(item.room, update.room);
    return Object.freeze({ ...item, room, startsAt: room.startsAt, endsAt: room.endsAt });
  }));
}

/**
 * The items with one room's sources replaced by those of a `stage` event (parseStage). From
 * then on the room's sources follow `stage` events only: they are filtered for this receiver
 * (staff and speakers see backstage), and the room state's list may be the audience's.
 */
export function withStage(items, stage) {
  return Object.freeze(items.map((item) => {
    if (item.room === null || item.room.id !== stage.room) return item;
    const room = Object.freeze({ ...item.room, sources: stage.sources, stageHeard: true });
    return Object.freeze({ ...item, room });
  }));
}

/** `items` (a new agenda) keeping the sources known from `previous` where the new one says none. */
export function carrySources(previous, items) {
  const known = new Map(previous.filter((item) => item.room?.sources != null)
    .map((item) => [item.room.id, item.room.sources]));
  return Object.freeze(items.map((item) => {
    if (item.room === null || item.room.sources !== null || !known.has(item.room.id)) return item;
    return Object.freeze({ ...item, room: Object.freeze({ ...item.room, sources: known.get(item.room.id) }) });
  }));
}

/** The items grouped by agenda day, in order: [{day: "2021-06-14", items: [...]}]. */
export function groupByDay(items) {
  const days = [];
  for (const item of items) {
    const last = days.at(-1);
    if (last && last.day === item.day) last.items.push(item);
    else days.push({ day: item.day, items: [item] });
  }
  return days;
}

/** What is happening at `now`: live rooms, and breaks whose time has come. */
export function itemsOnNow(items, now) {
  return items.filter((item) => (item.room
    ? item.room.state === RoomState.LIVE
    : item.startsAt <= now && now < item.endsAt));
}

/** The next item still to come at `now` (a room not yet live, or a break not yet begun). */
export function nextItem(items, now) {
  const upcoming = items.filter((item) => (item.room
    ? item.room.state === RoomState.SCHEDULED || item.room.state === RoomState.LOBBY
    : item.startsAt > now));
  upcoming.sort((a, b) => a.startsAt - b.startsAt);
  return upcoming[0] ?? null;
}

/** True when the items are the same ids in the same order (so views can be updated in place). */
export function sameRunningOrder(a, b) {
  return a.length === b.length && a.every((item, i) => item.id === b[i].id);
}

/** True when the item's effective times differ from the published ones. */
export function isMoved(item) {
  return item.startsAt !== item.scheduledStartsAt || item.endsAt !== item.scheduledEndsAt;
}

/** "Panel" for the kind "panel"; unknown kinds are capitalised. */
export function kindLabel(kind) {
  return KIND_LABELS[kind] ?? kind.charAt(0).toUpperCase() + kind.slice(1);
}

function parseClock(clock) {
  return Object.freeze({
    now: typeof clock?.now === 'string' ? clock.now : null,
    speed: Number.isFinite(clock?.speed) && clock.speed > 0 ? clock.speed : 1,
    rehearsal: clock?.rehearsal === true,
  });
}

function parseItem(raw) {
  const startsAt = parseTime(raw.starts_at, `${raw.id}.starts_at`);
  const endsAt = parseTime(raw.ends_at, `${raw.id}.ends_at`);
  return Object.freeze({
    id: String(raw.id),
    title: String(raw.title ?? ''),
    kind: String(raw.kind ?? ''),
    description: typeof raw.description === 'string' ? raw.description.trim() : '',
    audioOnly: raw.audio_only === true,
    recorded: raw.recorded !== false,
    day: typeof raw.day === 'string' ? raw.day : String(raw.starts_at).slice(0, 10),
    startsAt,
    endsAt,
    scheduledStartsAt: optionalTime(raw.scheduled_starts_at) ?? startsAt,
    scheduledEndsAt: optionalTime(raw.scheduled_ends_at) ?? endsAt,
    room: raw.room ? parseRoom(raw.room) : null,
  });
}

function parseRoom(raw) {
  const state = Object.values(RoomState).includes(raw.state) ? raw.state : RoomState.SCHEDULED;
  return Object.freeze({
    id: String(raw.id),
    state,
    opensAt: optionalTime(raw.opens_at),
    startsAt: optionalTime(raw.starts_at),
    endsAt: optionalTime(raw.ends_at),
    // Until when an "End now" can be undone; null when it cannot.
    reopenUntil: optionalTime(raw.reopen_until),
    publishers: countOf(raw.publishers),
    viewers: countOf(raw.viewers),
    slots: parseSlots(raw.slots),
    // Null until the server says who is on stage and backstage.
    sources: parseSources(raw.sources),
    stageHeard: false,
  });
}

/** A room_state may leave fields out; keep what we knew for those. */
function mergeRoom(previous, next) {
  return Object.freeze({
    id: previous.id,
    state: next.state,
    opensAt: next.opensAt ?? previous.opensAt,
    startsAt: next.startsAt ?? previous.startsAt,
    endsAt: next.endsAt ?? previous.endsAt,
    reopenUntil: next.reopenUntil,
    publishers: next.publishers ?? previous.publishers,
    viewers: next.viewers ?? previous.viewers,
    slots: next.slots ?? previous.slots,
    sources: previous.stageHeard ? previous.sources : next.sources ?? previous.sources,
    stageHeard: previous.stageHeard,
  });
}

/** Publishers may come as a count or as a list of publishers. */
function countOf(value) {
  if (Array.isArray(value)) return value.length;
  return Number.isFinite(value) ? value : null;
}

function parseTime(iso, what) {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new TypeError(`bad time in ${what}`);
  return ms;
}

function optionalTime(iso) {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isFinite(ms) ? ms : null;
}
