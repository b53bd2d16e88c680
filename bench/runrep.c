/*
 * runrep.c: run a command N times, one after another, and print for each
 * run its wall time, its CPU time (user + system) and its peak resident
 * set size, as wait4() reports them for the child (the same figure as
 * "/usr/bin/time -f %M"):
 *
 *   run=I wall_us=W user_us=U sys_us=S cpu_us=C maxrss_kb=R status=X
 *
 * Usage: runrep [-n count] [-i stdin-file] [-e stderr-file] -- command...
 * Standard input is the file (opened afresh for each run) or /dev/null;
 * standard output goes to /dev/null; standard error is appended to the
 * file, or discarded.  The exit status is 0 when every run exited 0.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
tv_us(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int
main(int argc, char **argv)
{
	const char *in = "/dev/null", *errf = "/dev/null";
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int64_t t0, t1;
	long n = 1, i;
	pid_t pid;
	int ch, st, bad = 0;

	while ((ch = getopt(argc, argv, "n:i:e:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'i':
			in = optarg;
			break;
		case 'e':
			errf = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || n < 1)
		goto usage;
	for (i = 1; i <= n; i++) {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
		    0);
		posix_spawn_file_actions_addopen(&fa, 2, errf,
		    O_WRONLY | O_CREAT | O_APPEND, 0644);
		t0 = now_us();
		if ((st = posix_spawnp(&pid, argv[optind], &fa, NULL,
			 argv + optind, environ)) != 0) {
			fprintf(stderr, "runrep: cannot run %s\n",
			    argv[optind]);
			return 71;
		}
		if (wait4(pid, &st, 0, &ru) == -1) {
			perror("runrep: wait4");
			return 71;
		}
		t1 = now_us();
		posix_spawn_file_actions_destroy(&fa);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		bad |= st != 0;
		printf("run=%ld wall_us=%lld user_us=%lld sys_us=%lld "
		       "cpu_us=%lld maxrss_kb=%ld status=%d\n",
		    i, (long long)(t1 - t0), (long long)tv_us(ru.ru_utime),
		    (long long)tv_us(ru.ru_stime),
		    (long long)(tv_us(ru.ru_utime) + tv_us(ru.ru_stime)),
		    ru.ru_maxrss, st);
		fflush(stdout);
	}
	return bad;
usage:
	fprintf(stderr,
	    "usage: runrep [-n count] [-i stdin-file] "
	    "[-e stderr-file] -- command...\n");
	return 64;
}
