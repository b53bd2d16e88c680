/*
 * spool.h: the machine's drop directory, where any user's message waits
 * for the system queue.
 *
 * When outbox is the system's sendmail, a user without a configuration of
 * their own hands each message to outbox-drop, a small set-group-ID
 * program that writes the message and its envelope, as given, into
 * SPOOL_DROP_DIR (mode 1730, owned by root and the program's group: group
 * members may create files there, nobody but root may list or read them).
 * Each drop file is owned by the user who submitted it, which is how the
 * pickup knows who sent it.  root's queue run takes the files, prepares
 * each message with the system's configuration as if that user had run
 * sendmail there, and turns it into an ordinary queue entry.
 *
 * A drop file: "outbox-drop 1", then "from ADDRESS" (at most once),
 * "rcpt ARGUMENT" lines (each read as a To: field would be), "t" (read
 * the recipients from the header), an empty line, and the message as it
 * came.  Names end in ".tmp" while written, ".drop" once complete.
 */
#ifndef OUTBOX_SPOOL_H
#define OUTBOX_SPOOL_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

#ifndef OUTBOX_SPOOLDIR
#define OUTBOX_SPOOLDIR "/var/spool"
#endif
#define SPOOL_DROP_DIR OUTBOX_SPOOLDIR "/outbox-drop"
/* The drop directory's mode: group-writable, sticky, not listable. */
#define SPOOL_DROP_MODE 01730
/* Limits of one drop file's envelope. */
#define SPOOL_LINE_MAX 4096
#define SPOOL_RCPT_MAX 1000

struct spool_envelope {
	char *from; /* as given with -f; NULL: none */
	char **rcpt;
	size_t nrcpt;
	int read_recipients; /* -t */
};

/*
 * Whether dirfd (the drop directory) is safe to use: a directory owned
 * by root with exactly SPOOL_DROP_MODE; group is its group, or -1 for any.
 * ERR_CONFIG naming the path and what is wrong otherwise.
 */
int spool_check_dir(int dirfd, long group, struct error *);
/* Check an envelope from a command line before it is written. */
int spool_check_envelope(const struct spool_envelope *, struct error *);
/* Write the envelope's lines and the empty line that ends them. */
int spool_write_envelope(FILE *, const struct spool_envelope *);
/*
 * Read an envelope from fp, leaving it at the message's first byte.
 * ERR_DATA when the file is not a drop file or passes a limit.
 */
int spool_read_envelope(FILE *, struct spool_envelope *, struct error *);
void spool_envelope_free(struct spool_envelope *);

#endif
