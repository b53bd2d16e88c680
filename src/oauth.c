/* oauth.c: running outbox-auth for an account; see oauth.h. */
#include "oauth.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "companion.h"
#include "sasl.h"
#include "secret.h"
#include "userdir.h"

#define REPLY_MAX (256 * 1024)
#define LINE_MAX_ERR 480

int
oauth_applies(const struct account *a, const char *auth)
{
	return auth != NULL && account_oauth(a) &&
	    account_str(a, AF_PASSWORD) == NULL &&
	    account_str(a, AF_PASSWORDEVAL) == NULL &&
	    (strcasecmp(auth, "on") == 0 || sasl_oauth(auth));
}

char *
oauth_token_file(const struct account *a)
{
	const char *set = account_str(a, AF_OAUTH2_TOKEN_FILE);
	char *dir, *path = NULL;

	if (set != NULL)
		return strdup(set);
	if ((dir = userdir_xdg("XDG_STATE_HOME", ".local/state")) == NULL)
		return NULL;
	if (asprintf(&path, "%s/outbox/oauth2/%s.json", dir, a->name) == -1)
		path = NULL;
	free(dir);
	return path;
}

/* One request line; a value never holds a newline (conf.c refuses it). */
static int
put(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if (buf_add(b, key, strlen(key)) == -1 || buf_add(b, "=", 1) == -1 ||
	    buf_add(b, value, strlen(value)) == -1 || buf_add(b, "\n", 1) == -1)
		return -1;
	return 0;
}

static int
request(struct buf *b, const struct account *a, const struct oauth_opts *o)
{
	static const struct {
		const char *key;
		enum acc_field f;
	} fields[] = {
		{ "host", AF_HOST },
		{ "user", AF_USER },
		{ "provider", AF_OAUTH2_PROVIDER },
		{ "client_id", AF_OAUTH2_CLIENT_ID },
		{ "client_secret", AF_OAUTH2_CLIENT_SECRET },
		{ "scope", AF_OAUTH2_SCOPE },
		{ "auth_endpoint", AF_OAUTH2_AUTH_ENDPOINT },
		{ "token_endpoint", AF_OAUTH2_TOKEN_ENDPOINT },
		{ "device_endpoint", AF_OAUTH2_DEVICE_ENDPOINT },
		{ "issuer", AF_OAUTH2_ISSUER },
		{ "trust_file", AF_OAUTH2_TRUST_FILE },
	};
	char *file, num[24];
	size_t i;
	int r;

	if (put(b, "account", a->name) == -1)
		return -1;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (put(b, fields[i].key, account_str(a, fields[i].f)) == -1)
			return -1;
	if ((file = oauth_token_file(a)) == NULL)
		return -1;
	r = put(b, "token_file", file);
	free(file);
	snprintf(num, sizeof(num), "%ld", account_num(a, AF_OAUTH2_KEEPALIVE));
	if (r == -1 ||
	    put(b, "keyring",
		account_on(a, AF_OAUTH2_KEYRING) ? "on" : "off") == -1 ||
	    put(b, "keepalive", num) == -1 ||
	    (o->flow != NULL && put(b, "flow", o->flow) == -1) ||
	    (o->verbose && put(b, "verbose", "1") == -1))
		return -1;
	return 0;
}

/* Write all of data; a child that stopped reading is its own failure. */
static void
write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Take the complete lines of the child's stderr: the last one is kept. */
static void
err_lines(struct buf *eb, char *last, size_t cap, const struct oauth_opts *o)
{
	char *start = eb->data, *nl;
	size_t used;

	while ((nl = memchr(start, '\n',
		    eb->len - (size_t)(start - eb->data))) != NULL) {
		*nl = '\0';
		if (nl > start) {
			snprintf(last, cap, "%s", start);
			if (o->on_line != NULL)
				o->on_line(o->arg, start);
		}
		start = nl + 1;
	}
	used = (size_t)(start - eb->data);
	memmove(eb->data, start, eb->len - used);
	eb->len -= used;
}

/*
 * Run `outbox-auth COMMAND [ARG]' with req on its standard input (wiped
 * and freed here); who prefixes the messages ("account NAME: "), if any.
 */
static int
run(const char *who, const char *command, const char *arg, struct buf *reqp,
    const struct oauth_opts *o, struct oauth_reply *reply, struct error *err)
{
	static const struct oauth_opts none = { 0 };
	const char *prog = companion_path("outbox-auth");
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int status, code;
	struct buf req = *reqp, ob, eb;
	struct pollfd pf[2];
	char chunk[4096], last[LINE_MAX_ERR] = "", *line = NULL;
	const char *msg;
	size_t cap = 0;
	ssize_t n;
	pid_t pid;

	if (o == NULL)
		o = &none;
	reply->text = NULL;
	reply->len = 0;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    (!o->terminal && pipe2(er, O_CLOEXEC) == -1)) {
		error_set(err, ERR_OSERR, "pipe: %s", strerror(errno));
		goto fail_pipes;
	}
	if ((pid = fork()) == -1) {
		error_set(err, ERR_OSERR, "fork: %s", strerror(errno));
		goto fail_pipes;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1 ||
		    (er[1] != -1 && dup2(er[1], 2) == -1))
			_exit(127);
		if (arg != NULL)
			execl(prog, "outbox-auth", command, arg, (char *)NULL);
		else
			execl(prog, "outbox-auth", command, (char *)NULL);
		if (er[1] == -1)
			fprintf(stderr, "outbox: cannot run %s: %s\n", prog,
			    strerror(errno));
		else
			dprintf(2, "outbox: cannot run %s: %s\n", prog,
			    strerror(errno));
		_exit(errno == ENOENT ? 69 : 126);
	}
	close(in[0]);
	close(out[1]);
	if (er[1] != -1)
		close(er[1]);
	signal(SIGPIPE, SIG_IGN);
	write_all(in[1], req.data, req.len);
	buf_wipe(&req);
	buf_free(&req);
	/* authorize --flow=paste: the pasted URL follows an empty line. */
	if (o->terminal) {
		write_all(in[1], "\n", 1);
		if (o->flow != NULL && strcmp(o->flow, "paste") == 0 &&
		    (n = getline(&line, &cap, stdin)) > 0)
			write_all(in[1], line, (size_t)n);
		if (line != NULL) {
			explicit_bzero(line, cap);
			free(line);
		}
	}
	close(in[1]);
	buf_init(&ob, REPLY_MAX);
	buf_init(&eb, 64 * 1024);
	pf[0].fd = out[0];
	pf[1].fd = er[0];
	pf[0].events = pf[1].events = POLLIN;
	while (pf[0].fd != -1 || pf[1].fd != -1) {
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd == -1 || pf[i].revents == 0)
				continue;
			n = read(pf[i].fd, chunk, sizeof(chunk));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			if (i == 0)
				buf_add(&ob, chunk, (size_t)n);
			else if (buf_add(&eb, chunk, (size_t)n) == 0)
				err_lines(&eb, last, sizeof(last), o);
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (eb.len > 0 && buf_add(&eb, "\n", 1) == 0)
		err_lines(&eb, last, sizeof(last), o);
	buf_free(&eb);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (code != 0) {
		buf_wipe(&ob);
		buf_free(&ob);
		msg = last;
		if (strncmp(msg, "outbox: ", 8) == 0)
			msg += 8;
		if (*msg == '\0' && o->terminal) {
			/* It told the user on the terminal itself. */
			error_set(err,
			    code == 128 ? ERR_SOFTWARE :
					  error_kind_of_exit(code),
			    "%soutbox-auth %s failed", who, command);
			err->said = 1;
			return -1;
		}
		if (*msg == '\0')
			return error_set(err,
			    code == 128 ? ERR_SOFTWARE :
					  error_kind_of_exit(code),
			    "%soutbox-auth %s failed (%s %d)", who, command,
			    WIFEXITED(status) ? "exit status" : "signal",
			    WIFEXITED(status) ? code : WTERMSIG(status));
		error_set(err,
		    code == 128 ? ERR_SOFTWARE : error_kind_of_exit(code), "%s",
		    msg);
		err->whole = 1;
		return -1;
	}
	if (buf_add(&ob, "", 1) == -1) {
		buf_wipe(&ob);
		buf_free(&ob);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	reply->text = ob.data;
	reply->len = ob.len - 1;
	return 0;
fail_pipes:
	buf_wipe(&req);
	buf_free(&req);
	for (int i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (er[i] != -1)
			close(er[i]);
	}
	return -1;
}

int
oauth_run(const struct account *a, const char *command,
    const struct oauth_opts *o, struct oauth_reply *reply, struct error *err)
{
	struct buf req;
	char who[300];

	buf_init(&req, 64 * 1024);
	if (request(&req, a, o != NULL ? o : &(struct oauth_opts){ 0 }) == -1) {
		buf_wipe(&req);
		buf_free(&req);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	snprintf(who, sizeof(who), "account %s: ", a->name);
	return run(who, command, o != NULL && o->force ? "--force" : NULL, &req,
	    o, reply, err);
}

int
oauth_run_plain(const char *command, const char *arg, const char *text,
    const struct oauth_opts *o, struct oauth_reply *reply, struct error *err)
{
	struct buf req;

	buf_init(&req, 64 * 1024);
	if (buf_add(&req, text, strlen(text)) == -1) {
		buf_free(&req);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	return run("", command, arg, &req, o, reply, err);
}

const char *
oauth_value(const struct oauth_reply *r, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = r->text, *end, *nl;

	if (p == NULL)
		return NULL;
	end = p + r->len;
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			*len = (size_t)(nl - p) - klen - 1;
			return p + klen + 1;
		}
	}
	return NULL;
}

char *
oauth_value_dup(const struct oauth_reply *r, const char *key)
{
	size_t len;
	const char *v = oauth_value(r, key, &len);

	return v != NULL ? strndup(v, len) : NULL;
}

void
oauth_reply_free(struct oauth_reply *r)
{
	if (r->text != NULL) {
		explicit_bzero(r->text, r->len);
		free(r->text);
	}
	r->text = NULL;
	r->len = 0;
}

int
oauth_token(const struct account *a, int force, char **token, char **mechanisms,
    struct error *err)
{
	struct oauth_opts o = { 0 };
	struct oauth_reply r;

	*token = NULL;
	if (mechanisms != NULL)
		*mechanisms = NULL;
	o.force = force;
	if (oauth_run(a, "token", &o, &r, err) == -1)
		return -1;
	*token = oauth_value_dup(&r, "access_token");
	if (mechanisms != NULL)
		*mechanisms = oauth_value_dup(&r, "mechanisms");
	oauth_reply_free(&r);
	if (*token == NULL || **token == '\0') {
		secret_free(*token);
		*token = NULL;
		return error_set(err, ERR_PROTOCOL,
		    "account %s: outbox-auth gave no access token", a->name);
	}
	return 0;
}
