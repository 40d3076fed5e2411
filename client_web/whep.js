// Watching a room over WHEP: a receive-only peer connection (audio, then video unless only
// sound is wanted) offered to POST /whep/{room}.

import { openSession } from './mediasession.js';

/**
 * Start watching `room`. Resolves with {session, stream, audioOnly}: `stream` holds the
 * tracks the server sends. Throws as openSession does.
 */
export async function watchRoom({ room, token, iceServers, audioOnly, signal }) {
  const pc = new RTCPeerConnection({ iceServers });
  const stream = new MediaStream();
  pc.addEventListener('track', (event) => stream.addTrack(event.track));
  pc.addTransceiver('audio', { direction: 'recvonly' });
  if (!audioOnly) pc.addTransceiver('video', { direction: 'recvonly' });
  const session = await openSession(pc, `/whep/${encodeURIComponent(room)}`, token, { signal });
  return { session, stream, audioOnly };
}
