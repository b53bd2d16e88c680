/* msg.c: reading the message and the body filter. */
#include "msg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE (128 * 1024)

/* Bytes that end an ordinary run: CR, LF, NUL. */
static const unsigned char special[256] = {
	['\0'] = 1,
	['\n'] = 1,
	['\r'] = 1,
};

void
bodyfilter_init(struct bodyfilter *bf)
{
	bf->bol = 1;
	bf->cr = 0;
	bf->size = 0;
}

int
bodyfilter_feed(struct bodyfilter *bf, const char *in, size_t n,
    struct buf *out, struct error *err)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + n, *q;
	char *o, *o0;
	unsigned long long stuffed = 0;

	if (n > ((size_t)-1) / 2 - 8 || buf_reserve(out, 2 * n + 8) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	o = o0 = out->data + out->len;
	while (p < end) {
		if (bf->cr) {
			bf->cr = 0;
			if (*p == '\n') { /* the LF of a CRLF */
				p++;
				continue;
			}
		}
		if (*p == '\r' || *p == '\n') {
			bf->cr = *p == '\r';
			*o++ = '\r';
			*o++ = '\n';
			bf->bol = 1;
			p++;
			continue;
		}
		if (*p == '\0') {
			out->len = (size_t)(o - out->data);
			return error_set(err, ERR_DATA,
			    "the message contains a NUL byte, which SMTP "
			    "cannot carry (encode it, e.g. as base64)");
		}
		/* RFC 5321 4.5.2: a line starting with "." gets another. */
		if (bf->bol && *p == '.') {
			*o++ = '.';
			stuffed++;
		}
		bf->bol = 0;
		for (q = p; q < end && !special[*q]; q++)
			;
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		p = q;
	}
	bf->size += (unsigned long long)(o - o0) - stuffed;
	out->len = (size_t)(o - out->data);
	return 0;
}

int
bodyfilter_finish(struct bodyfilter *bf, struct buf *out, struct error *err)
{
	const char *tail = bf->bol ? ".\r\n" : "\r\n.\r\n";

	if (!bf->bol)
		bf->size += 2;
	bf->bol = 1;
	bf->cr = 0;
	if (buf_addstr(out, tail) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

struct msg {
	int fd;
	char *rbuf;
	size_t off, len; /* unfiltered bytes in rbuf */
	int eof;
	int eightbit;
	int finished;
	struct bodyfilter bf;
};

struct msg *
msg_new(int fd)
{
	struct msg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->rbuf = malloc(READ_SIZE)) == NULL) {
		free(m);
		return NULL;
	}
	m->fd = fd;
	bodyfilter_init(&m->bf);
	return m;
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	free(m->rbuf);
	free(m);
}

/* Read once into rbuf after what is there; 0 at end of input. */
static ssize_t
fill(struct msg *m, struct error *err)
{
	struct pollfd pfd;
	ssize_t n;

	for (;;) {
		n = read(m->fd, m->rbuf + m->len, READ_SIZE - m->len);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			pfd.fd = m->fd;
			pfd.events = POLLIN;
			poll(&pfd, 1, -1);
			continue;
		}
		return error_set(err, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
	}
	if (n == 0)
		m->eof = 1;
	m->len += (size_t)n;
	return n;
}

int
msg_prefetch(struct msg *m, struct error *err)
{
	size_t i;

	while (!m->eof && m->len < READ_SIZE)
		if (fill(m, err) == -1)
			return -1;
	if (memchr(m->rbuf, '\0', m->len) != NULL)
		return error_set(err, ERR_DATA,
		    "the message contains a NUL byte, which SMTP cannot carry "
		    "(encode it, e.g. as base64)");
	/* What is not read yet may hold 8-bit bytes: assume it does. */
	m->eightbit = !m->eof;
	for (i = 0; i < m->len && !m->eightbit; i++)
		if ((unsigned char)m->rbuf[i] >= 0x80)
			m->eightbit = 1;
	return 0;
}

int
msg_eightbit(const struct msg *m)
{
	return m->eightbit;
}

int
msg_pump(struct msg *m, struct buf *out, size_t upto, struct error *err)
{
	if (m->finished)
		return 0;
	while (out->len < upto) {
		if (m->off < m->len) {
			if (bodyfilter_feed(&m->bf, m->rbuf + m->off,
				m->len - m->off, out, err) == -1)
				return -1;
			m->off = m->len = 0;
			continue;
		}
		if (m->eof) {
			if (bodyfilter_finish(&m->bf, out, err) == -1)
				return -1;
			m->finished = 1;
			return 0;
		}
		if (fill(m, err) == -1)
			return -1;
	}
	return 1;
}

unsigned long long
msg_size(const struct msg *m)
{
	return m->bf.size;
}
