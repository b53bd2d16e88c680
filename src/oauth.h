/*
 * oauth.h: OAuth2 tokens for an account, from the companion program
 * outbox-auth (which does the HTTPS, JSON and token storage, so that
 * outbox links none of that).  The request goes on its standard input as
 * key=value lines, the answer comes back the same way on its standard
 * output; its exit status says what kind of failure it was.
 */
#ifndef OUTBOX_OAUTH_H
#define OUTBOX_OAUTH_H

#include <stddef.h>

#include "account.h"
#include "error.h"

/* What outbox-auth answered: key=value lines, wiped by oauth_reply_free. */
struct oauth_reply {
	char *text;
	size_t len;
};

/* Options of one run. */
struct oauth_opts {
	const char *flow; /* authorize: device, browser, paste or NULL */
	int force;	  /* token: refresh even when the cached one is valid */
	int verbose;	  /* trace the HTTP steps to standard error */
	int terminal;	  /* inherit standard input and error (authorize) */
	/* Where the child's own stderr lines go when not inherited; NULL:
	 * only the last one is kept, as the error text. */
	void (*on_line)(void *arg, const char *line);
	void *arg;
};

/*
 * Run `outbox-auth COMMAND' for account a.  On exit 0 *reply holds its
 * output; otherwise err has the kind its exit status maps to and its
 * last stderr line (without the "outbox: " prefix) as the message.
 */
int oauth_run(const struct account *a, const char *command,
    const struct oauth_opts *, struct oauth_reply *reply, struct error *err);
/*
 * Run `outbox-auth COMMAND [ARG]' without an account: text (key=value
 * lines) is its request; otherwise as oauth_run.
 */
int oauth_run_plain(const char *command, const char *arg, const char *text,
    const struct oauth_opts *, struct oauth_reply *reply, struct error *err);
/* The value of key in a reply, in a static-free way: NULL when absent. */
const char *oauth_value(const struct oauth_reply *, const char *key,
    size_t *len);
/* Copy key's value into a malloc'd string (NULL when absent). */
char *oauth_value_dup(const struct oauth_reply *, const char *key);
void oauth_reply_free(struct oauth_reply *);
/*
 * The access token for the account (malloc'd; wipe it with secret_free),
 * and the SASL mechanisms it is good for, best first ("XOAUTH2
 * OAUTHBEARER"; malloc'd, may be NULL).
 */
int oauth_token(const struct account *a, int force, char **token,
    char **mechanisms, struct error *err);
/*
 * Whether auth (the setting, not off) takes its token from outbox-auth:
 * the account has OAuth settings, neither password nor passwordeval is
 * set (a token from those is used as given), and auth is on or names an
 * OAuth mechanism.
 */
int oauth_applies(const struct account *a, const char *auth);
/* The token file: oauth2_token_file, else the default (malloc'd). */
char *oauth_token_file(const struct account *a);

#endif
