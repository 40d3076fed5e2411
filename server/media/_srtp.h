/*
 * How the C loop encrypts a viewer's copy of a packet: an SRTP sender, of one of two kinds.
 *
 *   GcmSender     SRTP with AEAD AES-GCM (RFC 7714) done here with OpenSSL, for the profiles
 *                 that browsers and aiortc agree on first; see _srtp.c.
 *   LibsrtpSender libsrtp's srtp_protect on a pylibsrtp session, for any other profile.
 *
 * Both start with SRTP_SENDER_HEAD, so the loop calls either through ``protect``.
 */
#ifndef PLENARY_SRTP_H
#define PLENARY_SRTP_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* As aiortc_internals/srtp.py SRTP_BUFFER_BYTES and pylibsrtp's SRTP_MAX_TRAILER_LEN. */
#define BUFFER_BYTES 2048
#define TRAILER_BYTES 144
#define PACKET_LIMIT (BUFFER_BYTES - TRAILER_BYTES)

/* Encrypts the clear RTP packet of *length bytes in ``packet`` (BUFFER_BYTES long) in place,
 * and sets *length to the SRTP packet's. 0 on success; anything else: not sent. */
typedef int (*protect_fn)(PyObject *sender, unsigned char *packet, int *length);

#define SRTP_SENDER_HEAD \
    PyObject_HEAD        \
    protect_fn protect;

typedef struct {
    SRTP_SENDER_HEAD
} SrtpSender;

extern PyTypeObject GcmSenderType;
extern PyTypeObject LibsrtpSenderType;

/* Readies both types; -1 with an exception set on failure. */
int srtp_senders_ready(void);
/* Whether ``object`` is one of the two kinds of sender. */
int is_srtp_sender(PyObject *object);

#endif
