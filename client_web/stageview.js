// The stage on screen: one tile per video slot of a WHEP session (a muted <video> with the
// name under it), laid out as stage.js arrangeStage() says: the hall large with the others
// beside it, or every picture the same size; stacked on a phone. A slot without a source is
// hidden, and with no picture at all a calm panel says why. Names go in as text only.

import { el, setShown, setText } from './dom.js';
import { Layout } from './stage.js';

export class StageView {
  #root;
  #tiles;
  #empty;
  #emptyBig;
  #emptySmall;
  #slots = [];

  /** `fill`: the tiles share the view's whole height (full screen, the hall's projector). */
  constructor({ fill = false } = {}) {
    this.#tiles = el('div', { class: 'stage-tiles' });
    this.#emptyBig = el('p', { class: 'stage-empty-big' });
    this.#emptySmall = el('p', { class: 'stage-empty-small' });
    this.#empty = el('div', { class: 'stage-empty' }, this.#emptyBig, this.#emptySmall);
    this.root = el('div', { class: fill ? 'stage-view stage-fill' : 'stage-view', 'data-layout': Layout.EMPTY },
      this.#tiles, this.#empty);
  }

  /** Show the session's video tracks: `tracks[k]` is video slot k. */
  attach(tracks) {
    if (tracks.length === this.#slots.length && tracks.every((track, k) => this.#slots[k].track === track)) return;
    this.detach();
    this.#slots = tracks.map((track, slot) => newTile(track, slot));
    this.#tiles.replaceChildren(...this.#slots.map((tile) => tile.root));
  }

  detach() {
    for (const tile of this.#slots) tile.video.srcObject = null;
    this.#slots = [];
    this.#tiles.replaceChildren();
  }

  /** Lay out `arrangement`; `empty` = {big, small} is said when it has no picture. */
  show(arrangement, empty) {
    const root = this.root;
    const sides = Math.max(1, arrangement.tiles.length - 1);
    root.dataset.layout = arrangement.layout;
    root.dataset.count = String(arrangement.tiles.length);
    // Each picture spans two tracks, so that a row left half full can be centred.
    root.style.setProperty('--tracks', String(arrangement.columns * 2));
    root.style.setProperty('--rows', String(sides));
    const count = arrangement.tiles.length;
    const alone = count % arrangement.columns === 1 && count > 1 ? count - 1 : -1;
    const bySlot = new Map(arrangement.tiles.map((tile, order) => [tile.slot, { ...tile, order, centred: order === alone }]));
    for (const tile of this.#slots) showTile(tile, bySlot.get(tile.slot) ?? null);
    const pictures = this.#slots.some((tile) => bySlot.has(tile.slot));
    setShown(this.#tiles, pictures);
    setShown(this.#empty, !pictures);
    setText(this.#emptyBig, empty.big);
    setText(this.#emptySmall, empty.small);
    setShown(this.#emptySmall, empty.small !== '');
  }

  /** The large picture's <video> (or the first shown), for phones that only play videos full screen. */
  mainVideo() {
    const shown = this.#slots.filter((tile) => !tile.root.hidden);
    return (shown.find((tile) => tile.root.classList.contains('tile-feature')) ?? shown[0])?.video ?? null;
  }
}

/** The names of who is heard but not seen, into `node`: "label: Ana, Ben", the speaker marked. */
export function showHeard(node, label, heard) {
  const names = heard.map((source) => `${source.id} ${source.name} ${source.speaking}`).join('|');
  setShown(node, heard.length > 0);
  if (node.dataset.shows === `${label}|${names}`) return;
  node.dataset.shows = `${label}|${names}`;
  const parts = heard.flatMap((source, index) => [
    ...(index === 0 ? [] : [', ']),
    el('span', { class: 'heard-name', 'data-speaking': String(source.speaking) }, source.name || 'someone'),
  ]);
  node.replaceChildren(el('span', { class: 'heard-label' }, `${label}: `), ...parts);
}

function newTile(track, slot) {
  const video = el('video', { class: 'tile-video', muted: true, autoplay: true, playsinline: true, 'aria-hidden': 'true' });
  video.muted = true;
  video.srcObject = new MediaStream([track]);
  const name = el('figcaption', { class: 'tile-name' });
  const waiting = el('p', { class: 'tile-waiting' }, 'The picture is on its way…');
  const root = el('figure', { class: 'tile', 'data-slot': String(slot), 'data-picture': 'no', hidden: true },
    el('div', { class: 'tile-screen' }, video, waiting), name);
  const pictured = () => {
    root.dataset.picture = video.videoWidth > 0 ? 'yes' : 'no';
  };
  video.addEventListener('resize', pictured);
  video.addEventListener('loadeddata', pictured);
  return { root, video, name, track, slot };
}

function showTile(tile, shown) {
  setShown(tile.root, shown !== null);
  if (shown === null) return;
  tile.root.classList.toggle('tile-feature', shown.feature);
  tile.root.classList.toggle('tile-centred', shown.centred);
  tile.root.dataset.speaking = String(shown.speaking);
  tile.root.dataset.source = shown.id ?? '';
  tile.root.style.order = String(shown.order);
  setText(tile.name, shown.name);
  setShown(tile.name, shown.name !== '');
  tile.root.setAttribute('aria-label', shown.name === '' ? 'The stage' : `${shown.name}${shown.speaking ? ', speaking' : ''}`);
  // Hidden, a muted video may have been paused by the browser.
  if (tile.video.paused) tile.video.play().catch(() => {});
}
