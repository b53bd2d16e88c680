/* idn.h: international domain names (libidn2). */
#ifndef OUTBOX_IDN_H
#define OUTBOX_IDN_H

#include "error.h"

/* Whether s is all ASCII (nothing to convert). */
int idn_is_ascii(const char *s);
/* A host name in A-labels (UTS #46); ASCII names come back unchanged. */
char *idn_host_ascii(const char *host, struct error *);

/* The libidn2 version in use. */
const char *idn_version(void);

#endif
