// The next step a one-room staff page (speak, hall, moderate, screen) offers when it stops for
// good, in plain words instead of the server's: a link limited to other rooms leads to those
// rooms on the same page, a link whose role may not use the page leads to the agenda, and a
// missing or refused link names the event's contact (from the config) as whom to ask.

import { contactSentence, parseContact } from './contact.js';
import { el } from './dom.js';
import { coversRoom } from './joinnow.js';
import { fetchMe, fetchPolicy } from './registrationapi.js';

// Who each page is for, and the permissions (any one of them) that let a link use it.
const PAGES = Object.freeze({
  speak: { people: 'speakers', permissions: ['publish'] },
  hall: { people: 'technicians', permissions: ['control_rooms', 'move_sources'] },
  moderate: { people: 'moderators', permissions: ['moderate'] },
  screen: { people: 'technicians and moderators', permissions: ['control_rooms', 'moderate'] },
});

// What each role is called in "your link is an attendee's".
const ROLE_NAMES = Object.freeze({
  attendee: 'an attendee’s',
  speaker: 'a speaker’s',
  interpreter: 'an interpreter’s',
  moderator: 'a moderator’s',
  technician: 'a technician’s',
  organizer: 'an organizer’s',
});

/**
 * Why a link was turned away from `page` (one of PAGES' keys) in room `roomId`, from GET
 * /api/me: {heading, text, way} where `way` is nodes leading on, or {heading, text, otherRooms}
 * for a link limited to other rooms (showWay lists them, by title once the agenda is known), or
 * null when the link does allow the page here after all (the refusal had another reason).
 */
export async function accessStop(token, page, roomId) {
  const me = await fetchMe(token);
  const permissions = Array.isArray(me.permissions) ? me.permissions : [];
  const rooms = Array.isArray(me.rooms) ? me.rooms : [];
  const { people, permissions: needed } = PAGES[page];
  if (!needed.some((permission) => permissions.includes(permission))) {
    const role = ROLE_NAMES[me.role] ?? 'for other pages';
    return {
      heading: `This page is for ${people}`,
      text: `Your link is ${role}: it does not open this page.`,
      way: [el('p', { class: 'stop-way-links' }, el('a', { href: '/', id: 'agenda-link' }, 'Go to the agenda'),
        ' to follow the event there.')],
    };
  }
  if (coversRoom(rooms, roomId)) return null;
  return {
    heading: 'Your link is for other rooms',
    text: 'Your personal link opens only the rooms it was made for.',
    otherRooms: { page, rooms },
  };
}

/**
 * The stop's words made better once the server has said what they need, or null: a stop with
 * `next: 'contact'` gains the event's contact, one with `next: 'access'` says why the link was
 * turned away (see accessStop). `page` is one of PAGES' keys.
 */
async function explainStop(stop, { token, page, roomId }) {
  try {
    if (stop.next === 'contact') return await withContact(stop);
    if (stop.next === 'access' && token !== null) return await accessStop(token, page, roomId);
  } catch {
    // The words alone still say what happened.
  }
  return null;
}

/**
 * Asks for the stop's better words (explainStop) and hands them to `show` once the server has
 * said, unless the page has moved on to another stop by then (`current()` is not `stop`).
 */
export function explainLater(stop, context, current, show) {
  explainStop(stop, context).then((explained) => {
    if (explained !== null && current() === stop) show(explained);
  });
}

/** `stop` with a way added that names the event's contact as whom to ask for a link. */
async function withContact(stop) {
  const policy = await fetchPolicy();
  return { ...stop, way: [el('p', { class: 'stop-way-contact' }, ...contactSentence('To get a link', parseContact(policy?.contact)))] };
}

/**
 * Show a stop's way (or nothing) in `node`, rebuilt only when the stop or the rooms' titles
 * change. `items` (the agenda's items) give the rooms of a link for other rooms their titles.
 */
export function showWay(node, stop, items = []) {
  const rooms = stop?.otherRooms ? coveredRooms(stop.otherRooms.rooms, items) : [];
  const key = rooms.map(([room, title]) => `${room}\t${title}`).join('\n');
  if (node.stopShown === stop && node.keyShown === key) return;
  node.stopShown = stop;
  node.keyShown = key;
  const way = stop?.otherRooms ? roomLinks(stop.otherRooms.page, rooms) : stop?.way ?? [];
  node.replaceChildren(...way);
  node.hidden = way.length === 0;
}

/**
 * [room id, title] for each room of the agenda that a link's `rooms` (from /api/me) covers, in
 * the agenda's order; until the agenda is known, the link's own rooms by id.
 */
export function coveredRooms(rooms, items) {
  const agenda = items.filter((item) => item.room !== null);
  if (agenda.length === 0) return rooms.filter((room) => room !== '*').map((room) => [room, room]);
  return agenda.filter((item) => coversRoom(rooms, item.room.id)).map((item) => [item.room.id, item.title]);
}

/** "Your link is for: …", each room (`coveredRooms`) a link to the same `page` of it. */
export function roomLinks(page, rooms) {
  if (rooms.length === 0) {
    return [el('p', {}, 'Your link opens none of the rooms on the agenda. ', el('a', { href: '/' }, 'Back to the agenda'))];
  }
  const links = rooms.map(([room, title], index) => [index > 0 ? ', ' : '',
    el('a', { href: `/${page}/${encodeURIComponent(room)}` }, title)]);
  return [el('p', { class: 'other-rooms', id: 'other-rooms' }, 'Your link is for: ', ...links, '.')];
}
