/* secret.c: password sources; what was read is wiped after use. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"

#define EVAL_MAX (1024 * 1024)

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int
secret_run(const char *cmd, char **out, struct error *err)
{
	int fds[2], status, devnull;
	pid_t pid;
	struct buf b;
	char chunk[4096];
	ssize_t n;
	char *nl;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return error_set(err, ERR_OSERR, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return error_set(err, ERR_OSERR, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull == -1 || dup2(devnull, 0) == -1 ||
		    dup2(fds[1], 1) == -1)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	buf_init(&b, EVAL_MAX);
	for (;;) {
		n = read(fds[0], chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* Keep reading past the limit so the command is not blocked. */
		if (b.len < EVAL_MAX)
			buf_add(&b, chunk,
			    (size_t)n > EVAL_MAX - b.len ? EVAL_MAX - b.len :
							   (size_t)n);
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_free(&b);
		return error_set(err, ERR_CONFIG,
		    "command \"%s\" failed (%s %d)", cmd,
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (buf_add(&b, "", 1) == -1) {
		buf_free(&b);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	if ((nl = strchr(b.data, '\n')) != NULL)
		*nl = '\0';
	if ((nl = strchr(b.data, '\r')) != NULL)
		*nl = '\0';
	*out = strdup(b.data);
	buf_free(&b);
	if (*out == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

int
secret_password(const struct account *a, char **out, struct error *err)
{
	const char *p;

	*out = NULL;
	if ((p = account_str(a, AF_PASSWORD)) != NULL) {
		if ((*out = strdup(p)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		return 0;
	}
	if ((p = account_str(a, AF_PASSWORDEVAL)) != NULL)
		return secret_run(p, out, err);
	return 0;
}
