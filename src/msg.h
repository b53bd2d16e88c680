/*
 * msg.h: the message read from standard input, and the streaming filter
 * that turns it into SMTP content: CRLF line endings, dot-stuffing, the
 * final dot (RFC 5321 4.5.2), in constant memory.
 */
#ifndef OUTBOX_MSG_H
#define OUTBOX_MSG_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

struct bodyfilter {
	int bol;		  /* at the beginning of a line */
	int cr;			  /* the last byte was a CR */
	int raw;		  /* for BDAT: no dot-stuffing, no final dot */
	unsigned long long size;  /* content bytes out, dots unstuffed */
	unsigned long long lines; /* line endings among them */
};

void bodyfilter_init(struct bodyfilter *);
/*
 * Filter n bytes into out (which grows by at most 2n).  LF, CRLF and a
 * bare CR each become CRLF; a line starting with "." gets another.  -1
 * with err set on a NUL byte, which SMTP content cannot carry.
 */
int bodyfilter_feed(struct bodyfilter *, const char *in, size_t n,
    struct buf *out, struct error *);
/* End the content: CRLF if the last line lacks one, then ".\r\n". */
int bodyfilter_finish(struct bodyfilter *, struct buf *out, struct error *);

struct msg;

/* Read the message from fd; nothing is read until msg_prefetch. */
struct msg *msg_new(int fd);
void msg_free(struct msg *);
/*
 * Read ahead up to the first buffer's worth before connecting, so that a
 * short message is checked (NUL bytes, 8-bit content) before the server
 * sees anything.
 */
int msg_prefetch(struct msg *, struct error *);
/*
 * The header fields read by msg_prefetch, in order.  msg_field returns
 * the field's start (its name, namelen bytes) and its raw value: what
 * follows the colon, folding kept, the final line ending not.
 */
size_t msg_nfields(const struct msg *);
const char *msg_field(const struct msg *, size_t i, size_t *namelen,
    const char **value, size_t *valuelen);
int msg_field_is(const struct msg *, size_t i, const char *name);
/* The first field of that name not dropped, or -1. */
int msg_find_field(const struct msg *, const char *name);
/* Leave a field out of what is sent. */
void msg_drop_field(struct msg *, size_t i);
/* Add "name: value" in front of the original fields, in call order. */
int msg_add_field(struct msg *, const char *name, const char *value,
    struct error *);
/* Whether all of the message was read by msg_prefetch. */
int msg_whole(const struct msg *);
/* Send it for BDAT (RFC 3030 2): not dot-stuffed, no final dot. */
void msg_raw(struct msg *);
/* 1 when the content has 8-bit bytes or may have (not all read yet). */
int msg_eightbit(const struct msg *);
/*
 * Append filtered content to out until it holds at least `upto' bytes.
 * Returns 1 while more is to come, 0 once the final dot was written.
 */
/*
 * All of the content went out: free what reading it took.  Only the
 * sizes (msg_size, msg_size_lf) and msg_eightbit stay good.
 */
void msg_release(struct msg *);
int msg_pump(struct msg *, struct buf *out, size_t upto, struct error *);
/*
 * The size msg_size will reach, known before sending (RFC 1870 SIZE):
 * when msg_prefetch read all of the message, or the rest of it is in a
 * regular file (which is then read once more, to count).  0 if unknown.
 * Call it after the header edits, before msg_pump.
 */
unsigned long long msg_content_size(struct msg *);
/* Content bytes written so far (CRLF line endings, dots unstuffed). */
unsigned long long msg_size(const struct msg *);
/* The same with each line ending counted as one byte (the log's size). */
unsigned long long msg_size_lf(const struct msg *);

#endif
