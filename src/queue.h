/*
 * queue.h: the durable spool.  An entry is two files in the queue
 * directory: ID.msg, the content exactly as it will be sent (CRLF line
 * endings, header edits done, not dot-stuffed), and ID.env, what is needed
 * to send it (account, envelope, per-recipient state, schedule).  The
 * entry exists once ID.env does; ID.msg is written and renamed first.
 * Whoever sends an entry holds an exclusive lock on its ID.msg.
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
/* Write ID.env again after a change of state. */
int queue_save(struct queue_entry *, struct error *);
/* Delivered: the entry goes. */
int queue_remove(struct queue_entry *, struct error *);
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
