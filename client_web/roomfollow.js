// One room followed live, for the pages that show a single room (watch, speak, moderate,
// screen): the agenda from HTTP and then Socket.IO, the room's state changes and its stage (who
// is on it and who is backstage), its questions as they change, and agenda time ticking.

import { fetchAgenda } from './api.js';
import { AgendaClock, ReaderTime, ZoneFormat } from './clock.js';
import { LinkStatus, LiveConnection } from './live.js';
import { parseStage } from './stage.js';
import { carrySources, parseAgenda, parseRoomState, withRoomState, withStage } from './timetable.js';

/** The room id of a page at /watch/{room}, /speak/{room} or /hall/{room}: the last path segment. */
export function roomIdFromPath(pathname) {
  const last = pathname.replace(/\/+$/, '').split('/').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

export class RoomFollower {
  #roomId;
  #handlers;
  #clock = new AgendaClock();
  #format = null;
  #times = null;
  #event = null;
  #items = [];
  #fromSocket = false;
  #connection = null;

  /**
   * `handlers`: changed({event, item, items, format, times, previous, now}) when the agenda or
   * the room changes (`item` null when the agenda has no such room; `format` writes the event's
   * zone, `times` the reader's beside it (ReaderTime); `previous` the room state before; `now`
   * agenda time),
   * tick(now) with agenda time, notice(body) and notices(body) (those up on connecting) for
   * this room's notices and every room's, question(body) for this room's questions,
   * questionOrder(body) for the order its speakers' queue is sorted in,
   * linkStatus(status, detail), loadFailed(error).
   */
  constructor(roomId, handlers) {
    this.#roomId = roomId;
    this.#handlers = handlers;
  }

  get clock() {
    return this.#clock;
  }

  /** The live connection, to send on (null before start): ask, vote, questions, moderate. */
  get connection() {
    return this.#connection;
  }

  /** Follow with `token` (or anonymously when null). */
  async start(token) {
    this.#connect(token);
    this.#startTicking();
    try {
      this.#showAgenda(await fetchAgenda(), false);
    } catch (error) {
      if (this.#event === null) this.#handlers.loadFailed?.(error);
    }
  }

  #connect(token) {
    this.#connection?.close();
    this.#connection = new LiveConnection({
      token,
      handlers: {
        agenda: (body) => this.#showAgenda(body, true),
        roomState: (body) => this.#showRoomState(body),
        stage: (body) => this.#showStage(body),
        notice: (body) => {
          if (body?.active === false || this.#isForThisRoom(body)) this.#handlers.notice?.(body);
        },
        notices: (body) => {
          const notices = Array.isArray(body?.notices) ? body.notices : [];
          this.#handlers.notices?.({ notices: notices.filter((notice) => this.#isForThisRoom(notice)) });
        },
        question: (body) => {
          if (body?.room === this.#roomId) this.#handlers.question?.(body);
        },
        questionOrder: (body) => {
          if (body?.room === this.#roomId) this.#handlers.questionOrder?.(body);
        },
        status: (status, detail) => {
          this.#handlers.linkStatus?.(status, detail);
          // Room states are public: keep following without the refused token.
          if (status === LinkStatus.INVALID_TOKEN) this.#connect(null);
        },
      },
    });
  }

  #showAgenda(body, live) {
    // An HTTP answer that arrives after the socket's agenda is older than it.
    if (!live && this.#fromSocket) return;
    this.#fromSocket ||= live;
    const agenda = parseAgenda(body);
    if (agenda.clock.now) this.#clock.sync(agenda.clock.now, agenda.clock);
    if (this.#format?.timeZone !== agenda.event.timeZone) {
      this.#format = new ZoneFormat(agenda.event.timeZone);
      this.#times = ReaderTime.forBrowser(agenda.event.timeZone);
    }
    const previous = this.#item()?.room.state ?? null;
    this.#event = agenda.event;
    this.#items = carrySources(this.#items, agenda.items);
    this.#changed(previous);
  }

  #showRoomState(body) {
    const update = parseRoomState(body);
    if (update.now) this.#clock.sync(update.now);
    const previous = this.#item()?.room.state ?? null;
    this.#items = withRoomState(this.#items, update);
    if (this.#event !== null) this.#changed(previous);
  }

  #showStage(body) {
    const stage = parseStage(body);
    if (stage.room !== this.#roomId) return;
    const previous = this.#item()?.room.state ?? null;
    this.#items = withStage(this.#items, stage);
    if (this.#event !== null) this.#changed(previous);
  }

  #changed(previous) {
    this.#handlers.changed({
      event: this.#event,
      item: this.#item(),
      items: this.#items,
      format: this.#format,
      times: this.#times,
      previous,
      now: this.#clock.now(),
    });
  }

  #isForThisRoom(notice) {
    return notice?.room === null || notice?.room === undefined || notice.room === this.#roomId;
  }

  #item() {
    return this.#items.find((item) => item.room?.id === this.#roomId) ?? null;
  }

  #startTicking() {
    const tick = () => {
      if (this.#event !== null) this.#handlers.tick?.(this.#clock.now());
      setTimeout(tick, this.#clock.tickInterval());
    };
    tick();
  }
}
