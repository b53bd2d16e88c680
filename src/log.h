/* log.h: diagnostics on stderr and the protocol trace. */
#ifndef OUTBOX_LOG_H
#define OUTBOX_LOG_H

#include <stddef.h>

#include "error.h"

void log_init(const char *prog, int verbose);
int log_verbose(void);
/* Trace lines (with -v): what was sent, what came back, what happened. */
void log_sent(const char *line);
void log_received(const char *line, size_t len);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug lines (with -d -d or -v -v). */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: message", then the server's reply, one line each. */
void log_error(const struct error *);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line of advice, without the program's name. */
void log_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
