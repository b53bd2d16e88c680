/*
 * outbox-drop: hand one message to the system queue.  Installed
 * set-group-ID to the group that owns the drop directory; see spool.h.
 *
 *	outbox-drop [-t] [-f SENDER] [--] [RECIPIENT...] < message
 *
 * It does nothing else: it reads no configuration, runs no command,
 * looks at no environment variable, and refuses an envelope it cannot
 * check.  The file it writes is the submitting user's own (only its group
 * is the drop group), so the pickup knows who sent it from the file's
 * owner, not from anything the file says.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static int fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("outbox-drop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int
fail_err(const struct error *err)
{
	return fail(error_exit_code(err->kind), "%s", err->msg);
}

/* The message on standard input into fp: nothing is read twice. */
static int
copy_message(FILE *fp)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(0, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
			return -1;
	}
}

int
main(int argc, char **argv)
{
	struct spool_envelope env;
	struct error err;
	char tmp[64], name[64];
	unsigned rnd = 0;
	int dirfd, fd, c;
	FILE *fp;

	/* Nothing from the caller's environment reaches this program. */
	clearenv();
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	memset(&env, 0, sizeof(env));
	error_clear(&err);
	while ((c = getopt(argc, argv, "+f:t")) != -1) {
		switch (c) {
		case 'f':
			env.from = optarg;
			break;
		case 't':
			env.read_recipients = 1;
			break;
		default:
			return fail(EX_USAGE, "%s",
			    "usage: outbox-drop [-t] [-f SENDER] [--] "
			    "[RECIPIENT...] < message");
		}
	}
	env.rcpt = argv + optind;
	env.nrcpt = (size_t)(argc - optind);
	if (spool_check_envelope(&env, &err) == -1)
		return fail_err(&err);
	/*
	 * The directory lets the group create files but not list them: it
	 * can be named (O_PATH) but not read, so its entry is made durable
	 * with the file system (syncfs) rather than with the directory.
	 */
	dirfd = open(SPOOL_DROP_DIR,
	    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1)
		return fail(EX_UNAVAILABLE, "cannot open %s: no system queue",
		    SPOOL_DROP_DIR);
	if (spool_check_dir(dirfd, (long)getegid(), &err) == -1)
		return fail_err(&err);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (unsigned)getpid() * 2654435761u;
	snprintf(name, sizeof(name), "%lld.%ld.%08x.drop",
	    (long long)time(NULL), (long)getpid(), rnd);
	snprintf(tmp, sizeof(tmp), "%.*s.tmp", (int)(strlen(name) - 5), name);
	fd = openat(dirfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return fail(EX_IOERR, "cannot create a file in %s: %s",
		    SPOOL_DROP_DIR, strerror(errno));
	if ((fp = fdopen(fd, "w")) == NULL ||
	    spool_write_envelope(fp, &env) == -1 || copy_message(fp) == -1 ||
	    fflush(fp) == EOF || fsync(fd) == -1) {
		unlinkat(dirfd, tmp, 0);
		return fail(EX_IOERR, "cannot write the message into %s",
		    SPOOL_DROP_DIR);
	}
	if (renameat(dirfd, tmp, dirfd, name) == -1 || syncfs(fd) == -1) {
		unlinkat(dirfd, tmp, 0);
		return fail(EX_IOERR, "cannot complete the message in %s",
		    SPOOL_DROP_DIR);
	}
	fclose(fp);
	return 0;
}
