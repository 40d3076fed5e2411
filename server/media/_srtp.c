/*
 * SRTP for the relay's C loop: how each viewer's copy of a packet is encrypted.
 *
 * A relay encrypts every packet once per viewer, so this is half its work. libsrtp, through
 * pylibsrtp, spends more of that on its own bookkeeping (finding the stream, shifting a
 * 1024-bit replay window, key-usage counts) than on the cipher. For the AEAD AES-GCM profiles
 * (RFC 7714), which aiortc prefers and browsers accept, GcmSender does the same with one
 * pre-keyed OpenSSL context per viewer and stream. Other profiles keep libsrtp (LibsrtpSender).
 *
 *   GcmSender(key, salt)
 *       The session encryption key (16 or 32 bytes) and session salt (12 bytes) of one viewer's
 *       SRTP, as derived from the DTLS master key (server/media/srtp_keys.py), for one RTP
 *       stream (SSRC): the first packet sets it, others are refused. It numbers packets as
 *       libsrtp does (the rollover counter guessed from the highest index sent), and like
 *       libsrtp it refuses an index older than its 1024-packet window. An index sent already
 *       is encrypted again only for the very same packet (a retransmission without RTX),
 *       which gives the very same bytes: AES-GCM must never use one nonce for two different
 *       packets, so a packet whose tag differs from the first one's is refused, not sent.
 *       ``protect(packet)`` returns the SRTP packet, or raises ValueError.
 *
 *   LibsrtpSender(protect, session, keep)
 *       libsrtp's srtp_protect (its address) on a pylibsrtp session (an srtp_t as an integer),
 *       kept alive by holding ``keep``.
 */
#include "_srtp.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define SALT_BYTES 12
#define TAG_BYTES 16
#define WINDOW_BITS 1024 /* as aiortc's libsrtp sessions (Policy.window_size) */
#define WINDOW_WORDS (WINDOW_BITS / 64)
#define SEQUENCE_HALF 0x8000
#define SEQUENCE_SPACE 0x10000

/* -- GcmSender --------------------------------------------------------------------------- */

typedef struct {
    SRTP_SENDER_HEAD
    EVP_CIPHER_CTX *context;
    unsigned char salt[SALT_BYTES];
    uint32_t ssrc; /* network byte order, as in the header */
    int started;
    uint64_t highest;              /* the highest index sent: rollover counter << 16 | seq */
    uint64_t window[WINDOW_WORDS]; /* bit n of the window: index highest - n was sent */
    uint64_t tags[WINDOW_BITS];    /* the start of the tag sent with each index, by index */
} GcmSender;

/* The RTP header's length (fixed part, CSRCs, extension), or -1 if it is not RTP. */
static int header_length(const unsigned char *packet, int length) {
    if (length < 12 || (packet[0] >> 6) != 2) {
        return -1;
    }
    int size = 12 + 4 * (packet[0] & 0x0F);
    if (packet[0] & 0x10) {
        if (size + 4 > length) {
            return -1;
        }
        size += 4 + 4 * (packet[size + 2] << 8 | packet[size + 3]);
    }
    return size <= length ? size : -1;
}

/* libsrtp's guess (srtp_rdbx_estimate_index): the index ending in ``sequence`` nearest the
 * highest sent, and how far ahead of the highest it is (negative: behind). */
static int64_t estimate(const GcmSender *self, int sequence, uint64_t *index) {
    if (self->highest <= SEQUENCE_HALF) {
        *index = (uint64_t)sequence;
        return (int64_t)sequence - (int64_t)self->highest;
    }
    int64_t rollover = (int64_t)(self->highest >> 16);
    int local = (int)(self->highest & 0xFFFF);
    int64_t difference = sequence - local;
    if (local < SEQUENCE_HALF && difference > SEQUENCE_HALF) {
        rollover -= 1;
        difference -= SEQUENCE_SPACE;
    } else if (local >= SEQUENCE_HALF && local - SEQUENCE_HALF > sequence) {
        rollover += 1;
        difference += SEQUENCE_SPACE;
    }
    *index = (uint64_t)rollover << 16 | (uint64_t)sequence;
    return difference;
}

static int window_bit(const GcmSender *self, int64_t behind) {
    return (int)(self->window[behind / 64] >> (behind % 64) & 1);
}

static void window_set(GcmSender *self, int64_t behind) {
    self->window[behind / 64] |= (uint64_t)1 << (behind % 64);
}

/* The window moves ``ahead`` indices on: what was at bit n is now at bit n + ahead. */
static void window_advance(GcmSender *self, int64_t ahead) {
    if (ahead >= WINDOW_BITS) {
        memset(self->window, 0, sizeof(self->window));
        return;
    }
    int words = (int)(ahead / 64), bits = (int)(ahead % 64);
    for (int i = WINDOW_WORDS - 1; i >= 0; i--) {
        uint64_t moved = i - words >= 0 ? self->window[i - words] << bits : 0;
        if (bits && i - words - 1 >= 0) {
            moved |= self->window[i - words - 1] >> (64 - bits);
        }
        self->window[i] = moved;
    }
}

/* A new index was sent: the window moves on to it, or marks it if it came late. */
static void remember(GcmSender *self, uint32_t ssrc, uint64_t index, int64_t ahead,
                     uint64_t tag) {
    if (!self->started) {
        self->started = 1;
        self->ssrc = ssrc;
    }
    if (ahead > 0) {
        window_advance(self, ahead);
        self->highest += (uint64_t)ahead;
        window_set(self, 0);
    } else {
        window_set(self, -ahead);
    }
    self->tags[index % WINDOW_BITS] = tag;
}

/* Encrypts in place as RFC 7714 section 8: the header is the associated data, the payload
 * is encrypted, the 16-byte tag follows. */
static int gcm_protect(PyObject *object, unsigned char *packet, int *length) {
    GcmSender *self = (GcmSender *)object;
    int header = header_length(packet, *length);
    if (self->context == NULL) {
        return -4; /* never keyed */
    }
    if (header < 0 || *length + TAG_BYTES > BUFFER_BYTES) {
        return -1;
    }
    uint32_t ssrc;
    memcpy(&ssrc, packet + 8, 4);
    if (self->started && ssrc != self->ssrc) {
        return -2; /* one stream per sender: its index is only meaningful for one SSRC */
    }
    uint64_t index;
    int64_t ahead = estimate(self, packet[2] << 8 | packet[3], &index);
    if (ahead <= -WINDOW_BITS) {
        return -3; /* older than the window */
    }
    int again = ahead <= 0 && window_bit(self, -ahead);
    unsigned char iv[SALT_BYTES] = {0};
    memcpy(iv + 2, &ssrc, 4);
    uint32_t rollover = htonl((uint32_t)(index >> 16));
    memcpy(iv + 6, &rollover, 4);
    memcpy(iv + 10, packet + 2, 2);
    for (int i = 0; i < SALT_BYTES; i++) {
        iv[i] ^= self->salt[i];
    }
    int written, payload = *length - header;
    if (EVP_EncryptInit_ex(self->context, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(self->context, NULL, &written, packet, header) != 1 ||
        EVP_EncryptUpdate(self->context, packet + header, &written, packet + header, payload) != 1 ||
        EVP_EncryptFinal_ex(self->context, packet + header + written, &written) != 1 ||
        EVP_CIPHER_CTX_ctrl(self->context, EVP_CTRL_GCM_GET_TAG, TAG_BYTES,
                            packet + *length) != 1) {
        return -4;
    }
    uint64_t tag;
    memcpy(&tag, packet + *length, sizeof(tag));
    if (again && tag != self->tags[index % WINDOW_BITS]) {
        return -3; /* the same nonce for another packet: this one must not leave */
    }
    if (!again) {
        remember(self, ssrc, index, ahead, tag);
    }
    *length += TAG_BYTES;
    return 0;
}

static PyObject *GcmSender_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    GcmSender *self = (GcmSender *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->protect = gcm_protect;
    }
    return (PyObject *)self;
}

static int GcmSender_init(GcmSender *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"key", "salt", NULL};
    Py_buffer key, salt;
    if (self->context != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a GcmSender is keyed once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*", names, &key, &salt)) {
        return -1;
    }
    const EVP_CIPHER *cipher = key.len == 16 ? EVP_aes_128_gcm()
                               : key.len == 32 ? EVP_aes_256_gcm()
                                               : NULL;
    int result = -1;
    if (cipher == NULL) {
        PyErr_Format(PyExc_ValueError, "an AES-GCM key is 16 or 32 bytes, not %zd", key.len);
    } else if (salt.len != SALT_BYTES) {
        PyErr_Format(PyExc_ValueError, "the salt is %d bytes, not %zd", SALT_BYTES, salt.len);
    } else if ((self->context = EVP_CIPHER_CTX_new()) == NULL ||
               EVP_EncryptInit_ex(self->context, cipher, NULL, NULL, NULL) != 1 ||
               EVP_CIPHER_CTX_ctrl(self->context, EVP_CTRL_GCM_SET_IVLEN, SALT_BYTES, NULL) != 1 ||
               EVP_EncryptInit_ex(self->context, NULL, NULL, key.buf, NULL) != 1) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL could not set up AES-GCM");
        EVP_CIPHER_CTX_free(self->context); /* never half keyed */
        self->context = NULL;
    } else {
        memcpy(self->salt, salt.buf, SALT_BYTES);
        result = 0;
    }
    PyBuffer_Release(&key);
    PyBuffer_Release(&salt);
    return result;
}

static void GcmSender_dealloc(GcmSender *self) {
    EVP_CIPHER_CTX_free(self->context); /* clears the key schedule */
    OPENSSL_cleanse(self->salt, sizeof(self->salt));
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static const char *const refusals[] = {
    "",
    "not an RTP packet (or too large to encrypt)",
    "a packet of another SSRC than this sender's",
    "that packet index was sent already with other content, or is older than the window",
    "OpenSSL failed to encrypt",
};

static PyObject *GcmSender_protect(GcmSender *self, PyObject *arg) {
    Py_buffer data;
    unsigned char buffer[BUFFER_BYTES];
    if (self->context == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "GcmSender was not initialised");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (data.len > PACKET_LIMIT) {
        PyErr_Format(PyExc_ValueError, "an RTP packet of %zd bytes is over %d", data.len,
                     PACKET_LIMIT);
        PyBuffer_Release(&data);
        return NULL;
    }
    int length = (int)data.len;
    memcpy(buffer, data.buf, data.len);
    PyBuffer_Release(&data);
    int refused = gcm_protect((PyObject *)self, buffer, &length);
    if (refused) {
        PyErr_SetString(PyExc_ValueError, refusals[-refused]);
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)buffer, length);
}

static PyObject *GcmSender_rollover(GcmSender *self, void *unused) {
    return PyLong_FromUnsignedLongLong(self->highest >> 16);
}

static PyMethodDef GcmSender_methods[] = {
    {"protect", (PyCFunction)GcmSender_protect, METH_O,
     "Encrypt one clear RTP packet; return the SRTP packet or raise ValueError."},
    {NULL},
};

static PyGetSetDef GcmSender_getset[] = {
    {"rollover", (getter)GcmSender_rollover, NULL, "The rollover counter of the highest "
     "index sent.", NULL},
    {NULL},
};

PyTypeObject GcmSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "server.media._fanout.GcmSender",
    .tp_doc = "SRTP AEAD AES-GCM (RFC 7714) for one viewer's RTP stream.",
    .tp_basicsize = sizeof(GcmSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = GcmSender_new,
    .tp_init = (initproc)GcmSender_init,
    .tp_dealloc = (destructor)GcmSender_dealloc,
    .tp_methods = GcmSender_methods,
    .tp_getset = GcmSender_getset,
};

/* -- LibsrtpSender ----------------------------------------------------------------------- */

typedef int (*srtp_protect_fn)(void *session, void *packet, int *length);

typedef struct {
    SRTP_SENDER_HEAD
    srtp_protect_fn srtp_protect;
    void *session;
    PyObject *keep;
} LibsrtpSender;

static int libsrtp_protect(PyObject *object, unsigned char *packet, int *length) {
    LibsrtpSender *self = (LibsrtpSender *)object;
    if (self->session == NULL) {
        return -1;
    }
    return self->srtp_protect(self->session, packet, length);
}

static PyObject *LibsrtpSender_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    LibsrtpSender *self = (LibsrtpSender *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->protect = libsrtp_protect;
    }
    return (PyObject *)self;
}

static int LibsrtpSender_init(LibsrtpSender *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"protect", "session", "keep", NULL};
    unsigned long long protect, session;
    PyObject *keep;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "KKO", names, &protect, &session, &keep)) {
        return -1;
    }
    if (protect == 0) {
        PyErr_SetString(PyExc_ValueError, "no srtp_protect");
        return -1;
    }
    if (session == 0) {
        PyErr_SetString(PyExc_ValueError, "no SRTP session");
        return -1;
    }
    self->srtp_protect = (srtp_protect_fn)(uintptr_t)protect;
    self->session = (void *)(uintptr_t)session;
    Py_INCREF(keep);
    Py_XSETREF(self->keep, keep);
    return 0;
}

static void LibsrtpSender_dealloc(LibsrtpSender *self) {
    Py_XDECREF(self->keep);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyTypeObject LibsrtpSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "server.media._fanout.LibsrtpSender",
    .tp_doc = "libsrtp's srtp_protect on a pylibsrtp session.",
    .tp_basicsize = sizeof(LibsrtpSender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = LibsrtpSender_new,
    .tp_init = (initproc)LibsrtpSender_init,
    .tp_dealloc = (destructor)LibsrtpSender_dealloc,
};

/* -- both -------------------------------------------------------------------------------- */

int srtp_senders_ready(void) {
    return PyType_Ready(&GcmSenderType) < 0 || PyType_Ready(&LibsrtpSenderType) < 0 ? -1 : 0;
}

int is_srtp_sender(PyObject *object) {
    return PyObject_TypeCheck(object, &GcmSenderType) ||
           PyObject_TypeCheck(object, &LibsrtpSenderType);
}
