/* aliases.h: envelope recipients expanded through an aliases file. */
#ifndef OUTBOX_ALIASES_H
#define OUTBOX_ALIASES_H

#include <stddef.h>

#include "error.h"

/* The most steps from one local name to the next in one expansion. */
#define ALIASES_MAX_DEPTH 16

/*
 * Expand the recipients in[0..nin) through the aliases file at path.
 *
 * The file holds `name: address[, address...]' lines; `#' starts a comment
 * that runs to the end of the line, and blank lines are ignored.  Only a
 * recipient with no `@' is looked up, by its exact (case-sensitive) name;
 * one with no entry of its own takes the `default' entry if there is one,
 * and otherwise stays as it is.  An address with no `@' is a local name and
 * is expanded in turn, at most ALIASES_MAX_DEPTH steps deep; a loop is an
 * error.  The result keeps the order of the recipients and of the file,
 * without duplicates (the first spelling wins; domains compare without
 * regard to case).
 *
 * The file is read only when some recipient needs it.  *out is a new
 * malloc'd array of malloc'd strings; free it with aliases_free.  Returns
 * 0, or -1 with err set: ERR_CONFIG for an unreadable file, a syntax error
 * or bad address (with file:line) or a loop, ERR_OSERR for memory.
 */
int aliases_expand(const char *path, char *const *in, size_t nin, char ***out,
    size_t *nout, struct error *err);
void aliases_free(char **, size_t);

#endif
