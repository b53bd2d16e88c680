/*
 * notice.h: telling the sender that the queue gave up on a message.
 *
 * When an entry moves to failed/ (a 5xx refusal, or queue_max_age
 * passed), its envelope sender is sent a short notice in the format of a
 * delivery status notification (RFC 3464: a human-readable part, a
 * message/delivery-status part naming each recipient not reached with
 * the last reply, and the original header), from the null sender so that
 * a notice about a notice can never be: a message whose sender is null
 * gets none.  queue_notify off turns notices off.
 */
#ifndef OUTBOX_NOTICE_H
#define OUTBOX_NOTICE_H

#include <stdio.h>
#include <time.h>

#include "error.h"
#include "queue.h"

/* What the notice says about one entry. */
struct notice {
	const struct queue_entry *e;
	const char *reason; /* one line: why it was given up on */
	int code;	    /* the last reply's code, 0: none */
	const char *reply;  /* its lines, code first, \n between, or NULL */
	int expired;	    /* queue_max_age passed (else refused) */
	const char *host;   /* this machine, for Reporting-MTA */
	const char *server; /* the server that refused, or NULL */
	const char *from;   /* the notice's From address */
	time_t now;
};

/*
 * Write the notice as a message (LF line endings) to out; the original
 * header is read from the entry's content on content_fd (from the
 * start; may be -1).  Date and Message-ID are left to the header edits.
 */
int notice_write(FILE *out, const struct notice *, int content_fd,
    struct error *);

/*
 * Queue the notice for entry e (moved to failed/ for `reason'): prepared
 * from base (the request e's group was prepared from: its configuration
 * and account) like any message, and stored, so that the next queue run
 * sends it.  Nothing when the sender is null or the
 * account says queue_notify off.
 */
struct request;
int notice_queue(const struct request *base, const struct queue_entry *e,
    const struct error *why, const char *reason, int expired,
    const char *server, struct error *);

#endif
