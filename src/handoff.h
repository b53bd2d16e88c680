/*
 * handoff.h: a user's side of the system queue (see spool.h): whether a
 * message goes to outbox-drop instead of a server, and handing it over.
 */
#ifndef OUTBOX_HANDOFF_H
#define OUTBOX_HANDOFF_H

#include <stddef.h>

#include "cli.h"
#include "error.h"

/*
 * Whether this invocation's messages go to the system queue: the machine
 * has one (its drop directory exists), the caller is not root, and gave
 * no configuration of their own (no -C, no --host, no user file, no
 * SMTPSERVER).
 */
int handoff_wanted(const struct cli *);
/*
 * Run outbox-drop with the message on fd and the envelope as given
 * (from may be NULL); 0, or -1 with err (the program said why on stderr).
 */
int handoff(int fd, const char *from, char *const *rcpt, size_t nrcpt,
    int read_recipients, struct error *);

#endif
