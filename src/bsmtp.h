/*
 * bsmtp.h: the server side of an SMTP dialogue on standard input and
 * output (sendmail's -bs), for callers that speak SMTP to the sendmail
 * program over a pipe.  Each message received is handed to a callback,
 * and what the callback says becomes the reply to its final dot.
 */
#ifndef OUTBOX_BSMTP_H
#define OUTBOX_BSMTP_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* A command line longer than this is refused (500), not cut. */
#define BSMTP_LINE_MAX 4096
/* RFC 5321 4.5.3.1.8 asks for at least 100 recipients. */
#define BSMTP_RCPT_MAX 1000

struct bsmtp_envelope {
	const char *from; /* "" for the null sender */
	const char *const *rcpt;
	size_t nrcpt;
	int requiretls; /* MAIL said REQUIRETLS (RFC 8689) */
};

/*
 * Deliver one message.  fd is a regular file holding the content (line
 * endings LF, dots unstuffed), its offset at the start.  Returns 0, or -1
 * with err set.  Either way err->code and err->reply, when set, are the
 * server's last reply, repeated to the caller; on success a non-empty
 * err->msg replaces the word "sent" in the 250 reply.
 */
typedef int bsmtp_deliver_fn(void *ctx, const struct bsmtp_envelope *, int fd,
    struct error *err);

/*
 * Play the server on in and out until QUIT (0) or the end of the input
 * (1, err holding the last delivery's outcome: ERR_NONE if it succeeded
 * or none was tried).  -1 with err set when the dialogue itself failed:
 * the input ended inside a message, or reading, writing or the spool
 * file in $TMPDIR failed.  name is the host name in the greeting.
 */
int bsmtp_serve(int in, FILE *out, const char *name, bsmtp_deliver_fn *,
    void *ctx, struct error *err);

/* The reply class (2, 4 or 5) and code for a delivery's outcome. */
int bsmtp_reply_code(const struct error *);

#endif
