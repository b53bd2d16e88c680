/*
 * configure.h: --configure: find an address's submission server and
 * print (with --write: append) a complete account for it.
 */
#ifndef OUTBOX_CONFIGURE_H
#define OUTBOX_CONFIGURE_H

#include <stdio.h>

#include "cli.h"
#include "error.h"

/*
 * Try, in order: https://autoconfig.DOMAIN/mail/config-v1.1.xml, then
 * https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml, then both
 * for the domains of DOMAIN's MX host, then SRV records (RFC 6186, RFC
 * 8314), then the table of providers; print the account to out.
 */
int configure_run(const struct cli *, FILE *out, struct error *);

#endif
