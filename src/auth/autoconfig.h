/*
 * autoconfig.h: the mail client autoconfiguration document
 * (config-v1.1.xml, as the IETF mailmaint autoconfig draft describes it):
 * the submission server it names, chosen and checked.
 */
#ifndef OUTBOX_AUTOCONFIG_H
#define OUTBOX_AUTOCONFIG_H

#include <stddef.h>

#include "error.h"

/* Bounds: a larger document, a deeper one, more servers are refused. */
#define AUTOCONFIG_DOC_MAX (64 * 1024)
#define AUTOCONFIG_DEPTH_MAX 16
#define AUTOCONFIG_SERVERS_MAX 32
#define AUTOCONFIG_TEXT_MAX 255

/* The authentication methods an outgoing server lists. */
enum {
	AUTOCONFIG_AUTH_PASSWORD = 1,  /* password-cleartext, plain */
	AUTOCONFIG_AUTH_ENCRYPTED = 2, /* password-encrypted (CRAM-MD5...) */
	AUTOCONFIG_AUTH_OAUTH2 = 4,    /* OAuth2 */
	AUTOCONFIG_AUTH_NONE = 8,      /* none, client-IP-address */
};

struct autoconfig {
	char provider[AUTOCONFIG_TEXT_MAX + 1]; /* emailProvider id */
	char host[AUTOCONFIG_TEXT_MAX + 1];
	unsigned int port;
	int implicit_tls;  /* socketType SSL; else STARTTLS */
	unsigned int auth; /* AUTOCONFIG_AUTH_* */
	char user[2 * AUTOCONFIG_TEXT_MAX + 1]; /* substituted; "" if none */
	char oauth2_issuer[AUTOCONFIG_TEXT_MAX + 1];
	unsigned int skipped; /* outgoing servers passed over */
};

/*
 * Parse doc (len bytes) for address (local@domain; used for the
 * %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN% placeholders) and
 * choose its best SMTP server: implicit TLS before STARTTLS (RFC 8314),
 * never plain, first in the document among equals.  0, or -1 with e set:
 * ERR_PROTOCOL for a malformed, oversized or DTD-carrying document,
 * ERR_UNAVAILABLE when it names no usable SMTP server.
 */
int autoconfig_parse(const char *doc, size_t len, const char *address,
    struct autoconfig *, struct error *e);

#endif
