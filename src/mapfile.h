/*
 * mapfile.h: the rest of a regular file read through a read-only mapping,
 * a window at a time, so that the page cache is read without a copy and
 * only about two windows are resident.  A file that shrinks under the
 * mapping is noticed and reported, not a SIGBUS.
 */
#ifndef OUTBOX_MAPFILE_H
#define OUTBOX_MAPFILE_H

#include <stddef.h>
#include <sys/types.h>

struct mapfile;

/*
 * Map fd from offset `from' to its current end.  NULL when it is not a
 * regular file, nothing follows `from', another mapping is open, or the
 * mapping fails: then read it the ordinary way.
 */
struct mapfile *mapfile_open(int fd, off_t from);
/*
 * The next bytes, at most max, in *p: valid until the next call.  0 at the
 * end, or when the file shrank (see mapfile_shrunk).
 */
size_t mapfile_next(struct mapfile *, const char **p, size_t max);
/*
 * Whether the file became shorter than it was when mapped.  Bytes past its
 * new end read as NUL bytes, so check this before trusting a piece.
 */
int mapfile_shrunk(const struct mapfile *);
/* Back to `from', for a second pass. */
void mapfile_rewind(struct mapfile *);
void mapfile_close(struct mapfile *);

#endif
