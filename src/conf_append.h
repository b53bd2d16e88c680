/*
 * conf_append.h: --configure --write: append an account to a
 * configuration file, after asking on the terminal.
 */
#ifndef OUTBOX_CONF_APPEND_H
#define OUTBOX_CONF_APPEND_H

#include "error.h"

/*
 * Append text (account name) to file, or when file is NULL to the user's
 * configuration file; *path gets the file's name (malloc'd).  Unless yes
 * is set, asks "append account NAME to FILE? [y/N]" on /dev/tty and
 * refuses without a terminal.  A missing file is created with mode 0600;
 * an account of that name already in the file is refused.
 */
int conf_append_account(const char *file, const char *name, const char *text,
    int yes, char **path, struct error *);

#endif
