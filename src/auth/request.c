/* request.c: outbox-auth's request, key=value lines on standard input. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"

static const char *const names[RK_COUNT] = {
	[RK_ACCOUNT] = "account",
	[RK_HOST] = "host",
	[RK_USER] = "user",
	[RK_PROVIDER] = "provider",
	[RK_CLIENT_ID] = "client_id",
	[RK_CLIENT_SECRET] = "client_secret",
	[RK_SCOPE] = "scope",
	[RK_AUTH_ENDPOINT] = "auth_endpoint",
	[RK_TOKEN_ENDPOINT] = "token_endpoint",
	[RK_DEVICE_ENDPOINT] = "device_endpoint",
	[RK_ISSUER] = "issuer",
	[RK_TRUST_FILE] = "trust_file",
	[RK_TOKEN_FILE] = "token_file",
	[RK_KEYRING] = "keyring",
	[RK_KEEPALIVE] = "keepalive",
	[RK_FLOW] = "flow",
	[RK_VERBOSE] = "verbose",
};

const char *
req_key_name(enum req_key k)
{
	return names[k];
}

const char *
req_get(const struct request *r, enum req_key k)
{
	return r->v[k];
}

void
request_free(struct request *r)
{
	for (int i = 0; i < RK_COUNT; i++) {
		if (r->v[i] != NULL)
			explicit_bzero(r->v[i], strlen(r->v[i]));
		free(r->v[i]);
		r->v[i] = NULL;
	}
	if (r->rest != NULL)
		explicit_bzero(r->rest, strlen(r->rest));
	free(r->rest);
	r->rest = NULL;
}

static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

int
request_parse(struct request *r, const char *buf, size_t len, struct error *e)
{
	size_t pos = 0;
	int line = 0;

	memset(r, 0, sizeof(*r));
	if (len > REQ_MAX)
		return error_set(e, ERR_USAGE, "request longer than %d bytes",
		    REQ_MAX);
	while (pos < len) {
		const char *s = buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
		const char *eq;
		int k;

		line++;
		pos += n + (nl != NULL);
		if (n == 0) {
			/* The end of the request; the pasted URL follows. */
			r->rest = dup_n(buf + pos, len - pos);
			if (r->rest == NULL)
				goto oom;
			return 0;
		}
		if (memchr(s, '\0', n) != NULL || memchr(s, '\r', n) != NULL) {
			error_set(e, ERR_USAGE,
			    "request line %d: control character", line);
			goto fail;
		}
		eq = memchr(s, '=', n);
		if (eq == NULL) {
			error_set(e, ERR_USAGE, "request line %d: no key=value",
			    line);
			goto fail;
		}
		for (k = 0; k < RK_COUNT; k++)
			if (strlen(names[k]) == (size_t)(eq - s) &&
			    memcmp(names[k], s, (size_t)(eq - s)) == 0)
				break;
		if (k == RK_COUNT) {
			error_set(e, ERR_USAGE,
			    "request line %d: unknown key %.*s", line,
			    (int)((eq - s) > 40 ? 40 : (eq - s)), s);
			goto fail;
		}
		if (r->v[k] != NULL) {
			error_set(e, ERR_USAGE, "request line %d: %s repeats",
			    line, names[k]);
			goto fail;
		}
		r->v[k] = dup_n(eq + 1, n - (size_t)(eq + 1 - s));
		if (r->v[k] == NULL)
			goto oom;
	}
	return 0;
oom:
	error_set(e, ERR_OSERR, "out of memory");
fail:
	request_free(r);
	return -1;
}
