/* record.h: the one-line record of a send attempt (logfile, syslog). */
#ifndef OUTBOX_RECORD_H
#define OUTBOX_RECORD_H

#include <stddef.h>
#include <time.h>

#include "error.h"

#define RECORD_TIME_DEFAULT "%b %d %H:%M:%S"
#define RECORD_TIME_MAX 127	  /* bytes the time prefix may take */
#define RECORD_LINE_MAX (1 << 20) /* bytes in one line */
#define RECORD_LOCK_WAIT_MS 10000 /* how long to retry the file lock */

/*
 * What one attempt did.  The strings are the caller's; record_format cleans
 * them so that the record stays one printable line: control characters,
 * bytes that are not UTF-8, C1 controls and bidirectional overrides each
 * become '?'; inside the quoted smtpmsg and errormsg a quote becomes '?' as
 * well, and in smtpmsg each \n between reply lines becomes the two
 * characters backslash and n.
 */
struct record {
	const char *host;   /* the server, or NULL when socket is set */
	const char *socket; /* Unix socket path, or NULL */
	int tls, auth;	    /* on (non-zero) or off */
	const char *user;   /* printed with auth only, and only if not empty */
	const char *from;   /* envelope-from, "" for the null sender */
	const char *const *rcpt;
	size_t nrcpt;
	long long mailsize;   /* -1 to omit (only a successful send has it) */
	int smtpstatus;	      /* reply code, 0 to omit it and smtpmsg */
	const char *smtpmsg;  /* reply lines separated by \n, or NULL */
	const char *errormsg; /* NULL on success */
	const char *exitcode; /* "EX_OK", "EX_TEMPFAIL", ... */
	const char *queue;    /* "queued ID", "sent ID", ...; NULL: none */
};

/*
 * The line, without a newline, malloc'd.  timefmt is a strftime format for
 * the local time `now'; NULL or "" means RECORD_TIME_DEFAULT, "none" means
 * no time prefix.  NULL with err set when the time does not fit in
 * RECORD_TIME_MAX bytes (ERR_CONFIG), the line would pass RECORD_LINE_MAX,
 * or memory runs out.
 */
char *record_format(const struct record *, const char *timefmt, time_t now,
    struct error *);
/*
 * Append line and a newline to path ("-" means standard output) in one
 * write, under an fcntl write lock retried for RECORD_LOCK_WAIT_MS.  A
 * missing file is created with mode 0600.  On failure err->msg reads
 * "cannot log to PATH: reason".
 */
/* A line that is no record: the time prefix, then text, cleaned. */
char *record_note(const char *text, const char *timefmt, time_t now,
    struct error *);
int record_append(const char *path, const char *line, struct error *);
/* The same, retrying the lock for wait_ms milliseconds. */
int record_append_wait(const char *path, const char *line, long wait_ms,
    struct error *);
/*
 * The syslog setting as a facility: "on" and "" are LOG_USER; LOG_USER,
 * LOG_MAIL and LOG_LOCAL0..LOG_LOCAL7 name themselves.  "off" and anything
 * else are refused (ERR_CONFIG); the caller skips syslog for "off".
 */
int record_facility(const char *name, int *facility, struct error *);
/*
 * openlog(ident, 0, facility), then the line (formatted with timefmt
 * "none") at LOG_INFO, or LOG_ERR when the attempt failed.
 */
void record_syslog(const char *ident, int facility, int failed,
    const char *line);

#endif
