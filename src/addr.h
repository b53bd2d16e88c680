/* addr.h: envelope addresses from the command line and configuration. */
#ifndef OUTBOX_ADDR_H
#define OUTBOX_ADDR_H

#include "error.h"

/*
 * The addr-spec in one argument: "a@b", "<a@b>" or "Name <a@b>".  CR, LF
 * and other control characters are refused (they would end the SMTP
 * command and start another), as is anything that is not one address.
 * `what' names the source for the message; `kind' is the error's kind.
 * Returns a malloc'd string, or NULL with err set.
 */
char *addr_parse_one(const char *arg, const char *what, enum error_kind kind,
    struct error *);

#endif
