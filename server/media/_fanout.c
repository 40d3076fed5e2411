/*
 * The relay's hot loop in C: one packet encrypted and sent to every viewer of a plan.
 *
 * A packet costs the relay, per viewer, one SRTP encryption and one sendto(). In Python, the
 * calls around those two cost about as much as the encryption itself; here they cost nothing.
 * server/media/fanout.py uses this module when it was built, and falls back to the same loop
 * in Python when it was not: both behave the same, and the tests run both.
 *
 *   Outlet(fd, address, sender)
 *       One viewer's way out: a duplicate of its ICE socket's descriptor (so a socket closed
 *       meanwhile can never have its number reused under us), the (host, port) to send to,
 *       and the SRTP sender that encrypts for it (GcmSender or LibsrtpSender, _srtp.c).
 *       ``send(data)`` sends one packet (a retransmission) the same way.
 *
 *   Fanout(outlets)
 *       ``send(data)`` encrypts ``data`` (a clear RTP packet) for each outlet in turn and
 *       sends it, never blocking: a viewer whose socket is full or whose encryption fails
 *       misses that packet. It returns how many were sent.
 */
#include "_srtp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* -- Outlet ------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    int fd;
    PyObject *sender; /* a GcmSender or a LibsrtpSender */
    struct sockaddr_storage address;
    socklen_t address_length;
} Outlet;

static int parse_address(PyObject *address, struct sockaddr_storage *out, socklen_t *length) {
    const char *host;
    int port;
    unsigned int flowinfo = 0, scope = 0;
    if (!PyTuple_Check(address) ||
        !PyArg_ParseTuple(address, "si|II", &host, &port, &flowinfo, &scope)) {
        PyErr_SetString(PyExc_ValueError, "address must be a (host, port) tuple");
        return -1;
    }
    if (port < 1 || port > 65535) {
        PyErr_Format(PyExc_ValueError, "port %d is out of range", port);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *length = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        v6->sin6_flowinfo = htonl(flowinfo);
        v6->sin6_scope_id = scope;
        *length = sizeof(*v6);
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "%s is not an IPv4 or IPv6 address", host);
    return -1;
}

static int Outlet_init(Outlet *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"fd", "address", "sender", NULL};
    int fd;
    PyObject *address, *sender;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iOO", names, &fd, &address, &sender)) {
        return -1;
    }
    if (!is_srtp_sender(sender)) {
        PyErr_SetString(PyExc_TypeError, "sender must be a GcmSender or a LibsrtpSender");
        return -1;
    }
    if (parse_address(address, &self->address, &self->address_length) < 0) {
        return -1;
    }
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (self->fd >= 0) {
        close(self->fd);
    }
    self->fd = copy;
    Py_INCREF(sender);
    Py_XSETREF(self->sender, sender);
    return 0;
}

static PyObject *Outlet_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Outlet *self = (Outlet *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->fd = -1;
    }
    return (PyObject *)self;
}

static void Outlet_dealloc(Outlet *self) {
    if (self->fd >= 0) {
        close(self->fd);
    }
    Py_XDECREF(self->sender);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Encrypts the clear packet in ``buffer`` (BUFFER_BYTES long) and sends it: 1 if it left. */
static int outlet_send(Outlet *self, unsigned char *buffer, int length) {
    if (self->fd < 0 || self->sender == NULL) {
        return 0;
    }
    SrtpSender *sender = (SrtpSender *)self->sender;
    if (sender->protect(self->sender, buffer, &length) != 0) {
        return 0;
    }
    ssize_t written = sendto(self->fd, buffer, (size_t)length, MSG_DONTWAIT | MSG_NOSIGNAL,
                             (struct sockaddr *)&self->address, self->address_length);
    return written == length;
}

/* A packet for the loop: 12 to PACKET_LIMIT bytes. */
static int get_packet(PyObject *arg, Py_buffer *data) {
    if (PyObject_GetBuffer(arg, data, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (data->len < 12 || data->len > PACKET_LIMIT) {
        PyErr_Format(PyExc_ValueError, "an RTP packet of %zd bytes cannot be sent (12 to %d)",
                     data->len, PACKET_LIMIT);
        PyBuffer_Release(data);
        return -1;
    }
    return 0;
}

static PyObject *Outlet_send(Outlet *self, PyObject *arg) {
    Py_buffer data;
    unsigned char buffer[BUFFER_BYTES];
    if (get_packet(arg, &data) < 0) {
        return NULL;
    }
    memcpy(buffer, data.buf, data.len);
    int length = (int)data.len;
    PyBuffer_Release(&data);
    return PyBool_FromLong(outlet_send(self, buffer, length));
}

static PyObject *Outlet_close(Outlet *self, PyObject *unused) {
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    Py_RETURN_NONE;
}

static PyObject *Outlet_closed(Outlet *self, void *unused) {
    return PyBool_FromLong(self->fd < 0);
}

static PyMethodDef Outlet_methods[] = {
    {"send", (PyCFunction)Outlet_send, METH_O,
     "Encrypt one clear RTP packet and send it; return whether it left."},
    {"close", (PyCFunction)Outlet_close, METH_NOARGS,
     "Close the duplicate descriptor now; sends to this outlet are then skipped."},
    {NULL},
};

static PyGetSetDef Outlet_getset[] = {
    {"closed", (getter)Outlet_closed, NULL, "Whether close() was called.", NULL},
    {NULL},
};

static PyTypeObject OutletType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "server.media._fanout.Outlet",
    .tp_doc = "One viewer's way out: socket, address and SRTP sender.",
    .tp_basicsize = sizeof(Outlet),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Outlet_new,
    .tp_init = (initproc)Outlet_init,
    .tp_dealloc = (destructor)Outlet_dealloc,
    .tp_methods = Outlet_methods,
    .tp_getset = Outlet_getset,
};

/* -- Fanout ------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *outlets; /* a tuple of Outlet */
    unsigned char buffer[BUFFER_BYTES];
} Fanout;

static int Fanout_init(Fanout *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"outlets", NULL};
    PyObject *outlets;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O", names, &outlets)) {
        return -1;
    }
    PyObject *tuple = PySequence_Tuple(outlets);
    if (tuple == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(tuple, i), &OutletType)) {
            Py_DECREF(tuple);
            PyErr_SetString(PyExc_TypeError, "outlets must all be Outlet");
            return -1;
        }
    }
    Py_XSETREF(self->outlets, tuple);
    return 0;
}

static void Fanout_dealloc(Fanout *self) {
    Py_XDECREF(self->outlets);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Fanout_send(Fanout *self, PyObject *arg) {
    Py_buffer data;
    if (self->outlets == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Fanout was not initialised");
        return NULL;
    }
    if (get_packet(arg, &data) < 0) {
        return NULL;
    }
    long sent = 0;
    Py_ssize_t count = PyTuple_GET_SIZE(self->outlets);
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(self->buffer, data.buf, data.len);
        sent += outlet_send((Outlet *)PyTuple_GET_ITEM(self->outlets, i), self->buffer,
                            (int)data.len);
    }
    PyBuffer_Release(&data);
    return PyLong_FromLong(sent);
}

static PyObject *Fanout_len(Fanout *self, void *unused) {
    return PyLong_FromSsize_t(self->outlets ? PyTuple_GET_SIZE(self->outlets) : 0);
}

static PyMethodDef Fanout_methods[] = {
    {"send", (PyCFunction)Fanout_send, METH_O,
     "Encrypt a clear RTP packet for every outlet and send it; return how many were sent."},
    {NULL},
};

static PyGetSetDef Fanout_getset[] = {
    {"size", (getter)Fanout_len, NULL, "How many outlets.", NULL},
    {NULL},
};

static PyTypeObject FanoutType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "server.media._fanout.Fanout",
    .tp_doc = "One packet to many viewers: encrypt and send, per outlet.",
    .tp_basicsize = sizeof(Fanout),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Fanout_init,
    .tp_dealloc = (destructor)Fanout_dealloc,
    .tp_methods = Fanout_methods,
    .tp_getset = Fanout_getset,
};

/* -- module ------------------------------------------------------------------------------ */

static struct PyModuleDef fanout_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "server.media._fanout",
    .m_doc = "The relay's per-viewer encrypt-and-send loop, in C.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__fanout(void) {
    if (srtp_senders_ready() < 0 || PyType_Ready(&OutletType) < 0 ||
        PyType_Ready(&FanoutType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&fanout_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Outlet", (PyObject *)&OutletType) < 0 ||
        PyModule_AddObjectRef(module, "Fanout", (PyObject *)&FanoutType) < 0 ||
        PyModule_AddObjectRef(module, "GcmSender", (PyObject *)&GcmSenderType) < 0 ||
        PyModule_AddObjectRef(module, "LibsrtpSender", (PyObject *)&LibsrtpSenderType) < 0 ||
        PyModule_AddIntConstant(module, "PACKET_LIMIT", PACKET_LIMIT) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
