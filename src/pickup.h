/*
 * pickup.h: root's queue run takes what users left in the drop directory
 * (spool.h) into the queue, each message prepared with root's
 * configuration on behalf of the user who owns the drop file.
 */
#ifndef OUTBOX_PICKUP_H
#define OUTBOX_PICKUP_H

#include "error.h"

/*
 * Take every complete drop file: the number looked at, or -1 with err when
 * the drop directory is not as it must be.  Not root: nothing to do.
 */
int pickup_run(const char *prog, struct error *);

#endif
