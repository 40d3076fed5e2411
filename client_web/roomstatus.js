// What the pages of one room (watch, speak) say about it apart from the stream: the status
// sentence for its state, the big countdown to its start, and what comes after it. Pure.

import { RoomState, countdown } from './roomstate.js';

/** One sentence on where the room stands at agenda time `now`. */
export function roomStatusText(item, items, now, format) {
  const room = item.room;
  const pause = breakOn(items, now);
  const next = nextSession(items, item);
  switch (room.state) {
    case RoomState.LIVE:
      return 'Live now';
    case RoomState.LOBBY:
      return `The lobby is open — the item starts at ${format.when(startOf(item), now)}`;
    case RoomState.ENDED:
      return pause && next
        ? `This item has ended. The break is on — the next item starts at ${format.when(startOf(next), now)}`
        : 'This item has ended';
    default: {
      if (pause) return `The break is on — this item starts at ${format.when(startOf(item), now)}`;
      const opens = room.opensAt === null ? '' : `; the room opens at ${format.when(room.opensAt, now)}`;
      return `Starts at ${format.when(startOf(item), now)}${opens}`;
    }
  }
}

/** "Starts in 4:12" before the item begins, "Starting shortly" when it is due; else null. */
export function startCountdown(item, now) {
  const text = item.room.state === RoomState.LIVE ? null : countdown(item.room, now);
  return text === null ? null : text.charAt(0).toUpperCase() + text.slice(1);
}

/** The first item with a room after `item` that has not ended (it may be live), or null. */
export function nextSession(items, item) {
  const upcoming = items.filter((candidate) => candidate !== item && candidate.room !== null
    && candidate.room.state !== RoomState.ENDED && startOf(candidate) >= startOf(item));
  upcoming.sort((a, b) => startOf(a) - startOf(b));
  return upcoming[0] ?? null;
}

/** The break going on at `now`, or null. */
function breakOn(items, now) {
  return items.find((item) => item.room === null && item.startsAt <= now && now < item.endsAt) ?? null;
}

function startOf(item) {
  return item.room?.startsAt ?? item.startsAt;
}
