/* reply.c: SMTP reply assembly and validation (RFC 5321 4.2). */
#include "reply.h"

#include <ctype.h>
#include <string.h>

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, REPLY_SIZE_MAX + REPLY_LINES_MAX);
}

void
reply_reset(struct reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	r->done = 0;
	r->text.len = 0;
}

void
reply_free(struct reply *r)
{
	buf_free(&r->text);
}

/*
 * RFC 3463: an enhanced status code is class.subject.detail, class being
 * 2, 4 or 5 and matching the reply code's class, subject and detail at
 * most three digits each.
 */
static void
parse_enhanced(struct reply *r, const char *p, size_t len)
{
	size_t i = 0, part, digits;

	if (len < 5 || p[0] != '0' + reply_class(r) || p[1] != '.')
		return;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; i < len && isdigit((unsigned char)p[i]); i++)
			digits++;
		if (digits == 0 || digits > 3)
			return;
		if (part == 0) {
			if (i >= len || p[i] != '.')
				return;
			i++;
		}
	}
	if (i < len && p[i] != ' ')
		return;
	if (i >= sizeof(r->enh))
		return;
	memcpy(r->enh, p, i);
	r->enh[i] = '\0';
}

int
reply_feed(struct reply *r, const char *line, size_t len, struct error *err)
{
	int code;
	int last;

	if (r->done)
		reply_reset(r);
	if (len > REPLY_LINE_MAX)
		return error_set(err, ERR_PROTOCOL,
		    "invalid reply from the server: a line longer than %d bytes",
		    REPLY_LINE_MAX);
	if (memchr(line, '\0', len) != NULL)
		return error_set(err, ERR_PROTOCOL,
		    "invalid reply from the server: a NUL byte");
	/* RFC 5321 4.2: three digits, then SP, "-" or the end of the line. */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return error_set(err, ERR_PROTOCOL,
		    "invalid reply from the server: \"%.*s\"",
		    (int)(len > 60 ? 60 : len), line);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return error_set(err, ERR_PROTOCOL,
		    "invalid reply from the server: code %d changed to %d "
		    "within one reply",
		    r->code, code);
	if (r->nlines == REPLY_LINES_MAX)
		return error_set(err, ERR_PROTOCOL,
		    "invalid reply from the server: more than %d lines",
		    REPLY_LINES_MAX);
	if (r->text.len + len + 1 > REPLY_SIZE_MAX)
		return error_set(err, ERR_PROTOCOL,
		    "invalid reply from the server: longer than %d bytes",
		    REPLY_SIZE_MAX);
	r->code = code;
	r->off[r->nlines++] = r->text.len;
	if (buf_add(&r->text, line, len) == -1 || buf_add(&r->text, "\n", 1))
		return error_set(err, ERR_OSERR, "out of memory");
	last = len == 3 || line[3] == ' ';
	if (last) {
		size_t tl;
		const char *t = reply_line(r, 0, &tl);

		parse_enhanced(r, t, tl);
		r->done = 1;
	}
	return last;
}

const char *
reply_line(const struct reply *r, size_t i, size_t *len)
{
	size_t start, end;

	if (i >= r->nlines) {
		*len = 0;
		return "";
	}
	start = r->off[i];
	end = i + 1 < r->nlines ? r->off[i + 1] : r->text.len;
	end--; /* the \n */
	start += end - start > 3 ? 4 : 3;
	*len = end - start;
	return r->text.data + start;
}

const char *
reply_text(struct reply *r)
{
	if (r->text.len == 0)
		return "";
	/* Replace the final \n by a NUL terminator; the buffer has room. */
	r->text.data[r->text.len - 1] = '\0';
	return r->text.data;
}
