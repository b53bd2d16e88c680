/*
 * sink.c: a fast SMTP server for the benchmark.  It accepts every message
 * on 127.0.0.1, one connection after another, checks the content (CRLF
 * line endings only, the final dot, the BDAT chunk sizes) and throws it
 * away, and counts the round trips each connection cost.
 *
 * Round trips are counted as tests/lib/outboxtest/smtpserver.py counts them:
 * 1 for the TCP handshake, plus 1 for every turn, a point where the server
 * needed more bytes from the client after it had sent something (replies or
 * TLS handshake records) since its last read.  Bytes that arrive within a
 * short grace after such a send were already on the way and cost nothing (a
 * client that writes QUIT and closes without waiting for the 221 does not
 * pay for it).  Every read is timestamped for that.
 *
 * One line per connection goes to the statistics file:
 *   conn=N rtt=R flights=F wire_in=B wire_out=B msgs=M bad=K
 *   msg_bytes=B tls=VERSION/CIPHER ms=T cpu_ms=C error=TEXT
 * (cpu_ms is the sink's own CPU time for the connection: it shows whether
 * the sink, rather than the client, set the pace).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"

/* Socket reads: one flight at a time, as much as is queued, up to this. */
#define RAW_CAP (1024 * 1024)
/* Plain text: the largest TLS record fits several times. */
#define APP_CAP (256 * 1024)
/* Command lines longer than this are refused. */
#define LINE_MAX_LEN 4096
#define OUT_CAP 8192

struct options {
	const char *certs;
	const char *stats;
	const char *trace;
	const char *priority;
	int port;
	int implicit_tls;
	int starttls;
	int auth;
	int chunking;
	int pipelining;
	int timeout_ms;
	double grace_ms;
};

/* The content checker: CRLF-only lines, and for DATA the final dot. */
struct body {
	int raw;	  /* BDAT: no dot-stuffing, no final dot */
	int bol;	  /* at the beginning of a line */
	int cr;		  /* the last byte was a CR */
	int dot;	  /* 1: the line so far is ".", 2: "." and more */
	int done;	  /* DATA: the final dot was seen */
	uint64_t in;	  /* bytes scanned */
	uint64_t stuffed; /* dot-stuffed lines */
	const char *bad;  /* the first problem found */
	uint64_t bad_at;  /* its offset */
};

struct conn {
	const struct options *o;
	int fd;
	int id;
	gnutls_session_t tls;
	unsigned char *raw; /* from the socket, not yet taken */
	size_t rpos, rlen;
	unsigned char *app; /* plain text, not yet taken */
	size_t apos, alen;
	char out[OUT_CAP]; /* replies not yet sent */
	size_t olen;
	int eof;
	/* accounting */
	double t0, cpu0, last_send;
	int sent_since_read;
	unsigned turns;
	unsigned long flights;
	uint64_t wire_in, wire_out;
	unsigned msgs, bad;
	uint64_t msg_bytes;
	char error[160];
	/* the transaction */
	unsigned rcpts;
	uint64_t bdat_total;
	struct body body;
};

static gnutls_certificate_credentials_t cred;
static gnutls_priority_t prio;
static FILE *tracef;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void __attribute__((format(printf, 2, 3)))
trace(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (tracef == NULL)
		return;
	fprintf(tracef, "%10.3f #%d ", now_ms() - c->t0, c->id);
	va_start(ap, fmt);
	vfprintf(tracef, fmt, ap);
	va_end(ap);
	fputc('\n', tracef);
	fflush(tracef);
}

static int __attribute__((format(printf, 2, 3)))
fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->error, sizeof(c->error), fmt, ap);
		va_end(ap);
		trace(c, "error: %s", c->error);
	}
	return -1;
}

static int
readable_now(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) > 0;
}

/*
 * Read one flight: wait for the socket, then take everything queued.
 * This is where turns are counted.  Returns bytes read, 0 at EOF.
 */
static ssize_t
raw_flight(struct conn *c)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	double t;
	ssize_t n;
	size_t got = 0;
	int r, turn = 0;

	while ((r = poll(&p, 1, c->o->timeout_ms)) == -1 && errno == EINTR)
		;
	if (r == 0)
		return fail(c, "timed out waiting for the client");
	t = now_ms();
	if (c->sent_since_read) {
		turn = t - c->last_send >= c->o->grace_ms;
		c->turns += turn;
	}
	c->sent_since_read = 0;
	c->rpos = c->rlen = 0;
	while (c->rlen < RAW_CAP) {
		n = recv(c->fd, c->raw + c->rlen, RAW_CAP - c->rlen,
		    MSG_DONTWAIT);
		if (n > 0) {
			c->rlen += (size_t)n;
			got += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		/* Readable but nothing there yet: wait again. */
		if (n == -1 && errno == EAGAIN && got == 0 &&
		    poll(&p, 1, c->o->timeout_ms) > 0)
			continue;
		break;
	}
	c->flights++;
	c->wire_in += got;
	if (got == 0)
		c->eof = 1;
	trace(c, "read %zu%s%s", got, got ? "" : " (end of stream)",
	    turn ? " [turn]" : "");
	return (ssize_t)got;
}

/* Send it all; a send is the start of a turn unless bytes are queued. */
static int
raw_send(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct iovec v[16];
	struct pollfd p = { c->fd, POLLOUT, 0 };
	size_t total = 0;
	ssize_t n;
	int i, quiet;

	if (iovcnt > 16)
		iovcnt = 16;
	for (i = 0; i < iovcnt; i++) {
		v[i] = iov[i];
		total += iov[i].iov_len;
	}
	quiet = c->sent_since_read || !readable_now(c->fd);
	i = 0;
	while (i < iovcnt) {
		struct msghdr mh = { 0 };

		mh.msg_iov = v + i;
		mh.msg_iovlen = (size_t)(iovcnt - i);
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return fail(c, "send: %s", strerror(errno));
			if (poll(&p, 1, c->o->timeout_ms) <= 0)
				return fail(c, "timed out sending");
			continue;
		}
		c->wire_out += (size_t)n;
		while (i < iovcnt && (size_t)n >= v[i].iov_len)
			n -= (ssize_t)v[i++].iov_len;
		if (i < iovcnt) {
			v[i].iov_base = (char *)v[i].iov_base + n;
			v[i].iov_len -= (size_t)n;
		}
	}
	if (quiet) {
		c->sent_since_read = 1;
		c->last_send = now_ms();
	}
	trace(c, "sent %zu%s", total, quiet ? "" : " (client bytes queued)");
	return 0;
}

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *p, size_t n)
{
	struct conn *c = ptr;
	size_t k;

	if (c->rpos == c->rlen) {
		if (c->eof)
			return 0;
		if (raw_flight(c) <= 0) {
			if (c->eof)
				return 0;
			gnutls_transport_set_errno(c->tls, EIO);
			return -1;
		}
	}
	k = c->rlen - c->rpos;
	if (k > n)
		k = n;
	memcpy(p, c->raw + c->rpos, k);
	c->rpos += k;
	return (ssize_t)k;
}

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct conn *c = ptr;
	size_t total = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (raw_send(c, (const struct iovec *)iov, iovcnt) == -1) {
		gnutls_transport_set_errno(c->tls, EIO);
		return -1;
	}
	return (ssize_t)total;
}

/* Bytes taken from the socket that the application has not seen. */
static int
lower_pending(struct conn *c)
{
	return c->rpos < c->rlen ||
	    (c->tls != NULL && gnutls_record_check_pending(c->tls) > 0);
}

static int
flush(struct conn *c)
{
	struct iovec v;
	ssize_t r;
	size_t off = 0;

	if (c->olen == 0)
		return 0;
	if (c->tls == NULL) {
		v.iov_base = c->out;
		v.iov_len = c->olen;
		c->olen = 0;
		return raw_send(c, &v, 1);
	}
	while (off < c->olen) {
		r = gnutls_record_send(c->tls, c->out + off, c->olen - off);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r < 0)
			return fail(c, "TLS send: %s", gnutls_strerror((int)r));
		off += (size_t)r;
	}
	c->olen = 0;
	return 0;
}

static void __attribute__((format(printf, 2, 3)))
reply(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out + c->olen, OUT_CAP - c->olen - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= OUT_CAP - c->olen - 2) {
		fail(c, "reply buffer full");
		return;
	}
	trace(c, "S: %s", c->out + c->olen);
	c->olen += (size_t)n;
	c->out[c->olen++] = '\r';
	c->out[c->olen++] = '\n';
}

/*
 * More plain text at the end of the application buffer.  Replies wait
 * until nothing the client sent is left to read (RFC 2920: a server
 * answers a pipelined group in one go).  Returns 0 at end of stream.
 */
static ssize_t
app_fill(struct conn *c)
{
	ssize_t r;
	size_t room, k;

	if (c->apos > 0) {
		memmove(c->app, c->app + c->apos, c->alen - c->apos);
		c->alen -= c->apos;
		c->apos = 0;
	}
	room = APP_CAP - c->alen;
	if (room == 0)
		return fail(c, "line too long");
	if (!lower_pending(c) && flush(c) == -1)
		return -1;
	if (c->tls == NULL) {
		if (c->rpos == c->rlen) {
			if (c->eof)
				return 0;
			if ((r = raw_flight(c)) <= 0)
				return r;
		}
		k = c->rlen - c->rpos;
		if (k > room)
			k = room;
		memcpy(c->app + c->alen, c->raw + c->rpos, k);
		c->rpos += k;
		c->alen += k;
		return (ssize_t)k;
	}
	for (;;) {
		r = gnutls_record_recv(c->tls, c->app + c->alen, room);
		if (r > 0) {
			c->alen += (size_t)r;
			return r;
		}
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
			c->eof = 1;
			return 0;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (c->error[0] != '\0')
			return -1;
		return fail(c, "TLS receive: %s", gnutls_strerror((int)r));
	}
}

/* One command line, without its CRLF; NULL at end of stream or error. */
static char *
getline_crlf(struct conn *c)
{
	unsigned char *nl;
	size_t scanned = 0;
	char *line;
	ssize_t r;

	for (;;) {
		nl = memchr(c->app + c->apos + scanned, '\n',
		    c->alen - c->apos - scanned);
		if (nl != NULL)
			break;
		scanned = c->alen - c->apos;
		if (scanned > LINE_MAX_LEN) {
			fail(c, "command line too long");
			return NULL;
		}
		if ((r = app_fill(c)) <= 0) {
			if (r == 0 && c->alen > c->apos)
				fail(c, "unterminated line at end of stream");
			return NULL;
		}
	}
	line = (char *)c->app + c->apos;
	c->apos = (size_t)(nl - c->app) + 1;
	if (nl == (unsigned char *)line || nl[-1] != '\r') {
		fail(c, "command line not ended by CRLF");
		return NULL;
	}
	nl[-1] = '\0';
	return line;
}

static void
body_start(struct body *b, int raw)
{
	memset(b, 0, sizeof(*b));
	b->raw = raw;
	b->bol = 1;
}

static void
body_bad(struct body *b, const char *what, uint64_t at)
{
	if (b->bad == NULL) {
		b->bad = what;
		b->bad_at = at;
	}
}

/*
 * Check n bytes of content; returns how many were taken (fewer than n
 * only when the final dot ends DATA).  After a problem it goes on with a
 * bare LF taken as a line ending, to find the end of the content.
 */
static size_t
body_scan(struct body *b, const unsigned char *p, size_t n)
{
	const unsigned char *s = p, *end = p + n, *lf, *cr;

	while (p < end && !b->done) {
		if (b->cr) {
			b->cr = 0;
			if (*p != '\n')
				body_bad(b, "bare CR", b->in + (size_t)(p - s));
			else
				p++;
			goto eol;
		}
		if (b->bol && !b->raw && *p == '.') {
			b->bol = 0;
			b->dot = 1;
			p++;
			continue;
		}
		b->bol = 0;
		lf = memchr(p, '\n', (size_t)(end - p));
		cr = memchr(p, '\r', (size_t)((lf ? lf : end) - p));
		if (lf == NULL) {
			if (cr != NULL && cr != end - 1)
				body_bad(b, "bare CR",
				    b->in + (size_t)(cr - s));
			if (b->dot == 1 && (cr ? cr : end) > p)
				b->dot = 2;
			b->cr = cr != NULL;
			p = end;
			break;
		}
		if (cr == NULL || cr != lf - 1)
			body_bad(b, cr ? "bare CR" : "bare LF",
			    b->in + (size_t)((cr ? cr : lf) - s));
		if (b->dot == 1 && (cr ? cr : lf) > p)
			b->dot = 2;
		p = lf + 1;
eol:
		if (b->dot == 1 && !b->raw)
			b->done = 1;
		else if (b->dot == 2)
			b->stuffed++;
		b->dot = 0;
		b->bol = 1;
	}
	b->in += (uint64_t)(p - s);
	return (size_t)(p - s);
}

/* The message is in: note it and say so. */
static void
message_end(struct conn *c, uint64_t bytes)
{
	struct body *b = &c->body;

	if (b->bad == NULL && !b->bol)
		body_bad(b, "no CRLF at the end", b->in);
	c->msgs++;
	if (b->bad != NULL) {
		c->bad++;
		fail(c, "message %u: %s at byte %llu", c->msgs, b->bad,
		    (unsigned long long)b->bad_at);
		reply(c, "554 5.6.0 %s at byte %llu", b->bad,
		    (unsigned long long)b->bad_at);
	} else {
		c->msg_bytes += bytes;
		reply(c, "250 2.0.0 %llu bytes discarded",
		    (unsigned long long)bytes);
	}
	c->rcpts = 0;
	c->bdat_total = 0;
}

static int
read_data(struct conn *c)
{
	struct body *b = &c->body;
	ssize_t r;

	body_start(b, 0);
	while (!b->done) {
		if (c->apos == c->alen) {
			c->apos = c->alen = 0;
			if ((r = app_fill(c)) <= 0)
				return r == 0 ?
				    fail(c, "end of stream in DATA") :
				    -1;
		}
		c->apos += body_scan(b, c->app + c->apos, c->alen - c->apos);
	}
	/* The final ".\r\n" and the stuffed dots are not content. */
	message_end(c, b->in - 3 - b->stuffed);
	return 0;
}

static int
read_bdat(struct conn *c, uint64_t size, int last)
{
	struct body *b = &c->body;
	uint64_t left = size;
	size_t k;
	ssize_t r;

	if (c->bdat_total == 0)
		body_start(b, 1);
	while (left > 0) {
		if (c->apos == c->alen) {
			c->apos = c->alen = 0;
			if ((r = app_fill(c)) <= 0)
				return r == 0 ?
				    fail(c, "end of stream in BDAT") :
				    -1;
		}
		k = c->alen - c->apos;
		if (k > left)
			k = (size_t)left;
		body_scan(b, c->app + c->apos, k);
		c->apos += k;
		left -= k;
	}
	c->bdat_total += size;
	trace(c, "BDAT chunk of %llu bytes", (unsigned long long)size);
	if (last)
		message_end(c, c->bdat_total);
	else
		reply(c, "250 2.0.0 %llu bytes", (unsigned long long)size);
	return 0;
}

static int
tls_begin(struct conn *c)
{
	char *desc;
	int r;

	/* No session tickets: they would be an extra flight after the
	 * handshake and blur the round-trip count. */
	if (gnutls_init(&c->tls,
		GNUTLS_SERVER | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS) < 0)
		return fail(c, "gnutls_init failed");
	gnutls_priority_set(c->tls, prio);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_ptr(c->tls, c);
	gnutls_transport_set_pull_function(c->tls, tls_pull);
	gnutls_transport_set_vec_push_function(c->tls, tls_push);
	do
		r = gnutls_handshake(c->tls);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		return fail(c, "TLS handshake: %s", gnutls_strerror(r));
	if (tracef != NULL && (desc = gnutls_session_get_desc(c->tls))) {
		trace(c, "TLS: %s", desc);
		gnutls_free(desc);
	}
	return 0;
}

static void
ehlo(struct conn *c, const char *verb)
{
	const struct options *o = c->o;
	int tls_offer = o->starttls && c->tls == NULL;
	int auth = o->auth && (c->tls != NULL || !o->starttls);

	if (strcasecmp(verb, "HELO") == 0) {
		reply(c, "250 sink.localhost");
		return;
	}
	reply(c, "250-sink.localhost");
	if (o->pipelining)
		reply(c, "250-PIPELINING");
	reply(c, "250-SIZE 68719476736");
	reply(c, "250-8BITMIME");
	if (o->chunking)
		reply(c, "250-CHUNKING");
	if (tls_offer)
		reply(c, "250-STARTTLS");
	if (auth)
		reply(c, "250-AUTH PLAIN");
	reply(c, "250 ENHANCEDSTATUSCODES");
}

/* One command; -1 ends the connection. */
static int
command(struct conn *c, char *line)
{
	char verb[16], *arg;
	unsigned long long size;
	size_t vl = strcspn(line, " ");
	char *end;

	if (vl >= sizeof(verb))
		vl = sizeof(verb) - 1;
	memcpy(verb, line, vl);
	verb[vl] = '\0';
	arg = line[vl] == ' ' ? line + vl + 1 : line + vl;
	trace(c, "C: %s",
	    strncasecmp(verb, "AUTH", 4) == 0 ? "AUTH ..." : line);
	if (!strcasecmp(verb, "EHLO") || !strcasecmp(verb, "HELO")) {
		ehlo(c, verb);
		c->rcpts = 0;
	} else if (!strcasecmp(verb, "STARTTLS") && c->o->starttls &&
	    c->tls == NULL) {
		reply(c, "220 2.0.0 ready to start TLS");
		if (flush(c) == -1)
			return -1;
		/* RFC 3207 5: nothing may follow STARTTLS in its flight. */
		if (c->apos < c->alen || c->rpos < c->rlen)
			return fail(c, "data after STARTTLS");
		c->apos = c->alen = 0;
		return tls_begin(c);
	} else if (!strcasecmp(verb, "AUTH") && c->o->auth) {
		if (strncasecmp(arg, "PLAIN", 5) != 0) {
			reply(c, "504 5.5.4 only PLAIN");
		} else if (arg[5] == '\0') {
			reply(c, "334 ");
			if (getline_crlf(c) == NULL)
				return -1;
			reply(c, "235 2.7.0 accepted");
		} else {
			reply(c, "235 2.7.0 accepted");
		}
	} else if (!strcasecmp(verb, "MAIL")) {
		c->rcpts = 0;
		reply(c, "250 2.1.0 sender ok");
	} else if (!strcasecmp(verb, "RCPT")) {
		c->rcpts++;
		reply(c, "250 2.1.5 recipient ok");
	} else if (!strcasecmp(verb, "DATA")) {
		if (c->rcpts == 0) {
			reply(c, "554 5.5.1 no recipients");
			return 0;
		}
		reply(c, "354 end with <CRLF>.<CRLF>");
		return read_data(c);
	} else if (!strcasecmp(verb, "BDAT") && c->o->chunking) {
		errno = 0;
		size = strtoull(arg, &end, 10);
		if (errno || end == arg || (*end != '\0' && *end != ' '))
			return fail(c, "bad BDAT size: %s", arg);
		while (*end == ' ')
			end++;
		return read_bdat(c, size, strcasecmp(end, "LAST") == 0);
	} else if (!strcasecmp(verb, "RSET") || !strcasecmp(verb, "NOOP")) {
		c->rcpts = 0;
		reply(c, "250 2.0.0 ok");
	} else if (!strcasecmp(verb, "QUIT")) {
		reply(c, "221 2.0.0 bye");
		return 1;
	} else {
		reply(c, "500 5.5.2 unknown command");
		fail(c, "unexpected command %.40s", line);
	}
	return 0;
}

static void
session(struct conn *c)
{
	char *line;
	int r = 0;

	if (c->o->implicit_tls && tls_begin(c) == -1)
		return;
	reply(c, "220 sink.localhost ESMTP benchmark sink");
	while (r == 0 && (line = getline_crlf(c)) != NULL)
		r = command(c, line);
	if (r != 1) {
		/* Say why, if the client still listens (best effort). */
		if (c->olen > 0 && c->error[0] != '\0' && !c->eof)
			flush(c);
		return;
	}
	/* After QUIT: the client's close ends the last turn. */
	if (app_fill(c) > 0)
		fail(c, "bytes after QUIT");
}

static void
write_stats(FILE *f, struct conn *c)
{
	char tls[96] = "-";

	if (c->tls != NULL)
		snprintf(tls, sizeof(tls), "%s/%s",
		    gnutls_protocol_get_name(
			gnutls_protocol_get_version(c->tls)),
		    gnutls_cipher_get_name(gnutls_cipher_get(c->tls)));
	fprintf(f,
	    "conn=%d rtt=%u flights=%lu wire_in=%llu wire_out=%llu msgs=%u "
	    "bad=%u msg_bytes=%llu tls=%s ms=%.3f cpu_ms=%.3f error=%s\n",
	    c->id, 1 + c->turns, c->flights, (unsigned long long)c->wire_in,
	    (unsigned long long)c->wire_out, c->msgs, c->bad,
	    (unsigned long long)c->msg_bytes, tls, now_ms() - c->t0,
	    cpu_ms() - c->cpu0, c->error[0] ? c->error : "-");
	fflush(f);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sink [-p port] [--certs dir] [--tls | --starttls] "
	    "[--auth]\n"
	    "            [--no-chunking] [--no-pipelining] [--stats file] "
	    "[--trace file]\n"
	    "            [--grace-ms ms] [--timeout s] [--priority string]\n");
	exit(64);
}

static void
load_tls(const struct options *o)
{
	char cert[4096], key[4096];
	const char *errpos;

	if (o->certs == NULL) {
		fprintf(stderr, "sink: TLS needs --certs DIR\n");
		exit(64);
	}
	snprintf(cert, sizeof(cert), "%s/server.pem", o->certs);
	snprintf(key, sizeof(key), "%s/server.key", o->certs);
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(cred, cert, key,
		GNUTLS_X509_FMT_PEM) < 0) {
		fprintf(stderr, "sink: cannot load %s and %s\n", cert, key);
		exit(66);
	}
	if (gnutls_priority_init(&prio, o->priority, &errpos) < 0) {
		fprintf(stderr, "sink: bad priority string at %s\n", errpos);
		exit(64);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "certs", required_argument, NULL, 'c' },
		{ "tls", no_argument, NULL, 'T' },
		{ "starttls", no_argument, NULL, 'S' },
		{ "auth", no_argument, NULL, 'a' },
		{ "no-chunking", no_argument, NULL, 'C' },
		{ "no-pipelining", no_argument, NULL, 'P' },
		{ "stats", required_argument, NULL, 's' },
		{ "trace", required_argument, NULL, 't' },
		{ "grace-ms", required_argument, NULL, 'g' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "priority", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { 0 };
	struct conn *c;
	FILE *stats = stdout;
	int lfd, ch, id = 0, one = 1;

	o.chunking = o.pipelining = 1;
	o.timeout_ms = 30000;
	o.grace_ms = 2;
	o.priority = "NORMAL";
	while ((ch = getopt_long(argc, argv, "p:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'c':
			o.certs = optarg;
			break;
		case 'T':
			o.implicit_tls = 1;
			break;
		case 'S':
			o.starttls = 1;
			break;
		case 'a':
			o.auth = 1;
			break;
		case 'C':
			o.chunking = 0;
			break;
		case 'P':
			o.pipelining = 0;
			break;
		case 's':
			o.stats = optarg;
			break;
		case 't':
			o.trace = optarg;
			break;
		case 'g':
			o.grace_ms = atof(optarg);
			break;
		case 'w':
			o.timeout_ms = atoi(optarg) * 1000;
			break;
		case 'r':
			o.priority = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (o.implicit_tls && o.starttls))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (o.implicit_tls || o.starttls)
		load_tls(&o);
	if (o.stats != NULL && (stats = fopen(o.stats, "a")) == NULL) {
		perror(o.stats);
		return 73;
	}
	if (o.trace != NULL && (tracef = fopen(o.trace, "a")) == NULL) {
		perror(o.trace);
		return 73;
	}
	if ((lfd = listen_on(o.port)) == -1) {
		perror("sink: listen");
		return 71;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->raw = malloc(RAW_CAP)) == NULL ||
	    (c->app = malloc(APP_CAP)) == NULL) {
		fprintf(stderr, "sink: out of memory\n");
		return 71;
	}
	for (;;) {
		unsigned char *raw = c->raw, *app = c->app;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("sink: accept");
			return 71;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		memset(c, 0, sizeof(*c));
		c->raw = raw;
		c->app = app;
		c->o = &o;
		c->fd = fd;
		c->id = ++id;
		c->t0 = now_ms();
		c->cpu0 = cpu_ms();
		trace(c, "connected");
		session(c);
		write_stats(stats, c);
		if (c->tls != NULL)
			gnutls_deinit(c->tls);
		close(fd);
	}
}
