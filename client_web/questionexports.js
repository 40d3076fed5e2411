// The organizer's per-room export of the audience's questions, for the report after the event:
// one row per room with "CSV" and "JSON" (GET /api/rooms/{room}/questions.csv or .json, with
// the organizer's token as Bearer, saved by the browser as a file).

import { el } from './dom.js';
import { attachmentName, send } from './http.js';

const TYPES = Object.freeze({ csv: 'text/csv', json: 'application/json' });

/** The questions of `room` as a file: {blob, filename}. `format`: 'csv' or 'json'. */
export async function fetchQuestionsExport(token, room, format) {
  const path = `/api/rooms/${encodeURIComponent(room)}/questions.${format}`;
  const response = await send('GET', path, { token, accept: TYPES[format] });
  const filename = attachmentName(response.headers.get('Content-Disposition')) ?? `questions-${room}.${format}`;
  return { blob: await response.blob(), filename };
}

/**
 * The list of rooms with their two export buttons, in `list` (an empty <ul>).
 * `download(room, format, button)` fetches and saves one file.
 */
export function showQuestionExports(list, items, download) {
  const rows = items.filter((item) => item.room !== null).map((item) => {
    const buttons = Object.keys(TYPES).map((format) => {
      const button = el('button', {
        type: 'button',
        class: `export-${format}`,
        'aria-label': `Questions of “${item.title}” as ${format.toUpperCase()}`,
      }, format.toUpperCase());
      button.addEventListener('click', () => download(item.room.id, format, button));
      return button;
    });
    return el('li', { class: 'export-room', 'data-room': item.room.id },
      el('span', { class: 'export-title' }, item.title), el('span', { class: 'export-buttons' }, buttons));
  });
  list.replaceChildren(...rows);
}
