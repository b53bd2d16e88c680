/*
 * flow.c: `authorize`: the device flow (RFC 8628), the browser flow
 * (authorization code with PKCE S256 and a loopback redirect on an
 * ephemeral 127.0.0.1 port, RFC 8252) and the paste flow (the same code
 * flow, the user pasting the address the browser ends at).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"

static long
auth_timeout(void)
{
	const char *s = getenv("OUTBOX_AUTH_TIMEOUT");
	long v;

	if (s == NULL || *s == '\0')
		return 300;
	v = strtol(s, NULL, 10);
	return v > 0 ? v : 300;
}

static int
oom(struct error *e)
{
	return error_set(e, ERR_OSERR, "out of memory");
}

/* The grant's tokens into the token file, under its lock. */
static int
keep(struct oauth *o, const char *path, const struct grant *g,
    const struct registration *reg, const struct metadata *md, struct error *e)
{
	struct tokens t;
	time_t now = time(NULL);
	int lock, rc;
	char date[64];
	struct tm tm;

	if (g->refresh_token == NULL || g->refresh_token[0] == '\0')
		return error_set(e, ERR_CONFIG,
		    "the authorization server granted no refresh "
		    "token (does the scope lack offline_access?)");
	lock = store_lock(path, 60, e);
	if (lock < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	if (grant_apply(&t, g, now) != 0 ||
	    (reg != NULL && reg->client_id != NULL &&
		(t.client_id = strdup(reg->client_id)) == NULL) ||
	    (reg != NULL && reg->client_secret != NULL &&
		(t.client_secret = strdup(reg->client_secret)) == NULL) ||
	    (md != NULL && md->token_endpoint != NULL &&
		(t.token_endpoint = strdup(md->token_endpoint)) == NULL)) {
		tokens_free(&t);
		store_unlock(lock);
		return oom(e);
	}
	rc = store_save(path, &t, o->keyring, o->account, e);
	store_unlock(lock);
	if (rc == 0) {
		time_t x = (time_t)t.expires_at;

		localtime_r(&x, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", &tm);
		fprintf(stderr,
		    "outbox: account %s now holds a refresh token; the "
		    "access token expires at %s\n",
		    o->account, date);
		printf("expires=%lld\n", t.expires_at);
	}
	tokens_free(&t);
	return rc;
}

static int
add_client(const struct oauth *o, char **form)
{
	if (http_form_add(form, "client_id", o->client_id) != 0)
		return -1;
	if (o->client_secret != NULL &&
	    http_form_add(form, "client_secret", o->client_secret) != 0)
		return -1;
	return 0;
}

/* RFC 8628. */
static int
device_flow(struct oauth *o, struct grant *g, struct error *e)
{
	char *device_code = NULL, *user_code = NULL, *uri = NULL,
	     *uri_url = NULL, *complete = NULL;
	long long expires_in = -1, interval = -1;
	struct jfield f[] = {
		{ "device_code", J_STR, &device_code, 0 },
		{ "user_code", J_STR, &user_code, 0 },
		{ "verification_uri", J_STR, &uri, 0 },
		{ "verification_url", J_STR, &uri_url, 0 },
		{ "verification_uri_complete", J_STR, &complete, 0 },
		{ "expires_in", J_INT, &expires_in, 0 },
		{ "interval", J_INT, &interval, 0 },
	};
	struct http_resp r;
	char *form = NULL;
	time_t deadline;
	int rc = -1;

	if (o->device_endpoint == NULL)
		return error_set(e, ERR_CONFIG,
		    "the device flow needs "
		    "oauth2_device_endpoint");
	if (add_client(o, &form) != 0 ||
	    (o->scope != NULL && http_form_add(&form, "scope", o->scope) != 0))
		return free(form), oom(e);
	trace(&o->http, "asking for a device code");
	if (http_request(&o->http, o->device_endpoint, form, &r, e) != 0) {
		auth_wipe_free(&form);
		return -1;
	}
	auth_wipe_free(&form);
	form = NULL;
	if (r.status >= 500 || r.status == 429) {
		http_resp_free(&r);
		return error_set(e, ERR_TEMP,
		    "the device endpoint answered HTTP %ld", r.status);
	}
	if (r.status != 200) {
		struct grant eg;
		struct error pe;

		if (grant_parse(r.body, r.len, &eg, &pe) == 0 &&
		    eg.error != NULL) {
			error_set(e, ERR_CONFIG,
			    "the device endpoint refused: %.100s%s%.200s",
			    eg.error, eg.error_description ? ": " : "",
			    eg.error_description ? eg.error_description : "");
			grant_free(&eg);
		} else {
			error_set(e, ERR_PROTOCOL,
			    "the device endpoint answered HTTP %ld", r.status);
		}
		http_resp_free(&r);
		return -1;
	}
	if (json_fields(r.body, r.len, f, sizeof(f) / sizeof(f[0]), e) != 0)
		goto out;
	if (uri == NULL) {
		uri = uri_url;
		uri_url = NULL;
	}
	if (device_code == NULL || user_code == NULL || uri == NULL) {
		error_set(e, ERR_PROTOCOL,
		    "the device endpoint's reply lacks device_code, "
		    "user_code or verification_uri");
		goto out;
	}
	/* RFC 8628 3.2: 5 s when not given; a silly one is cut to 10 min. */
	if (interval <= 0)
		interval = 5;
	else if (interval > 600)
		interval = 600;
	if (expires_in <= 0)
		expires_in = 600;
	deadline = time(NULL) +
	    (expires_in < auth_timeout() ? expires_in : auth_timeout());
	fprintf(stderr,
	    "outbox: account %s: open %s in a browser and enter the code "
	    "%s\n",
	    o->account, uri, user_code);
	for (;;) {
		struct timespec ts = { (time_t)interval, 0 };

		if (time(NULL) + interval > deadline) {
			error_set(e, ERR_AUTH,
			    "the device code expired before it was "
			    "approved");
			goto out;
		}
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		form = NULL;
		if (http_form_add(&form, "grant_type",
			"urn:ietf:params:oauth:grant-type:device_code") != 0 ||
		    http_form_add(&form, "device_code", device_code) != 0 ||
		    add_client(o, &form) != 0) {
			auth_wipe_free(&form);
			oom(e);
			goto out;
		}
		rc = grant_post(o, form, g, e);
		auth_wipe_free(&form);
		form = NULL;
		if (rc == 0)
			break;
		if (g->error != NULL &&
		    strcmp(g->error, "authorization_pending") == 0) {
			trace(&o->http, "authorization pending");
		} else if (g->error != NULL &&
		    strcmp(g->error, "slow_down") == 0) {
			interval += 5;
			trace(&o->http, "slowing down to every %lld s",
			    interval);
		} else {
			if (g->error != NULL &&
			    strcmp(g->error, "access_denied") == 0)
				error_set(e, ERR_AUTH,
				    "the authorization was denied");
			else if (g->error != NULL &&
			    strcmp(g->error, "expired_token") == 0)
				error_set(e, ERR_AUTH,
				    "the device code expired before it "
				    "was approved");
			grant_free(g);
			goto out;
		}
		grant_free(g);
		rc = -1;
	}
	rc = 0;
out:
	if (rc != 0)
		rc = -1;
	http_resp_free(&r);
	auth_wipe_free(&device_code);
	auth_wipe_free(&user_code);
	free(uri);
	free(uri_url);
	free(complete);
	return rc;
}

/* The authorization URL for the code flow. */
static char *
auth_url(const struct oauth *o, const char *redirect, const char *state,
    const char *challenge)
{
	char *q = NULL, *url;
	/* Google grants a refresh token only when asked this way. */
	int google = o->provider != NULL && strcmp(o->provider, "google") == 0;

	if (http_form_add(&q, "response_type", "code") != 0 ||
	    http_form_add(&q, "client_id", o->client_id) != 0 ||
	    http_form_add(&q, "redirect_uri", redirect) != 0 ||
	    (o->scope != NULL && http_form_add(&q, "scope", o->scope) != 0) ||
	    http_form_add(&q, "state", state) != 0 ||
	    http_form_add(&q, "code_challenge", challenge) != 0 ||
	    http_form_add(&q, "code_challenge_method", "S256") != 0 ||
	    (o->user != NULL &&
		http_form_add(&q, "login_hint", o->user) != 0) ||
	    (google &&
		(http_form_add(&q, "access_type", "offline") != 0 ||
		    http_form_add(&q, "prompt", "consent") != 0))) {
		free(q);
		return NULL;
	}
	url = malloc(strlen(o->auth_endpoint) + strlen(q) + 2);
	if (url != NULL)
		sprintf(url, "%s%c%s", o->auth_endpoint,
		    strchr(o->auth_endpoint, '?') ? '&' : '?', q);
	free(q);
	return url;
}

/* code and state out of a redirect's query (in place); error names the
 * server's error when there is one. */
static int
parse_redirect(char *query, char **code, char **state, char **error)
{
	*code = *state = *error = NULL;
	for (char *p = strtok(query, "&#"); p != NULL; p = strtok(NULL, "&#")) {
		char *eq = strchr(p, '=');

		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (url_decode(eq) != 0)
			return -1;
		if (strcmp(p, "code") == 0)
			*code = eq;
		else if (strcmp(p, "state") == 0)
			*state = eq;
		else if (strcmp(p, "error") == 0)
			*error = eq;
	}
	return 0;
}

static void
open_browser(const char *url)
{
	pid_t pid;

	if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
		return;
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	/* Not waited for: xdg-open may stay with the browser. */
	signal(SIGCHLD, SIG_IGN);
}

/* Wait for the browser's redirect on the listener; the query, allocated. */
static char *
await_redirect(int ls, const char *state, struct error *e)
{
	time_t deadline = time(NULL) + auth_timeout();

	for (;;) {
		struct pollfd p = { ls, POLLIN, 0 };
		long left = (long)(deadline - time(NULL));
		char buf[8192], *q, *end, *copy, *code, *st, *err;
		size_t len = 0;
		int c;
		const char *reply;

		if (left <= 0 || poll(&p, 1, (int)left * 1000) <= 0) {
			error_set(e, ERR_AUTH,
			    "no answer from the browser within %ld s",
			    auth_timeout());
			return NULL;
		}
		c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		/* One request line is all that matters. */
		for (;;) {
			struct pollfd cp = { c, POLLIN, 0 };
			ssize_t n;

			if (poll(&cp, 1, 5000) <= 0)
				break;
			n = read(c, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			if (strstr(buf, "\r\n") != NULL ||
			    len == sizeof(buf) - 1)
				break;
		}
		buf[len] = '\0';
		q = NULL;
		if (strncmp(buf, "GET /", 5) == 0 &&
		    (end = strpbrk(buf + 4, " \r\n")) != NULL) {
			*end = '\0';
			q = strchr(buf + 4, '?');
		}
		copy = q != NULL ? strdup(q + 1) : NULL;
		if (copy != NULL &&
		    parse_redirect(q + 1, &code, &st, &err) == 0 &&
		    (code != NULL || err != NULL)) {
			int ok = st != NULL && strcmp(st, state) == 0;

			reply = ok ?
			    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
			    "\r\noutbox: authorization received; "
			    "you may close this window.\n" :
			    "HTTP/1.0 400 Bad Request\r\nContent-Type: "
			    "text/plain\r\n\r\noutbox: this answer "
			    "does not match the request.\n";
			(void)!write(c, reply, strlen(reply));
			close(c);
			explicit_bzero(buf, sizeof(buf));
			if (ok)
				return copy;
			/* A forged or stale redirect: keep waiting. */
			auth_wipe_free(&copy);
			continue;
		}
		reply = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		(void)!write(c, reply, strlen(reply));
		close(c);
		explicit_bzero(buf, sizeof(buf));
		auth_wipe_free(&copy);
	}
}

/* Read the pasted address from standard input. */
static char *
read_paste(const struct request *r, struct error *e)
{
	char line[8192];
	size_t len = 0;
	char *q;

	if (r->rest != NULL && r->rest[0] != '\0') {
		snprintf(line, sizeof(line), "%s", r->rest);
	} else {
		while (len + 1 < sizeof(line)) {
			ssize_t n = read(0, line + len, 1);

			if (n <= 0 || line[len] == '\n')
				break;
			len++;
		}
		line[len] = '\0';
	}
	line[strcspn(line, "\r\n")] = '\0';
	q = strchr(line, '?');
	if (q == NULL) {
		explicit_bzero(line, sizeof(line));
		error_set(e, ERR_USAGE,
		    "the pasted address has no query (?code=...)");
		return NULL;
	}
	q = strdup(q + 1);
	explicit_bzero(line, sizeof(line));
	if (q == NULL)
		oom(e);
	return q;
}

static int
code_flow(struct oauth *o, const struct request *r, int paste, struct grant *g,
    struct error *e)
{
	char verifier[PKCE_LEN], challenge[PKCE_LEN], state[PKCE_LEN];
	char redirect[64];
	char *url, *query = NULL, *code, *st, *err, *form = NULL;
	int ls = -1, rc;

	if (o->auth_endpoint == NULL)
		return error_set(e, ERR_CONFIG,
		    "the %s flow needs oauth2_auth_endpoint",
		    paste ? "paste" : "browser");
	if (pkce_pair(verifier, challenge) != 0 || random_token(state, 16) != 0)
		return error_set(e, ERR_OSERR, "no random numbers");
	if (paste) {
		snprintf(redirect, sizeof(redirect), "http://127.0.0.1/");
	} else {
		struct sockaddr_in sa = { 0 };
		socklen_t sl = sizeof(sa);

		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ls < 0 ||
		    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    listen(ls, 4) != 0 ||
		    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
			if (ls >= 0)
				close(ls);
			return error_set(e, ERR_OSERR,
			    "cannot listen on 127.0.0.1: %s", strerror(errno));
		}
		snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%u/",
		    (unsigned)ntohs(sa.sin_port));
		trace(&o->http, "listening for the redirect on %s", redirect);
	}
	url = auth_url(o, redirect, state, challenge);
	if (url == NULL) {
		if (ls >= 0)
			close(ls);
		return oom(e);
	}
	fprintf(stderr,
	    "outbox: account %s: open this address in a browser: %s\n",
	    o->account, url);
	if (paste) {
		fprintf(stderr,
		    "outbox: account %s: then paste the address the "
		    "browser ends at (it starts with %s)\n",
		    o->account, redirect);
		fflush(stderr);
		query = read_paste(r, e);
	} else {
		fflush(stderr);
		open_browser(url);
		query = await_redirect(ls, state, e);
		close(ls);
	}
	free(url);
	if (query == NULL)
		return -1;
	if (parse_redirect(query, &code, &st, &err) != 0) {
		auth_wipe_free(&query);
		return error_set(e, ERR_USAGE,
		    "the redirect address is garbled");
	}
	if (err != NULL) {
		error_set(e, ERR_AUTH, "the authorization server said %.100s",
		    err);
		auth_wipe_free(&query);
		return -1;
	}
	if (code == NULL || st == NULL || strcmp(st, state) != 0) {
		auth_wipe_free(&query);
		return error_set(e, ERR_AUTH,
		    "the redirect's state does not match this "
		    "request");
	}
	if (http_form_add(&form, "grant_type", "authorization_code") != 0 ||
	    http_form_add(&form, "code", code) != 0 ||
	    http_form_add(&form, "redirect_uri", redirect) != 0 ||
	    http_form_add(&form, "code_verifier", verifier) != 0 ||
	    add_client(o, &form) != 0) {
		auth_wipe_free(&form);
		auth_wipe_free(&query);
		return oom(e);
	}
	auth_wipe_free(&query);
	explicit_bzero(verifier, sizeof(verifier));
	trace(&o->http, "exchanging the authorization code");
	rc = grant_post(o, form, g, e);
	auth_wipe_free(&form);
	return rc;
}

int
cmd_authorize(struct oauth *o, const struct request *r, const char *path,
    struct error *e)
{
	struct metadata md = { 0 };
	struct registration reg = { 0 };
	struct grant g = { 0 };
	const char *flow = req_get(r, RK_FLOW);
	int rc = -1;

	if (o->discover &&
	    discover(o, req_get(r, RK_ISSUER), &md, &reg, e) != 0)
		goto out;
	if (provider_check(o, 1, e) != 0)
		goto out;
	if (flow == NULL || *flow == '\0')
		flow = o->best_flow;
	if (flow == NULL)
		flow = o->auth_endpoint != NULL ? "browser" : "device";
	if (strcmp(flow, "device") == 0)
		rc = device_flow(o, &g, e);
	else if (strcmp(flow, "browser") == 0)
		rc = code_flow(o, r, 0, &g, e);
	else if (strcmp(flow, "paste") == 0)
		rc = code_flow(o, r, 1, &g, e);
	else
		error_set(e, ERR_USAGE,
		    "unknown flow %s (device, browser or paste)", flow);
	if (rc == 0)
		rc = keep(o, path, &g, o->discover ? &reg : NULL,
		    o->discover ? &md : NULL, e);
out:
	grant_free(&g);
	metadata_free(&md);
	registration_free(&reg);
	return rc;
}
