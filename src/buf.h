/* buf.h: a growable byte buffer with a stated maximum. */
#ifndef OUTBOX_BUF_H
#define OUTBOX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* growing past this fails */
};

void buf_init(struct buf *, size_t max);
void buf_free(struct buf *);
/* Wipe the contents (for secrets) and empty the buffer. */
void buf_wipe(struct buf *);
int buf_reserve(struct buf *, size_t extra);
int buf_add(struct buf *, const void *, size_t);
int buf_addstr(struct buf *, const char *);
int buf_printf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(struct buf *, size_t n);

#endif
