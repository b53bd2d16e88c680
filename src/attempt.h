/*
 * attempt.h: the log record of one send attempt, written where the
 * account's logfile and syslog settings say.
 */
#ifndef OUTBOX_ATTEMPT_H
#define OUTBOX_ATTEMPT_H

#include <stddef.h>

#include "account.h"
#include "error.h"
#include "submit.h"

/* What one log record is about. */
struct attempt {
	const char *from;
	const char *const *rcpt;
	size_t nrcpt;
	long long size;	   /* -1: unknown */
	const char *queue; /* "queued ID", "sent ID", ...; NULL: none */
};

/*
 * Log the attempt (nothing when neither logfile nor syslog is set).  A
 * failure to log is said on stderr with the record itself, and changes no
 * exit code.  prog names the program in syslog.
 */
void attempt_log(const char *prog, const struct account *,
    const struct submit_conf *, const struct attempt *, const struct error *);
/*
 * A line about the account that is no send attempt (a refresh token
 * renewed by a queue run), written to the same logfile and syslog as
 * its records: "TIME account=NAME TEXT".
 */
void attempt_note(const char *prog, const struct account *, const char *text);

#endif
