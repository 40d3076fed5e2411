// The running order as a technician reads it, Ontime-style: for each item, what was planned,
// what it is now, and how far ahead or behind; today's day first; which item a delay of the
// rest of today starts from; which rooms may be started now. Pure: no DOM, no clock.

import { RoomState } from './roomstate.js';

const MINUTE = 60_000;

/** Where an item stands at `now`: 'ended', 'now' (live, or a break under way) or 'next'. */
export function phaseOf(item, now) {
  if (item.room) {
    if (item.room.state === RoomState.ENDED) return 'ended';
    return item.room.state === RoomState.LIVE ? 'now' : 'next';
  }
  if (now >= item.endsAt) return 'ended';
  return now >= item.startsAt ? 'now' : 'next';
}

/**
 * How far the item is from its published times, in milliseconds (positive: behind): by its
 * end once it has begun (when it ended, or will end), by its start before.
 */
export function offsetOf(item, now) {
  return phaseOf(item, now) === 'next'
    ? item.startsAt - item.scheduledStartsAt
    : item.endsAt - item.scheduledEndsAt;
}

/** {text: "on time" | "12 min behind" | "3 min ahead", tone: 'on-time' | 'behind' | 'ahead'}. */
export function offsetWords(offsetMs) {
  const minutes = Math.round(offsetMs / MINUTE);
  if (minutes === 0) return { text: 'on time', tone: 'on-time' };
  return minutes > 0
    ? { text: `${minutes} min behind`, tone: 'behind' }
    : { text: `${-minutes} min ahead`, tone: 'ahead' };
}

/** "45 min", "1 h 30 min", "2 h": an item's length. */
export function lengthWords(ms) {
  const minutes = Math.round(ms / MINUTE);
  const hours = Math.floor(minutes / 60);
  if (hours === 0) return `${minutes} min`;
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** The days of `groups` (groupByDay's) with `today` first and the others in order after it. */
export function todayFirst(groups, today) {
  const found = groups.find((group) => group.day === today);
  return found ? [found, ...groups.filter((group) => group !== found)] : groups;
}

/**
 * The room a "delay the rest of today" starts from: today's first room that has not ended.
 * Null when today has none left.
 */
export function delayAnchor(items, today) {
  const open = items.filter((item) => item.room && item.day === today && item.room.state !== RoomState.ENDED);
  open.sort((a, b) => a.startsAt - b.startsAt);
  return open[0] ?? null;
}

/** The items a delay from `anchor` moves: it and every later item of its day not ended. */
export function delayedBy(items, anchor, now) {
  if (anchor === null) return [];
  return items.filter((item) => item.day === anchor.day && item.startsAt >= anchor.startsAt
    && phaseOf(item, now) !== 'ended');
}

/** Whether the room may be started now: in its lobby, or scheduled for today. */
export function canStartNow(item, today) {
  const state = item.room?.state;
  return state === RoomState.LOBBY || (state === RoomState.SCHEDULED && item.day === today);
}

/** Whether the room's end may still be undone at `now`. */
export function canReopen(item, now) {
  return item.room?.state === RoomState.ENDED && item.room.reopenUntil !== null && now < item.room.reopenUntil;
}
