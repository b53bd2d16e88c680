/* secret.h: where a password (or OAuth token) comes from. */
#ifndef OUTBOX_SECRET_H
#define OUTBOX_SECRET_H

#include "account.h"
#include "error.h"

/*
 * The password for the account: `password', else the first line that
 * `passwordeval' prints.  *out is NULL when neither is set.  Free with
 * secret_free, which wipes it.
 */
int secret_password(const struct account *, char **out, struct error *);
/*
 * The SOCKS proxy's password (RFC 1929), from the same kinds of source:
 * proxy_password, proxy_passwordeval, then netrc (machine proxy_host,
 * login proxy_user) and the terminal.  *out is NULL without proxy_user.
 */
int secret_proxy_password(const struct account *, char **out, struct error *);
void secret_free(char *);
/*
 * Run cmd with /bin/sh, standard input from /dev/null, and return the
 * first line it printed (malloc'd; wipe it with secret_free).
 */
int secret_run(const char *cmd, char **out, struct error *);

#endif
