// The public agenda page (index.html): wires the agenda from HTTP and Socket.IO to the views.

import { fetchAgenda } from './api.js';
import { AgendaClock, ReaderTime, ZoneFormat, browserTimeZone, placeName } from './clock.js';
import { ConfirmDialog } from './confirm.js';
import { wayIn } from './contact.js';
import { byId, setShown, setText } from './dom.js';
import { AgendaView } from './agendaview.js';
import { JoinNowView } from './joinnow.js';
import { LinkStatus, LiveConnection } from './live.js';
import { fetchPolicy } from './registrationapi.js';
import { stateAnnouncement } from './roomstate.js';
import { SignedInBar, TokenCheck } from './signedin.js';
import { Announcer, NoticeBoard, showLinkStatus } from './status.js';
import { SummaryView } from './summary.js';
import { itemsOnNow, nextItem, parseAgenda, parseRoomState, withRoomState } from './timetable.js';
import { takeToken } from './token.js';

class AgendaPage {
  #doc;
  #clock = new AgendaClock();
  #announcer;
  #notices;
  #event = null;
  #items = [];
  #agendaView = null;
  #summary = null;
  #format = null;
  #localFormat = null;
  #fromSocket = false;
  #openedAtToday = false;
  #joinView = null;
  // The signed-in attendee's rooms (from /api/me); null when signed out or not yet known.
  #rooms = null;
  #signedOut = false;
  #policy = null;

  constructor(doc) {
    this.#doc = doc;
    this.#announcer = new Announcer(byId(doc, 'announcer'));
    // A notice about one room says which.
    this.#notices = new NoticeBoard(byId(doc, 'notices'), {
      context: (room) => this.#items.find((item) => item.room?.id === room)?.title ?? null,
    });
  }

  /** An agenda body; `live` when it came over Socket.IO (newer than any HTTP answer). */
  showAgenda(body, { live }) {
    if (!live && this.#fromSocket) return;
    this.#fromSocket ||= live;
    const agenda = parseAgenda(body);
    if (agenda.clock.now) this.#clock.sync(agenda.clock.now, agenda.clock);
    if (this.#event?.timeZone !== agenda.event.timeZone) this.#createViews(agenda.event.timeZone);
    this.#event = agenda.event;
    this.#items = agenda.items;
    this.#showEvent();
    setShown(byId(this.#doc, 'load-error'), false);
    this.#render();
  }

  showRoomState(body) {
    const update = parseRoomState(body);
    if (update.now) this.#clock.sync(update.now);
    const item = this.#items.find((candidate) => candidate.room?.id === update.id);
    if (item && item.room.state !== update.room.state) {
      this.#announcer.say(stateAnnouncement(item.title, update.room.state));
    }
    this.#items = withRoomState(this.#items, update);
    this.#render();
  }

  showNotice(body) {
    this.#notices.show(body);
  }

  showNotices(body) {
    this.#notices.showAll(body);
  }

  /** /api/me's answer for a good token, or null: signed out (no token, or one refused). */
  signedIn(me) {
    this.#signedOut = me === null;
    this.#rooms = me === null ? null : (Array.isArray(me.rooms) ? me.rooms : []);
    this.#showWayIn();
    this.#tick();
  }

  /** The registration policy: what someone without a link is offered. */
  showPolicy(policy) {
    this.#policy = policy;
    this.#showWayIn();
  }

  #showWayIn() {
    const shown = this.#signedOut && this.#policy !== null;
    setShown(byId(this.#doc, 'way-in'), shown);
    if (shown) byId(this.#doc, 'way-in-actions').replaceChildren(...wayIn(this.#policy));
  }

  showStatus(status) {
    showLinkStatus(byId(this.#doc, 'link-status'), status);
  }

  showLoadError(error) {
    if (this.#event !== null) return;
    const node = byId(this.#doc, 'load-error');
    setText(node, `The agenda could not be loaded (${error.message}). It will appear as soon as the server answers.`);
    setShown(node, true);
  }

  /** Keep countdowns and "On now" moving with agenda time. */
  startTicking() {
    const tick = () => {
      this.#tick();
      setTimeout(tick, this.#clock.tickInterval());
    };
    tick();
  }

  #createViews(timeZone) {
    const format = new ZoneFormat(timeZone);
    const ownZone = browserTimeZone();
    const localFormat = ownZone && ownZone !== timeZone ? new ZoneFormat(ownZone) : null;
    this.#agendaView = new AgendaView(byId(this.#doc, 'days'), format, localFormat);
    const times = new ReaderTime(format, localFormat);
    this.#joinView = new JoinNowView(byId(this.#doc, 'join-line'), times);
    this.#summary = new SummaryView({
      onNow: byId(this.#doc, 'on-now'),
      upNext: byId(this.#doc, 'up-next'),
    }, times);
    this.#format = format;
    this.#localFormat = localFormat;
  }

  #showEvent() {
    const event = this.#event;
    const doc = this.#doc;
    doc.title = `${event.name} – Agenda`;
    setText(byId(doc, 'event-name'), event.name);
    setText(byId(doc, 'event-theme'), event.theme);
    setText(byId(doc, 'event-venue'), event.venue);
    const first = this.#items[0];
    const zone = first ? ` (${this.#format.abbreviation(first.startsAt)})` : '';
    const yours = this.#localFormat === null ? ''
      : `, with your own time (${placeName(this.#localFormat.timeZone)}) beside it`;
    setText(byId(doc, 'zone-note'), `Times are ${this.#format.label}${zone}${yours}.`);
    const rehearsal = byId(doc, 'rehearsal-note');
    setShown(rehearsal, this.#clock.rehearsal);
    const pace = this.#clock.speed === 1 ? '' : ` at ${this.#clock.speed}× speed`;
    setText(rehearsal, `Rehearsal: the agenda is being replayed${pace}; times and states follow the replay.`);
  }

  #render() {
    if (this.#agendaView === null) return;
    this.#agendaView.show(this.#items);
    this.#tick();
    this.#openAtToday();
  }

  /**
   * Once, when the agenda first shows: scroll to what is on now or next today, or to today's
   * heading, so a reader on day 3 does not start at day 1. Not before the event, nor when the
   * address points somewhere on the page already.
   */
  #openAtToday() {
    if (this.#openedAtToday || this.#items.length === 0) return;
    this.#openedAtToday = true;
    if (this.#doc.location.hash !== '' || this.#doc.defaultView.scrollY > 0) return;
    const now = this.#clock.now();
    const today = this.#format.dayKey(now);
    const target = itemsOnNow(this.#items, now)[0] ?? nextItem(this.#items, now);
    const todays = this.#items.filter((item) => item.day === today);
    if (todays.length === 0 || target === this.#items[0]) return;
    // Today's first item is shown under its day's heading.
    const onToday = target !== null && target.day === today && target !== todays[0];
    const id = onToday ? `item-${target.id}` : `day-${today}`;
    this.#doc.getElementById(id)?.scrollIntoView({ block: 'start' });
  }

  #tick() {
    if (this.#agendaView === null) return;
    const now = this.#clock.now();
    this.#agendaView.tick(now);
    this.#summary.show(this.#items, now);
    this.#joinView.show(this.#items, this.#rooms, now);
  }
}

/**
 * The page's Socket.IO connection: with the access token while the server accepts it, and
 * anonymous (the public agenda) once it does not. When the server hangs up (access revoked),
 * the connection asks again by itself, and the answer says whether the token still works.
 */
class AgendaLink {
  #handlers;
  #tokenRefused;
  #connection = null;
  #generation = 0;

  /** `handlers` as for LiveConnection; `tokenRefused()` when the token stops being accepted. */
  constructor(handlers, tokenRefused) {
    this.#handlers = handlers;
    this.#tokenRefused = tokenRefused;
  }

  connect(token) {
    // Events still arriving from the connection being replaced are ignored.
    const generation = ++this.#generation;
    this.#connection?.close();
    this.#connection = new LiveConnection({
      token,
      handlers: {
        ...this.#handlers,
        status: (status) => {
          if (generation !== this.#generation) return;
          this.#handlers.status(status);
          if (token !== null && status === LinkStatus.INVALID_TOKEN) this.#tokenRefused();
        },
      },
    });
  }
}

async function main() {
  const page = new AgendaPage(document);
  const confirmDialog = new ConfirmDialog(document);
  const signedIn = new SignedInBar(document, {
    confirm: (message, label) => confirmDialog.ask(message, label),
    signedOut: () => link.connect(null),
    shown: (me) => page.signedIn(me),
  });
  const link = new AgendaLink({
    agenda: (body) => page.showAgenda(body, { live: true }),
    roomState: (body) => page.showRoomState(body),
    notice: (body) => page.showNotice(body),
    notices: (body) => page.showNotices(body),
    status: (status) => page.showStatus(status),
  }, () => signedIn.withdrawn());
  page.startTicking();
  const token = takeToken();
  if (token === null) page.signedIn(null);
  await Promise.all([
    showFirstAgenda(page), showPolicy(page), connectLink(link, signedIn, token),
  ]);
}

/** Without it the page still works: it just offers no way to register. */
async function showPolicy(page) {
  try {
    page.showPolicy(await fetchPolicy());
  } catch {
    // The agenda says when the server cannot be reached; nothing more to say here.
  }
}

async function showFirstAgenda(page) {
  try {
    page.showAgenda(await fetchAgenda(), { live: false });
  } catch (error) {
    page.showLoadError(error);
  }
}

/** Signed in when there is a token the server does not refuse; else the public agenda. */
async function connectLink(link, signedIn, token) {
  const accepted = token !== null && (await signedIn.check(token)) !== TokenCheck.INVALID;
  link.connect(accepted ? token : null);
}

main();
