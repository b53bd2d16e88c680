/*
 * harden.h: the process itself, made safe before any secret is read.
 * Called first thing in main().
 */
#ifndef OUTBOX_HARDEN_H
#define OUTBOX_HARDEN_H

#include "error.h"

/*
 * Refuse to run set-user-ID or set-group-ID (AT_SECURE: the kernel says
 * the caller's environment is not to be trusted; outbox reads HOME,
 * configuration files and runs eval commands, so it must never run with
 * more privilege than its caller), and let no core dump or debugger of
 * the same user see a password (PR_SET_DUMPABLE 0, RLIMIT_CORE 0).
 * 0, or -1 with err (ERR_CONFIG for set-ID).
 */
int harden_process(struct error *);

#endif
