/*
 * report.h: what is printed on request, to a stream the caller hands in:
 * -P's settings, -S's description of the server, -bp's queue listing.
 */
#ifndef OUTBOX_REPORT_H
#define OUTBOX_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "prepare.h"
#include "submit.h"

/* The OAuth token state of an account (outbox-auth status), no token. */
void report_oauth(FILE *, const struct account *);
/* -P: every setting of the chosen account, secrets masked. */
void report_settings(FILE *, const struct prepared *);
/* -S: the greeting, TLS session and certificates, capabilities. */
void report_server(FILE *, const struct submit_conf *,
    const struct submit_info *);
/* -bp: each directory's entries, and why they wait. */
int report_queue(FILE *, char *const *dirs, size_t ndirs, struct error *);

#endif
