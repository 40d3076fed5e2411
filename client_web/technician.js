// The technician page (technician.html): the running order (today first, planned, now, ahead
// or behind, and the day's delay), the notices composer, and every room with its state and the
// controls to start, extend or end it or undo an end, its sources to bring on stage or send
// backstage with how each one's picture and sound arrive, and the links to its hall screen and
// its question screen; at the top, the alerts that are up and, when asked for, every live
// room's picture; beside the rooms, today's audit log. The rooms show as cards or, for many
// rooms on one screen, one line each that opens the card. Only the controls the
// access link may use are shown; a link that may not control rooms gets a page that says so.

import { AuditLogView } from './auditview.js';
import { AgendaClock, ZoneFormat, dayHeading } from './clock.js';
import { ConfirmDialog } from './confirm.js';
import { byId, el, setShown, setText } from './dom.js';
import { LinkStatus, LiveConnection } from './live.js';
import { Multiview } from './multiview.js';
import { NoticeComposer } from './noticecomposer.js';
import { parseAlert, parseHealth } from './health.js';
import { AlertBoard } from './healthview.js';
import { fetchMe } from './registrationapi.js';
import { RoomCard } from './roomcard.js';
import { RoomLine } from './roomlineview.js';
import { stateAnnouncement } from './roomstate.js';
import { todayFirst } from './runningorder.js';
import { RunningOrderView } from './runningorderview.js';
import { Announcer, showLinkStatus } from './status.js';
import { parseStage } from './stage.js';
import { forgetToken, takeToken, withToken } from './token.js';
import {
  carrySources, groupByDay, parseAgenda, parseRoomState, sameRunningOrder, withRoomState, withStage,
} from './timetable.js';

// Those who may open the page: who run rooms, or watch their streams' health.
const CONSOLE_PERMISSIONS = Object.freeze(['control_rooms', 'see_health']);
const ROLE_WORDS = Object.freeze({
  attendee: 'an attendee’s', speaker: 'a speaker’s', interpreter: 'an interpreter’s', moderator: 'a moderator’s',
});
const ME_RETRY_MS = 5_000;
const VIEW_KEY = 'plenary.technician.rooms-view';
const RoomsView = Object.freeze({ CARDS: 'cards', COMPACT: 'compact' });

/** What an access link may do on this page, from GET /api/me. */
class Access {
  constructor(me) {
    this.role = String(me.role ?? '');
    this.permissions = new Set(Array.isArray(me.permissions) ? me.permissions : []);
    this.rooms = Array.isArray(me.rooms) ? me.rooms : [];
  }

  get opensConsole() {
    return CONSOLE_PERMISSIONS.some((permission) => this.permissions.has(permission));
  }

  get everyRoom() {
    return this.rooms.includes('*');
  }

  covers(roomId) {
    return this.everyRoom || this.rooms.includes(roomId);
  }

  may(permission, roomId) {
    return this.permissions.has(permission) && this.covers(roomId);
  }
}

class TechnicianPage {
  #doc;
  #clock = new AgendaClock();
  #announcer;
  #confirmDialog;
  #connection = null;
  #token = null;
  #access = null;
  #format = null;
  #items = []; // the rooms' items, for the cards
  #allItems = []; // every item, breaks included, for the running order
  #today = null;
  #cards = new Map();
  #overrides = new Map();
  #runningOrder = null;
  #composer = null;
  #notices = [];
  #alerts;
  #multiview = null;
  #auditLog = null;
  #lines = new Map();
  #expanded = new Set(); // the rooms whose line is open, in the compact view

  constructor(doc) {
    this.#doc = doc;
    this.#announcer = new Announcer(byId(doc, 'announcer'));
    this.#confirmDialog = new ConfirmDialog(doc);
    this.#alerts = new AlertBoard(byId(doc, 'alerts'), (text) => this.#announcer.say(text));
  }

  connect(token) {
    this.#token = token;
    this.#connection = new LiveConnection({
      token,
      handlers: {
        agenda: (body) => this.showAgenda(body),
        roomState: (body) => this.showRoomState(body),
        stage: (body) => this.showStage(body),
        notice: (body) => this.showNotice(body),
        notices: (body) => this.showNotices(body),
        health: (body) => this.showHealth(body),
        alert: (body) => this.showAlert(body),
        status: (status, detail) => this.showStatus(status, detail),
      },
    });
    this.#checkAccess();
  }

  showNoToken() {
    this.showStatus(LinkStatus.IDLE, null);
    setShown(byId(this.#doc, 'no-token'), true);
  }

  showStatus(status, detail) {
    showLinkStatus(byId(this.#doc, 'link-status'), status);
    if (status === LinkStatus.INVALID_TOKEN) {
      this.#stopWith('invalid-token');
    } else if (status === LinkStatus.REFUSED) {
      this.#showProblem(`The server refused the connection${detail ? `: ${detail}` : '.'}`);
    } else if (status === LinkStatus.LIVE) {
      setShown(byId(this.#doc, 'link-problem'), false);
    } else {
      this.#alerts.clear(); // the server sends those still up when the link is back
      for (const line of this.#lines.values()) line.showAlerts(0);
    }
  }

  showAgenda(body) {
    const agenda = parseAgenda(body);
    if (agenda.clock.now) this.#clock.sync(agenda.clock.now, agenda.clock);
    if (this.#format?.timeZone !== agenda.event.timeZone) {
      this.#format = new ZoneFormat(agenda.event.timeZone);
      this.#items = [];
      this.#runningOrder = null;
    }
    setText(byId(this.#doc, 'event-name'), agenda.event.name);
    this.#allItems = agenda.items;
    const roomItems = carrySources(this.#items, agenda.items.filter((item) => item.room !== null));
    const rebuild = !sameRunningOrder(this.#items, roomItems);
    this.#items = roomItems;
    if (rebuild) this.#build();
    this.#render();
  }

  showRoomState(body) {
    const update = parseRoomState(body);
    if (update.now) this.#clock.sync(update.now);
    if (update.reason === 'override') {
      this.#overrides.set(update.id, { by: update.by, at: this.#clock.now() });
    }
    const item = this.#items.find((candidate) => candidate.room.id === update.id);
    if (item && item.room.state !== update.room.state) {
      this.#announcer.say(stateAnnouncement(item.title, update.room.state));
    }
    this.#items = withRoomState(this.#items, update);
    this.#allItems = withRoomState(this.#allItems, update);
    this.#render();
    this.#auditLog?.changed();
  }

  showStage(body) {
    this.#items = withStage(this.#items, parseStage(body));
    this.#render();
    this.#auditLog?.changed();
  }

  showHealth(body) {
    const health = parseHealth(body);
    if (health === null) return;
    this.#cards.get(health.room)?.showHealth(health, performance.now() / 1000);
    this.#lines.get(health.room)?.showHealth(health);
  }

  showAlert(body) {
    const alert = parseAlert(body);
    if (alert === null) return;
    this.#alerts.show(alert);
    this.#lines.get(alert.room)?.showAlerts(this.#alerts.count(alert.room));
    this.#auditLog?.changed();
  }

  showNotice(body) {
    this.#composer?.notice(body);
    this.#auditLog?.changed();
  }

  showNotices(body) {
    this.#notices = body;
    this.#composer?.notices(body);
  }

  startTicking() {
    const tick = () => {
      this.#tick();
      setTimeout(tick, this.#clock.tickInterval());
    };
    tick();
  }

  async #checkAccess() {
    try {
      this.#access = new Access(await fetchMe(this.#token));
    } catch (error) {
      if (error.status === 401) {
        this.#stopWith('invalid-token');
      } else {
        this.#showProblem(`Could not check what your access link allows (${error.message}); trying again.`);
        setTimeout(() => this.#checkAccess(), ME_RETRY_MS);
      }
      return;
    }
    setShown(byId(this.#doc, 'link-problem'), false);
    if (!this.#access.opensConsole) {
      this.#showNotTechnician();
      return;
    }
    this.#build();
    this.#render();
  }

  #showNotTechnician() {
    const role = ROLE_WORDS[this.#access.role] ?? 'this';
    setText(byId(this.#doc, 'not-technician-text'),
      `Room control is for technicians and organizers. Yours is ${role} access link, which does not open it.`);
    byId(this.#doc, 'not-technician-agenda').setAttribute('href', withToken('/', this.#token));
    this.#stopWith('not-technician');
    showLinkStatus(byId(this.#doc, 'link-status'), LinkStatus.IDLE);
  }

  #stopWith(panelId) {
    if (panelId === 'invalid-token') forgetToken();
    this.#connection?.close();
    setShown(byId(this.#doc, 'console'), false);
    setShown(byId(this.#doc, panelId), true);
  }

  #showProblem(text) {
    const node = byId(this.#doc, 'link-problem');
    setText(node, text);
    setShown(node, true);
  }

  async #sendControl(command) {
    const reply = await this.#connection.control(command);
    // Show the new state at once; the room_state or stage broadcast that follows says the same.
    if (reply.ok && reply.room) this.showRoomState(reply.room);
    if (reply.ok && Array.isArray(reply.sources)) this.showStage({ room: command.room, sources: reply.sources });
    return reply;
  }

  /** The views, once both the agenda and what the access link allows are known. */
  #build() {
    const access = this.#access;
    if (this.#format === null || access === null || !access.opensConsole) return;
    const confirm = (message, label) => this.#confirmDialog.ask(message, label);
    const sendControl = (command) => this.#sendControl(command);
    const doc = this.#doc;
    this.#runningOrder = new RunningOrderView(byId(doc, 'running-order'), this.#format, {
      sendControl, confirm, mayDelay: access.permissions.has('control_rooms'),
    });
    this.#buildComposer();
    this.#buildAuditLog();
    this.#buildViewSwitch();
    this.#buildCards(sendControl, confirm);
    this.#multiview ??= new Multiview(byId(doc, 'multiview'), this.#token);
    setShown(byId(doc, 'console'), true);
  }

  #buildAuditLog() {
    const panel = byId(this.#doc, 'audit-log');
    const mayRead = this.#access.permissions.has('control_rooms');
    setShown(panel, mayRead);
    if (!mayRead || this.#auditLog !== null) return;
    this.#auditLog = new AuditLogView(panel, {
      token: this.#token,
      format: this.#format,
      titleOf: (id) => this.#items.find((item) => item.room.id === id)?.title ?? null,
      covers: (id) => this.#access.covers(id),
      today: () => this.#format.dayKey(this.#clock.now()),
    });
  }

  /** Cards, or one line per room: the technician's choice, kept in this browser. */
  #buildViewSwitch() {
    const switcher = byId(this.#doc, 'rooms-view');
    if (switcher.childElementCount > 0) return;
    const buttons = [[RoomsView.CARDS, 'Cards'], [RoomsView.COMPACT, 'One line each']].map(
      ([view, label]) => el('button', {
        type: 'button', class: 'view-choice', 'data-view': view, onclick: () => this.#showView(view, true),
      }, label));
    switcher.append(el('span', { class: 'view-label', id: 'rooms-view-label' }, 'Show rooms as'), ...buttons);
    let stored = null;
    try {
      stored = localStorage.getItem(VIEW_KEY);
    } catch {
      stored = null; // storage may be off: the cards, as before
    }
    this.#showView(stored === RoomsView.COMPACT ? RoomsView.COMPACT : RoomsView.CARDS, false);
  }

  #showView(view, remember) {
    byId(this.#doc, 'rooms').dataset.view = view;
    for (const button of byId(this.#doc, 'rooms-view').querySelectorAll('button')) {
      button.setAttribute('aria-pressed', String(button.dataset.view === view));
    }
    if (!remember) return;
    try {
      localStorage.setItem(VIEW_KEY, view);
    } catch {
      // not kept: the choice holds until the page is reloaded
    }
  }

  #toggleLine(roomId) {
    const open = !this.#expanded.has(roomId);
    if (open) this.#expanded.add(roomId);
    else this.#expanded.delete(roomId);
    this.#showExpanded(roomId);
  }

  #showExpanded(roomId) {
    const open = this.#expanded.has(roomId);
    const card = this.#cards.get(roomId);
    if (card) card.root.dataset.expanded = String(open);
    const line = this.#lines.get(roomId);
    if (line) line.expanded = open;
  }

  #buildComposer() {
    const access = this.#access;
    const panel = byId(this.#doc, 'notice-panel');
    const rooms = this.#items.filter((item) => access.covers(item.room.id))
      .map((item) => ({ id: item.room.id, title: item.title }));
    const mayPost = access.permissions.has('send_notice') && (access.everyRoom || rooms.length > 0);
    setShown(panel, mayPost);
    if (!mayPost) return;
    if (this.#composer === null) {
      this.#composer = new NoticeComposer(panel, {
        send: (command) => this.#connection.notice(command),
        rooms,
        everyRoom: access.everyRoom,
        roomTitle: (id) => this.#items.find((item) => item.room.id === id)?.title ?? null,
      });
      this.#composer.notices(this.#notices);
    }
  }

  #buildCards(sendControl, confirm) {
    const access = this.#access;
    this.#cards.clear();
    this.#lines.clear();
    this.#today = this.#format.dayKey(this.#clock.now());
    const days = todayFirst(groupByDay(this.#items), this.#today).map((day) => {
      const headingId = `rooms-${day.day}`;
      const list = el('ul', { class: 'cards' });
      for (const item of day.items) {
        const card = new RoomCard(item, this.#format, {
          sendControl,
          confirm,
          hallHref: (roomId) => withToken(`/hall/${encodeURIComponent(roomId)}`, this.#token),
          screenHref: (roomId) => withToken(`/screen/${encodeURIComponent(roomId)}`, this.#token),
          may: {
            control: access.may('control_rooms', item.room.id),
            move: access.may('move_sources', item.room.id),
          },
        });
        const roomId = item.room.id;
        const line = new RoomLine(this.#format, { toggle: () => this.#toggleLine(roomId) });
        card.root.prepend(line.root);
        line.showAlerts(this.#alerts.count(roomId));
        this.#cards.set(roomId, card);
        this.#lines.set(roomId, line);
        this.#showExpanded(roomId);
        list.append(card.root);
      }
      return el('section', { class: 'day', 'aria-labelledby': headingId },
        el('h2', { class: 'day-heading', id: headingId }, dayHeading(day.day)), list);
    });
    byId(this.#doc, 'room-days').replaceChildren(...days);
  }

  #render() {
    for (const item of this.#items) {
      this.#cards.get(item.room.id)?.update(item, this.#overrides.get(item.room.id));
      this.#lines.get(item.room.id)?.update(item);
    }
    this.#runningOrder?.show(this.#allItems, this.#clock.now());
    this.#multiview?.show(this.#items.filter((item) => this.#access?.covers(item.room.id)));
    this.#tick();
  }

  #tick() {
    if (this.#format === null) return;
    const now = this.#clock.now();
    // At midnight, today's rooms come first.
    if (this.#today !== null && this.#format.dayKey(now) !== this.#today) {
      this.#build();
      this.#render();
      return;
    }
    for (const card of this.#cards.values()) card.tick(now);
    for (const line of this.#lines.values()) line.tick(now);
    this.#runningOrder?.tick(now);
    const pace = this.#clock.rehearsal ? ` · rehearsal at ${this.#clock.speed}×` : '';
    setText(byId(this.#doc, 'agenda-clock'),
      `Agenda time ${this.#format.timeWithSeconds(now)} ${this.#format.label}${pace}`);
  }
}

function main() {
  const page = new TechnicianPage(document);
  const token = takeToken();
  if (token === null) {
    page.showNoToken();
    return;
  }
  page.startTicking();
  page.connect(token);
}

main();
