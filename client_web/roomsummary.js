// A room in one line, for the technician page's compact view: its countdown (an overrun said
// as "over by N min"), viewers, sources on stage and backstage, the worst grade of its sources'
// health and how many alerts are up. Pure: no DOM, no clock.

import { gradeWords, worseGrade } from './health.js';
import { RoomState, countdown } from './roomstate.js';

const MINUTE = 60_000;

/** Whole minutes (rounded up) a live room has run past its end at `now`; null if it has not. */
export function overrunMinutes(room, now) {
  if (room.state !== RoomState.LIVE || room.endsAt === null || now <= room.endsAt) return null;
  return Math.ceil((now - room.endsAt) / MINUTE);
}

/** {text, overrun}: "over by 3 min" when live past its end, else the card's countdown; or null. */
export function lineCountdown(room, now) {
  const over = overrunMinutes(room, now);
  if (over !== null) return { text: `over by ${over} min`, overrun: true };
  const text = countdown(room, now);
  return text === null ? null : { text, overrun: false };
}

/** The worst grade among a room's sources in its latest `health` (parseHealth's); null: none. */
export function worstGrade(health) {
  let worst = null;
  for (const tracks of health?.tracks?.values() ?? []) {
    worst = worseGrade(worst, worseGrade(tracks.video?.grade ?? null, tracks.audio?.grade ?? null));
  }
  return worst;
}

/** {onStage, backstage}: how many of a room's sources are where; null before the server says. */
export function stageCounts(sources) {
  if (!Array.isArray(sources)) return null;
  const onStage = sources.filter((source) => source.onStage).length;
  return { onStage, backstage: sources.length - onStage };
}

/**
 * The figures of a room's line at `now`: {countdown, viewers, stage, grade, gradeText, alerts}.
 * `health` is its latest (or null) and `alerts` how many of its alerts are up.
 */
export function lineFigures(item, { health = null, alerts = 0, now }) {
  const { room } = item;
  const grade = worstGrade(health);
  return {
    countdown: lineCountdown(room, now),
    viewers: room.viewers ?? health?.viewers ?? null,
    stage: stageCounts(room.sources),
    grade,
    gradeText: grade === null ? null : gradeWords(grade),
    alerts,
  };
}

/** "3 on stage, 1 backstage", "nobody publishing", or '—' before the server says. */
export function stageWords(stage) {
  if (stage === null) return '—';
  if (stage.onStage + stage.backstage === 0) return 'nobody publishing';
  return `${stage.onStage} on stage, ${stage.backstage} backstage`;
}

/** "no alerts", "1 alert", "3 alerts". */
export function alertsWords(count) {
  if (count === 0) return 'no alerts';
  return `${count} alert${count === 1 ? '' : 's'}`;
}
