/* secret.c: password sources; what was read is wiped after use. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "companion.h"
#include "interrupt.h"
#include "oauth.h"
#include "userdir.h"

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
		/* Never the command's text: it may hold the secret itself. */
		return error_set(err, ERR_CONFIG, "the command failed (%s %d)",
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

/*
 * The next netrc token: words separated by blanks and newlines, a quoted
 * word may hold blanks ("a b", with \" and \\).  NULL at the end.
 */
static char *
netrc_token(char **pp)
{
	char *p = *pp, *start, *o;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '\0')
		return NULL;
	if (*p == '"') {
		start = o = ++p;
		while (*p != '\0' && *p != '"') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*o++ = *p++;
		}
		if (*p == '"')
			p++;
		*o = '\0';
		*pp = p;
		return start;
	}
	start = p;
	while (
	    *p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return start;
}

/*
 * Look the password up in a netrc file: the entry whose machine is host
 * (or the default entry) and whose login is user.  1 found, 0 not, -1 an
 * error (a file others may read that has the password).
 */
static int
netrc_lookup(const char *path, const char *host, const char *user, char **out,
    struct error *err)
{
	struct stat st;
	struct buf b;
	char chunk[4096], *p, *t, *login = NULL, *pass = NULL;
	int fd, match = 0, found = 0;
	ssize_t n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	buf_init(&b, EVAL_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1)
			break;
	explicit_bzero(chunk, sizeof(chunk));
	if (fstat(fd, &st) == -1)
		st.st_mode = 0600;
	close(fd);
	if (buf_add(&b, "", 1) == -1) {
		buf_free(&b);
		return 0;
	}
	p = b.data;
	for (;;) {
		t = netrc_token(&p);
		/* An entry ends where the next begins, or at the end. */
		if (t == NULL || strcmp(t, "machine") == 0 ||
		    strcmp(t, "default") == 0 || strcmp(t, "macdef") == 0) {
			if (match && pass != NULL &&
			    (login == NULL || strcmp(login, user) == 0)) {
				found = 1;
				break;
			}
			if (t == NULL)
				break;
			login = pass = NULL;
			match = 0;
			if (strcmp(t, "machine") == 0) {
				t = netrc_token(&p);
				match = t != NULL && strcasecmp(t, host) == 0;
			} else if (strcmp(t, "default") == 0)
				match = 1;
			else /* macdef: skip the macro, up to a blank line */
				p = strstr(p, "\n\n") ? strstr(p, "\n\n") :
							p + strlen(p);
			continue;
		}
		if (strcmp(t, "login") == 0)
			login = netrc_token(&p);
		else if (strcmp(t, "password") == 0)
			pass = netrc_token(&p);
		else if (strcmp(t, "account") == 0)
			netrc_token(&p);
	}
	if (found && (st.st_mode & 077)) {
		buf_free(&b);
		return error_set(err, ERR_CONFIG,
		    "%s holds the password but "
		    "others may read it: run chmod 600 %s",
		    path, path);
	}
	if (found && (*out = strdup(pass)) == NULL) {
		buf_free(&b);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	buf_free(&b);
	return found;
}

/* Ask on the terminal, never on standard input (that is the message). */
static int
prompt(const char *host, const char *user, char **out, struct error *err)
{
	struct termios old, quiet;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *tty;
	int echo_off;

	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return 0;
	echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		/* A Ctrl-C at the prompt gives the echo back. */
		interrupt_tty(fileno(tty), &old);
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	fprintf(tty, "password for %s at %s: ", user, host);
	fflush(tty);
	n = getline(&line, &cap, tty);
	if (echo_off) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		interrupt_tty(-1, NULL);
	}
	fputc('\n', tty);
	fclose(tty);
	if (n <= 0) {
		free(line);
		return error_set(err, ERR_CONFIG, "no password was typed");
	}
	line[strcspn(line, "\r\n")] = '\0';
	*out = line;
	return 1;
}

/*
 * The Secret Service, through outbox-auth, with the attributes msmtp
 * uses (host, service smtp, user), so that an entry stored for msmtp
 * works as it is.  1 found, 0 not (why in `why'), -1 an error: a
 * keyring that is locked and cannot be opened without a prompt.
 * Without outbox-auth installed there is no keyring to ask.
 */
static int
keyring_lookup(const struct account *a, char **out, char *why, size_t cap,
    struct error *err)
{
	struct oauth_reply r;
	char *found, *reason;

	if (access(companion_path("outbox-auth"), X_OK) != 0)
		return 0;
	if (oauth_run(a, "password", NULL, &r, err) == -1) {
		if (err->kind == ERR_UNAVAILABLE)
			return -1;
		/* Any other trouble: the keyring could not be asked. */
		snprintf(why, cap, "%s", err->msg);
		error_clear(err);
		return 0;
	}
	found = oauth_value_dup(&r, "found");
	if (found != NULL && strcmp(found, "yes") == 0)
		*out = oauth_value_dup(&r, "password");
	else if ((reason = oauth_value_dup(&r, "reason")) != NULL) {
		snprintf(why, cap, "%s", reason);
		free(reason);
	}
	free(found);
	oauth_reply_free(&r);
	return *out != NULL;
}

/*
 * One password's sources, in order: the setting, the command, the
 * keyring (for the account's own password: ka), the user's netrc, the
 * system's netrc, the terminal.  `what' names the server in the prompt.
 */
static int
password_from(const char *pass, const char *eval, const char *host,
    const char *user, const char *what, const struct account *ka, char **out,
    struct error *err)
{
	char why[ERROR_MSG_MAX] = "";
	char *home_netrc = NULL, *home;
	int r;

	*out = NULL;
	if (pass != NULL) {
		if ((*out = strdup(pass)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		return 0;
	}
	if (eval != NULL) {
		/* Said by its exit status: the command may hold the secret. */
		if ((r = secret_run(eval, out, err)) == -1 &&
		    err->kind == ERR_CONFIG) {
			char was[ERROR_MSG_MAX];

			snprintf(was, sizeof(was), "%s", err->msg);
			error_set(err, ERR_CONFIG, "the password: %s", was);
		}
		return r;
	}
	if (host == NULL || user == NULL)
		return 0;
	if (ka != NULL &&
	    (r = keyring_lookup(ka, out, why, sizeof(why), err)) != 0)
		return r == -1 ? -1 : 0;
	if ((home = userdir_home()) != NULL &&
	    asprintf(&home_netrc, "%s/.netrc", home) == -1) {
		free(home);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	free(home);
	r = home_netrc ? netrc_lookup(home_netrc, host, user, out, err) : 0;
	free(home_netrc);
	if (r == 0)
		r = netrc_lookup(OUTBOX_SYSCONFDIR "/netrc", host, user, out,
		    err);
	if (r == 0)
		r = prompt(what, user, out, err);
	/* Here prompt found no terminal (cron, a daemon, a pipe). */
	if (r == 0 && why[0] != '\0')
		return error_set(err, ERR_CONFIG,
		    "no password for %s at %s: the keyring was unavailable "
		    "(%s), neither netrc nor password/passwordeval has one, "
		    "and there is no terminal to ask on",
		    user, host, why);
	return r == -1 ? -1 : 0;
}

int
secret_password(const struct account *a, char **out, struct error *err)
{
	const char *host = account_str(a, AF_HOST);

	return password_from(account_str(a, AF_PASSWORD),
	    account_str(a, AF_PASSWORDEVAL), host, account_str(a, AF_USER),
	    host, a, out, err);
}

int
secret_proxy_password(const struct account *a, char **out, struct error *err)
{
	const char *host = account_str(a, AF_PROXY_HOST);
	char *what = NULL;
	int r;

	*out = NULL;
	if (account_str(a, AF_PROXY_USER) == NULL)
		return 0;
	if (host != NULL && asprintf(&what, "the SOCKS proxy %s", host) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	r = password_from(account_str(a, AF_PROXY_PASSWORD),
	    account_str(a, AF_PROXY_PASSWORDEVAL), host,
	    account_str(a, AF_PROXY_USER), what, NULL, out, err);
	free(what);
	return r;
}
