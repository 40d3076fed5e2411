// Watching a room over WHEP: a receive-only peer connection offered to POST /whep/{room}. Its
// m-lines are its slots: every audio m-line first, then every video m-line; video m-line k
// carries the source on stage whose `slot` is k, and every audio m-line one source's sound.

import { openSession } from './mediasession.js';

/** Only the remote panelists on stage, never the hall's own feed (the hall's return). */
export const REMOTE_VIEW = 'remote';

/**
 * Start watching `room` with `offered` = {audio, video} m-lines (stage.js offeredSlots), and
 * `view` (REMOTE_VIEW or null). Resolves with {session, audioTracks, videoTracks, offered}:
 * `videoTracks[k]` is video slot k's track. Throws as openSession does.
 */
export async function watchRoom({ room, token, iceServers, offered, view = null, signal }) {
  const pc = new RTCPeerConnection({ iceServers });
  const receive = (kind, count) => Array.from({ length: count },
    () => pc.addTransceiver(kind, { direction: 'recvonly' }).receiver.track);
  const audioTracks = receive('audio', offered.audio);
  const videoTracks = receive('video', offered.video);
  const query = view === null ? '' : `?view=${encodeURIComponent(view)}`;
  const session = await openSession(pc, `/whep/${encodeURIComponent(room)}${query}`, token, { signal });
  return { session, audioTracks, videoTracks, offered };
}
