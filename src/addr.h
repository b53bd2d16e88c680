/* addr.h: envelope addresses from the command line and configuration. */
#ifndef OUTBOX_ADDR_H
#define OUTBOX_ADDR_H

#include <stddef.h>

#include "error.h"

/* A list of addr-specs, each malloc'd. */
struct addrlist {
	char **v;
	size_t n, cap;
	size_t *slots; /* a hash set of v's indices + 1, for duplicates */
	size_t nslots;
};

/*
 * The addr-spec in one argument: "a@b", "<a@b>" or "Name <a@b>".  CR, LF
 * and other control characters are refused (they would end the SMTP
 * command and start another), as is anything that is not one address.
 * `what' names the source for the message; `kind' is the error's kind.
 * Returns a malloc'd string, or NULL with err set.
 */
char *addr_parse_one(const char *arg, const char *what, enum error_kind kind,
    struct error *);

/*
 * Parse an RFC 5322 address-list (a header field's body, possibly folded,
 * or a command-line argument) and append each addr-spec to the list:
 * display names, comments, group names and source routes go; quoted
 * local parts and domain literals stay as written.  An empty list is not
 * an error.  `what' and `kind' as for addr_parse_one.
 */
int addr_list_parse(const char *text, size_t len, struct addrlist *,
    const char *what, enum error_kind kind, struct error *);
/*
 * Append a copy; a duplicate is skipped (the same local part, and the same
 * domain but for case).
 */
int addrlist_add(struct addrlist *, const char *addr, size_t len);
void addrlist_free(struct addrlist *);
/*
 * A host name as it goes into EHLO, a Message-ID's right side or an
 * address (RFC 5321 4.1.2 Domain or address-literal): dot-separated labels
 * of letters, digits, hyphens (and UTF-8, for RFC 6531), or [literal].
 * Whatever fills it (the domain setting, $HOSTNAME through %H, the
 * canonical name through %C, /etc/mailname through %M) is checked here;
 * `what' names the source.  0, or -1 with err (ERR_CONFIG).
 */
int addr_check_domain(const char *name, const char *what, struct error *);

#endif
