/* flow.h: outbox-auth's interactive commands and their helpers. */
#ifndef OUTBOX_AUTH_FLOW_H
#define OUTBOX_AUTH_FLOW_H

#include <stddef.h>

#include "auth.h"

#define PKCE_LEN 96

/* pkce.c */
void sha256(const void *, size_t, unsigned char out[32]);
void base64url(const unsigned char *, size_t, char *out);
int random_token(char *out, size_t bytes);
int pkce_pair(char verifier[PKCE_LEN], char challenge[PKCE_LEN]);

/* flow.c: authorize (device, browser, paste). */
int cmd_authorize(struct oauth *, const struct request *, const char *path,
    struct error *);

/* discover.c: RFC 8414 metadata and RFC 7591 registration. */
struct metadata {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *device_authorization_endpoint;
	char *registration_endpoint;
};
int metadata_parse(const char *, size_t, struct metadata *, struct error *);
void metadata_free(struct metadata *);
struct registration {
	char *client_id;
	char *client_secret;
};
int registration_parse(const char *, size_t, struct registration *,
    struct error *);
void registration_free(struct registration *);
/* Fill o's endpoints from issuer's metadata, and register a client when
 * o has none (reg keeps it for the token file). */
int discover(struct oauth *, const char *issuer, struct metadata *,
    struct registration *, struct error *);

/* keyring.c: the Secret Service. */
int cmd_password(const struct request *, struct error *);

#endif
