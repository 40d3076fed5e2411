// The speaker page (speak.html, /speak/{room}): camera and microphone check, device pickers,
// and going on air over WHIP from the lobby on, kept up through network drops until the
// speaker stops or the item ends. Sound only (no camera asked for) in audio-only rooms.
// On air, the speaker is backstage or on stage, and sees and hears the others on stage
// (stagereturn.js). Below, the audience's approved questions (speakqueue.js).

import { ConfirmDialog } from './confirm.js';
import { byId, setShown, setText } from './dom.js';
import { LevelMeter } from './levelmeter.js';
import { LinkState, MediaLink } from './medialink.js';
import { DevicePreview } from './preview.js';
import { lastingRefusal, startRoomPage } from './roompage.js';
import { retryLine, retryNotice } from './retrynotice.js';
import { RoomState } from './roomstate.js';
import { sourceById } from './stage.js';
import { StageReturn } from './stagereturn.js';
import { SpeakerQueue } from './speakqueue.js';
import { accessStop, explainLater, showWay } from './stopway.js';
import { speakerPlace } from './stagewords.js';
import { publishToRoom, switchTrack } from './whip.js';

// Why the page cannot put anyone on air, with what it says about it.
const STOPS = Object.freeze({
  noToken: {
    heading: 'This page needs your speaker link',
    text: 'Open it with the personal link the organizers sent you (it ends in #token=…). You can still test your camera and microphone here.',
    next: 'contact',
  },
  invalidToken: {
    heading: 'Your speaker link is not valid or has expired',
    text: 'Ask the organizers for a new link. You can still test your camera and microphone here.',
    next: 'contact',
  },
  forbidden: {
    heading: 'Your link does not let you speak in this room',
    text: 'You can still test your camera and microphone here.',
    next: 'access',
  },
  unknownRoom: { heading: 'There is no such room', text: 'Check the link you were given.' },
});

// Why the speaker is off air after having been on.
const OFF_AIR = Object.freeze({
  stopped: 'Stopped — you are off air',
  ended: 'The item has ended — you are off air',
});

class SpeakPage {
  #doc;
  #roomId;
  #token;
  #items = [];
  #confirm;
  #meter;
  #preview = null;
  #link;
  #item = null;
  #times = null;
  #now = 0;
  #stop = null;
  #linkState = LinkState.IDLE;
  #linkDetail = {};
  #offAir = null;
  #micMuted = false;
  #return;
  // The publishing session's source id (X-Plenary-Source), kept through reconnections.
  #ownId = null;
  #queue;

  constructor(doc, roomId, token, follower) {
    this.#doc = doc;
    this.#roomId = roomId;
    this.#token = token;
    this.#queue = new SpeakerQueue(doc, roomId, token, follower);
    this.#confirm = new ConfirmDialog(doc);
    this.#return = new StageReturn(doc, roomId, token, { mayConnect: () => this.#mayPublish() });
    this.#meter = new LevelMeter(byId(doc, 'mic-meter'), { heard: (heard) => this.#heard(heard) });
    this.#link = new MediaLink({
      token,
      open: ({ iceServers, signal }) => publishToRoom({
        room: roomId, token, iceServers, signal, stream: this.#preview.stream,
      }),
      report: (state, detail) => this.#linkChanged(state, detail),
      // The room_state "lobby" can reach us a moment before the media relay opens the room.
      retryRefused: (error) => error.code === 'room_not_open' && this.#mayPublish(),
    });
    byId(doc, 'devices-on').addEventListener('click', () => this.#devicesOn());
    byId(doc, 'go-live').addEventListener('click', () => this.#goOnAir());
    byId(doc, 'stop').addEventListener('click', () => this.#stopAir());
    byId(doc, 'mute-mic').addEventListener('click', () => this.#toggleMic());
    if (token === null) this.#stopFor(STOPS.noToken);
    else this.#checkAccess(token);
  }

  changed({ event, item, items, times, now }) {
    this.#items = items;
    setText(byId(this.#doc, 'event-name'), `Speaker check-in · ${event.name}`);
    this.#times = times;
    this.#now = now;
    this.#item = item;
    if (item === null) {
      this.#stopSpeaking(STOPS.unknownRoom);
      return;
    }
    this.#createPreview(item);
    if (item.room.state === RoomState.ENDED && this.#link.wanted) {
      this.#offAir = OFF_AIR.ended;
      this.#return.stop({ serverDone: true });
      this.#link.stop({ serverDone: true });
    }
    this.#render();
  }

  tick(now) {
    this.#now = now;
    this.#render();
  }

  tokenRefused() {
    this.#queue.tokenRefused();
    this.#stopSpeaking(STOPS.invalidToken);
  }

  linkStatus(status) {
    this.#queue.linkStatus(status);
  }

  question(body) {
    this.#queue.question(body);
  }

  questionOrder(body) {
    this.#queue.questionOrder(body);
  }

  /** The page goes away: off air at once, camera and microphone released. */
  leave() {
    this.#return.stop({ leaving: true });
    this.#link.stop({ leaving: true });
    this.#preview?.stop();
    this.#showPreview();
  }

  /** The preview is made once the room is known: audio-only rooms never ask for the camera. */
  #createPreview(item) {
    if (this.#preview !== null) return;
    const doc = this.#doc;
    this.#preview = new DevicePreview({
      video: byId(doc, 'preview-video'),
      cameraSelect: byId(doc, 'camera-select'),
      micSelect: byId(doc, 'mic-select'),
      meter: this.#meter,
      wantVideo: !item.audioOnly,
      trackChanged: (track) => this.#trackChanged(track),
    });
    setShown(byId(doc, 'camera-field'), !item.audioOnly);
    setText(byId(doc, 'devices-on'), item.audioOnly ? 'Turn on microphone' : 'Turn on camera and microphone');
    setText(byId(doc, 'preview-off-text'), item.audioOnly
      ? 'Your microphone is off. This item is carried as sound only; the camera is never used.'
      : 'Your camera and microphone are off.');
    if (!item.recorded) {
      setText(byId(doc, 'preview-audio-note'), 'This statement is carried as sound only and is never recorded: your camera stays off.');
    }
    this.#showPreview();
  }

  /** Resolves true once the preview runs; says why not otherwise. */
  async #devicesOn() {
    if (this.#preview === null) return false;
    const problem = byId(this.#doc, 'preview-error');
    setShown(problem, false);
    try {
      const note = await this.#preview.start();
      this.#meter.resume();
      if (note !== null) {
        setText(problem, note);
        setShown(problem, true);
        setText(byId(this.#doc, 'preview-audio-note'), note);
      }
      return true;
    } catch (error) {
      setText(problem, error.message);
      setShown(problem, true);
      return false;
    } finally {
      this.#showPreview();
      this.#render();
    }
  }

  async #goOnAir() {
    if (!this.#mayPublish() || this.#link.wanted) return;
    if (!(await this.#devicesOn())) return;
    this.#offAir = null;
    this.#link.start();
  }

  async #stopAir() {
    const onStage = this.#knowsOwnSource() ? this.#ownSource()?.onStage === true : true;
    const live = this.#item?.room.state === RoomState.LIVE && this.#linkState === LinkState.CONNECTED && onStage;
    const lose = this.#preview?.hasVideo ? 'seeing and hearing' : 'hearing';
    if (live && !(await this.#confirm.ask(
      `Stop sending? Everyone following the item stops ${lose} you at once.`, 'Stop'))) return;
    this.#offAir = OFF_AIR.stopped;
    this.#return.stop();
    this.#link.stop();
  }

  #toggleMic() {
    this.#micMuted = !this.#micMuted;
    this.#preview?.setMicMuted(this.#micMuted);
    this.#render();
  }

  async #trackChanged(track) {
    const connection = this.#link.connection;
    if (connection === null) return;
    // A kind the session was opened without needs a new offer.
    if (!(await switchTrack(connection.senders, track))) this.#link.restart();
  }

  #heard(heard) {
    setText(byId(this.#doc, 'mic-heard'), heard ? 'Sound is coming in.' : 'No sound from the microphone yet.');
  }

  #mayPublish() {
    const state = this.#item?.room.state;
    return this.#stop === null && (state === RoomState.LOBBY || state === RoomState.LIVE);
  }

  #stopSpeaking(stop) {
    this.#stopFor(stop);
    this.#return.stop();
    this.#link.stop();
    this.#render();
  }

  #linkChanged(state, detail) {
    this.#linkState = state;
    this.#linkDetail = detail;
    const lasting = state === LinkState.REFUSED ? lastingRefusal(detail.error, STOPS) : null;
    if (lasting !== null) this.#stopFor(lasting);
    // The return comes up with the first connection and stays through reconnections.
    if (state === LinkState.CONNECTED) {
      this.#ownId = detail.connection.session.source;
      this.#return.start();
    } else if (!this.#link.wanted) {
      this.#ownId = null;
      this.#return.stop();
    }
    this.#render();
  }

  /** Stop at once, in plain words, if the link may not speak here (another role or room). */
  async #checkAccess(token) {
    try {
      const stop = await accessStop(token, 'speak', this.#roomId);
      if (stop !== null) this.#stopSpeaking(stop);
    } catch {
      // A refused token is reported by the live link; the rest when going on air.
    }
  }

  /** Stopped for good, for `stop`'s reason; its next step is filled in once the server says. */
  #stopFor(stop) {
    this.#stop = stop;
    const context = { token: this.#token, page: 'speak', roomId: this.#roomId };
    explainLater(stop, context, () => this.#stop, (explained) => {
      this.#stop = explained;
      this.#render();
    });
  }

  /** This page's own source, as the `stage` event lists it; null until both are known. */
  #ownSource() {
    return this.#ownId === null ? null : sourceById(this.#item?.room.sources, this.#ownId);
  }

  /** Whether the server says who the page's source is (X-Plenary-Source). */
  #knowsOwnSource() {
    return this.#ownId !== null;
  }

  #showPreview() {
    const stream = this.#preview?.stream ?? null;
    let mode = 'off';
    if (stream !== null) mode = this.#preview.hasVideo ? 'video' : 'audio';
    byId(this.#doc, 'preview-screen').dataset.mode = mode;
    if (stream === null) setText(byId(this.#doc, 'mic-heard'), '');
  }

  #render() {
    const doc = this.#doc;
    const stopPanel = byId(doc, 'stop-panel');
    setShown(stopPanel, this.#stop !== null);
    if (this.#stop !== null) {
      setText(byId(doc, 'stop-heading'), this.#stop.heading);
      setText(byId(doc, 'stop-text'), this.#stop.text ?? '');
    }
    showWay(byId(doc, 'stop-way'), this.#stop, this.#items);
    const status = byId(doc, 'air-status');
    setText(status, this.#statusText());
    status.dataset.state = this.#airState();
    setText(byId(doc, 'air-hint'), this.#hintText());
    const previewOn = this.#preview?.stream != null;
    byId(doc, 'go-live').disabled = !this.#mayPublish() || this.#link.wanted;
    byId(doc, 'stop').disabled = !this.#link.wanted;
    setShown(byId(doc, 'devices-on'), !previewOn);
    const mute = byId(doc, 'mute-mic');
    mute.disabled = !previewOn;
    mute.setAttribute('aria-pressed', String(this.#micMuted));
    setText(mute, this.#micMuted ? 'Unmute microphone' : 'Mute microphone');
    const room = this.#item?.room;
    setText(byId(doc, 'room-counts'), room && room.viewers !== null
      ? `Watching: ${room.viewers} · Sending: ${room.publishers ?? 0}` : '');
    this.#return.show(this.#item, this.#ownId, this.#link.wanted);
  }

  #statusText() {
    const room = this.#item?.room;
    switch (this.#linkState) {
      case LinkState.CONNECTING:
        return 'Connecting…';
      case LinkState.CONNECTED:
        if (this.#knowsOwnSource()) return speakerPlace(this.#ownSource(), room?.state).text;
        return room?.state === RoomState.LOBBY ? 'On air (lobby)' : 'On air';
      case LinkState.RECONNECTING:
        return 'Connection lost — reconnecting…';
      case LinkState.FULL:
        // Read out by screen readers (aria-live): the countdown goes in the hint below.
        return `${retryNotice(this.#linkDetail.error).heading} — trying again by itself`;
      case LinkState.REFUSED:
        // A refusal that ends it for good is explained in the panel at the top.
        return this.#stop === null ? `Not on air: ${this.#linkDetail.error.message}` : 'Not on air';
      default:
        return this.#offAir ?? 'Off air';
    }
  }

  /** The status line's dot and colour: on stage is "on", as on air was before the stage. */
  #airState() {
    if (this.#linkState !== LinkState.CONNECTED) return this.#linkState;
    if (!this.#knowsOwnSource()) return 'on';
    const { place } = speakerPlace(this.#ownSource(), this.#item?.room.state);
    return place === 'stage' ? 'on' : place;
  }

  #hintText() {
    const item = this.#item;
    if (item === null || this.#times === null || this.#stop !== null) return '';
    if (this.#linkState === LinkState.FULL) {
      const { reason } = retryNotice(this.#linkDetail.error);
      return [reason, retryLine(this.#linkDetail.retryAt)].filter(Boolean).join(' ');
    }
    const room = item.room;
    const start = this.#times.when(room.startsAt ?? item.startsAt, this.#now);
    switch (room.state) {
      case RoomState.SCHEDULED:
        return room.opensAt === null
          ? `You can go on air once the lobby opens, before ${start}.`
          : `You can go on air from ${this.#times.when(room.opensAt, this.#now)}, when the lobby opens. The item starts at ${start}.`;
      case RoomState.LOBBY:
        return this.#link.wanted
          ? `Only staff ${this.#preview?.hasVideo ? 'see and hear' : 'hear'} you until the item starts at ${start}.`
          : `The lobby is open. Go on air now to check your sound with the technicians; the public joins at ${start}.`;
      case RoomState.LIVE:
        if (!this.#link.wanted) return 'The item is live.';
        if (this.#knowsOwnSource() && this.#ownSource()?.onStage !== true) {
          return 'The audience does not see or hear you until you are brought on stage.';
        }
        return this.#preview?.hasVideo ? 'Everyone following the item sees and hears you.' : 'Everyone following the item hears you.';
      default:
        return 'This item has ended.';
    }
  }
}

startRoomPage('Speak', (doc, roomId, token, follower) => new SpeakPage(doc, roomId, token, follower));
