/*
 * qrun.h: the queue run: -q (everything due, or what -qI/-qR/-qS
 * select), grouped so that each account's entries share one connection;
 * the detached run after a send; --queue-drop; the queue directories the
 * configuration names.
 */
#ifndef OUTBOX_QRUN_H
#define OUTBOX_QRUN_H

#include <stddef.h>
#include <stdio.h>

#include "account.h"
#include "cli.h"
#include "error.h"

/* -q, --flush */
int qrun_run(const struct cli *, FILE *, struct error *);
/*
 * After a send, or with "queue always": unless queue_background is off, a
 * detached process sends what is due, so that the caller does not wait.
 */
void qrun_spawn(const struct cli *, const struct account *);
/* -bp, mailq: the queue's listing on out. */
int qrun_list(const struct cli *, FILE *out, struct error *);
/* --queue-drop=ID */
int qrun_drop(const struct cli *, FILE *, struct error *);
/* Every queue directory the configuration names, and the default one. */
int qrun_dirs(const struct cli *, char ***dirs, size_t *n, struct error *);
void qrun_free_dirs(char **dirs, size_t n);

#endif
