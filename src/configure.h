/* configure.h: --configure: a configuration found through DNS SRV. */
#ifndef OUTBOX_CONFIGURE_H
#define OUTBOX_CONFIGURE_H

#include <stdio.h>

#include "error.h"

/*
 * Look up the submission service of the address's domain (RFC 6186,
 * RFC 8314: _submissions._tcp, then _submission._tcp) and print an
 * account for it to out.
 */
int configure_print(const char *address, FILE *out, struct error *);

#endif
