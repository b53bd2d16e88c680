/*
 * clean.h: the one rule for text a server (or a stored reply) supplies
 * before it reaches a terminal: -bp, -S and stderr.  C0 controls, DEL,
 * C1 controls, the bidirectional controls (which reorder what is shown)
 * and bytes that are not UTF-8 each become "?", so that a reply can
 * neither move the cursor, retitle the window, nor pass for other text.
 */
#ifndef OUTBOX_CLEAN_H
#define OUTBOX_CLEAN_H

#include <stddef.h>

enum {
	CLEAN_LINES = 1, /* keep LF: a multi-line reply stays one per line */
};

/* The cleaned text, malloc'd and NUL-terminated; NULL without memory. */
char *clean_text(const char *text, size_t len, int flags);

#endif
