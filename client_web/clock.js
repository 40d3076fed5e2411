// Agenda time and how to write it.
//
// In rehearsal the server replays the published agenda on a clock of its own, possibly
// faster than the wall clock, so the browser never trusts Date.now() for countdowns: it
// anchors on the last `now` the server sent and lets it run at the server's speed,
// measured with the monotonic performance.now().

const LOCALE = 'en-GB';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export class AgendaClock {
  #anchorAgendaMs = Date.now();
  #anchorPerfMs = performance.now();
  #speed = 1;
  #rehearsal = false;

  /** Re-anchor on the server's agenda time `nowIso`; `speed` and `rehearsal` when known. */
  sync(nowIso, { speed, rehearsal } = {}) {
    const agendaMs = Date.parse(nowIso);
    if (Number.isFinite(agendaMs)) {
      this.#anchorAgendaMs = agendaMs;
      this.#anchorPerfMs = performance.now();
    }
    if (Number.isFinite(speed) && speed > 0) this.#speed = speed;
    if (typeof rehearsal === 'boolean') this.#rehearsal = rehearsal;
  }

  /** The agenda time now, in epoch milliseconds. */
  now() {
    return this.#anchorAgendaMs + (performance.now() - this.#anchorPerfMs) * this.#speed;
  }

  get speed() {
    return this.#speed;
  }

  get rehearsal() {
    return this.#rehearsal;
  }

  /** Wall-clock milliseconds between ticks so a displayed second never lags behind. */
  tickInterval() {
    return Math.max(100, Math.min(1000, 1000 / this.#speed));
  }
}

/** Times and dates written in one time zone (the event's), whatever the browser's zone. */
export class ZoneFormat {
  #time;
  #timeWithSeconds;
  #dayKey;
  #shortDate;
  #abbrev;

  constructor(timeZone) {
    this.timeZone = timeZone;
    this.place = placeName(timeZone);
    const base = { timeZone, hourCycle: 'h23' };
    this.#time = new Intl.DateTimeFormat(LOCALE, { ...base, hour: '2-digit', minute: '2-digit' });
    this.#timeWithSeconds = new Intl.DateTimeFormat(LOCALE, {
      ...base, hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    this.#dayKey = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    this.#shortDate = new Intl.DateTimeFormat(LOCALE, { timeZone, weekday: 'short', day: 'numeric', month: 'short' });
    this.#abbrev = new Intl.DateTimeFormat(LOCALE, { timeZone, timeZoneName: 'short' });
  }

  /** "14:00" */
  time(ms) {
    return this.#time.format(ms);
  }

  /** "14:00:07" */
  timeWithSeconds(ms) {
    return this.#timeWithSeconds.format(ms);
  }

  /** "14:00–14:45" */
  range(startMs, endMs) {
    return `${this.time(startMs)}–${this.time(endMs)}`;
  }

  /**
   * "14:00–14:45" for an item of `day` ("2021-06-14"), with the date of any end that falls on
   * another day: "23:30–00:15 (Tue 15 Jun)", "00:10–00:55 (Tue 15 Jun)".
   */
  rangeOnDay(startMs, endMs, day) {
    const startDay = this.dayKey(startMs);
    const endDay = this.dayKey(endMs);
    if (startDay === endDay) {
      return startDay === day ? this.range(startMs, endMs) : `${this.range(startMs, endMs)} (${this.shortDate(endMs)})`;
    }
    const start = startDay === day ? this.time(startMs) : `${this.time(startMs)} (${this.shortDate(startMs)})`;
    const end = endDay === day ? this.time(endMs) : `${this.time(endMs)} (${this.shortDate(endMs)})`;
    return `${start}–${end}`;
  }

  /** "Tue 15 Jun" */
  shortDate(ms) {
    return this.#shortDate.format(ms).replace(',', '');
  }

  /** "2021-06-14": the calendar day of `ms` in this zone. */
  dayKey(ms) {
    return this.#dayKey.format(ms);
  }

  /** "CEST": the zone's short name at `ms`, or its UTC offset when it has none. */
  abbreviation(ms) {
    const part = this.#abbrev.formatToParts(ms).find((p) => p.type === 'timeZoneName');
    return part ? part.value : '';
  }

  /** "14:00" today (`now`), "14:00 on Tuesday 15 June" on another day. */
  when(ms, now) {
    const day = this.dayKey(ms);
    return day === this.dayKey(now) ? this.time(ms) : `${this.time(ms)} on ${dayHeading(day)}`;
  }

  /** "Vienna time" */
  get label() {
    return `${this.place} time`;
  }
}

/**
 * Times as a reader needs them: in the event's zone, labelled, and in the reader's own zone
 * beside them when that is another one: "14:30 Vienna time (08:30 your time)". The same
 * methods as ZoneFormat's that write a time, so the pages' texts take either.
 */
export class ReaderTime {
  #event;
  #local;

  /** `event`: the event's ZoneFormat; `local`: the reader's, or null when it is the same zone. */
  constructor(event, local) {
    this.#event = event;
    this.#local = local;
  }

  /** For this browser: its own zone beside the event's `timeZone` when they differ. */
  static forBrowser(timeZone) {
    const own = browserTimeZone();
    return new ReaderTime(new ZoneFormat(timeZone), own && own !== timeZone ? new ZoneFormat(own) : null);
  }

  get timeZone() {
    return this.#event.timeZone;
  }

  /** Whether the reader's zone differs from the event's (two times are written). */
  get twoZones() {
    return this.#local !== null;
  }

  /** "14:30 Vienna time (08:30 your time)"; "14:30 Vienna time" in Vienna's zone. */
  time(ms) {
    return `${this.#event.time(ms)} ${this.#event.label}${this.#yours(ms, this.#local?.time(ms))}`;
  }

  /** "14:00–14:45 Vienna time (08:00–08:45 your time)". */
  range(startMs, endMs) {
    const yours = this.#local === null ? '' : this.#local.range(startMs, endMs);
    return `${this.#event.range(startMs, endMs)} ${this.#event.label}${this.#yours(startMs, yours)}`;
  }

  /** As time(), with the event's date when it is not today (`now`): "14:30 Vienna time on Tuesday 15 June (…)". */
  when(ms, now) {
    const day = this.#event.dayKey(ms);
    const on = day === this.#event.dayKey(now) ? '' : ` on ${dayHeading(day)}`;
    return `${this.#event.time(ms)} ${this.#event.label}${on}${this.#yours(ms, this.#local?.time(ms))}`;
  }

  /** " (08:30 your time)", with the reader's date when it is another than the event's. */
  #yours(ms, text) {
    if (this.#local === null) return '';
    const otherDay = this.#local.dayKey(ms) !== this.#event.dayKey(ms);
    return ` (${text}${otherDay ? ` ${this.#local.shortDate(ms)}` : ''} your time)`;
  }
}

/** "Monday 14 June" for the calendar date "2021-06-14" (already a date in the event's zone). */
export function dayHeading(isoDate) {
  const [year, month, day] = isoDate.split('-').map(Number);
  const noonUtc = Date.UTC(year, month - 1, day, 12);
  return new Intl.DateTimeFormat(LOCALE, {
    timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long',
  }).format(noonUtc);
}

/** "Europe/Vienna" -> "Vienna", "America/Argentina/Buenos_Aires" -> "Buenos Aires". */
export function placeName(timeZone) {
  const last = timeZone.split('/').pop() ?? timeZone;
  return last.replaceAll('_', ' ');
}

/** The browser's own time zone, or null when the browser does not say. */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? null;
}

/**
 * A duration for a countdown, rounded up to the second: "0:07", "4:12", "1:04:12",
 * "1 day 3 h", "3 days".
 */
export function formatDuration(ms) {
  const totalSeconds = Math.max(0, Math.ceil(ms / 1000));
  if (totalSeconds * 1000 >= DAY) {
    const days = Math.floor(totalSeconds * 1000 / DAY);
    const hours = Math.floor((totalSeconds * 1000 % DAY) / HOUR);
    const dayWord = days === 1 ? 'day' : 'days';
    return days >= 3 || hours === 0 ? `${days} ${dayWord}` : `${days} ${dayWord} ${hours} h`;
  }
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const ss = String(seconds).padStart(2, '0');
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${ss}`;
  return `${minutes}:${ss}`;
}
