/* authorize.h: --authorize, the one interactive OAuth2 sign-in. */
#ifndef OUTBOX_AUTHORIZE_H
#define OUTBOX_AUTHORIZE_H

#include <stdio.h>

#include "cli.h"
#include "error.h"

/*
 * Choose the account as for sending, then run `outbox-auth authorize'
 * with the terminal inherited: it prints the URL and code, waits for the
 * user, stores the refresh token and says so.
 */
int authorize_run(const struct cli *, FILE *out, struct error *);

#endif
