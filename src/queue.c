/* queue.c: the durable spool (see queue.h for the layout). */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "transport.h"
#include "userdir.h"

/* An ID.env is small; a larger one is not ours. */
#define ENV_MAX (4 * 1024 * 1024)
/* Leftovers of a write that was interrupted this long ago are cleared. */
#define STALE_SECONDS 3600

char *
queue_default_dir(void)
{
	char *state, *p = NULL;

	if (geteuid() == 0)
		return strdup("/var/spool/outbox");
	if ((state = userdir_xdg("XDG_STATE_HOME", ".local/state")) == NULL)
		return NULL;
	if (asprintf(&p, "%s/outbox/queue", state) < 0)
		p = NULL;
	free(state);
	return p;
}

long
queue_duration(const char *s)
{
	char *end;
	long v, unit = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > LONG_MAX / unit)
		return -1;
	return v * unit;
}

int
queue_parse_retry(const char *v, long *min, long *max)
{
	char a[32], b[32], extra;
	long lo, hi;

	if (sscanf(v, "%31s %31s %c", a, b, &extra) != 2 ||
	    (lo = queue_duration(a)) <= 0 || (hi = queue_duration(b)) <= 0 ||
	    hi < lo)
		return -1;
	if (min != NULL)
		*min = lo;
	if (max != NULL)
		*max = hi;
	return 0;
}

time_t
queue_backoff(time_t now, int attempts, long min, long max)
{
	long d = min > 0 ? min : 1;

	while (--attempts > 0 && d < max)
		d *= 2;
	if (d > max)
		d = max;
	return now + d;
}

/* --- the directories: checked before use, then used by descriptor --- */

static int
sys_error(struct error *err, const char *what, const char *path)
{
	int e = errno;

	return error_set(err,
	    e == ENOSPC || e == EDQUOT || e == EFBIG || e == EIO ? ERR_IO :
		e == EACCES || e == EPERM || e == EROFS		 ? ERR_IO :
								   ERR_OSERR,
	    "queue: cannot %s %s: %s", what, path, strerror(e));
}

/*
 * A directory the queue trusts: a real directory, the effective user's,
 * and nobody else may add or rename files in it.  Whatever is wrong is
 * said, never mended: a loose mode may be someone's plan.
 */
static int
check_dir(int fd, const char *path, struct error *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return sys_error(err, "examine", path);
	if (!S_ISDIR(st.st_mode))
		return error_set(err, ERR_CONFIG,
		    "queue: %s is not a directory", path);
	if (st.st_uid != geteuid())
		return error_set(err, ERR_CONFIG,
		    "queue: %s belongs to uid %ld, not to the user running "
		    "outbox (uid %ld); the queue must be the user's own",
		    path, (long)st.st_uid, (long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return error_set(err, ERR_CONFIG,
		    "queue: %s is writable by %s (mode %04o); the queue "
		    "must not be (chmod go-w)",
		    path, (st.st_mode & S_IWOTH) ? "other users" : "its group",
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Open PATH (relative to AT) as a trusted directory; -1 and err. */
static int
open_dir_at(int at, const char *name, const char *path, struct error *err)
{
	struct stat st;
	int fd = openat(at, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;

	if (fd == -1) {
		/* What is there says more than the error (ELOOP, EACCES). */
		if (e != ENOENT &&
		    fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(st.st_mode))
				return error_set(err, ERR_CONFIG,
				    "queue: %s is %s, not a directory", path,
				    S_ISLNK(st.st_mode) ? "a symbolic link" :
							  "a file");
			if (st.st_uid != geteuid())
				return error_set(err, ERR_CONFIG,
				    "queue: %s belongs to uid %ld, not to the "
				    "user running outbox (uid %ld); the queue "
				    "must be the user's own",
				    path, (long)st.st_uid, (long)geteuid());
		}
		errno = e;
		sys_error(err, "open", path);
		errno = e; /* ENOENT: the caller may take it for empty */
		return -1;
	}
	if (check_dir(fd, path, err) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *
path_of(const char *dir, const char *sub, const char *id, const char *ext)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s%s%s", dir, sub ? sub : "", sub ? "/" : "", id,
		ext) < 0)
		return NULL;
	return p;
}

/* A new directory lasts once its parent's entry for it is on disk. */
static int
sync_parent(const char *path, struct error *err)
{
	char *parent = strdup(path), *slash;
	int fd, r = 0;

	if (parent == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (slash != NULL) {
		if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
			-1 ||
		    fsync(fd) == -1)
			r = sys_error(err, "sync the directory", parent);
		if (fd != -1)
			close(fd);
	}
	free(parent);
	return r;
}

/* mkdir -p, each new directory 0700; what was there already stays. */
static int
make_dirs(const char *dir, struct error *err)
{
	char *p = strdup(dir), *s;

	if (p == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) == -1) {
			if (errno != EEXIST) {
				sys_error(err, "create", p);
				free(p);
				return -1;
			}
		} else if (sync_parent(p, err) == -1) {
			free(p);
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return 0;
}

/* The three directories of a queue, each open and checked. */
struct qdirs {
	int top, tmp, failed;
};

static void
qdirs_close(struct qdirs *q)
{
	if (q->top != -1)
		close(q->top);
	if (q->tmp != -1)
		close(q->tmp);
	if (q->failed != -1)
		close(q->failed);
	q->top = q->tmp = q->failed = -1;
}

static int
open_sub(struct qdirs *q, const char *dir, const char *sub, int create,
    int *out, struct error *err)
{
	char *p = path_of(dir, NULL, sub, "");
	int r = -1;

	if (p == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	/* Made when missing (the common case opens it at once). */
	if (create && faccessat(q->top, sub, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT) {
		if (mkdirat(q->top, sub, 0700) == 0) {
			if (fsync(q->top) == -1) {
				sys_error(err, "sync the directory", dir);
				goto out;
			}
		} else if (errno != EEXIST) {
			sys_error(err, "create", p);
			goto out;
		}
	}
	if ((*out = open_dir_at(q->top, sub, p, err)) != -1)
		r = 0;
out:
	free(p);
	return r;
}

/*
 * Open the queue DIR and its tmp/ and failed/, creating what is missing
 * when CREATE.  Without CREATE a missing queue is 1 (nothing in it).
 */
static int
qdirs_open(struct qdirs *q, const char *dir, int create, struct error *err)
{
	q->top = q->tmp = q->failed = -1;
	if (create && make_dirs(dir, err) == -1)
		return -1;
	if ((q->top = open_dir_at(AT_FDCWD, dir, dir, err)) == -1) {
		if (!create && err->kind == ERR_OSERR && errno == ENOENT) {
			error_clear(err);
			return 1;
		}
		return -1;
	}
	if (open_sub(q, dir, "tmp", 1, &q->tmp, err) == -1 ||
	    open_sub(q, dir, "failed", 1, &q->failed, err) == -1) {
		qdirs_close(q);
		return -1;
	}
	return 0;
}

static int
sub_fd(const struct qdirs *q, const char *sub)
{
	if (sub == NULL)
		return q->top;
	return strcmp(sub, "failed") == 0 ? q->failed : q->tmp;
}

static int
sync_fd(int fd, const char *dir, const char *sub, struct error *err)
{
	char *p;

	if (fsync(fd) == 0)
		return 0;
	p = sub != NULL ? path_of(dir, NULL, sub, "") : NULL;
	sys_error(err, "sync the directory", p != NULL ? p : dir);
	free(p);
	return -1;
}

/*
 * Why an entry's file cannot be trusted (NULL: it can): only a regular
 * file of the effective user's with one name is the queue's own work.
 */
static const char *
file_distrust(const struct stat *st, char *why, size_t len)
{
	if (!S_ISREG(st->st_mode))
		return S_ISLNK(st->st_mode) ? "a symbolic link" :
					      "not a regular file";
	if (st->st_uid != geteuid()) {
		snprintf(why, len, "owned by uid %ld, not %ld",
		    (long)st->st_uid, (long)geteuid());
		return why;
	}
	if (st->st_nlink != 1) {
		snprintf(why, len, "%ld names (hard links) for one file",
		    (long)st->st_nlink);
		return why;
	}
	return NULL;
}

/*
 * Open an entry's file: never through a symbolic link, never a FIFO
 * that blocks, and only when file_distrust finds nothing.  -1 with
 * errno ENOENT when it is gone; -1 with err (ERR_CONFIG) when it is not
 * to be trusted.
 */
static int
open_entry_file(int at, const char *name, int flags, const char *path,
    struct error *err)
{
	struct stat st;
	const char *why;
	char reason[96];
	int fd = openat(at, name,
	    flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd == -1) {
		int e = errno;

		if (e == ENOENT)
			return -1;
		/* Why it cannot be opened, when the file itself says. */
		if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (why = file_distrust(&st, reason, sizeof(reason))) != NULL)
			return error_set(err, ERR_CONFIG,
			    "queue: %s is damaged: %s", path, why);
		errno = e;
		return sys_error(err, "open", path);
	}
	if (fstat(fd, &st) == -1) {
		sys_error(err, "examine", path);
		close(fd);
		return -1;
	}
	if ((why = file_distrust(&st, reason, sizeof(reason))) != NULL) {
		close(fd);
		return error_set(err, ERR_CONFIG, "queue: %s is damaged: %s",
		    path, why);
	}
	/* Back to blocking reads for the content. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* --- the ID.env text: "key value" lines, values %XX-escaped --- */

static int is_id(const char *, const char *);

static int
put(struct buf *b, const char *key, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	if (buf_printf(b, "%s ", key) == -1)
		return -1;
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '%') {
			if (buf_printf(b, "%%%02X", *p) == -1)
				return -1;
		} else if (buf_add(b, (const char *)p, 1) == -1)
			return -1;
	return buf_add(b, "\n", 1);
}

static const char *const state_names[] = { "pending", "sent", "failed" };

static int
format_env(const struct queue_entry *e, struct buf *b)
{
	char num[64];
	size_t i;
	int r = 0;

	r |= buf_printf(b, "outbox-queue 1\n");
	r |= put(b, "id", e->id);
	snprintf(num, sizeof(num), "%lld", (long long)e->created);
	r |= put(b, "created", num);
	snprintf(num, sizeof(num), "%lld", (long long)e->next);
	r |= put(b, "next", num);
	snprintf(num, sizeof(num), "%d", e->attempts);
	r |= put(b, "attempts", num);
	if (e->attempting != 0) {
		snprintf(num, sizeof(num), "%lld", (long long)e->attempting);
		r |= put(b, "attempting", num);
	}
	r |= put(b, "account", e->account ? e->account : "default");
	if (e->conffile != NULL)
		r |= put(b, "conffile", e->conffile);
	if (e->host_given)
		r |= put(b, "host_given", "1");
	for (i = 0; i < e->nset; i++)
		r |= put(b, "set", e->set[i]);
	r |= put(b, "from", e->from ? e->from : "");
	for (i = 0; i < e->nrcpt; i++) {
		char *line = NULL;

		if (asprintf(&line, "%s %s", state_names[e->state[i]],
			e->rcpt[i]) < 0)
			return -1;
		r |= put(b, "rcpt", line);
		free(line);
	}
	snprintf(num, sizeof(num), "%d", e->eightbit);
	r |= put(b, "eightbit", num);
	snprintf(num, sizeof(num), "%llu", e->size);
	r |= put(b, "size", num);
	if (e->error != NULL)
		r |= put(b, "error", e->error);
	if (e->failed != NULL)
		r |= put(b, "failed", e->failed);
	if (e->held != NULL)
		r |= put(b, "held", e->held);
	return r ? -1 : 0;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	    c >= 'A' && c <= 'F'    ? c - 'A' + 10 :
				      -1;
}

static char *
unescape(const char *s, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

static int
grow(void *pp, size_t n, size_t size)
{
	void *p = realloc(*(void **)pp, (n + 1) * size);

	if (p == NULL)
		return -1;
	*(void **)pp = p;
	return 0;
}

static int
take_rcpt(struct queue_entry *e, const char *v)
{
	const char *sp = strchr(v, ' ');
	int st;

	if (sp == NULL)
		return -1;
	for (st = 0; st < 3; st++)
		if ((size_t)(sp - v) == strlen(state_names[st]) &&
		    strncmp(v, state_names[st], (size_t)(sp - v)) == 0)
			break;
	if (st == 3 || grow(&e->rcpt, e->nrcpt, sizeof(char *)) == -1 ||
	    grow(&e->state, e->nrcpt, sizeof(enum queue_rcpt)) == -1)
		return -1;
	if ((e->rcpt[e->nrcpt] = strdup(sp + 1)) == NULL)
		return -1;
	e->state[e->nrcpt++] = (enum queue_rcpt)st;
	return 0;
}

/* One line, its value already unescaped. */
static int
take(struct queue_entry *e, const char *key, char *v)
{
	char **slot = NULL;

	if (strcmp(key, "id") == 0) {
		if (strlen(v) != QUEUE_ID_LEN || !is_id(v, ""))
			return -1;
		memcpy(e->id, v, QUEUE_ID_LEN + 1);
	} else if (strcmp(key, "created") == 0)
		e->created = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(key, "next") == 0)
		e->next = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(key, "attempts") == 0)
		e->attempts = atoi(v);
	else if (strcmp(key, "attempting") == 0)
		e->attempting = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(key, "host_given") == 0)
		e->host_given = atoi(v);
	else if (strcmp(key, "eightbit") == 0)
		e->eightbit = atoi(v);
	else if (strcmp(key, "size") == 0)
		e->size = strtoull(v, NULL, 10);
	else if (strcmp(key, "rcpt") == 0)
		return take_rcpt(e, v);
	else if (strcmp(key, "set") == 0) {
		if (grow(&e->set, e->nset, sizeof(char *)) == -1)
			return -1;
		slot = &e->set[e->nset++];
		*slot = NULL;
	} else if (strcmp(key, "account") == 0)
		slot = &e->account;
	else if (strcmp(key, "conffile") == 0)
		slot = &e->conffile;
	else if (strcmp(key, "from") == 0)
		slot = &e->from;
	else if (strcmp(key, "error") == 0)
		slot = &e->error;
	else if (strcmp(key, "failed") == 0)
		slot = &e->failed;
	else if (strcmp(key, "held") == 0)
		slot = &e->held;
	if (slot != NULL) {
		free(*slot);
		if ((*slot = strdup(v)) == NULL)
			return -1;
	}
	return 0; /* keys of later versions are skipped */
}

/*
 * An address read back is checked as if it came from the command line:
 * whatever else is wrong with the entry, CR, LF and the like never reach
 * the server (RFC 5321 2.3.8), and an address must be one addr-spec.
 */
static int
check_addr(const char *a, const char *what, struct error *err)
{
	char *got;
	int same;

	if (*a == '\0')
		return 0; /* the null sender, <> */
	if ((got = addr_parse_one(a, what, ERR_DATA, err)) == NULL)
		return -1;
	same = strcmp(got, a) == 0;
	free(got);
	if (!same)
		return error_set(err, ERR_DATA, "%s is not one address", what);
	return 0;
}

static int
parse_env(struct queue_entry *e, const char *text, size_t len,
    struct error *err)
{
	const char *p = text, *end = text + len, *nl, *sp;
	char key[32], *v;
	size_t k, vlen;
	int first = 1;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return error_set(err, ERR_DATA, "cut short");
		if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL ||
		    (size_t)(sp - p) >= sizeof(key) ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL)
			return error_set(err, ERR_DATA, "a malformed line");
		memcpy(key, p, (size_t)(sp - p));
		key[sp - p] = '\0';
		if (first) {
			if (strcmp(key, "outbox-queue") != 0)
				return error_set(err, ERR_DATA,
				    "not a queue entry");
			first = 0;
		} else {
			if ((v = unescape(sp + 1, (size_t)(nl - sp - 1),
				 &vlen)) == NULL)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			/* A NUL would cut the value short unseen. */
			if (strlen(v) != vlen || take(e, key, v) == -1) {
				free(v);
				return error_set(err, ERR_DATA,
				    "a malformed \"%s\" line", key);
			}
			free(v);
		}
		p = nl + 1;
	}
	if (first || e->id[0] == '\0' || e->from == NULL || e->nrcpt == 0)
		return error_set(err, ERR_DATA, "incomplete");
	if (check_addr(e->from, "the stored sender", err) == -1)
		return -1;
	for (k = 0; k < e->nrcpt; k++)
		if (check_addr(e->rcpt[k], "a stored recipient", err) == -1)
			return -1;
	return 0;
}

/*
 * Write ID.env through tmp/ and rename it into sub/ (or the top).  With
 * SYNC_DIR the rename is on disk before the return; without, a crash may
 * bring back the previous ID.env, whole (the file is synced either way).
 */
static int
write_env_at(const struct queue_entry *e, const char *sub, int sync_dir,
    struct error *err)
{
	struct qdirs q;
	struct buf b;
	char name[QUEUE_ID_LEN + 8];
	char *tmp = path_of(e->dir, "tmp", e->id, ".env");
	int fd = -1, r = -1, tries;

	buf_init(&b, ENV_MAX);
	snprintf(name, sizeof(name), "%s.env", e->id);
	if (qdirs_open(&q, e->dir, 0, err) != 0) {
		if (err->kind == ERR_NONE)
			error_set(err, ERR_IO, "queue: %s is gone", e->dir);
		free(tmp);
		return -1;
	}
	if (tmp == NULL || format_env(e, &b) == -1) {
		error_set(err, ERR_OSERR, "out of memory");
		goto out;
	}
	/*
	 * Never through a name someone else made: a leftover of our own
	 * interrupted write goes first, anything else is an error.
	 */
	for (tries = 0; tries < 2; tries++) {
		fd = openat(q.tmp, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST || tries > 0 ||
		    unlinkat(q.tmp, name, 0) == -1)
			break;
	}
	if (fd == -1) {
		sys_error(err, "create", tmp);
		goto out;
	}
	if (transport_fd_write_all(fd, b.data, b.len) == -1 ||
	    fsync(fd) == -1) {
		sys_error(err, "write", tmp);
		unlinkat(q.tmp, name, 0);
		goto out;
	}
	if (renameat(q.tmp, name, sub_fd(&q, sub), name) == -1) {
		sys_error(err, "rename", tmp);
		unlinkat(q.tmp, name, 0);
		goto out;
	}
	r = sync_dir ? sync_fd(sub_fd(&q, sub), e->dir, sub, err) : 0;
out:
	if (fd != -1)
		close(fd);
	qdirs_close(&q);
	buf_free(&b);
	free(tmp);
	return r;
}

static int
write_env(const struct queue_entry *e, const char *sub, struct error *err)
{
	return write_env_at(e, sub, 1, err);
}

/* --- entries --- */

/* Time-ordered, 16 upper-case hex digits: microseconds and randomness. */
static void
new_id(char *id)
{
	struct timeval tv;
	unsigned short rnd = 0;
	unsigned long long us;

	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (unsigned short)getpid();
	us = (unsigned long long)tv.tv_sec * 1000000ULL +
	    (unsigned long long)tv.tv_usec;
	snprintf(id, QUEUE_ID_LEN + 1, "%012llX%04X", us & 0xFFFFFFFFFFFFULL,
	    rnd);
}

static struct queue_entry *
entry_new(const char *dir)
{
	struct queue_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->fd = -1;
	if (dir != NULL && (e->dir = strdup(dir)) == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

struct queue_entry *
queue_create(const char *dir, struct error *err)
{
	struct queue_entry *e;
	struct qdirs q;
	char name[QUEUE_ID_LEN + 8], *p;
	int tries;

	if (qdirs_open(&q, dir, 1, err) == -1)
		return NULL;
	if ((e = entry_new(dir)) == NULL) {
		qdirs_close(&q);
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	e->created = e->next = time(NULL);
	for (tries = 0; tries < 100 && e->fd == -1; tries++) {
		new_id(e->id);
		snprintf(name, sizeof(name), "%s.msg", e->id);
		e->fd = openat(q.tmp, name,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (e->fd == -1 && errno != EEXIST)
			break;
	}
	if (e->fd == -1) {
		if ((p = path_of(dir, "tmp", e->id, ".msg")) == NULL)
			error_set(err, ERR_OSERR, "out of memory");
		else
			sys_error(err, "create", p);
		free(p);
		qdirs_close(&q);
		queue_entry_free(e);
		return NULL;
	}
	qdirs_close(&q);
	e->uncommitted = 1;
	/*
	 * The mode is part of the state (see queue_sent): exactly 0600,
	 * whatever the umask.
	 */
	fchmod(e->fd, 0600);
	/* Nobody else can know the name yet; the lock goes with the file. */
	flock(e->fd, LOCK_EX | LOCK_NB);
	return e;
}

int
queue_add_rcpt(struct queue_entry *e, const char *addr, struct error *err)
{
	if (grow(&e->rcpt, e->nrcpt, sizeof(char *)) == -1 ||
	    grow(&e->state, e->nrcpt, sizeof(enum queue_rcpt)) == -1 ||
	    (e->rcpt[e->nrcpt] = strdup(addr)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	e->state[e->nrcpt++] = QUEUE_PENDING;
	return 0;
}

int
queue_add_set(struct queue_entry *e, const char *name, const char *value,
    struct error *err)
{
	char *s = NULL;

	if (grow(&e->set, e->nset, sizeof(char *)) == -1 ||
	    asprintf(&s, "%s %s", name, value) < 0)
		return error_set(err, ERR_OSERR, "out of memory");
	e->set[e->nset++] = s;
	return 0;
}

int
queue_write(struct queue_entry *e, const void *data, size_t n,
    struct error *err)
{
	if (transport_fd_write_all(e->fd, data, n) == -1)
		return sys_error(err, "write the message to", e->dir);
	e->size += n;
	return 0;
}

int
queue_commit(struct queue_entry *e, struct error *err)
{
	char name[QUEUE_ID_LEN + 8];
	char *tmp = path_of(e->dir, "tmp", e->id, ".msg");
	struct qdirs q;
	int r = -1;

	snprintf(name, sizeof(name), "%s.msg", e->id);
	if (tmp == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		return -1;
	}
	if (qdirs_open(&q, e->dir, 0, err) != 0) {
		if (err->kind == ERR_NONE)
			error_set(err, ERR_IO, "queue: %s is gone", e->dir);
		free(tmp);
		return -1;
	}
	if (fsync(e->fd) == -1)
		sys_error(err, "write", tmp);
	else if (renameat(q.tmp, name, q.top, name) == -1)
		sys_error(err, "rename", tmp);
	else if (write_env(e, NULL, err) == -1) {
		/*
		 * Not acknowledged: the entry goes, ID.env too if it was
		 * renamed before the directory could not be synced.
		 */
		memcpy(name + QUEUE_ID_LEN, ".env", 4);
		unlinkat(q.top, name, 0);
		memcpy(name + QUEUE_ID_LEN, ".msg", 4);
		unlinkat(q.top, name, 0);
	} else
		r = 0;
	if (r == -1) {
		memcpy(name + QUEUE_ID_LEN, ".msg", 4);
		unlinkat(q.tmp, name, 0);
	}
	e->uncommitted = 0;
	qdirs_close(&q);
	free(tmp);
	return r;
}

int
queue_save(struct queue_entry *e, struct error *err)
{
	/* An outcome is recorded: the attempt is over. */
	e->attempting = 0;
	return write_env(e, NULL, err);
}

int
queue_attempt(struct queue_entry *e, struct error *err)
{
	time_t was = e->attempting;

	e->attempting = time(NULL);
	/*
	 * What matters is that the queue took a change before the message
	 * goes; should the rename be lost in a crash, the entry as it was
	 * is still whole.  So no directory sync: one fewer per message.
	 */
	if (write_env_at(e, NULL, 0, err) == -1) {
		e->attempting = was;
		return -1;
	}
	return 0;
}

static int
unlink_entry(const char *dir, const char *sub, const char *id,
    struct error *err)
{
	char env[QUEUE_ID_LEN + 8], msg[QUEUE_ID_LEN + 8], *p = NULL;
	struct qdirs q;
	int r = -1, at;

	snprintf(env, sizeof(env), "%s.env", id);
	snprintf(msg, sizeof(msg), "%s.msg", id);
	if (qdirs_open(&q, dir, 0, err) != 0)
		return err->kind == ERR_NONE ? 0 : -1;
	at = sub_fd(&q, sub);
	/* The entry ends with its ID.env; the content follows it. */
	if (unlinkat(at, env, 0) == -1 && errno != ENOENT)
		sys_error(err, "remove", p = path_of(dir, sub, id, ".env"));
	else if (unlinkat(at, msg, 0) == -1 && errno != ENOENT)
		sys_error(err, "remove", p = path_of(dir, sub, id, ".msg"));
	else
		r = sync_fd(at, dir, sub, err);
	free(p);
	qdirs_close(&q);
	return r;
}

int
queue_remove(struct queue_entry *e, struct error *err)
{
	return unlink_entry(e->dir, NULL, e->id, err);
}

/*
 * Delivered to everyone.  Before the files go, the content file loses its
 * write bit (through the descriptor held, which works even when the
 * directory can no longer be changed): a content file without it means
 * "sent", and no later run sends it again even if the removal fails.
 * Only a crash between the server's 250 and this mark, or a filesystem
 * that refuses every change, leaves the entry to be sent again.
 */
int
queue_sent(struct queue_entry *e, struct error *err)
{
	struct error e2;
	char why[ERROR_MSG_MAX];
	size_t k;
	int marked;

	for (k = 0; k < e->nrcpt; k++)
		if (e->state[k] == QUEUE_PENDING)
			e->state[k] = QUEUE_SENT;
	/*
	 * The mark needs to last only if the removal fails: then it is
	 * synced; a crash before that is the documented window.
	 */
	marked = e->fd != -1 && fchmod(e->fd, 0400) == 0;
	if (queue_remove(e, err) == 0)
		return 0;
	marked = marked && fsync(e->fd) == 0;
	/* The message is rewritten around the reason: a copy first. */
	snprintf(why, sizeof(why), "%s", err->msg);
	/* The state in ID.env too, where the directory still allows it. */
	error_clear(&e2);
	if (!marked && queue_save(e, &e2) == 0)
		marked = 1;
	if (marked)
		return error_set(err, ERR_IO,
		    "%s; message %s was delivered and is marked as sent, so "
		    "it will not be sent again",
		    why, e->id);
	return error_set(err, ERR_IO,
	    "%s; message %s was delivered but could not be marked as sent: "
	    "a later run may send it again",
	    why, e->id);
}

int
queue_fail(struct queue_entry *e, const char *reason, struct error *err)
{
	char name[QUEUE_ID_LEN + 8],
	    *msg = path_of(e->dir, NULL, e->id, ".msg"), *env = NULL;
	struct qdirs q;
	int r = -1, open_r;

	free(e->failed);
	e->failed = strdup(reason);
	e->attempting = 0;
	snprintf(name, sizeof(name), "%s.msg", e->id);
	if (msg == NULL || e->failed == NULL) {
		free(msg);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	if ((open_r = qdirs_open(&q, e->dir, 0, err)) != 0) {
		if (open_r == 1)
			error_set(err, ERR_IO, "queue: %s is gone", e->dir);
		free(msg);
		return -1;
	}
	/*
	 * failed/ID.env first: until the top ID.env goes, the entry is
	 * still in the queue, whole.
	 */
	if (write_env(e, "failed", err) == -1)
		;
	else if (renameat(q.top, name, q.failed, name) == -1)
		sys_error(err, "move", msg);
	else if (memcpy(name + QUEUE_ID_LEN, ".env", 4),
	    unlinkat(q.top, name, 0) == -1 && errno != ENOENT)
		sys_error(err, "remove",
		    env = path_of(e->dir, NULL, e->id, ".env"));
	else if (sync_fd(q.failed, e->dir, "failed", err) == 0)
		r = sync_fd(q.top, e->dir, NULL, err);
	qdirs_close(&q);
	free(msg);
	free(env);
	return r;
}

void
queue_entry_free(struct queue_entry *e)
{
	size_t i;

	if (e == NULL)
		return;
	/*
	 * Never acknowledged (a write failed, a full disk): its content
	 * goes at once, not an hour later, so that the space is free again.
	 */
	if (e->uncommitted && e->dir != NULL) {
		struct error ignored;
		struct qdirs q;
		char name[QUEUE_ID_LEN + 8];

		error_clear(&ignored);
		snprintf(name, sizeof(name), "%s.msg", e->id);
		if (qdirs_open(&q, e->dir, 0, &ignored) == 0) {
			unlinkat(q.tmp, name, 0);
			qdirs_close(&q);
		}
	}
	queue_unlock(e);
	for (i = 0; i < e->nset; i++)
		free(e->set[i]);
	for (i = 0; i < e->nrcpt; i++)
		free(e->rcpt[i]);
	free(e->set);
	free(e->rcpt);
	free(e->state);
	free(e->dir);
	free(e->account);
	free(e->conffile);
	free(e->from);
	free(e->error);
	free(e->failed);
	free(e->held);
	free(e);
}

/* --- reading --- */

static int
is_id(const char *name, const char *ext)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
			(name[i] >= 'A' && name[i] <= 'F')))
			return 0;
	return strcmp(name + QUEUE_ID_LEN, ext) == 0;
}

int
queue_parse(const char *text, size_t len, struct queue_entry **out,
    struct error *err)
{
	struct queue_entry *e = entry_new(NULL);

	*out = NULL;
	if (e == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (parse_env(e, text, len, err) == -1) {
		queue_entry_free(e);
		return -1;
	}
	*out = e;
	return 0;
}

int
queue_format(const struct queue_entry *e, char **text, size_t *len,
    struct error *err)
{
	struct buf b;

	buf_init(&b, ENV_MAX);
	if (format_env(e, &b) == -1 || buf_add(&b, "", 1) == -1) {
		buf_free(&b);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	*text = b.data;
	*len = b.len - 1;
	return 0;
}

static int
read_fd(int fd, struct buf *b)
{
	char chunk[8192];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (buf_add(b, chunk, (size_t)n) == -1) {
			errno = EFBIG;
			return -1;
		}
	}
	return 0;
}

/*
 * Load ID.env from the directory AT (DIR/SUB) into a fresh entry.  NULL
 * with err clear when it is gone; NULL with ERR_CONFIG when it is damaged
 * or not to be trusted; NULL with another kind when it cannot be read.
 */
static struct queue_entry *
load_at(int at, const char *dir, const char *sub, const char *id,
    struct error *err)
{
	struct queue_entry *e = NULL;
	char name[QUEUE_ID_LEN + 8], *p = path_of(dir, sub, id, ".env");
	struct error why;
	struct buf b;
	int fd;

	buf_init(&b, ENV_MAX);
	snprintf(name, sizeof(name), "%s.env", id);
	if (p == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	if ((fd = open_entry_file(at, name, O_RDONLY, p, err)) == -1)
		goto out;
	if (read_fd(fd, &b) == -1) {
		if (errno == EFBIG)
			error_set(err, ERR_CONFIG,
			    "queue: %s is damaged: larger than %d bytes", p,
			    ENV_MAX);
		else
			sys_error(err, "read", p);
		close(fd);
		goto out;
	}
	close(fd);
	error_clear(&why);
	if (queue_parse(b.data, b.len, &e, &why) == -1) {
		if (why.kind == ERR_OSERR)
			*err = why;
		else
			error_set(err, ERR_CONFIG, "queue: %s is damaged: %s",
			    p, why.msg);
		goto out;
	}
	if (strcmp(e->id, id) != 0) {
		error_set(err, ERR_CONFIG,
		    "queue: %s is damaged: it names entry %s", p, e->id);
		queue_entry_free(e);
		e = NULL;
		goto out;
	}
	if ((e->dir = strdup(dir)) == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		queue_entry_free(e);
		e = NULL;
		goto out;
	}
	/* open_entry_file checked it: the flusher's own file. */
	e->own = 1;
out:
	buf_free(&b);
	free(p);
	return e;
}

/*
 * The content file beside a loaded entry: whether it can be trusted, and
 * whether it carries the mark of a delivered message (see queue_sent).
 */
static int
check_msg_at(int at, int failed_at, struct queue_entry *e, const char *sub,
    struct error *err)
{
	char name[QUEUE_ID_LEN + 8], reason[96], *p;
	const char *why;
	struct stat st;

	snprintf(name, sizeof(name), "%s.msg", e->id);
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)
			return 0; /* checked again when it is opened */
		/*
		 * No content: a move to failed/ cut short after its content
		 * went (queue_fail) is finished; anything else is said.
		 */
		if (sub == NULL && failed_at >= 0 &&
		    fstatat(failed_at, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			memcpy(name + QUEUE_ID_LEN, ".env", 4);
			unlinkat(at, name, 0);
			return 1;
		}
		p = path_of(e->dir, sub, e->id, ".env");
		error_set(err, ERR_CONFIG,
		    "queue: %s is damaged: its content file %s.msg is missing",
		    p ? p : name, e->id);
		free(p);
		return -1;
	}
	if ((why = file_distrust(&st, reason, sizeof(reason))) == NULL) {
		if (!(st.st_mode & S_IWUSR))
			queue_sent_marked(e);
		return 0;
	}
	p = path_of(e->dir, sub, e->id, ".msg");
	error_set(err, ERR_CONFIG, "queue: %s is damaged: %s", p ? p : name,
	    why);
	free(p);
	return -1;
}

void
queue_sent_marked(struct queue_entry *e)
{
	size_t k;

	for (k = 0; k < e->nrcpt; k++)
		if (e->state[k] == QUEUE_PENDING)
			e->state[k] = QUEUE_SENT;
}

/* An interrupted write's leftover, unlocked and old: remove it. */
static void
clear_stale(int at, const char *name)
{
	struct stat st;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    time(NULL) - st.st_mtime < STALE_SECONDS)
		return;
	/* Not a file of ours: left alone (and reported where it matters). */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return;
	if ((fd = openat(at, name,
		 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		unlinkat(at, name, 0);
	close(fd);
}

static void
sweep(const struct qdirs *q)
{
	char env[QUEUE_ID_LEN + 8];
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int fd;

	if ((fd = dup(q->tmp)) != -1 && (dp = fdopendir(fd)) != NULL) {
		rewinddir(dp); /* a duplicate shares the offset */
		while ((d = readdir(dp)) != NULL)
			if (d->d_name[0] != '.')
				clear_stale(q->tmp, d->d_name);
		closedir(dp);
	} else if (fd != -1)
		close(fd);
	/* A content file whose ID.env never came: never acknowledged. */
	if ((fd = dup(q->top)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(dp); /* a duplicate shares the offset */
	while ((d = readdir(dp)) != NULL) {
		if (!is_id(d->d_name, ".msg"))
			continue;
		memcpy(env, d->d_name, QUEUE_ID_LEN);
		memcpy(env + QUEUE_ID_LEN, ".env", 5);
		if (fstatat(q->top, env, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT)
			clear_stale(q->top, d->d_name);
	}
	closedir(dp);
}

static int
by_id(const void *a, const void *b)
{
	return strcmp((*(struct queue_entry *const *)a)->id,
	    (*(struct queue_entry *const *)b)->id);
}

static int
add_damage(struct queue_damage **v, size_t *n, const char *name,
    const struct error *why)
{
	struct queue_damage *d;

	if (grow(v, *n, sizeof(**v)) == -1)
		return -1;
	d = &(*v)[*n];
	memset(d, 0, sizeof(*d));
	memcpy(d->id, name, QUEUE_ID_LEN);
	d->id[QUEUE_ID_LEN] = '\0';
	if ((d->why = strdup(why->msg)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/*
 * One name of a directory's listing: a good entry to *GOT (when WANT),
 * one that cannot be trusted to DMG.  -1 on a fault that ends the walk
 * (ERR_OSERR in err).
 */
static int
visit(const struct qdirs *q, const char *dir, const char *sub, int want,
    const char *name, struct queue_entry **got, struct queue_damage **dmg,
    size_t *ndmg, struct error *err)
{
	char id[QUEUE_ID_LEN + 1];
	struct queue_entry *e;
	struct error why;
	int r;

	*got = NULL;
	error_clear(&why);
	if (!is_id(name, ".env")) {
		/*
		 * A content file without its ID.env that is not ours is said
		 * too (one with its ID.env is checked with it).
		 */
		struct stat st;
		char reason[96], env[QUEUE_ID_LEN + 8];
		const char *w;

		if (dmg == NULL || !is_id(name, ".msg"))
			return 0;
		memcpy(env, name, QUEUE_ID_LEN);
		memcpy(env + QUEUE_ID_LEN, ".env", 5);
		if (fstatat(sub_fd(q, sub), env, &st, AT_SYMLINK_NOFOLLOW) ==
			0 ||
		    fstatat(sub_fd(q, sub), name, &st, AT_SYMLINK_NOFOLLOW) ==
			-1 ||
		    (w = file_distrust(&st, reason, sizeof(reason))) == NULL)
			return 0;
		error_set(&why, ERR_CONFIG, "queue: %s/%s%s%s is damaged: %s",
		    dir, sub ? sub : "", sub ? "/" : "", name, w);
		if (add_damage(dmg, ndmg, name, &why) == -1)
			return error_set(err, ERR_OSERR, "out of memory");
		return 0;
	}
	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	e = load_at(sub_fd(q, sub), dir, sub, id, &why);
	if (e != NULL &&
	    (r = check_msg_at(sub_fd(q, sub), want ? q->failed : -1, e, sub,
		 &why)) != 0) {
		queue_entry_free(e);
		e = NULL;
		if (r == 1)
			return 0; /* finished moving to failed/ */
	}
	if (e == NULL) {
		if (why.kind == ERR_NONE)
			return 0; /* sent meanwhile */
		if (why.kind == ERR_OSERR) {
			*err = why;
			return -1;
		}
		/* Skipped here; queue_list_damaged says why. */
		if (dmg != NULL && add_damage(dmg, ndmg, name, &why) == -1)
			return error_set(err, ERR_OSERR, "out of memory");
		return 0;
	}
	if (!want)
		queue_entry_free(e);
	else
		*got = e;
	return 0;
}

static int
open_listing(const struct qdirs *q, const char *dir, const char *sub, DIR **dp,
    struct error *err)
{
	int fd;

	if ((fd = dup(sub_fd(q, sub))) == -1 || (*dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return sys_error(err, "read", dir);
	}
	rewinddir(*dp); /* a duplicate shares the offset */
	return 0;
}

/*
 * The walk behind queue_list and queue_list_damaged: good entries to
 * OUT (when not NULL), the ones that cannot be trusted to DMG.
 */
static int
walk(const char *dir, int failed, struct queue_entry ***out, size_t *n,
    struct queue_damage **dmg, size_t *ndmg, struct error *err)
{
	const char *sub = failed ? "failed" : NULL;
	struct queue_entry *e;
	struct qdirs q;
	struct dirent *d;
	DIR *dp;
	int r;

	if ((r = qdirs_open(&q, dir, 0, err)) != 0)
		return r == 1 ? 0 : -1;
	if (!failed && out != NULL)
		sweep(&q);
	if (open_listing(&q, dir, sub, &dp, err) == -1) {
		qdirs_close(&q);
		return -1;
	}
	while ((d = readdir(dp)) != NULL) {
		if (visit(&q, dir, sub, out != NULL, d->d_name, &e, dmg, ndmg,
			err) == -1)
			break;
		if (e == NULL)
			continue;
		if (grow(out, *n, sizeof(**out)) == -1) {
			queue_entry_free(e);
			error_set(err, ERR_OSERR, "out of memory");
			break;
		}
		(*out)[(*n)++] = e;
	}
	closedir(dp);
	qdirs_close(&q);
	return err->kind == ERR_OSERR ? -1 : 0;
}

/* The batch's names: a max-heap on the name, the largest at [0]. */
typedef char qname[QUEUE_ID_LEN + 5];

static void
heap_down(qname *h, size_t n, size_t i)
{
	qname t;
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && strcmp(h[c + 1], h[c]) > 0)
			c++;
		if (strcmp(h[c], h[i]) <= 0)
			break;
		memcpy(t, h[i], sizeof(t));
		memcpy(h[i], h[c], sizeof(t));
		memcpy(h[c], t, sizeof(t));
		i = c;
	}
}

static void
heap_up(qname *h, size_t i)
{
	qname t;
	size_t p;

	while (i > 0 && strcmp(h[p = (i - 1) / 2], h[i]) < 0) {
		memcpy(t, h[i], sizeof(t));
		memcpy(h[i], h[p], sizeof(t));
		memcpy(h[p], t, sizeof(t));
		i = p;
	}
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The cursor's next names: the QUEUE_SCAN smallest ID.env names after
 * the last one taken, in a pass over the names alone, whatever the queue
 * holds.  A content file without its ID.env is said on the first pass.
 */
static int
scan(const struct qdirs *q, const char *dir, const char *sub,
    struct queue_cursor *cur, struct queue_damage **dmg, size_t *ndmg,
    struct error *err)
{
	qname *h = cur->names;
	struct queue_entry *e;
	struct dirent *d;
	size_t nh = 0;
	DIR *dp;
	int first = cur->last[0] == '\0';

	cur->nnames = cur->inext = 0;
	if (h == NULL &&
	    (h = cur->names = malloc(QUEUE_SCAN * sizeof(qname))) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (open_listing(q, dir, sub, &dp, err) == -1)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		if (!is_id(d->d_name, ".env")) {
			if (first &&
			    visit(q, dir, sub, 0, d->d_name, &e, dmg, ndmg,
				err) == -1) {
				closedir(dp);
				return -1;
			}
			continue;
		}
		if (strcmp(d->d_name, cur->last) <= 0)
			continue;
		if (nh < QUEUE_SCAN) {
			memcpy(h[nh], d->d_name, sizeof(qname));
			heap_up(h, nh++);
		} else if (strcmp(d->d_name, h[0]) < 0) {
			memcpy(h[0], d->d_name, sizeof(qname));
			heap_down(h, nh, 0);
		}
	}
	closedir(dp);
	if (nh < QUEUE_SCAN)
		cur->scanned = 1; /* nothing after these */
	if (nh > 0)
		memcpy(cur->last, h[0], sizeof(qname));
	qsort(h, nh, sizeof(*h), by_name);
	cur->nnames = nh;
	return 0;
}

int
queue_list_next(const char *dir, int failed, struct queue_cursor *cur,
    struct queue_entry ***out, size_t *n, struct queue_damage **dmg,
    size_t *ndmg, struct error *err)
{
	const char *sub = failed ? "failed" : NULL;
	qname *h;
	struct queue_entry *e;
	struct qdirs q;
	int r;

	*out = NULL;
	*n = 0;
	if (dmg != NULL) {
		*dmg = NULL;
		*ndmg = 0;
	}
	if (cur->done)
		return 0;
	if ((r = qdirs_open(&q, dir, 0, err)) != 0) {
		cur->done = 1;
		return r == 1 ? 0 : -1;
	}
	if (cur->last[0] == '\0' && !failed)
		sweep(&q);
	if (cur->inext == cur->nnames && !cur->scanned &&
	    scan(&q, dir, sub, cur, dmg, ndmg, err) == -1)
		goto fail;
	h = cur->names;
	while (cur->inext < cur->nnames && *n < QUEUE_BATCH) {
		if (visit(&q, dir, sub, 1, h[cur->inext++], &e, dmg, ndmg,
			err) == -1)
			goto fail;
		if (e == NULL)
			continue;
		if (grow(out, *n, sizeof(**out)) == -1) {
			queue_entry_free(e);
			error_set(err, ERR_OSERR, "out of memory");
			goto fail;
		}
		(*out)[(*n)++] = e;
	}
	if (cur->inext == cur->nnames && cur->scanned)
		cur->done = 1;
	qdirs_close(&q);
	return 0;
fail:
	qdirs_close(&q);
	queue_list_free(*out, *n);
	*out = NULL;
	*n = 0;
	if (dmg != NULL) {
		queue_damage_free(*dmg, *ndmg);
		*dmg = NULL;
		*ndmg = 0;
	}
	return -1;
}

void
queue_cursor_free(struct queue_cursor *cur)
{
	free(cur->names);
	cur->names = NULL;
	cur->nnames = cur->inext = 0;
}

static int by_damage(const void *, const void *);

int
queue_list_all(const char *dir, int failed, struct queue_entry ***out,
    size_t *n, struct queue_damage **dmg, size_t *ndmg, struct error *err)
{
	*out = NULL;
	*n = 0;
	if (dmg != NULL) {
		*dmg = NULL;
		*ndmg = 0;
	}
	if (walk(dir, failed, out, n, dmg, ndmg, err) == -1) {
		queue_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		if (dmg != NULL) {
			queue_damage_free(*dmg, *ndmg);
			*dmg = NULL;
			*ndmg = 0;
		}
		return -1;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_id);
	if (dmg != NULL && *ndmg > 1)
		qsort(*dmg, *ndmg, sizeof(**dmg), by_damage);
	return 0;
}

int
queue_list(const char *dir, int failed, struct queue_entry ***out, size_t *n,
    struct error *err)
{
	return queue_list_all(dir, failed, out, n, NULL, NULL, err);
}

void
queue_list_free(struct queue_entry **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		queue_entry_free(v[i]);
	free(v);
}

static int
by_damage(const void *a, const void *b)
{
	return strcmp(((const struct queue_damage *)a)->id,
	    ((const struct queue_damage *)b)->id);
}

int
queue_list_damaged(const char *dir, int failed, struct queue_damage **out,
    size_t *n, struct error *err)
{
	*out = NULL;
	*n = 0;
	if (walk(dir, failed, NULL, NULL, out, n, err) == -1) {
		queue_damage_free(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_damage);
	return 0;
}

void
queue_damage_free(struct queue_damage *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].why);
	free(v);
}

int
queue_lock(struct queue_entry *e, struct error *err)
{
	char name[QUEUE_ID_LEN + 8], *p = path_of(e->dir, NULL, e->id, ".msg");
	struct queue_entry *now;
	struct qdirs q;
	struct stat st;
	int fd, r;

	if (p == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	snprintf(name, sizeof(name), "%s.msg", e->id);
	if ((r = qdirs_open(&q, e->dir, 0, err)) != 0) {
		free(p);
		return r == 1 ? 0 : -1;
	}
	/*
	 * Read-only: the lock is flock(2) on a local filesystem (see
	 * outbox(1)); the content is only read.
	 */
	fd = open_entry_file(q.top, name, O_RDONLY, p, err);
	free(p);
	if (fd == -1) {
		qdirs_close(&q);
		return err->kind == ERR_NONE ? 0 : -1; /* gone meanwhile */
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		qdirs_close(&q);
		return 0; /* another flush has it */
	}
	/* Whoever had it before may have sent it: read the state again. */
	now = load_at(q.top, e->dir, NULL, e->id, err);
	qdirs_close(&q);
	if (now == NULL) {
		close(fd);
		return err->kind == ERR_NONE ? 0 : -1;
	}
	if (fstat(fd, &st) == 0 && !(st.st_mode & S_IWUSR))
		queue_sent_marked(now);
	queue_unlock(e);
	now->fd = fd;
	/* Swap the contents: the caller's pointer now holds the new state. */
	{
		struct queue_entry tmp = *e;
		*e = *now;
		*now = tmp;
	}
	queue_entry_free(now);
	return 1;
}

void
queue_unlock(struct queue_entry *e)
{
	if (e->fd != -1)
		close(e->fd);
	e->fd = -1;
}

int
queue_content(struct queue_entry *e, struct error *err)
{
	int fd;

	if (lseek(e->fd, 0, SEEK_SET) == -1 ||
	    (fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return sys_error(err, "read", e->id);
	return fd;
}

int
queue_drop(const char *dir, const char *id, struct error *err)
{
	struct queue_entry *e = NULL;
	char name[QUEUE_ID_LEN + 8];
	struct qdirs q;
	int fd, r;

	if (strlen(id) != QUEUE_ID_LEN || !is_id(id, ""))
		return error_set(err, ERR_NOINPUT, "no message %s in %s", id,
		    dir);
	if ((r = qdirs_open(&q, dir, 0, err)) != 0) {
		if (r == -1)
			return -1;
		return error_set(err, ERR_NOINPUT, "no message %s in %s", id,
		    dir);
	}
	e = load_at(q.top, dir, NULL, id, err);
	if (e == NULL) {
		qdirs_close(&q);
		if (err->kind != ERR_NONE && err->kind != ERR_CONFIG)
			return -1;
		error_clear(err);
		return error_set(err, ERR_NOINPUT, "no message %s in %s", id,
		    dir);
	}
	queue_entry_free(e);
	snprintf(name, sizeof(name), "%s.msg", id);
	fd = openat(q.top, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	qdirs_close(&q);
	if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return error_set(err, ERR_TEMP,
		    "message %s is being sent right now", id);
	}
	r = unlink_entry(dir, NULL, id, err);
	if (fd != -1)
		close(fd);
	return r;
}

int
queue_entry_conf_trusted(const struct queue_entry *e, const char *conffile,
    const char *default_conf)
{
	char *mine;
	int same;

	/*
	 * An entry is data.  What it says about configuration (-C, --set,
	 * a host on the command line) is taken only from a file the flusher
	 * wrote itself, and only when it names the configuration the
	 * flusher would read anyway.
	 */
	if (!e->own)
		return 0;
	if (conffile == NULL) {
		if (e->conffile == NULL)
			return 1;
		conffile = default_conf;
	}
	if (e->conffile == NULL || conffile == NULL)
		return 0;
	if ((mine = realpath(conffile, NULL)) == NULL)
		return 0;
	same = strcmp(mine, e->conffile) == 0;
	free(mine);
	return same;
}
