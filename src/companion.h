/*
 * companion.h: where outbox's companion programs are (outbox-drop, and
 * others installed beside it): next to the running outbox (the build
 * tree, or a relocated installation), else LIBEXECDIR/outbox/.  The
 * tests may name another directory in OUTBOX_COMPANION_DIR (absolute;
 * ignored in a privileged process).
 */
#ifndef OUTBOX_COMPANION_H
#define OUTBOX_COMPANION_H

/* The path of companion program name, in a static buffer. */
const char *companion_path(const char *name);

#endif
