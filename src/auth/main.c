/*
 * main.c: outbox-auth, outbox's OAuth2 companion: reads the request
 * (key=value lines) from standard input, runs one command (token,
 * authorize, status, keepalive, password, fetch, autoconfig), writes
 * key=value
 * lines on standard output and one-line messages on standard error;
 * the exit status is a sysexits code from error.c's table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "autoconfig.h"
#include "flow.h"
#include "harden.h"
#include "keyring.h"

#define EARLY 300    /* seconds before expiry a token counts as spent */
#define LOCK_WAIT 60 /* seconds to wait for another refresh */
#define KEEPALIVE_DEFAULT 2592000LL

static char account_name[256] = "?";

static int
fail(const struct error *e)
{
	if (strcmp(account_name, "?") == 0)
		fprintf(stderr, "outbox: %s\n", e->msg);
	else if (e->kind == ERR_AUTH)
		fprintf(stderr,
		    "outbox: account %s: %s; run outbox --authorize -a "
		    "%s\n",
		    account_name, e->msg, account_name);
	else
		fprintf(stderr, "outbox: account %s: %s\n", account_name,
		    e->msg);
	return error_exit_code(e->kind);
}

/* The request, read a byte at a time so that what follows the empty
 * line (a pasted URL) stays on standard input. */
static int
read_request(struct request *r, struct error *e)
{
	static char buf[REQ_MAX + 1];
	size_t len = 0;
	int rc;

	for (;;) {
		ssize_t n = read(0, buf + len, 1);

		if (n < 0)
			return error_set(e, ERR_IO, "cannot read the request");
		if (n == 0)
			break;
		len++;
		if (buf[len - 1] == '\n' && (len == 1 || buf[len - 2] == '\n'))
			break;
		if (len > REQ_MAX)
			return error_set(e, ERR_USAGE, "request too long");
	}
	rc = request_parse(r, buf, len, e);
	explicit_bzero(buf, len);
	return rc;
}

static void
out_token(const struct oauth *o, const struct tokens *t)
{
	printf("access_token=%s\nexpires=%lld\nmechanisms=%s\n",
	    t->access_token, t->expires_at, o->mechanisms);
}

static int
usable(const struct tokens *t, time_t now)
{
	return t->present && t->access_token != NULL &&
	    t->expires_at - EARLY > (long long)now;
}

/* Complete o from what the token file keeps (a registered client). */
static void
from_store(struct oauth *o, const struct tokens *t)
{
	if (o->client_id == NULL && t->client_id != NULL) {
		o->client_id = t->client_id;
		if (o->client_secret == NULL)
			o->client_secret = t->client_secret;
	}
	if (o->token_endpoint == NULL && t->token_endpoint != NULL)
		o->token_endpoint = t->token_endpoint;
}

/* Refresh t (read under the lock) with its refresh token. */
static int
refresh(struct oauth *o, struct tokens *t, struct error *e)
{
	struct grant g;
	char *form = NULL;
	int rc;

	if (t->refresh_token == NULL)
		return error_set(e, ERR_AUTH, "no refresh token yet");
	if (provider_check(o, 0, e) != 0)
		return -1;
	if (http_form_add(&form, "grant_type", "refresh_token") != 0 ||
	    http_form_add(&form, "refresh_token", t->refresh_token) != 0 ||
	    http_form_add(&form, "client_id", o->client_id) != 0 ||
	    (o->client_secret != NULL &&
		http_form_add(&form, "client_secret", o->client_secret) != 0)) {
		free(form);
		return error_set(e, ERR_OSERR, "out of memory");
	}
	trace(&o->http, "refreshing the access token");
	rc = grant_post(o, form, &g, e);
	explicit_bzero(form, strlen(form));
	free(form);
	if (rc != 0) {
		grant_free(&g);
		return -1;
	}
	if (g.refresh_token != NULL)
		trace(&o->http, "the refresh token was rotated");
	rc = grant_apply(t, &g, time(NULL));
	grant_free(&g);
	if (rc != 0)
		return error_set(e, ERR_OSERR, "out of memory");
	return 0;
}

/*
 * Take the token file's lock and read the file under it: the lock's
 * descriptor, or -1 (nothing held) with err filled in.
 */
static int
lock_and_read(const char *path, struct tokens *t, struct error *e)
{
	int lock = store_lock(path, LOCK_WAIT, e);

	if (lock < 0)
		return -1;
	if (store_read(path, t, e) != 0) {
		store_unlock(lock);
		return -1;
	}
	return lock;
}

static int
cmd_token(struct oauth *o, const char *path, int force, struct error *e)
{
	struct tokens t;
	long long seen;
	int lock, rc;

	if (store_read(path, &t, e) != 0)
		return -1;
	if (!t.present)
		return error_set(e, ERR_AUTH, "no token yet");
	if (!force && usable(&t, time(NULL))) {
		trace(&o->http, "using the cached access token");
		from_store(o, &t);
		out_token(o, &t);
		tokens_free(&t);
		return 0;
	}
	seen = t.last_used;
	tokens_free(&t);
	if ((lock = lock_and_read(path, &t, e)) < 0)
		return -1;
	from_store(o, &t);
	/* Another process refreshed while this one waited. */
	if (t.present && usable(&t, time(NULL)) &&
	    (!force || t.last_used != seen)) {
		trace(&o->http, "another process refreshed the token");
		out_token(o, &t);
		tokens_free(&t);
		store_unlock(lock);
		return 0;
	}
	rc = store_load_refresh(path, &t, o->keyring, e);
	if (rc == 0)
		rc = refresh(o, &t, e);
	if (rc == 0)
		rc = store_save(path, &t, o->keyring, o->account, e);
	if (rc == 0)
		out_token(o, &t);
	tokens_free(&t);
	store_unlock(lock);
	return rc;
}

static int
cmd_status(const struct request *r, const char *path, struct error *e)
{
	struct tokens t;
	const char *kr = req_get(r, RK_KEYRING);

	if (store_read(path, &t, e) != 0)
		return -1;
	if (!t.present) {
		printf("present=no\n");
		return 0;
	}
	printf("present=yes\nexpires=%lld\nrefresh_obtained=%lld\n"
	       "last_used=%lld\nstorage=%s\n",
	    t.expires_at, t.refresh_obtained, t.last_used,
	    kr != NULL && strcmp(kr, "on") == 0 ? "keyring" : "file");
	tokens_free(&t);
	return 0;
}

static int
cmd_keepalive(struct oauth *o, const struct request *r, const char *path,
    struct error *e)
{
	struct tokens t;
	const char *ka = req_get(r, RK_KEEPALIVE);
	long long limit = KEEPALIVE_DEFAULT, idle;
	time_t now = time(NULL);
	int lock, rc;

	if (ka != NULL && *ka != '\0') {
		char *end;

		limit = strtoll(ka, &end, 10);
		if (*end != '\0' || limit < 0)
			return error_set(e, ERR_USAGE, "bad keepalive %s", ka);
	}
	/*
	 * An account never authorized (one that inherits another's OAuth
	 * settings, say) has nothing to keep alive: that is no failure, and
	 * no lock file or directory is made for it.
	 */
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		printf("refreshed=no\npresent=no\n");
		return 0;
	}
	if ((lock = lock_and_read(path, &t, e)) < 0)
		return -1;
	if (!t.present) {
		store_unlock(lock);
		printf("refreshed=no\npresent=no\n");
		return 0;
	}
	idle = (long long)now - t.last_used;
	if (idle < limit) {
		printf("refreshed=no\n");
		tokens_free(&t);
		store_unlock(lock);
		return 0;
	}
	from_store(o, &t);
	rc = store_load_refresh(path, &t, o->keyring, e);
	if (rc == 0)
		rc = refresh(o, &t, e);
	if (rc == 0)
		rc = store_save(path, &t, o->keyring, o->account, e);
	tokens_free(&t);
	store_unlock(lock);
	if (rc != 0)
		return -1;
	printf("refreshed=yes\n");
	fprintf(stderr,
	    "outbox: account %s: refresh token renewed (unused for %lld "
	    "days)\n",
	    o->account, idle / 86400);
	return 0;
}

static int
cmd_fetch(int argc, char **argv, struct error *e)
{
	struct request r;
	struct http_opts o = { 0 };
	struct http_resp resp;
	const char *url = NULL;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--insecure-hint") == 0)
			o.allow_http = 1;
		else if (url == NULL && argv[i][0] != '-')
			url = argv[i];
		else
			return error_set(e, ERR_USAGE,
			    "usage: outbox-auth fetch "
			    "[--insecure-hint] URL");
	}
	if (url == NULL)
		return error_set(e, ERR_USAGE,
		    "usage: outbox-auth fetch [--insecure-hint] "
		    "URL");
	if (read_request(&r, e) != 0)
		return -1;
	o.trust_file = req_get(&r, RK_TRUST_FILE);
	o.verbose = req_get(&r, RK_VERBOSE) != NULL &&
	    req_get(&r, RK_VERBOSE)[0] == '1';
	o.account = req_get(&r, RK_ACCOUNT);
	if (o.account != NULL)
		snprintf(account_name, sizeof(account_name), "%s", o.account);
	o.timeout = 10;
	if (http_request(&o, url, NULL, &resp, e) != 0) {
		request_free(&r);
		return -1;
	}
	if (resp.status != 200) {
		error_set(e,
		    resp.status >= 500 || resp.status == 429 ? ERR_TEMP :
							       ERR_UNAVAILABLE,
		    "%s answered HTTP %ld", url, resp.status);
		http_resp_free(&resp);
		request_free(&r);
		return -1;
	}
	fwrite(resp.body, 1, resp.len, stdout);
	http_resp_free(&resp);
	request_free(&r);
	return 0;
}

/*
 * autoconfig URL: fetch a config-v1.1.xml over HTTPS (never plain HTTP:
 * an answer anyone on the path could have written must not choose the
 * server a password goes to) and print the SMTP server it names.  The
 * request's user is the address the placeholders stand for.
 */
static int
cmd_autoconfig(int argc, char **argv, struct error *e)
{
	static const char *const auth_names[] = { "password", "encrypted",
		"oauth2", "none" };
	struct request r;
	struct http_opts o = { 0 };
	struct http_resp resp;
	struct autoconfig ac;
	const char *url, *address;
	int rc, first = 1;

	if (argc != 3 || argv[2][0] == '-')
		return error_set(e, ERR_USAGE,
		    "usage: outbox-auth autoconfig URL");
	url = argv[2];
	if (read_request(&r, e) != 0)
		return -1;
	address = req_get(&r, RK_USER);
	if (address == NULL || strchr(address, '@') == NULL) {
		request_free(&r);
		return error_set(e, ERR_USAGE,
		    "autoconfig needs the address as user");
	}
	o.trust_file = req_get(&r, RK_TRUST_FILE);
	o.verbose = req_get(&r, RK_VERBOSE) != NULL &&
	    req_get(&r, RK_VERBOSE)[0] == '1';
	o.timeout = 10;
	if (http_request(&o, url, NULL, &resp, e) != 0) {
		request_free(&r);
		return -1;
	}
	if (resp.status != 200) {
		error_set(e, resp.status >= 500 ? ERR_TEMP : ERR_UNAVAILABLE,
		    "%s answered HTTP %ld", url, resp.status);
		http_resp_free(&resp);
		request_free(&r);
		return -1;
	}
	rc = autoconfig_parse(resp.body, resp.len, address, &ac, e);
	http_resp_free(&resp);
	request_free(&r);
	if (rc != 0)
		return -1;
	printf("host=%s\nport=%u\nsocket=%s\n", ac.host, ac.port,
	    ac.implicit_tls ? "SSL" : "STARTTLS");
	fputs("auth=", stdout);
	for (size_t i = 0; i < 4; i++)
		if (ac.auth & (1u << i)) {
			printf("%s%s", first ? "" : ",", auth_names[i]);
			first = 0;
		}
	putchar('\n');
	if (ac.user[0] != '\0')
		printf("user=%s\n", ac.user);
	if (ac.provider[0] != '\0')
		printf("provider=%s\n", ac.provider);
	if (ac.oauth2_issuer[0] != '\0')
		printf("oauth2_issuer=%s\n", ac.oauth2_issuer);
	printf("skipped=%u\n", ac.skipped);
	return 0;
}

static int
usage(void)
{
	fputs("usage: outbox-auth token [--force] | authorize | status | "
	      "keepalive | password | fetch [--insecure-hint] URL | "
	      "autoconfig URL\n"
	      "The request is read from standard input as key=value "
	      "lines.\n",
	    stderr);
	return error_exit_code(ERR_USAGE);
}

int
main(int argc, char **argv)
{
	struct error e;
	struct request r;
	struct oauth o;
	const char *cmd, *path;
	int rc = -1, force = 0;

	error_clear(&e);
	/* Tokens and secrets pass through here: never set-ID, no core. */
	if (harden_process(&e) == -1)
		return fail(&e);
	if (argc < 2)
		return usage();
	cmd = argv[1];
	if (http_global_init() != 0) {
		error_set(&e, ERR_SOFTWARE, "cannot start libcurl");
		return fail(&e);
	}
	if (strcmp(cmd, "fetch") == 0) {
		if (cmd_fetch(argc, argv, &e) != 0)
			return fail(&e);
		return fflush(stdout) == 0 ? 0 : error_exit_code(ERR_IO);
	}
	if (strcmp(cmd, "autoconfig") == 0) {
		if (cmd_autoconfig(argc, argv, &e) != 0)
			return fail(&e);
		return fflush(stdout) == 0 ? 0 : error_exit_code(ERR_IO);
	}
	if (strcmp(cmd, "token") == 0 && argc == 3 &&
	    strcmp(argv[2], "--force") == 0)
		force = 1;
	else if (argc != 2)
		return usage();
	if (strcmp(cmd, "token") != 0 && strcmp(cmd, "authorize") != 0 &&
	    strcmp(cmd, "status") != 0 && strcmp(cmd, "keepalive") != 0 &&
	    strcmp(cmd, "password") != 0)
		return usage();
	if (read_request(&r, &e) != 0)
		return fail(&e);
	if (req_get(&r, RK_ACCOUNT) != NULL)
		snprintf(account_name, sizeof(account_name), "%s",
		    req_get(&r, RK_ACCOUNT));
	if (strcmp(cmd, "password") == 0) {
		rc = cmd_password(&r, &e);
		goto done;
	}
	if (provider_resolve(&r, &o, &e) != 0)
		goto done;
	path = req_get(&r, RK_TOKEN_FILE);
	if (path == NULL || path[0] != '/') {
		error_set(&e, ERR_USAGE,
		    "the request has no absolute token_file");
		goto done;
	}
	if (strcmp(cmd, "token") == 0)
		rc = cmd_token(&o, path, force, &e);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(&r, path, &e);
	else if (strcmp(cmd, "keepalive") == 0)
		rc = cmd_keepalive(&o, &r, path, &e);
	else
		rc = cmd_authorize(&o, &r, path, &e);
done:
	if (rc != 0) {
		request_free(&r);
		return fail(&e);
	}
	request_free(&r);
	return fflush(stdout) == 0 ? 0 : error_exit_code(ERR_IO);
}

int
cmd_password(const struct request *r, struct error *e)
{
	const char *host = req_get(r, RK_HOST);
	char *pw = NULL, why[256] = "";
	int rc;

	if (host == NULL || *host == '\0')
		return error_set(e, ERR_USAGE, "password needs host");
	rc = keyring_password(host, req_get(r, RK_USER), &pw, why, sizeof(why));
	switch (rc) {
	case KR_FOUND:
		printf("found=yes\npassword=%s\n", pw);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		return 0;
	case KR_LOCKED:
		return error_set(e, ERR_UNAVAILABLE, "%s", why);
	case KR_NONE:
		printf("found=no\n");
		return 0;
	default:
		printf("found=no\nreason=%s\n", why);
		return 0;
	}
}
