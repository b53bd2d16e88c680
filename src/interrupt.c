/*
 * interrupt.c: see interrupt.h.  The handler uses only what is safe in a
 * signal handler (tcsetattr, write, signal, raise); what it says is
 * prepared beforehand in static storage.
 */
#include "interrupt.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static char line[256];
static volatile sig_atomic_t line_len;
static size_t head_len;
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_old;

static void
on_signal(int sig)
{
	int saved = errno;

	if (tty_fd >= 0) {
		tcsetattr(tty_fd, TCSAFLUSH, &tty_old);
		/* Off the prompt's line. */
		if (write(tty_fd, "\n", 1) < 0)
			errno = saved;
	}
	if (line_len > 0 && write(2, line, (size_t)line_len) < 0)
		errno = saved;
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

/* "PROG: interrupted", then "; NOTE", then the newline. */
static void
compose(const char *note)
{
	size_t n = head_len;

	line_len = 0;
	if (note != NULL) {
		size_t k = strlen(note);

		if (k > sizeof(line) - n - 3)
			k = sizeof(line) - n - 3;
		memcpy(line + n, "; ", 2);
		memcpy(line + n + 2, note, k);
		n += 2 + k;
	}
	line[n++] = '\n';
	line_len = (sig_atomic_t)n;
}

void
interrupt_init(const char *prog)
{
	struct sigaction sa;
	int n;

	memset(&sa, 0, sizeof(sa));
	n = (int)strlen(prog);
	if (n > 64)
		n = 64;
	memcpy(line, prog, (size_t)n);
	memcpy(line + n, ": interrupted", 13);
	head_len = (size_t)n + 13;
	compose(NULL);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	/* A signal ignored when outbox started (nohup, a batch job) stays so. */
	for (int i = 0; i < 3; i++) {
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
		struct sigaction old;

		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

void
interrupt_note(const char *text)
{
	if (head_len > 0)
		compose(text);
}

void
interrupt_tty(int fd, const struct termios *old)
{
	tty_fd = -1;
	if (fd >= 0 && old != NULL) {
		tty_old = *old;
		tty_fd = fd;
	}
}
