// What a room's state means to people: the badge it shows, its countdown, the words a
// screen reader hears when it changes, and which controls make sense in it. Pure.

import { formatDuration } from './clock.js';

export const RoomState = Object.freeze({
  SCHEDULED: 'scheduled',
  LOBBY: 'lobby',
  LIVE: 'live',
  ENDED: 'ended',
});

export const ControlAction = Object.freeze({
  START: 'start',
  EXTEND: 'extend',
  END: 'end',
  REOPEN: 'reopen',
  DELAY: 'delay',
});

const ALLOWED = Object.freeze({
  [ControlAction.START]: new Set([RoomState.SCHEDULED, RoomState.LOBBY]),
  [ControlAction.EXTEND]: new Set([RoomState.SCHEDULED, RoomState.LOBBY, RoomState.LIVE]),
  [ControlAction.END]: new Set([RoomState.LOBBY, RoomState.LIVE]),
  [ControlAction.REOPEN]: new Set([RoomState.ENDED]),
});

/** The badge for a room: {text, tone}; `format` writes times (a ZoneFormat or a ReaderTime). */
export function stateBadge(room, format) {
  switch (room.state) {
    case RoomState.LOBBY:
      return { text: 'Lobby open', tone: 'lobby' };
    case RoomState.LIVE:
      return { text: 'Live now', tone: 'live' };
    case RoomState.ENDED:
      return { text: 'Ended', tone: 'ended' };
    default:
      return {
        text: room.opensAt === null ? 'Scheduled' : `Opens ${format.time(room.opensAt)}`,
        tone: 'scheduled',
      };
  }
}

/** "starts in 4:12", "ends in 12:03", "running 1:05 over", or null (nothing to count). */
export function countdown(room, now) {
  if (room.state === RoomState.LIVE && room.endsAt !== null) {
    const left = room.endsAt - now;
    return left > 0 ? `ends in ${formatDuration(left)}` : `running ${formatDuration(-left)} over`;
  }
  if ((room.state === RoomState.SCHEDULED || room.state === RoomState.LOBBY) && room.startsAt !== null) {
    const left = room.startsAt - now;
    return left > 0 ? `starts in ${formatDuration(left)}` : 'starting shortly';
  }
  return null;
}

/** What a screen reader announces when a room changes to `state`. */
export function stateAnnouncement(title, state) {
  switch (state) {
    case RoomState.LOBBY:
      return `${title}: lobby open.`;
    case RoomState.LIVE:
      return `${title}: live now.`;
    case RoomState.ENDED:
      return `${title}: ended.`;
    default:
      return `${title}: scheduled.`;
  }
}

/** Whether `action` makes sense for a room in `state`. */
export function isAllowed(action, state) {
  return ALLOWED[action]?.has(state) ?? false;
}
