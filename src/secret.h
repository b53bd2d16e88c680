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
void secret_free(char *);

#endif
