/* conf.h: the configuration file and its keyword table. */
#ifndef OUTBOX_CONF_H
#define OUTBOX_CONF_H

#include <stdio.h>

#include "account.h"
#include "error.h"

/*
 * Parse one configuration stream and append its accounts to *list.
 * `path' names it in messages.  A user file (as opposed to the system
 * file) that holds a password must be readable by its owner only; fd is
 * checked for that when user_file is set.
 */
int conf_parse(FILE *, const char *path, int user_file, struct account **list,
    struct error *);
/* Open and parse a file; ENOENT is reported as ERR_NOINPUT. */
int conf_load(const char *path, int user_file, struct account **list,
    struct error *);
/*
 * Set one setting by its configuration name, checking the value as the
 * file would.  `where' prefixes error messages ("file:line" or an option).
 */
int conf_set(struct account *, const char *name, const char *value,
    const char *where, struct error *);
/* The same for a command-line option (errors name the option: EX_USAGE). */
int conf_set_option(struct account *, const char *name, const char *value,
    const char *option, struct error *);
/*
 * A new account holding every default, then what base set explicitly
 * (base may be NULL).  Every account is made here.
 */
struct account *conf_account_new(const char *name, const char *file,
    unsigned line, const struct account *base);
/* Whether setting f has a fixed default, and which (as the file says it). */
int conf_default_of(enum acc_field f, const char **value);
/*
 * The fallback account when none was chosen (-a, --host, -f matching)
 * and none is named default: host from SMTPSERVER, the sender from EMAIL
 * unless have_sender (-f or --read-envelope-from gives it).  1 with *out
 * (an account named default), 0 when the variables do not describe one
 * (SMTPSERVER unset or empty, or no sender at all), -1 on a bad value.
 * Implemented in conf_env.c.
 */
int conf_from_environment(const char *smtpserver, const char *email,
    int have_sender, struct account **out, struct error *);
/* For -P: "SMTPSERVER" or "EMAIL" when that variable gave a's field f. */
const char *conf_environment_source(const struct account *a, enum acc_field f);
/* The nearest known command to a misspelt one, or NULL. */
const char *conf_suggest(const char *name);
/* The nearest account name in list to a misspelt one, or NULL. */
const char *conf_suggest_account(const struct account *list, const char *name);
/* Whether the keyword table is sorted (for the unit test). */
int conf_table_sorted(void);

#endif
