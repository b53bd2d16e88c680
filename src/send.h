/*
 * send.h: the modes that talk to the server now.  Each takes the parsed
 * command line and the stream for what it prints, and returns 0, or -1
 * with err (err->said when it told stderr itself).  The exit code comes
 * from err's kind either way: a -bs session ends with its last outcome.
 */
#ifndef OUTBOX_SEND_H
#define OUTBOX_SEND_H

#include <stdio.h>

#include "cli.h"
#include "error.h"

/* The message on standard input, submitted or queued. */
int send_stdin(const struct cli *, FILE *, struct error *);
/* -P: the account chosen and its settings, connecting to nothing. */
int send_pretend(const struct cli *, FILE *, struct error *);
/* -S: what the server says about itself. */
int send_serverinfo(const struct cli *, FILE *, struct error *);
/* --rmqs: ask the server to run its queue (ETRN). */
int send_rmqs(const struct cli *, FILE *, struct error *);
/* -bs: an SMTP dialogue on standard input and out. */
int send_bs(const struct cli *, FILE *, struct error *);

#endif
