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

#include "buf.h"
#include "transport.h"

/* An ID.env is small; a larger one is not ours. */
#define ENV_MAX (4 * 1024 * 1024)
/* Leftovers of a write that was interrupted this long ago are cleared. */
#define STALE_SECONDS 3600

char *
queue_default_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (geteuid() == 0)
		return strdup("/var/spool/outbox");
	if (xdg != NULL && *xdg == '/')
		return asprintf(&p, "%s/outbox/queue", xdg) < 0 ? NULL : p;
	if (home == NULL || *home == '\0')
		return NULL;
	return asprintf(&p, "%s/.local/state/outbox/queue", home) < 0 ? NULL :
									p;
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

/* --- paths and durable writes --- */

static char *
path_of(const char *dir, const char *sub, const char *id, const char *ext)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s%s%s%s", dir, sub ? sub : "", sub ? "/" : "", id,
		ext) < 0)
		return NULL;
	return p;
}

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

static int
sync_dir(const char *dir, const char *sub, struct error *err)
{
	char *p = sub ? path_of(dir, NULL, sub, "") : strdup(dir);
	int fd, r = 0;

	if (p == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		r = sys_error(err, "sync the directory", p);
	if (fd != -1)
		close(fd);
	free(p);
	return r;
}

/* A new directory lasts once its parent's entry for it is on disk. */
static int
sync_parent(const char *path, struct error *err)
{
	char *parent = strdup(path), *slash;
	int r;

	if (parent == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	r = slash == NULL ? 0 : sync_dir(parent, NULL, err);
	free(parent);
	return r;
}

/* mkdir -p, each new directory 0700. */
static int
make_dirs(const char *dir, struct error *err)
{
	char *p = strdup(dir), *s;
	struct stat st;

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
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return sys_error(err, "use the directory", dir);
	return 0;
}

static int
prepare_dir(const char *dir, struct error *err)
{
	char *tmp = path_of(dir, NULL, "tmp", ""),
	     *failed = path_of(dir, NULL, "failed", "");
	int r = -1;

	if (tmp == NULL || failed == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	else if (make_dirs(dir, err) == 0 && make_dirs(tmp, err) == 0 &&
	    make_dirs(failed, err) == 0)
		r = 0;
	free(tmp);
	free(failed);
	return r;
}

/* --- the ID.env text: "key value" lines, values %XX-escaped --- */

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
unescape(const char *s, size_t n)
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
		if (strlen(v) != QUEUE_ID_LEN)
			return -1;
		memcpy(e->id, v, QUEUE_ID_LEN + 1);
	} else if (strcmp(key, "created") == 0)
		e->created = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(key, "next") == 0)
		e->next = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(key, "attempts") == 0)
		e->attempts = atoi(v);
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

static int
parse_env(struct queue_entry *e, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl, *sp;
	char key[32], *v;
	int first = 1;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1; /* cut short */
		if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL ||
		    (size_t)(sp - p) >= sizeof(key))
			return -1;
		memcpy(key, p, (size_t)(sp - p));
		key[sp - p] = '\0';
		if (first) {
			if (strcmp(key, "outbox-queue") != 0)
				return -1;
			first = 0;
		} else {
			if ((v = unescape(sp + 1, (size_t)(nl - sp - 1))) ==
			    NULL)
				return -1;
			if (take(e, key, v) == -1) {
				free(v);
				return -1;
			}
			free(v);
		}
		p = nl + 1;
	}
	return first || e->id[0] == '\0' || e->from == NULL || e->nrcpt == 0 ?
	    -1 :
	    0;
}

/* Write ID.env through tmp/ and rename it into sub/ (or the top). */
static int
write_env(const struct queue_entry *e, const char *sub, struct error *err)
{
	struct buf b;
	char *tmp = path_of(e->dir, "tmp", e->id, ".env"),
	     *dst = path_of(e->dir, sub, e->id, ".env");
	int fd = -1, r = -1;

	buf_init(&b, ENV_MAX);
	if (tmp == NULL || dst == NULL || format_env(e, &b) == -1) {
		error_set(err, ERR_OSERR, "out of memory");
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1) {
		sys_error(err, "create", tmp);
		goto out;
	}
	if (transport_fd_write_all(fd, b.data, b.len) == -1 ||
	    fsync(fd) == -1) {
		sys_error(err, "write", tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, dst) == -1) {
		sys_error(err, "rename", tmp);
		unlink(tmp);
		goto out;
	}
	r = sync_dir(e->dir, sub, err);
out:
	if (fd != -1)
		close(fd);
	buf_free(&b);
	free(tmp);
	free(dst);
	return r;
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

struct queue_entry *
queue_create(const char *dir, struct error *err)
{
	struct queue_entry *e;
	char *p = NULL;
	int tries;

	if (prepare_dir(dir, err) == -1)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->dir = strdup(dir)) == NULL) {
		free(e);
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	e->fd = -1;
	e->created = e->next = time(NULL);
	for (tries = 0; tries < 100 && e->fd == -1; tries++) {
		new_id(e->id);
		free(p);
		if ((p = path_of(dir, "tmp", e->id, ".msg")) == NULL)
			break;
		e->fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (e->fd == -1 && errno != EEXIST)
			break;
	}
	if (e->fd == -1) {
		if (p == NULL)
			error_set(err, ERR_OSERR, "out of memory");
		else
			sys_error(err, "create", p);
		free(p);
		queue_entry_free(e);
		return NULL;
	}
	free(p);
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
	char *tmp = path_of(e->dir, "tmp", e->id, ".msg"),
	     *dst = path_of(e->dir, NULL, e->id, ".msg");
	int r = -1;

	if (tmp == NULL || dst == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	else if (fsync(e->fd) == -1)
		sys_error(err, "write", tmp);
	else if (rename(tmp, dst) == -1)
		sys_error(err, "rename", tmp);
	else if (write_env(e, NULL, err) == -1)
		unlink(dst);
	else
		r = 0;
	if (r == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dst);
	return r;
}

int
queue_save(struct queue_entry *e, struct error *err)
{
	return write_env(e, NULL, err);
}

static int
unlink_entry(const char *dir, const char *sub, const char *id,
    struct error *err)
{
	char *env = path_of(dir, sub, id, ".env"),
	     *msg = path_of(dir, sub, id, ".msg");
	int r = -1;

	if (env == NULL || msg == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	/* The entry ends with its ID.env; the content follows it. */
	else if (unlink(env) == -1 && errno != ENOENT)
		sys_error(err, "remove", env);
	else if (unlink(msg) == -1 && errno != ENOENT)
		sys_error(err, "remove", msg);
	else
		r = sync_dir(dir, sub, err);
	free(env);
	free(msg);
	return r;
}

int
queue_remove(struct queue_entry *e, struct error *err)
{
	return unlink_entry(e->dir, NULL, e->id, err);
}

int
queue_fail(struct queue_entry *e, const char *reason, struct error *err)
{
	char *msg = path_of(e->dir, NULL, e->id, ".msg"),
	     *fmsg = path_of(e->dir, "failed", e->id, ".msg"),
	     *env = path_of(e->dir, NULL, e->id, ".env");
	int r = -1;

	free(e->failed);
	e->failed = strdup(reason);
	if (msg == NULL || fmsg == NULL || env == NULL || e->failed == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	/*
	 * failed/ID.env first: until the top ID.env goes, the entry is
	 * still in the queue, whole.
	 */
	else if (write_env(e, "failed", err) == -1)
		;
	else if (rename(msg, fmsg) == -1)
		sys_error(err, "move", msg);
	else if (unlink(env) == -1)
		sys_error(err, "remove", env);
	else if (sync_dir(e->dir, "failed", err) == 0)
		r = sync_dir(e->dir, NULL, err);
	free(msg);
	free(fmsg);
	free(env);
	return r;
}

void
queue_entry_free(struct queue_entry *e)
{
	size_t i;

	if (e == NULL)
		return;
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
read_file(const char *path, struct buf *b)
{
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (buf_add(b, chunk, (size_t)n) == -1) {
			n = -1;
			errno = EFBIG;
			break;
		}
	}
	close(fd);
	return n == 0 ? 0 : -1;
}

/* Load dir/sub/ID.env into a fresh entry: NULL (errno ENOENT if gone). */
static struct queue_entry *
load(const char *dir, const char *sub, const char *id, struct error *err)
{
	struct queue_entry *e = calloc(1, sizeof(*e));
	char *p = path_of(dir, sub, id, ".env");
	struct buf b;

	buf_init(&b, ENV_MAX);
	if (e == NULL || p == NULL || (e->dir = strdup(dir)) == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		goto bad;
	}
	e->fd = -1;
	if (read_file(p, &b) == -1) {
		if (errno != ENOENT)
			sys_error(err, "read", p);
		goto bad;
	}
	if (parse_env(e, b.data, b.len) == -1 || strcmp(e->id, id) != 0) {
		errno = EINVAL;
		error_set(err, ERR_IO, "queue: %s is damaged", p);
		goto bad;
	}
	buf_free(&b);
	free(p);
	return e;
bad:
	buf_free(&b);
	free(p);
	queue_entry_free(e);
	return NULL;
}

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

/* An interrupted write's leftover, unlocked and old: remove it. */
static void
clear_stale(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == -1 || time(NULL) - st.st_mtime < STALE_SECONDS)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		unlink(path);
	close(fd);
}

static void
sweep(const char *dir)
{
	char *tmp = path_of(dir, NULL, "tmp", ""), *p, *env;
	struct dirent *d;
	DIR *dp;

	if (tmp != NULL && (dp = opendir(tmp)) != NULL) {
		while ((d = readdir(dp)) != NULL)
			if (d->d_name[0] != '.' &&
			    (p = path_of(tmp, NULL, d->d_name, "")) != NULL) {
				clear_stale(p);
				free(p);
			}
		closedir(dp);
	}
	free(tmp);
	/* A content file whose ID.env never came: never acknowledged. */
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (!is_id(d->d_name, ".msg"))
			continue;
		p = path_of(dir, NULL, d->d_name, "");
		env = p ? strdup(p) : NULL;
		if (env != NULL) {
			strcpy(env + strlen(env) - 4, ".env");
			if (access(env, F_OK) == -1 && errno == ENOENT)
				clear_stale(p);
		}
		free(env);
		free(p);
	}
	closedir(dp);
}

static int
by_id(const void *a, const void *b)
{
	return strcmp((*(struct queue_entry *const *)a)->id,
	    (*(struct queue_entry *const *)b)->id);
}

int
queue_list(const char *dir, int failed, struct queue_entry ***out, size_t *n,
    struct error *err)
{
	const char *sub = failed ? "failed" : NULL;
	char *where = failed ? path_of(dir, NULL, "failed", "") : strdup(dir);
	char id[QUEUE_ID_LEN + 1];
	struct queue_entry *e;
	struct dirent *d;
	DIR *dp;

	*out = NULL;
	*n = 0;
	if (where == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (!failed)
		sweep(dir);
	if ((dp = opendir(where)) == NULL) {
		int r = errno == ENOENT ? 0 : sys_error(err, "read", where);
		free(where);
		return r;
	}
	while ((d = readdir(dp)) != NULL) {
		if (!is_id(d->d_name, ".env"))
			continue;
		memcpy(id, d->d_name, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = '\0';
		if ((e = load(dir, sub, id, err)) == NULL) {
			if (errno == ENOENT)
				continue; /* sent meanwhile */
			if (err->kind == ERR_OSERR)
				break;
			continue; /* a damaged entry is reported by -bp */
		}
		if (grow(out, *n, sizeof(**out)) == -1) {
			queue_entry_free(e);
			error_set(err, ERR_OSERR, "out of memory");
			break;
		}
		(*out)[(*n)++] = e;
	}
	closedir(dp);
	free(where);
	if (err->kind == ERR_OSERR) {
		queue_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_id);
	return 0;
}

void
queue_list_free(struct queue_entry **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		queue_entry_free(v[i]);
	free(v);
}

int
queue_lock(struct queue_entry *e, struct error *err)
{
	char *p = path_of(e->dir, NULL, e->id, ".msg");
	struct queue_entry *now;
	int fd;

	if (p == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	fd = open(p, O_RDWR | O_CLOEXEC);
	free(p);
	if (fd == -1)
		return 0; /* sent and removed meanwhile */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return 0; /* another flush has it */
	}
	/* Whoever had it before may have sent it: read the state again. */
	if ((now = load(e->dir, NULL, e->id, err)) == NULL) {
		close(fd);
		if (errno == ENOENT) {
			error_clear(err);
			return 0;
		}
		return -1;
	}
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
	struct queue_entry *e;
	char *p;
	int fd, r;

	if (strlen(id) != QUEUE_ID_LEN || !is_id(id, "") ||
	    (e = load(dir, NULL, id, err)) == NULL) {
		error_clear(err);
		return error_set(err, ERR_NOINPUT, "no message %s in %s", id,
		    dir);
	}
	queue_entry_free(e);
	if ((p = path_of(dir, NULL, id, ".msg")) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
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
