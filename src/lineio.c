/* lineio.c: line reading with a bound, writes coalesced into flights. */
#include "lineio.h"

#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 8192

struct lineio {
	struct transport *t;
	size_t maxline;
	char *rbuf;
	size_t rcap, rstart, rend;
	struct buf wbuf;
	int wsecret;
};

struct lineio *
lineio_new(struct transport *t, size_t maxline)
{
	struct lineio *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->t = t;
	l->maxline = maxline;
	l->rcap = maxline + 2 > READ_CHUNK ? maxline + 2 : READ_CHUNK;
	if ((l->rbuf = malloc(l->rcap)) == NULL) {
		free(l);
		return NULL;
	}
	/* Room for one flush plus the largest single append. */
	buf_init(&l->wbuf, (size_t)LINEIO_FLUSH_AT * 4);
	return l;
}

void
lineio_free(struct lineio *l)
{
	if (l == NULL)
		return;
	buf_free(&l->wbuf);
	free(l->rbuf);
	free(l);
}

void
lineio_set_transport(struct lineio *l, struct transport *t)
{
	l->t = t;
}

struct transport *
lineio_transport(struct lineio *l)
{
	return l->t;
}

size_t
lineio_buffered(struct lineio *l)
{
	return l->rend - l->rstart;
}

int
lineio_getline(struct lineio *l, int64_t deadline, const char **line,
    size_t *len, struct error *err)
{
	char *nl;
	ssize_t n;
	size_t scanned = 0;

	for (;;) {
		nl = memchr(l->rbuf + l->rstart + scanned, '\n',
		    l->rend - l->rstart - scanned);
		if (nl != NULL) {
			*line = l->rbuf + l->rstart;
			*len = (size_t)(nl - *line);
			if (*len > 0 && (*line)[*len - 1] == '\r')
				(*len)--;
			l->rstart = (size_t)(nl - l->rbuf) + 1;
			if (*len > l->maxline)
				return error_set(err, ERR_PROTOCOL,
				    "invalid reply from the server: a line "
				    "longer than %zu bytes",
				    l->maxline);
			return 0;
		}
		scanned = l->rend - l->rstart;
		if (scanned > l->maxline + 1)
			return error_set(err, ERR_PROTOCOL,
			    "invalid reply from the server: a line longer "
			    "than %zu bytes",
			    l->maxline);
		if (l->rstart > 0) {
			memmove(l->rbuf, l->rbuf + l->rstart, scanned);
			l->rend = scanned;
			l->rstart = 0;
		}
		n = transport_read(l->t, l->rbuf + l->rend, l->rcap - l->rend,
		    deadline, err);
		if (n == -1)
			return -1;
		if (n == 0)
			return error_set(err, ERR_TEMP,
			    "the server closed the connection unexpectedly");
		l->rend += (size_t)n;
	}
}

struct buf *
lineio_wbuf(struct lineio *l)
{
	return &l->wbuf;
}

void
lineio_secret(struct lineio *l)
{
	l->wsecret = 1;
}

int
lineio_flush(struct lineio *l, int64_t deadline, struct error *err)
{
	int r = 0;

	if (l->wbuf.len > 0)
		r = transport_write(l->t, l->wbuf.data, l->wbuf.len, deadline,
		    err);
	if (l->wsecret) {
		buf_wipe(&l->wbuf);
		l->wsecret = 0;
	}
	l->wbuf.len = 0;
	return r;
}
