/* handoff.c: handing a message to the system queue; see handoff.h. */
#include "handoff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "companion.h"
#include "prepare.h"
#include "spool.h"

int
handoff_wanted(const struct cli *c)
{
	return getuid() != 0 && c->conffile == NULL && !c->host_given &&
	    getenv("SMTPSERVER") == NULL && !prepare_has_user_file() &&
	    access(SPOOL_DROP_DIR, F_OK) == 0;
}

int
handoff(int fd, const char *from, char *const *rcpt, size_t nrcpt,
    int read_recipients, struct error *err)
{
	const char *prog = companion_path("outbox-drop");
	char **argv;
	size_t n = 0, i;
	pid_t pid;
	int status;

	if ((argv = calloc(nrcpt + 6, sizeof(char *))) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	argv[n++] = "outbox-drop";
	if (read_recipients)
		argv[n++] = "-t";
	if (from != NULL) {
		argv[n++] = "-f";
		argv[n++] = (char *)from;
	}
	argv[n++] = "--";
	for (i = 0; i < nrcpt; i++)
		argv[n++] = rcpt[i];
	if ((pid = fork()) == -1) {
		free(argv);
		return error_set(err, ERR_OSERR, "cannot start %s: %s", prog,
		    strerror(errno));
	}
	if (pid == 0) {
		if (fd != 0 && dup2(fd, 0) == -1)
			_exit(71);
		execv(prog, argv);
		_exit(69);
	}
	free(argv);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return error_set(err, ERR_OSERR, "cannot wait for %s",
			    prog);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 69)
		return error_set(err, ERR_UNAVAILABLE,
		    "the message could not be handed to the system queue "
		    "(%s could not run or found no queue)",
		    prog);
	return error_set(err,
	    WIFEXITED(status) ? error_kind_of_exit(WEXITSTATUS(status)) :
				ERR_SOFTWARE,
	    "the system queue did not take the message (%s: %s %d)", prog,
	    WIFEXITED(status) ? "exit status" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
