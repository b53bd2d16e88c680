/* tls.h: TLS over a connected socket, with the checks a client owes. */
#ifndef OUTBOX_TLS_H
#define OUTBOX_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "transport.h"

struct tls_conf {
	const char *host;	/* name to verify and send as SNI (ASCII) */
	const char *trust_file; /* NULL or "system": the system's store */
	const char *crl_file;
	const char *cert_file;	 /* client certificate, with key_file */
	const char *key_file;	 /* either may be a PKCS#11 URI (RFC 7512) */
	const char *pin;	 /* a token's PIN, for such a URI; or NULL */
	const char *fingerprint; /* pinned leaf certificate, hex with colons */
	const char *priorities;	 /* GnuTLS priority string */
	int certcheck;		 /* 0: accept any certificate */
	int min_dh_bits; /* smallest Diffie-Hellman prime, 0: GnuTLS default */
	int implicit;	 /* TLS first thing, not after STARTTLS */
};

/* Whether the client certificate or its key lives on a PKCS#11 token. */
int tls_uses_token(const struct tls_conf *);
/* Check the settings before connecting (files readable, formats). */
int tls_check_conf(const struct tls_conf *, struct error *);
/*
 * Handshake on t's socket and verify the server.  On success t's socket is
 * owned by the returned transport and t is released.
 */
struct transport *tls_start(struct transport *t, const struct tls_conf *,
    int64_t deadline, struct error *);
/* Channel binding for SCRAM-*-PLUS: type name and raw bytes, or -1. */
int tls_channel_binding(struct transport *, const char **type,
    unsigned char **data, size_t *len);
/* A one-line description of the session, for the trace. */
char *tls_describe(struct transport *);
int tls_is(struct transport *);
/* When the server's certificate expires (seconds since 1970), or 0. */
long long tls_peer_expires(struct transport *);

/*
 * The server's certificate chain for -S: subject, issuer, validity and
 * SHA-256 fingerprint of each, one field a line; malloc'd.
 */
char *tls_peer_info(struct transport *);
/* The GnuTLS version in use. */
const char *tls_version(void);

#endif
