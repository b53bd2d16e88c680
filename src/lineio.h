/* lineio.h: buffered line reading and coalesced writing over a transport. */
#ifndef OUTBOX_LINEIO_H
#define OUTBOX_LINEIO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "transport.h"

/* A flush happens when this much is waiting; TLS records are then full. */
#define LINEIO_FLUSH_AT (256 * 1024)

struct lineio;

struct lineio *lineio_new(struct transport *, size_t maxline);
void lineio_free(struct lineio *);
void lineio_set_transport(struct lineio *, struct transport *);
struct transport *lineio_transport(struct lineio *);
/*
 * Read one line; *line points into the buffer, without the line ending,
 * valid until the next call.  -1 with err set on time-out, end of stream
 * or a line longer than maxline.
 */
int lineio_getline(struct lineio *, int64_t deadline, const char **line,
    size_t *len, struct error *);
/* Bytes received but not yet returned as lines. */
size_t lineio_buffered(struct lineio *);
/* The write buffer: append to it, then flush. */
struct buf *lineio_wbuf(struct lineio *);
/* Wipe the write buffer after the next flush (it holds a secret). */
void lineio_secret(struct lineio *);
/* Send everything written so far as one flight. */
int lineio_flush(struct lineio *, int64_t deadline, struct error *);

#endif
