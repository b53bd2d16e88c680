/* conf_append.c: see conf_append.h. */
#include "conf_append.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "prepare.h"

/* The most of an existing file read to look for the account's name. */
#define APPEND_READ_MAX (4 * 1024 * 1024)

/* Whether the line starting at p (len bytes) is "account NAME...". */
static int
names_account(const char *p, size_t len, const char *name)
{
	const char *end = p + len;
	size_t n = strlen(name), k;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 8 || strncmp(p, "account", 7) != 0 ||
	    (p[7] != ' ' && p[7] != '\t'))
		return 0;
	p += 8;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (k = 0; p + k < end && p[k] != ' ' && p[k] != '\t' && p[k] != ':' &&
	     p[k] != '\r';
	     k++)
		;
	return k == n && strncmp(p, name, n) == 0;
}

/* Read fd whole; whether it names the account; -1 on a read error. */
static int
has_account(int fd, const char *name, char *last, struct error *err)
{
	char *buf = malloc(APPEND_READ_MAX);
	ssize_t n;
	size_t len = 0, start = 0;
	int found = 0;

	*last = '\n';
	if (buf == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	while (len < APPEND_READ_MAX &&
	    (n = pread(fd, buf + len, APPEND_READ_MAX - len, (off_t)len)) !=
		0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return error_set(err, ERR_IO, "cannot read: %s",
			    strerror(errno));
		}
		len += (size_t)n;
	}
	if (len > 0)
		*last = buf[len - 1];
	for (size_t i = 0; i <= len && !found; i++)
		if (i == len || buf[i] == '\n') {
			found = names_account(buf + start, i - start, name);
			start = i + 1;
		}
	free(buf);
	return found;
}

/* Ask on the terminal: 1 yes, 0 no, -1 no terminal (err set). */
static int
confirm(const char *name, const char *path, struct error *err)
{
	char answer[64];
	ssize_t n;
	size_t len = 0;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd == -1)
		return error_set(err, ERR_USAGE,
		    "--write asks before it changes %s, and there is no "
		    "terminal to ask on: add --yes",
		    path);
	dprintf(fd, "append account %s to %s? [y/N] ", name, path);
	while (len < sizeof(answer) - 1) {
		n = read(fd, answer + len, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || answer[len] == '\n')
			break;
		len++;
	}
	answer[len] = '\0';
	close(fd);
	return strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The user's file's directories (~/.config/outbox), mode 0700. */
static int
make_parents(const char *path, struct error *err)
{
	char *dir = strdup(path), *p;

	if (dir == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	for (p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			error_set(err, ERR_CONFIG, "cannot create %s: %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

/* The file to write: -C's, else the user's own configuration file. */
static char *
target(const char *file, struct error *err)
{
	char *path;

	if (file != NULL) {
		if ((path = strdup(file)) == NULL)
			error_set(err, ERR_OSERR, "out of memory");
		return path;
	}
	if ((path = prepare_user_conf_path()) == NULL) {
		error_set(err, ERR_CONFIG,
		    "cannot tell where your configuration file is (no HOME): "
		    "name it with -C");
		return NULL;
	}
	if (access(path, F_OK) == -1 && prepare_has_user_file()) {
		error_set(err, ERR_USAGE,
		    "your configuration is not in %s but in a file of msmtp's "
		    "name: name the file to append to with -C",
		    path);
		free(path);
		return NULL;
	}
	return path;
}

int
conf_append_account(const char *file, const char *name, const char *text,
    int yes, char **pathp, struct error *err)
{
	struct stat st;
	char *path, last = '\n';
	int fd, created = 0, r;

	*pathp = NULL;
	if ((path = target(file, err)) == NULL)
		return -1;
	/* A symbolic link (dotfiles kept elsewhere) is followed. */
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd == -1 && errno != ENOENT) {
		error_set(err, ERR_CONFIG, "cannot open %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (fd != -1) {
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			error_set(err, ERR_CONFIG, "%s is not a regular file",
			    path);
			goto fail;
		}
		/* Another --write at the same time waits. */
		if (flock(fd, LOCK_EX) == -1) {
			error_set(err, ERR_IO, "cannot lock %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if ((r = has_account(fd, name, &last, err)) == -1)
			goto fail;
		if (r == 1) {
			error_set(err, ERR_USAGE,
			    "%s has an account %s already: nothing written; "
			    "choose another name with -a",
			    path, name);
			goto fail;
		}
	}
	if (!yes) {
		if ((r = confirm(name, path, err)) == -1)
			goto fail;
		if (r == 0) {
			error_set(err, ERR_USAGE,
			    "not confirmed: nothing written to %s", path);
			goto fail;
		}
	}
	if (fd == -1 && file == NULL && make_parents(path, err) == -1)
		goto fail;
	if (fd == -1) {
		fd = open(path,
		    O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
			O_CLOEXEC,
		    0600);
		if (fd == -1) {
			error_set(err, ERR_CONFIG, "cannot create %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		created = 1;
		/* Whatever the umask: the file will hold a password source. */
		if (fchmod(fd, 0600) == -1) {
			error_set(err, ERR_IO, "cannot chmod %s: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	if ((!created && last != '\n' && write_all(fd, "\n", 1) == -1) ||
	    (!created && write_all(fd, "\n", 1) == -1) ||
	    write_all(fd, text, strlen(text)) == -1 || fsync(fd) == -1) {
		error_set(err, ERR_IO, "cannot write %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		error_set(err, ERR_IO, "cannot write %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	*pathp = path;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	free(path);
	return -1;
}
