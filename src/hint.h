/* hint.h: one line after an error that names the setting to change. */
#ifndef OUTBOX_HINT_H
#define OUTBOX_HINT_H

#include "error.h"

/* What the account asked for, so that a hint can be certain. */
struct hint_ctx {
	int port;
	int tls;      /* tls on */
	int starttls; /* tls_starttls on */
	int auth;     /* auth is not off */
};

/*
 * The hint for an error, or NULL: the first row of the table whose reply
 * code, enhanced status code, text pattern (in the reply or the message)
 * and condition on the account all match.
 */
const char *hint_find(const struct hint_ctx *, const struct error *);

/* Put the hint for err, if any, into err->hint. */
void hint_apply(const struct hint_ctx *, struct error *);

#endif
