// The technician page (technician.html): every room with its state and the controls to
// start, extend or end it, its sources to bring on stage or send backstage, and the links to
// its hall screen and its question screen, for whoever holds a technician (or organizer)
// access link.

import { AgendaClock, ZoneFormat, dayHeading } from './clock.js';
import { ConfirmDialog } from './confirm.js';
import { byId, el, setShown, setText } from './dom.js';
import { LinkStatus, LiveConnection } from './live.js';
import { RoomCard } from './roomcard.js';
import { stateAnnouncement } from './roomstate.js';
import { Announcer, NoticeBoard, showLinkStatus } from './status.js';
import { parseStage } from './stage.js';
import { forgetToken, takeToken, withToken } from './token.js';
import {
  carrySources, groupByDay, parseAgenda, parseRoomState, sameRunningOrder, withRoomState, withStage,
} from './timetable.js';

class TechnicianPage {
  #doc;
  #clock = new AgendaClock();
  #announcer;
  #notices;
  #confirmDialog;
  #connection = null;
  #token = null;
  #format = null;
  #items = [];
  #cards = new Map();
  #overrides = new Map();

  constructor(doc) {
    this.#doc = doc;
    this.#announcer = new Announcer(byId(doc, 'announcer'));
    this.#notices = new NoticeBoard(byId(doc, 'notices'));
    this.#confirmDialog = new ConfirmDialog(doc);
  }

  connect(token) {
    this.#token = token;
    this.#connection = new LiveConnection({
      token,
      handlers: {
        agenda: (body) => this.showAgenda(body),
        roomState: (body) => this.showRoomState(body),
        stage: (body) => this.showStage(body),
        notice: (body) => this.#notices.show(body),
        status: (status, detail) => this.showStatus(status, detail),
      },
    });
  }

  showNoToken() {
    this.showStatus(LinkStatus.IDLE, null);
    setShown(byId(this.#doc, 'no-token'), true);
  }

  showStatus(status, detail) {
    showLinkStatus(byId(this.#doc, 'link-status'), status);
    if (status === LinkStatus.INVALID_TOKEN) {
      forgetToken();
      setShown(byId(this.#doc, 'invalid-token'), true);
      setShown(byId(this.#doc, 'rooms'), false);
    } else if (status === LinkStatus.REFUSED) {
      const node = byId(this.#doc, 'link-problem');
      setText(node, `The server refused the connection${detail ? `: ${detail}` : '.'}`);
      setShown(node, true);
    } else if (status === LinkStatus.LIVE) {
      setShown(byId(this.#doc, 'link-problem'), false);
    }
  }

  showAgenda(body) {
    const agenda = parseAgenda(body);
    if (agenda.clock.now) this.#clock.sync(agenda.clock.now, agenda.clock);
    if (this.#format?.timeZone !== agenda.event.timeZone) {
      this.#format = new ZoneFormat(agenda.event.timeZone);
      this.#items = [];
    }
    setText(byId(this.#doc, 'event-name'), agenda.event.name);
    const roomItems = carrySources(this.#items, agenda.items.filter((item) => item.room !== null));
    if (!sameRunningOrder(this.#items, roomItems)) this.#build(roomItems);
    this.#items = roomItems;
    setShown(byId(this.#doc, 'rooms'), true);
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
    this.#render();
  }

  showStage(body) {
    this.#items = withStage(this.#items, parseStage(body));
    this.#render();
  }

  startTicking() {
    const tick = () => {
      this.#tick();
      setTimeout(tick, this.#clock.tickInterval());
    };
    tick();
  }

  async #sendControl(command) {
    const reply = await this.#connection.control(command);
    // Show the new state at once; the room_state or stage broadcast that follows says the same.
    if (reply.ok && reply.room) this.showRoomState(reply.room);
    if (reply.ok && Array.isArray(reply.sources)) this.showStage({ room: command.room, sources: reply.sources });
    return reply;
  }

  #build(items) {
    this.#cards.clear();
    const actions = {
      sendControl: (command) => this.#sendControl(command),
      confirm: (message, label) => this.#confirmDialog.ask(message, label),
      hallHref: (roomId) => withToken(`/hall/${encodeURIComponent(roomId)}`, this.#token),
      screenHref: (roomId) => withToken(`/screen/${encodeURIComponent(roomId)}`, this.#token),
    };
    const days = groupByDay(items).map((day) => {
      const headingId = `rooms-${day.day}`;
      const list = el('ul', { class: 'cards' });
      for (const item of day.items) {
        const card = new RoomCard(item, this.#format, actions);
        this.#cards.set(item.room.id, card);
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
    }
    this.#tick();
  }

  #tick() {
    if (this.#format === null) return;
    const now = this.#clock.now();
    for (const card of this.#cards.values()) card.tick(now);
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
