// Stream health and alerts as the technician page shows them: the `health` and `alert`
// messages checked and turned into plain values, the figures in words, and the last minute
// of each source's bitrate kept for its chart. No DOM here.

import { number, text } from './values.js';

export const GRADES = ['excellent', 'good', 'poor', 'lost'];
const GRADE_WORDS = { excellent: 'Excellent', good: 'Good', poor: 'Poor', lost: 'Lost' };
export const HISTORY_SECONDS = 60;

/** One track of a `health` message's `publishers`, or null if it is not one. */
export function parseTrack(raw) {
  if (raw === null || typeof raw !== 'object') return null;
  if (typeof raw.id !== 'string' || (raw.kind !== 'audio' && raw.kind !== 'video')) return null;
  return {
    id: raw.id,
    kind: raw.kind,
    name: text(raw.name),
    onStage: raw.on_stage === true,
    grade: GRADES.includes(raw.grade) ? raw.grade : 'lost',
    bitrateKbps: number(raw.bitrate_kbps),
    fps: number(raw.fps),
    lossPct: number(raw.loss_pct),
    jitterMs: number(raw.jitter_ms),
    rttMs: number(raw.rtt_ms),
    sincePacketS: number(raw.since_packet_s),
    sinceKeyframeS: number(raw.since_keyframe_s),
    levelDbov: number(raw.level_dbov),
  };
}

/** A `health` message: the room, its viewers, and its tracks by source id. */
export function parseHealth(body) {
  if (body === null || typeof body !== 'object' || typeof body.room !== 'string') return null;
  const tracks = new Map();
  for (const raw of Array.isArray(body.publishers) ? body.publishers : []) {
    const track = parseTrack(raw);
    if (track === null) continue;
    if (!tracks.has(track.id)) tracks.set(track.id, {});
    tracks.get(track.id)[track.kind] = track;
  }
  return {
    room: body.room,
    viewers: number(body.viewers) ?? 0,
    viewerLossPct: number(body.viewer_loss_pct),
    viewersLosing: number(body.viewers_losing) ?? 0,
    viewerRttMs: number(body.viewer_rtt_ms),
    tracks,
  };
}

/** An `alert` message, or null. Its key is the same when it starts and when it clears. */
export function parseAlert(body) {
  if (body === null || typeof body !== 'object') return null;
  if (typeof body.room !== 'string' || typeof body.code !== 'string') return null;
  const source = typeof body.source === 'string' ? body.source : null;
  return {
    key: `${body.room} ${body.code} ${source ?? ''}`,
    room: body.room,
    code: body.code,
    level: body.level === 'critical' ? 'critical' : 'warning',
    text: text(body.text) || body.code,
    active: body.active === true,
  };
}

/** The worse of two grades (null: none yet). */
export function worseGrade(first, second) {
  if (first === null) return second;
  if (second === null) return first;
  return GRADES.indexOf(first) >= GRADES.indexOf(second) ? first : second;
}

export function gradeWords(grade) {
  return GRADE_WORDS[grade] ?? 'Unknown';
}

function fixed(value, digits, unit) {
  return value === null ? null : `${value.toFixed(digits)}${unit}`;
}

/** A track's figures in words, the most telling first: "1,240 kbps · 30 fps · 0.4% lost · …". */
export function trackWords(track) {
  if (track.sincePacketS === null) return 'nothing received yet';
  if (track.grade === 'lost') return `nothing for ${Math.round(track.sincePacketS)} s`;
  const parts = [
    track.bitrateKbps === null ? null : `${Math.round(track.bitrateKbps).toLocaleString('en')} kbps`,
    track.kind === 'video' ? fixed(track.fps, 0, ' fps') : null,
    `${(track.lossPct ?? 0).toFixed(1)}% lost`,
    fixed(track.jitterMs, 0, ' ms jitter'),
    fixed(track.rttMs, 0, ' ms round trip'),
    track.kind === 'video' && track.sinceKeyframeS !== null
      ? `keyframe ${Math.round(track.sinceKeyframeS)} s ago` : null,
  ];
  return parts.filter((part) => part !== null).join(' · ');
}

/** What the viewers' reports say, in words. */
export function viewersWords(health) {
  const count = `${health.viewers} viewer${health.viewers === 1 ? '' : 's'}`;
  if (health.viewers === 0 || health.viewerLossPct === null) return count;
  const losing = health.viewersLosing > 0 ? `, ${health.viewersLosing} losing over 5%` : '';
  return `${count}, ${health.viewerLossPct.toFixed(1)}% lost (median)${losing}`;
}

/**
 * An audio level (dBov, -127 to 0, or null) as a meter's fill, 0 to 1: -60 dBov and below
 * (a quiet room) is empty, 0 full.
 */
export function levelFill(dbov) {
  if (dbov === null) return 0;
  return Math.min(1, Math.max(0, (dbov + 60) / 60));
}

/** The last minute of a source's bitrate: one point a second, the oldest dropped. */
export class BitrateHistory {
  #points = [];

  add(at, kbps) {
    this.#points.push({ at, kbps: kbps ?? 0 });
    while (this.#points.length > 0 && at - this.#points[0].at > HISTORY_SECONDS) this.#points.shift();
  }

  get points() {
    return [...this.#points];
  }

  /**
   * An SVG path of the minute in a `width` by `height` box, the newest on the right, scaled to
   * the minute's highest rate (or 100 kbps, so a trickle does not fill the box); '' if empty.
   */
  path(now, width, height) {
    if (this.#points.length === 0) return '';
    const top = Math.max(100, ...this.#points.map((point) => point.kbps));
    return this.#points.map((point, index) => {
      const x = width - ((now - point.at) / HISTORY_SECONDS) * width;
      const y = height - (point.kbps / top) * height;
      return `${index === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    }).join(' ');
  }
}
