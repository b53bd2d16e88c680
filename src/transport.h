/* transport.h: a byte stream (plain socket or TLS) with deadlines. */
#ifndef OUTBOX_TRANSPORT_H
#define OUTBOX_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct transport;

struct transport_ops {
	/* > 0 bytes read, 0 at end of stream, -1 with err set. */
	ssize_t (*read)(struct transport *, void *, size_t, int64_t deadline,
	    struct error *);
	/* Write all of it or fail. */
	int (*write)(struct transport *, const void *, size_t, int64_t deadline,
	    struct error *);
	/* Bytes the transport holds that a read returns without waiting. */
	size_t (*pending)(struct transport *);
	/* Say goodbye (best effort, bounded), close the socket, free. */
	void (*close)(struct transport *);
	const char *name;
};

struct transport {
	const struct transport_ops *ops;
	int fd;
	void *ctx; /* the implementation's state */
};

/* A plain transport over a connected, non-blocking socket. */
struct transport *transport_plain(int fd);
/* Like close(), but leaves the socket open (for the TLS upgrade). */
void transport_release(struct transport *);

#define transport_read(t, p, n, d, e) ((t)->ops->read((t), (p), (n), (d), (e)))
#define transport_write(t, p, n, d, e) \
	((t)->ops->write((t), (p), (n), (d), (e)))
#define transport_pending(t) ((t)->ops->pending(t))
#define transport_close(t) ((t)->ops->close(t))

/* Milliseconds on the monotonic clock. */
int64_t transport_clock_ms(void);
/* A deadline `seconds' from now. */
int64_t transport_deadline_in(int seconds);
/*
 * Send all of p on a non-blocking socket by the deadline; `peer' names
 * the other end in messages ("the server").
 */
int transport_fd_send_all(int fd, const void *p, size_t n, int64_t deadline,
    const char *peer, struct error *);
/* Write all of p to a blocking file: 0, or -1 with errno set. */
int transport_fd_write_all(int fd, const void *p, size_t n);
/*
 * Wait until fd is ready for `events' (POLLIN/POLLOUT) or the deadline
 * passes.  0 when ready, -1 with err set on time-out.
 */
int transport_fd_wait(int fd, short events, int64_t deadline, const char *what,
    struct error *);

#endif
