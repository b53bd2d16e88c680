/* idn.h: international domain names (libidn2). */
#ifndef OUTBOX_IDN_H
#define OUTBOX_IDN_H

#include "error.h"

/* Whether s is all ASCII (nothing to convert). */
int idn_is_ascii(const char *s);
/* A host name in A-labels (UTS #46); ASCII names come back unchanged. */
char *idn_host_ascii(const char *host, struct error *);
/*
 * An envelope address for a server without SMTPUTF8 (RFC 6531): the same
 * local part, the domain in A-labels.  A local part in UTF-8 has no ASCII
 * form: NULL with ERR_UNAVAILABLE (the server lacks the extension); a
 * domain libidn2 refuses gives ERR_DATA.
 */
char *idn_addr_ascii(const char *addr, struct error *);

/* The libidn2 version in use. */
const char *idn_version(void);

#endif
