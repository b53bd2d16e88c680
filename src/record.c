/* record.c: the one-line record of a send attempt (logfile, syslog). */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "transport.h"

/* How a value is cleaned on its way into the line. */
#define CLEAN_QUOTED 0x1  /* inside '...': a quote becomes '?' */
#define CLEAN_JOIN_NL 0x2 /* a newline becomes the two characters \n */

/* The line being built; after the first failure nothing more is added. */
struct line {
	struct buf b;
	int toolong;
	int nomem;
};

/*
 * Characters that would let a value rewrite the line on a terminal or in a
 * viewer: C1 controls (an 8-bit CSI starts an escape sequence), the Unicode
 * line and paragraph separators, and the bidirectional overrides and
 * isolates that reorder what is shown.
 */
static const struct {
	uint32_t lo, hi;
} unsafe[] = {
	{ 0x80, 0x9f },
	{ 0x2028, 0x2029 },
	{ 0x202a, 0x202e },
	{ 0x2066, 0x2069 },
};

static void
add(struct line *l, const void *p, size_t n)
{
	if (l->toolong || l->nomem)
		return;
	if (buf_add(&l->b, p, n) == 0)
		return;
	if (n > l->b.max - l->b.len)
		l->toolong = 1;
	else
		l->nomem = 1;
}

static void
addstr(struct line *l, const char *s)
{
	add(l, s, strlen(s));
}

/*
 * The length of the well-formed UTF-8 sequence at s (RFC 3629 4: no
 * overlong forms, no surrogates, nothing above U+10FFFF) with its code
 * point in *cp, or 0 if the bytes there are not one.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int
is_unsafe(uint32_t c)
{
	size_t i;

	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		if (c >= unsafe[i].lo && c <= unsafe[i].hi)
			return 1;
	return 0;
}

/*
 * Add s so that the line stays one printable line: control characters,
 * bytes that are not UTF-8 and the characters in unsafe[] each become one
 * '?'; other UTF-8 text passes unchanged.
 */
static void
add_clean(struct line *l, const char *s, size_t n, int how)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, len;
	uint32_t c;

	while (i < n) {
		c = 0;
		len = utf8_seq(p + i, n - i, &c);
		if (len > 0 && c >= 0x20 && c != 0x7f && !is_unsafe(c) &&
		    !(c == '\'' && (how & CLEAN_QUOTED))) {
			i += len;
			run += len;
			continue;
		}
		add(l, p + i - run, run);
		run = 0;
		if (len == 1 && c == '\n' && (how & CLEAN_JOIN_NL))
			addstr(l, "\\n");
		else
			addstr(l, "?");
		i += len > 0 ? len : 1;
	}
	add(l, p + i - run, run);
}

/* Fields are separated by one space; the first has none before it. */
static void
add_name(struct line *l, const char *name)
{
	if (l->b.len > 0)
		addstr(l, " ");
	addstr(l, name);
}

static void
add_field(struct line *l, const char *name, const char *value)
{
	add_name(l, name);
	addstr(l, "=");
	add_clean(l, value, strlen(value), 0);
}

static void
add_quoted(struct line *l, const char *name, const char *value, int how)
{
	add_name(l, name);
	addstr(l, "='");
	add_clean(l, value, strlen(value), how | CLEAN_QUOTED);
	addstr(l, "'");
}

/* The time prefix, or nothing when the format gives "". */
static int
add_time(struct line *l, const char *fmt, time_t now, struct error *err)
{
	char out[RECORD_TIME_MAX + 2];
	struct tm tm;
	char *f;
	size_t n, flen;

	if (localtime_r(&now, &tm) == NULL)
		return error_set(err, ERR_OSERR,
		    "cannot convert the time for the log line");
	/*
	 * strftime returns 0 both for an empty result and for one that does
	 * not fit; a character put before the format tells them apart (after
	 * it, a trailing '%' would turn it into a conversion).
	 */
	flen = strlen(fmt);
	if ((f = malloc(flen + 2)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	f[0] = 'x';
	memcpy(f + 1, fmt, flen + 1);
	/* The format is a setting, so it cannot be a literal. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(out, sizeof(out), f, &tm);
#pragma GCC diagnostic pop
	free(f);
	if (n == 0)
		return error_set(err, ERR_CONFIG,
		    "invalid logfile_time_format: the time takes more than "
		    "%d bytes",
		    RECORD_TIME_MAX);
	if (--n == 0)
		return 0;
	add_clean(l, out + 1, n, 0);
	return 0;
}

static void
add_fields(struct line *l, const struct record *r)
{
	char num[32];
	size_t i;

	if (r->socket != NULL)
		add_field(l, "socket", r->socket);
	else
		add_field(l, "host", r->host != NULL ? r->host : "");
	add_field(l, "tls", r->tls ? "on" : "off");
	add_field(l, "auth", r->auth ? "on" : "off");
	if (r->auth && r->user != NULL && *r->user != '\0')
		add_field(l, "user", r->user);
	add_field(l, "from", r->from != NULL ? r->from : "");
	add_name(l, "recipients=");
	for (i = 0; i < r->nrcpt; i++) {
		if (i > 0)
			addstr(l, ",");
		add_clean(l, r->rcpt[i], strlen(r->rcpt[i]), 0);
	}
	if (r->mailsize >= 0) {
		snprintf(num, sizeof(num), "%lld", r->mailsize);
		add_field(l, "mailsize", num);
	}
	if (r->smtpstatus != 0) {
		snprintf(num, sizeof(num), "%d", r->smtpstatus);
		add_field(l, "smtpstatus", num);
		add_quoted(l, "smtpmsg", r->smtpmsg != NULL ? r->smtpmsg : "",
		    CLEAN_JOIN_NL);
	}
	if (r->errormsg != NULL)
		add_quoted(l, "errormsg", r->errormsg, 0);
	if (r->queue != NULL)
		add_quoted(l, "queue", r->queue, 0);
	add_field(l, "exitcode", r->exitcode != NULL ? r->exitcode : "");
}

/* A log line: the time prefix, then the record's fields or text. */
static char *
build(const struct record *r, const char *text, const char *timefmt, time_t now,
    struct error *err)
{
	struct line l;

	memset(&l, 0, sizeof(l));
	buf_init(&l.b, RECORD_LINE_MAX + 1);
	if (timefmt == NULL || *timefmt == '\0')
		timefmt = RECORD_TIME_DEFAULT;
	if (strcmp(timefmt, "none") != 0 &&
	    add_time(&l, timefmt, now, err) == -1) {
		buf_free(&l.b);
		return NULL;
	}
	if (r != NULL) {
		add_fields(&l, r);
	} else {
		if (l.b.len > 0)
			add(&l, " ", 1);
		add_clean(&l, text, strlen(text), 0);
	}
	add(&l, "", 1);
	if (l.toolong || l.nomem) {
		buf_free(&l.b);
		if (l.toolong)
			error_set(err, ERR_DATA,
			    "the log line is longer than %d bytes",
			    RECORD_LINE_MAX);
		else
			error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	return l.b.data;
}

char *
record_note(const char *text, const char *timefmt, time_t now,
    struct error *err)
{
	return build(NULL, text, timefmt, now, err);
}

char *
record_format(const struct record *r, const char *timefmt, time_t now,
    struct error *err)
{
	return build(r, NULL, timefmt, now, err);
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Take a write lock on the whole file, retrying while another holds it. */
static int
lock_wait(int fd, long wait_ms)
{
	const struct timespec pause = { 0, 10 * 1000000 };
	struct timespec start;
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR)
			return -1;
		if (elapsed_ms(&start) >= wait_ms)
			return -1;
		nanosleep(&pause, NULL);
	}
}

int
record_append_wait(const char *path, const char *line, long wait_ms,
    struct error *err)
{
	size_t n = strlen(line);
	char *out;
	int fd, r, saved;

	if ((out = malloc(n + 1)) == NULL)
		return error_set(err, ERR_OSERR,
		    "cannot log to %s: out of memory", path);
	memcpy(out, line, n);
	out[n] = '\n';
	if (strcmp(path, "-") == 0) {
		/* Whatever stdio holds for standard output goes first. */
		fflush(stdout);
		r = transport_fd_write_all(STDOUT_FILENO, out, n + 1);
		saved = errno;
		free(out);
		if (r == -1)
			return error_set(err, ERR_IO, "cannot log to %s: %s",
			    "standard output", strerror(saved));
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
	    S_IRUSR | S_IWUSR);
	if (fd == -1) {
		saved = errno;
		free(out);
		return error_set(err, ERR_IO, "cannot log to %s: %s", path,
		    strerror(saved));
	}
	if (lock_wait(fd, wait_ms) == -1) {
		saved = errno;
		free(out);
		close(fd);
		return error_set(err, ERR_IO,
		    "cannot log to %s: cannot lock (tried for %g seconds): %s",
		    path, (double)wait_ms / 1000, strerror(saved));
	}
	r = transport_fd_write_all(fd, out, n + 1);
	saved = errno;
	free(out);
	/* Closing the file releases the lock. */
	if (close(fd) == -1 && r == 0) {
		r = -1;
		saved = errno;
	}
	if (r == -1)
		return error_set(err, ERR_IO, "cannot log to %s: %s", path,
		    strerror(saved));
	return 0;
}

int
record_append(const char *path, const char *line, struct error *err)
{
	return record_append_wait(path, line, RECORD_LOCK_WAIT_MS, err);
}

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "LOG_LOCAL0", LOG_LOCAL0 },
	{ "LOG_LOCAL1", LOG_LOCAL1 },
	{ "LOG_LOCAL2", LOG_LOCAL2 },
	{ "LOG_LOCAL3", LOG_LOCAL3 },
	{ "LOG_LOCAL4", LOG_LOCAL4 },
	{ "LOG_LOCAL5", LOG_LOCAL5 },
	{ "LOG_LOCAL6", LOG_LOCAL6 },
	{ "LOG_LOCAL7", LOG_LOCAL7 },
	{ "LOG_MAIL", LOG_MAIL },
	{ "LOG_USER", LOG_USER },
};

int
record_facility(const char *name, int *facility, struct error *err)
{
	size_t i;

	if (*name == '\0' || strcmp(name, "on") == 0) {
		*facility = LOG_USER;
		return 0;
	}
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcmp(name, facilities[i].name) == 0) {
			*facility = facilities[i].facility;
			return 0;
		}
	}
	return error_set(err, ERR_CONFIG,
	    "syslog: expected on or a facility such as LOG_MAIL, not \"%s\"",
	    name);
}

void
record_syslog(const char *ident, int facility, int failed, const char *line)
{
	openlog(ident, 0, facility);
	syslog(failed ? LOG_ERR : LOG_INFO, "%s", line);
	closelog();
}
