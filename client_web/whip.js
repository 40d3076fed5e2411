// Publishing into a room over WHIP: a send-only peer connection carrying the microphone (and
// the camera, unless the room takes sound only) offered to POST /whip/{room}.

import { openSession } from './mediasession.js';

/**
 * Start publishing `stream` (its first audio and video track) into `room`. Resolves with
 * {session, senders}: `senders.audio` / `senders.video` swap devices without renegotiating.
 */
export async function publishToRoom({ room, token, iceServers, stream, signal }) {
  const tracks = [stream.getAudioTracks()[0], stream.getVideoTracks()[0]].filter(Boolean);
  if (tracks.length === 0) throw new TypeError('nothing to publish: the stream has no tracks');
  const pc = new RTCPeerConnection({ iceServers });
  const senders = {};
  for (const track of tracks) {
    senders[track.kind] = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] }).sender;
  }
  const session = await openSession(pc, `/whip/${encodeURIComponent(room)}`, token, { signal });
  return { session, senders };
}

/** Send `track` instead of the current one of its kind; false when that kind is not sent. */
export async function switchTrack(senders, track) {
  const sender = senders[track.kind];
  if (!sender) return false;
  await sender.replaceTrack(track);
  return true;
}
