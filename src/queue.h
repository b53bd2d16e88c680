/*
 * queue.h: the durable spool.  An entry is two files in the queue
 * directory: ID.msg, the content exactly as it will be sent (CRLF line
 * endings, header edits done, not dot-stuffed), and ID.env, what is needed
 * to send it (account, envelope, per-recipient state, schedule).  The
 * entry exists once ID.env does; ID.msg is written and renamed first.
 * Whoever sends an entry holds an exclusive lock on its ID.msg.
 *
 * Nothing is trusted that the queue did not write: the directory, its
 * tmp/ and failed/ must be real directories of the effective user's that
 * nobody else can write (otherwise ERR_CONFIG naming the path); files are
 * opened relative to them, never through a symbolic link, and an entry
 * whose files are not regular files of the effective user's with one
 * link, or whose ID.env does not parse, or whose addresses would not pass
 * as arguments, is skipped (queue_list_damaged lists it).  A content file
 * without its owner-write bit marks a delivered entry (queue_sent).
 */
#ifndef OUTBOX_QUEUE_H
#define OUTBOX_QUEUE_H

#include <stddef.h>
#include <time.h>

#include "error.h"

#define QUEUE_ID_LEN 16

enum queue_rcpt {
	QUEUE_PENDING,
	QUEUE_SENT,
	QUEUE_FAILED,
};

struct queue_entry {
	char id[QUEUE_ID_LEN + 1];
	char *dir; /* the queue directory */
	time_t created;
	time_t next; /* the next attempt */
	int attempts;
	char *account;	/* the account's name */
	char *conffile; /* -C when it was given */
	int host_given; /* the account came from the command line */
	char **set;	/* command-line settings, "name value" */
	size_t nset;
	char *from;
	char **rcpt;
	enum queue_rcpt *state;
	size_t nrcpt;
	int eightbit;
	unsigned long long size; /* bytes in ID.msg */
	char *error;		 /* the last attempt's outcome */
	char *failed;		 /* in failed/: why */
	char *held;		 /* waits for the user's fix: why, and what */
	int fd;			 /* ID.msg, locked; -1 */
	time_t attempting; /* an attempt began then, its outcome unknown */
	int own;	   /* read from a file of the effective user's */
	int uncommitted;   /* made by queue_create, its ID.msg still in tmp/ */
};

/* An entry skipped because it cannot be trusted, and why. */
struct queue_damage {
	char id[QUEUE_ID_LEN + 1];
	char *why; /* "queue: PATH is damaged: REASON" */
};

/* The default directory: per user, /var/spool/outbox for root. */
char *queue_default_dir(void);
/* "90", "30s", "5m", "4h", "5d" in seconds; -1 when malformed. */
long queue_duration(const char *);
/* "MIN MAX": the first retry and the longest wait; -1 when malformed. */
int queue_parse_retry(const char *, long *min, long *max);
/* When the attempt after `attempts' failures is due, from now. */
time_t queue_backoff(time_t now, int attempts, long min, long max);

/* A new entry, its ID.msg created and locked; nothing listed yet. */
struct queue_entry *queue_create(const char *dir, struct error *);
int queue_add_rcpt(struct queue_entry *, const char *addr, struct error *);
int queue_add_set(struct queue_entry *, const char *name, const char *value,
    struct error *);
/* Append content to ID.msg. */
int queue_write(struct queue_entry *, const void *, size_t, struct error *);
/* Make the entry durable and visible (the lock stays). */
int queue_commit(struct queue_entry *, struct error *);
/* Write ID.env again after a change of state (an attempt's outcome). */
int queue_save(struct queue_entry *, struct error *);
/*
 * Before sending a locked entry: record durably that an attempt begins.
 * -1 means the queue cannot be updated, and the entry must not be sent.
 */
int queue_attempt(struct queue_entry *, struct error *);
/* The entry goes (delivered, or handed back to the caller). */
int queue_remove(struct queue_entry *, struct error *);
/*
 * Delivered to every pending recipient (the entry is locked): marked so
 * that no later run sends it again, then removed.  -1 (ERR_IO) when the
 * removal failed; the message says whether the mark holds.
 */
int queue_sent(struct queue_entry *, struct error *);
/* Every pending recipient taken for delivered (the mark was found). */
void queue_sent_marked(struct queue_entry *);
/* Failed for good: to failed/ with the reason. */
int queue_fail(struct queue_entry *, const char *reason, struct error *);
void queue_entry_free(struct queue_entry *);

/*
 * The entries of a directory (failed/ ones with `failed'), oldest first,
 * unlocked; leftovers of interrupted writes are cleared on the way.  A
 * missing directory has none.
 */
int queue_list(const char *dir, int failed, struct queue_entry ***out,
    size_t *n, struct error *);
void queue_list_free(struct queue_entry **, size_t);
/* Both at once: the entries, and (with dmg) those skipped and why. */
int queue_list_all(const char *dir, int failed, struct queue_entry ***out,
    size_t *n, struct queue_damage **dmg, size_t *ndmg, struct error *);
/*
 * The same in bounded batches, for a queue of any size: each call loads
 * the (at most) QUEUE_BATCH entries that come next in ID order (oldest
 * first).  The cursor starts zeroed and keeps the next QUEUE_SCAN names,
 * found in one pass over the directory's names (a queue of N entries
 * takes N / QUEUE_SCAN passes); it is done when nothing is left, and
 * queue_cursor_free ends it.  Entries made during the walk come in a
 * later batch when their IDs sort after the last name taken.
 */
#define QUEUE_BATCH 128
#define QUEUE_SCAN 1024
struct queue_cursor {
	char last[QUEUE_ID_LEN + 8]; /* the last name found */
	void *names;		     /* the names found, in order */
	size_t nnames, inext;	     /* how many; the next to load */
	int scanned;		     /* the directory holds no more */
	int done;
};
int queue_list_next(const char *dir, int failed, struct queue_cursor *,
    struct queue_entry ***out, size_t *n, struct queue_damage **dmg,
    size_t *ndmg, struct error *);
void queue_cursor_free(struct queue_cursor *);
/* The entries queue_list skips as damaged or foreign, for -bp. */
int queue_list_damaged(const char *dir, int failed, struct queue_damage **out,
    size_t *n, struct error *);
void queue_damage_free(struct queue_damage *, size_t);
/* Parse an ID.env's text (for tests and the fuzzer); e->dir is NULL. */
int queue_parse(const char *text, size_t len, struct queue_entry **out,
    struct error *);
/* An entry's ID.env text, malloc'd in *text (queue_parse reads it back). */
int queue_format(const struct queue_entry *, char **text, size_t *len,
    struct error *);
/*
 * Whether the configuration an entry names (conffile, set lines,
 * host_given) may be used: only when the entry's file is the flusher's
 * own and it names the file the flusher would read: CONFFILE (its -C),
 * or without one the default files (an entry stored without -C, or one
 * whose -C named DEFAULT_CONF, the user's file).  Otherwise the flusher's
 * own configuration applies.
 */
int queue_entry_conf_trusted(const struct queue_entry *, const char *conffile,
    const char *default_conf);
/*
 * Take the entry for sending: 1 with its ID.msg open and locked and its
 * state read again, 0 when another process has it or it is gone.
 */
int queue_lock(struct queue_entry *, struct error *);
/* Let the entry go: the lock ends with the file's descriptor. */
void queue_unlock(struct queue_entry *);
/* A file descriptor reading the content from its start. */
int queue_content(struct queue_entry *, struct error *);
/* Delete one entry by ID: 0, or -1 (ERR_NOINPUT when there is none). */
int queue_drop(const char *dir, const char *id, struct error *);

#endif
