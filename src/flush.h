/*
 * flush.h: the queue's policy for a group of entries: store a prepared
 * message, send entries of one account over one connection, and settle
 * each outcome (sent, retried later with backoff, moved to failed/, or
 * given up on when too old).
 */
#ifndef OUTBOX_FLUSH_H
#define OUTBOX_FLUSH_H

#include <stddef.h>
#include <time.h>

#include "account.h"
#include "error.h"
#include "prepare.h"
#include "queue.h"
#include "submit.h"

/* How a queued message's outcome is taken. */
enum flush_fate {
	FLUSH_SENT,
	FLUSH_RETRY,
	FLUSH_FAILED,
	FLUSH_EXPIRED, /* too long in the queue: failed too */
	FLUSH_HELD     /* kept until the user mends what stopped it */
};

/* An account's queue settings, typed. */
struct flush_policy {
	long rmin, rmax; /* the first retry, the longest wait (seconds) */
	long max_age;	 /* give up after this long in the queue */
};

void flush_policy_of(struct flush_policy *, const struct account *);
/* The account's queue directory (queue_dir, else the default), malloc'd. */
char *flush_queue_dir(const struct account *);
/*
 * Which failures the message is to blame for (5xx: failed), which the
 * user must mend (a refused login, a certificate, the configuration:
 * held), and which may pass by themselves (retry).
 */
enum flush_fate flush_fate(const struct error *);
/*
 * What to do about a held message's failure, for -bp and stderr: the
 * error's hint, or a word on its kind.
 */
const char *flush_fix(const struct error *);
/*
 * An attempt that did not deliver, the entry's attempts counting it: try
 * again at *next, or fail it for good (too old, or refused).
 */
enum flush_fate flush_decide(const struct flush_policy *, time_t created,
    int attempts, enum flush_fate, time_t now, time_t *next);

/*
 * Store the prepared message: the content as it will be sent, and what
 * is needed to send it again from this configuration.  The entry stays
 * locked by this process.
 */
struct queue_entry *flush_enqueue(const struct prepared *,
    const struct request *, struct error *);

/* Sending one account's entries over one connection. */
struct flush {
	const char *prog;
	const struct account *acc;
	const struct request *req; /* what the entries were prepared from */
	const struct submit_conf *sc;
	struct queue_entry **v;
	size_t n, i;
	int locked; /* the entries are locked already (a direct send) */
	struct flush_policy pol;
	/*
	 * Entries that went out pipelined behind one the session broke in,
	 * unanswered: offered first on the next connection (still locked).
	 */
	struct queue_entry *back[SMTP_AHEAD_MAX];
	size_t nback;
	/* What happened, for the exit status and the caller. */
	int sent, retried, failed, held;
	int io_failed; /* the queue could not be updated (f->worst says) */
	struct error worst;
	enum flush_fate last_fate;
};

/* Set up f for the n entries v, sent with acc's settings as sc says. */
void flush_init(struct flush *, const char *prog, const struct account *,
    const struct submit_conf *, struct queue_entry **v, size_t n);
/*
 * Send the entries, reconnecting after a message that broke the session
 * for itself alone; when the server cannot be reached, the rest wait for
 * the next run like the first.
 */
void flush_entries(struct flush *);
/* Entries that could not even be tried (their configuration is broken). */
void flush_defer(struct flush *, const struct error *);

#endif
