/* reply.h: assemble and validate one SMTP reply, line by line. */
#ifndef OUTBOX_REPLY_H
#define OUTBOX_REPLY_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Limits on what a server may send us in one reply. */
#define REPLY_LINE_MAX 4096 /* bytes in one line, without CRLF */
#define REPLY_LINES_MAX 200
#define REPLY_SIZE_MAX 65536

struct reply {
	int code;     /* 0 until the first line is seen */
	char enh[16]; /* enhanced status code ("5.1.1"), or "" */
	size_t nlines;
	size_t off[REPLY_LINES_MAX]; /* start of each line in text */
	struct buf text; /* the lines as received, each ended by \n */
	int done;
};

void reply_init(struct reply *);
void reply_reset(struct reply *);
void reply_free(struct reply *);
/*
 * Add one line (without its line ending).  Returns 1 when the reply is
 * complete, 0 when more lines follow, -1 (with err set) when the line is
 * not valid for a reply or a limit is passed.
 */
int reply_feed(struct reply *, const char *line, size_t len, struct error *);
/* Line i's text after the code and separator, NUL-terminated copy in out. */
const char *reply_line(const struct reply *, size_t i, size_t *len);
/* The whole reply as text, lines separated by \n, no final \n. */
const char *reply_text(struct reply *);
/* 2, 3, 4 or 5. */
#define reply_class(r) ((r)->code / 100)

#endif
