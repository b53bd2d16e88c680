/* sasl.h: SASL mechanisms for SMTP AUTH (RFC 4954), through libgsasl. */
#ifndef OUTBOX_SASL_H
#define OUTBOX_SASL_H

#include <stddef.h>

#include "error.h"

struct sasl_creds {
	const char *user;
	const char *password; /* or the OAuth token */
	const char *realm;    /* the NTLM domain, or NULL */
	const char *cb_type;  /* "tls-exporter", "tls-unique" or NULL */
	const unsigned char *cb_data;
	size_t cb_len;
};

/*
 * Choose the mechanism.  configured is NULL or "on" for automatic choice,
 * else a mechanism name.  offered is the server's AUTH list.  Automatic
 * choice takes the strongest offered; without TLS only mechanisms that do
 * not reveal the password qualify.  Returns the canonical upper-case name.
 */
int sasl_choose(const char *configured, const char *offered, int tls,
    int channel_binding, const char **mech, struct error *);
/* Whether mech (NULL: none) takes an OAuth token as its password. */
int sasl_oauth(const char *mech);
/* Whether the mechanism may be named in configuration. */
int sasl_known(const char *name);

struct sasl;

struct sasl *sasl_new(const char *mech, const struct sasl_creds *,
    struct error *);
/*
 * The initial response for the AUTH line (RFC 4954 4), base64, in *out
 * (malloc'd, "=" for an empty one), or *out = NULL when the mechanism
 * waits for the server to speak first.
 */
int sasl_initial(struct sasl *, char **out, struct error *);
/* The response to a 334 challenge (base64 in and out). */
int sasl_step(struct sasl *, const char *challenge, char **out, struct error *);
void sasl_free(struct sasl *);

/* Base64 (RFC 4648) of n bytes, malloc'd, or NULL when out of memory. */
char *sasl_base64(const void *, size_t n);
/* The libgsasl version in use. */
const char *sasl_version(void);

#endif
