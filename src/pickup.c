/*
 * pickup.c: the system queue's intake.  Each complete drop file (see
 * spool.h) is prepared with root's configuration as if its owner had run
 * sendmail with that envelope, checked against the senders the system
 * configuration lets that user claim, and stored as a queue entry.
 */
#include "pickup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flush.h"
#include "log.h"
#include "prepare.h"
#include "queue.h"
#include "spool.h"

/* A write that never completed is cleared after this long. */
#define STALE_SECONDS 3600

/* Whether one pattern of a drop_senders line matches the address. */
static int
listed(const char *patterns, const char *from)
{
	char *copy = strdup(patterns), *w, *save;
	int hit = 0;

	if (copy == NULL)
		return 0;
	for (w = strtok_r(copy, ", \t", &save); w != NULL && !hit;
	     w = strtok_r(NULL, ", \t", &save))
		hit = fnmatch(w, *from ? from : "<>", FNM_CASEFOLD) == 0;
	free(copy);
	return hit;
}

/*
 * Whether user may claim the envelope sender from: their own name at
 * maildomain, or what the account's drop_senders file lists for them
 * ("user: pattern, ..."; "*" stands for every user).
 */
static int
sender_allowed(const struct account *a, const char *user, const char *from)
{
	const char *dom = account_str(a, AF_MAILDOMAIN),
		   *file = account_str(a, AF_DROP_SENDERS), *at;
	char *line = NULL, *colon, *name;
	size_t cap = 0, ulen = strlen(user);
	FILE *fp;
	int ok = 0;

	at = strrchr(from, '@');
	if (at != NULL && (size_t)(at - from) == ulen &&
	    strncmp(from, user, ulen) == 0 && dom != NULL &&
	    strcasecmp(at + 1, dom) == 0)
		return 1;
	if (at == NULL && strcmp(from, user) == 0)
		return 1;
	if (file == NULL || (fp = fopen(file, "re")) == NULL)
		return 0;
	while (!ok && getline(&line, &cap, fp) != -1) {
		line[strcspn(line, "#\r\n")] = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		name = line + strspn(line, " \t");
		name[strcspn(name, " \t")] = '\0';
		if (strcmp(name, user) == 0 || strcmp(name, "*") == 0)
			ok = listed(colon + 1, from);
	}
	free(line);
	fclose(fp);
	return ok;
}

/* Read the envelope, leaving fd at the message's first byte. */
static int
read_envelope(int fd, struct spool_envelope *env, struct error *err)
{
	FILE *fp;
	int dfd = dup(fd), r;
	long pos;

	if (dfd == -1 || (fp = fdopen(dfd, "r")) == NULL) {
		if (dfd != -1)
			close(dfd);
		return error_set(err, ERR_OSERR, "cannot read a drop file");
	}
	r = spool_read_envelope(fp, env, err);
	pos = ftell(fp);
	fclose(fp);
	if (r == 0 && (pos < 0 || lseek(fd, pos, SEEK_SET) != pos))
		r = error_set(err, ERR_IO, "cannot read a drop file");
	return r;
}

/* One drop file of user's, on fd, into the queue. */
static int
take(const char *prog, int fd, const char *user, struct error *err)
{
	struct spool_envelope env;
	struct prepared p;
	struct request q;
	struct queue_entry *e;
	int r = -1;

	memset(&p, 0, sizeof(p));
	if (read_envelope(fd, &env, err) == -1)
		return -1;
	memset(&q, 0, sizeof(q));
	q.from = env.from != NULL ? env.from : user;
	q.rcpt = env.rcpt;
	q.nrcpt = env.nrcpt;
	q.read_recipients = env.read_recipients;
	q.msg_fd = fd;
	if (prepare(&p, &q, err) == -1)
		goto out;
	if (!sender_allowed(p.acc, user, p.from)) {
		error_set(err, ERR_USAGE,
		    "user %s may not send as <%s> (account %s: see "
		    "drop_senders)",
		    user, p.from, p.acc->name);
		goto out;
	}
	if ((e = flush_enqueue(&p, &q, err)) == NULL)
		goto out;
	log_info("%s: message of user %s queued as %s", prog, user, e->id);
	queue_entry_free(e);
	r = 0;
out:
	prepare_free(&p);
	spool_envelope_free(&env);
	return r;
}

/* A name the drop program gave: digits, dots, hex, and the suffix. */
static int
drop_name(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix), i;

	if (n <= k || n >= 64 || strcmp(name + n - k, suffix) != 0)
		return 0;
	for (i = 0; i < n - k; i++)
		if (strchr("0123456789abcdef.", name[i]) == NULL)
			return 0;
	return 1;
}

/* A file the drop program did not finish, or a planted one. */
static void
clear_stale(int dirfd, const char *name, time_t now)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now - st.st_mtime > STALE_SECONDS)
		unlinkat(dirfd, name, 0);
}

static void
pick(const char *prog, int dirfd, const char *name)
{
	struct stat st;
	struct passwd *pw;
	struct error err;
	char bad[80];
	int fd;

	error_clear(&err);
	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1) {
		/* Not what outbox-drop writes: a link or a device, say. */
		log_warn("%s/%s is not a regular file with one link: removed",
		    SPOOL_DROP_DIR, name);
		if (fd != -1)
			close(fd);
		unlinkat(dirfd, name, 0);
		return;
	}
	/* The owner is who submitted it: nothing in the file says so. */
	if ((pw = getpwuid(st.st_uid)) == NULL)
		error_set(&err, ERR_USAGE, "its owner, uid %ld, has no name",
		    (long)st.st_uid);
	else if (take(prog, fd, pw->pw_name, &err) == 0) {
		close(fd);
		unlinkat(dirfd, name, 0);
		return;
	}
	close(fd);
	snprintf(bad, sizeof(bad), "%.*s.bad", (int)(strlen(name) - 5), name);
	log_warn("%s/%s from %s was refused and kept as %s: %s", SPOOL_DROP_DIR,
	    name, pw != NULL ? pw->pw_name : "?", bad, err.msg);
	renameat(dirfd, name, dirfd, bad);
}

int
pickup_run(const char *prog, struct error *err)
{
	struct dirent *d;
	DIR *dir;
	time_t now = time(NULL);
	int dirfd, n = 0;

	if (geteuid() != 0)
		return 0;
	dirfd = open(SPOOL_DROP_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1)
		return errno == ENOENT ?
		    0 :
		    error_set(err, ERR_CONFIG, "cannot open %s: %s",
			SPOOL_DROP_DIR, strerror(errno));
	if (spool_check_dir(dirfd, -1, err) == -1 ||
	    (dir = fdopendir(dup(dirfd))) == NULL) {
		close(dirfd);
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (drop_name(d->d_name, ".drop")) {
			pick(prog, dirfd, d->d_name);
			n++;
		} else if (drop_name(d->d_name, ".tmp"))
			clear_stale(dirfd, d->d_name, now);
	}
	closedir(dir);
	close(dirfd);
	return n;
}
