/* check.h: --check, a session through AUTH without a message. */
#ifndef OUTBOX_CHECK_H
#define OUTBOX_CHECK_H

#include <stdio.h>

#include "cli.h"
#include "error.h"

/*
 * Resolve, connect, TLS, capabilities and AUTH as a send would, then RSET
 * and QUIT: one line per step on out; 0 only when a send would get past
 * AUTH (and, with --warn-days, the certificate outlives the days given).
 */
int check_run(const struct cli *, FILE *out, struct error *);

#endif
