/* net.h: resolve a host and connect to it within one overall deadline. */
#ifndef OUTBOX_NET_H
#define OUTBOX_NET_H

#include <stdint.h>

#include "error.h"

/*
 * Connect to host:port, trying each address in turn; the time left is
 * shared among the addresses not yet tried.  The socket returned is
 * non-blocking, close-on-exec, with TCP_NODELAY.  host must already be in
 * ASCII (A-labels).  source_ip may be NULL.
 */
int net_connect(const char *host, int port, const char *source_ip,
    int64_t deadline, int *fd, struct error *);

#endif
