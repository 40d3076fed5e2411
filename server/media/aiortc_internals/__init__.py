"""Every place plenary reaches into aiortc's, aioice's and pylibsrtp's internals, in one folder.

aiortc (1.16) decodes every packet it receives and encodes every frame it sends. A relay must
do neither, so these modules change three things on individual objects, never on the classes:

- a publisher's ``RTCRtpReceiver`` hands each RTP packet to the relay as it arrives, while the
  receiver still keeps its statistics, receiver reports, NACKs and REMB towards the publisher;
  its decoder thread is stopped and its jitter buffer replaced by one that keeps nothing
  (``publisher.py``); and the publisher's next datagram is taken at once (``media_first.py``);
- a viewer's ``RTCRtpSender`` has no encoder loop: the relay encrypts finished RTP packets
  and sends them on its ICE pair (``route()``, and ``outlet()`` for the C loop that
  ``fanout.py`` drives, with its own AES-GCM when that is the SRTP profile, else with the
  connection's libsrtp session), gives it the history to answer NACKs from with aiortc's own
  retransmission, and sends its RTCP sender reports when the relay says (``send_report``)
  instead of from a task of its own; a viewer's keyframe request calls the relay
  (``viewer_sender.py``, with ``srtp.py`` and ``dtls_keys.py``);
- the DTLS role and the ICE candidates of a connection are chosen by plenary (``ice.py``).

``compat.py`` lists every one of those internals in one table. Its ``check_compatible()``
stops ``plenary serve`` at start-up, with one paragraph naming what differs, unless aiortc,
aioice, pylibsrtp and the libsrtp inside it are the versions pinned and every internal in the
table is as the relay uses it.
"""
