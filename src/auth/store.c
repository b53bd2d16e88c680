/*
 * store.c: the token file: JSON, mode 0600 in a 0700 directory, written
 * atomically (temporary file, fsync, rename, fsync of the directory),
 * read only when it is the user's own, not a symbolic link and not
 * readable by others; refreshes serialise on an flock of FILE.lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "keyring.h"

void
tokens_free(struct tokens *t)
{
	auth_wipe_free(&t->access_token);
	auth_wipe_free(&t->refresh_token);
	auth_wipe_free(&t->client_id);
	auth_wipe_free(&t->client_secret);
	auth_wipe_free(&t->token_endpoint);
	memset(t, 0, sizeof(*t));
}

static long long version;

#define TOKEN_FIELDS(t) \
	{ \
		{ "version", J_INT, &version, 0 }, \
		    { "access_token", J_STR, &(t)->access_token, 0 }, \
		    { "expires_at", J_INT, &(t)->expires_at, 0 }, \
		    { "refresh_token", J_STR, &(t)->refresh_token, 0 }, \
		    { "refresh_obtained", J_INT, &(t)->refresh_obtained, 0 }, \
		    { "last_used", J_INT, &(t)->last_used, 0 }, \
		    { "client_id", J_STR, &(t)->client_id, 0 }, \
		    { "client_secret", J_STR, &(t)->client_secret, 0 }, \
		    { "token_endpoint", J_STR, &(t)->token_endpoint, 0 }, \
	}

int
tokens_parse(const char *buf, size_t len, struct tokens *t, struct error *e)
{
	struct jfield f[] = TOKEN_FIELDS(t);

	memset(t, 0, sizeof(*t));
	version = 0;
	if (json_fields(buf, len, f, sizeof(f) / sizeof(f[0]), e) != 0) {
		tokens_free(t);
		return -1;
	}
	if (version != 1) {
		tokens_free(t);
		return error_set(e, ERR_CONFIG, "unknown token file version");
	}
	t->present = 1;
	return 0;
}

int
store_read(const char *path, struct tokens *t, struct error *e)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	memset(t, 0, sizeof(*t));
	if (path == NULL || path[0] != '/')
		return error_set(e, ERR_USAGE, "token_file must be absolute");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return error_set(e, ERR_CONFIG,
			    "token file %s is a symbolic link: "
			    "refusing it",
			    path);
		return error_set(e, ERR_CONFIG, "cannot open token file %s: %s",
		    path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(e, ERR_CONFIG,
		    "token file %s is not a regular file", path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return error_set(e, ERR_CONFIG,
		    "token file %s is not yours: refusing it", path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return error_set(e, ERR_CONFIG,
		    "token file %s is readable by others: run "
		    "chmod 600 %s",
		    path, path);
	}
	if (st.st_size > HTTP_BODY_MAX) {
		close(fd);
		return error_set(e, ERR_CONFIG, "token file %s is too large",
		    path);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return error_set(e, ERR_OSERR, "out of memory");
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if (tokens_parse(buf, len, t, e) != 0) {
		explicit_bzero(buf, len);
		free(buf);
		char why[128];

		snprintf(why, sizeof(why), "%.100s", e->msg);
		return error_set(e, ERR_CONFIG, "token file %s is damaged: %s",
		    path, why);
	}
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

static int
dir_of(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || (size_t)(slash - path) >= n)
		return -1;
	if (slash == path) {
		strcpy(dir, "/");
		return 0;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

int
store_mkdir(const char *path, struct error *e)
{
	char dir[PATH_MAX];
	struct stat st;

	if (path == NULL || path[0] != '/')
		return error_set(e, ERR_USAGE, "token_file must be absolute");
	if (dir_of(path, dir, sizeof(dir)) != 0)
		return error_set(e, ERR_CONFIG, "bad token file path %s", path);
	for (char *p = dir + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				return error_set(e, ERR_CONFIG,
				    "cannot create %s: %s", dir,
				    strerror(errno));
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return error_set(e, ERR_CONFIG, "%s is not a directory", dir);
	if (st.st_uid != geteuid())
		return error_set(e, ERR_CONFIG,
		    "token directory %s is not yours", dir);
	if ((st.st_mode & 022) != 0)
		return error_set(e, ERR_CONFIG,
		    "token directory %s is writable by others: "
		    "run chmod 700 %s",
		    dir, dir);
	return 0;
}

int
store_lock(const char *path, int wait, struct error *e)
{
	char lock[PATH_MAX];
	int fd;
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	if (store_mkdir(path, e) != 0)
		return -1;
	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return error_set(e, ERR_CONFIG, "token file path too long");
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(e, ERR_CONFIG, "cannot open %s: %s", lock,
		    strerror(errno));
	for (int i = 0; i < wait * 10; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		nanosleep(&pause, NULL);
	}
	close(fd);
	return error_set(e, ERR_TEMP, "token file %s stays locked", path);
}

void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
store_write(const char *path, const struct tokens *t, struct error *e)
{
	struct tokens copy = *t;
	struct jfield f[] = TOKEN_FIELDS(&copy);
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *out;
	size_t len, off = 0;
	int fd, dfd;

	version = 1;
	if (store_mkdir(path, e) != 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
		(int)sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir)) != 0)
		return error_set(e, ERR_CONFIG, "token file path too long");
	out = json_write(f, sizeof(f) / sizeof(f[0]));
	if (out == NULL)
		return error_set(e, ERR_OSERR, "out of memory");
	len = strlen(out);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error_set(e, ERR_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	(void)fchmod(fd, 0600);
	while (off < len) {
		ssize_t n = write(fd, out + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fsync(fd) != 0) {
		error_set(e, ERR_IO, "cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		error_set(e, ERR_IO, "cannot replace %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	explicit_bzero(out, len);
	free(out);
	return 0;
fail:
	explicit_bzero(out, len);
	free(out);
	return -1;
}

int
store_save(const char *path, const struct tokens *t, int keyring,
    const char *account, struct error *e)
{
	struct tokens copy = *t;
	char why[256] = "";
	int rc;

	if (!keyring)
		return store_write(path, t, e);
	if (t->refresh_token != NULL) {
		rc = keyring_put_refresh(account, path, t->refresh_token, why,
		    sizeof(why));
		if (rc != KR_FOUND)
			return error_set(e, ERR_UNAVAILABLE, "%s", why);
	}
	copy.refresh_token = NULL;
	return store_write(path, &copy, e);
}

int
store_load_refresh(const char *path, struct tokens *t, int keyring,
    struct error *e)
{
	char why[256] = "";
	int rc;

	if (!keyring || t->refresh_token != NULL)
		return 0;
	rc = keyring_get_refresh(path, &t->refresh_token, why, sizeof(why));
	if (rc == KR_FOUND || rc == KR_NONE)
		return 0;
	return error_set(e, ERR_UNAVAILABLE, "%s", why);
}
