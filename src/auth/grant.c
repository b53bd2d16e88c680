/*
 * grant.c: requests to the token endpoint (refresh, code exchange,
 * device polling) and what their replies mean: RFC 6749 section 5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

void
grant_free(struct grant *g)
{
	auth_wipe_free(&g->access_token);
	auth_wipe_free(&g->refresh_token);
	auth_wipe_free(&g->error);
	auth_wipe_free(&g->error_description);
	memset(g, 0, sizeof(*g));
}

int
grant_parse(const char *buf, size_t len, struct grant *g, struct error *e)
{
	struct jfield f[] = {
		{ "access_token", J_STR, &g->access_token, 0 },
		{ "refresh_token", J_STR, &g->refresh_token, 0 },
		{ "expires_in", J_INT, &g->expires_in, 0 },
		{ "error", J_STR, &g->error, 0 },
		{ "error_description", J_STR, &g->error_description, 0 },
	};

	memset(g, 0, sizeof(*g));
	g->expires_in = -1;
	if (json_fields(buf, len, f, sizeof(f) / sizeof(f[0]), e) != 0) {
		grant_free(g);
		return -1;
	}
	if (g->error == NULL && g->access_token == NULL) {
		grant_free(g);
		return error_set(e, ERR_PROTOCOL,
		    "the reply has neither access_token nor error");
	}
	if (g->access_token != NULL && g->access_token[0] == '\0') {
		grant_free(g);
		return error_set(e, ERR_PROTOCOL, "the access token is empty");
	}
	return 0;
}

/* A server's description, cut to something safe for one line. */
static void
describe(const char *d, char *out, size_t n)
{
	size_t j = 0;

	out[0] = '\0';
	if (d == NULL)
		return;
	for (size_t i = 0; d[i] != '\0' && j + 1 < n && i < 200; i++)
		out[j++] = (d[i] >= 0x20 && d[i] < 0x7f) ? d[i] : ' ';
	out[j] = '\0';
}

int
grant_post(const struct oauth *o, const char *form, struct grant *g,
    struct error *e)
{
	struct http_resp r;
	char desc[256];

	memset(g, 0, sizeof(*g));
	if (http_request(&o->http, o->token_endpoint, form, &r, e) != 0)
		return -1;
	if (r.status >= 500 || r.status == 429) {
		http_resp_free(&r);
		return error_set(e, ERR_TEMP,
		    "the authorization server answered HTTP %ld", r.status);
	}
	if (grant_parse(r.body, r.len, g, e) != 0) {
		char why[128];

		snprintf(why, sizeof(why), "%.100s", e->msg);
		error_set(e, ERR_PROTOCOL,
		    "the authorization server answered HTTP %ld with "
		    "no usable token reply: %s",
		    r.status, why);
		http_resp_free(&r);
		return -1;
	}
	http_resp_free(&r);
	if (g->error == NULL && r.status == 200)
		return 0;
	if (g->error == NULL) {
		grant_free(g);
		return error_set(e, ERR_PROTOCOL,
		    "the authorization server answered HTTP %ld", r.status);
	}
	describe(g->error_description, desc, sizeof(desc));
	if (strcmp(g->error, "invalid_grant") == 0 ||
	    strcmp(g->error, "invalid_client") == 0 ||
	    strcmp(g->error, "unauthorized_client") == 0 ||
	    strcmp(g->error, "access_denied") == 0 ||
	    strcmp(g->error, "expired_token") == 0)
		error_set(e, ERR_AUTH, "%s%s%s", g->error, desc[0] ? ": " : "",
		    desc);
	else if (strcmp(g->error, "invalid_scope") == 0 ||
	    strcmp(g->error, "invalid_request") == 0 ||
	    strcmp(g->error, "unsupported_grant_type") == 0)
		error_set(e, ERR_CONFIG, "%s%s%s", g->error,
		    desc[0] ? ": " : "", desc);
	else if (strcmp(g->error, "temporarily_unavailable") == 0)
		error_set(e, ERR_TEMP, "%s", g->error);
	else {
		char what[64];

		describe(g->error, what, sizeof(what));
		error_set(e, ERR_PROTOCOL, "%s%s%s", what, desc[0] ? ": " : "",
		    desc);
	}
	return -1;
}

int
grant_apply(struct tokens *t, const struct grant *g, time_t now)
{
	char *a = strdup(g->access_token);

	if (a == NULL)
		return -1;
	if (t->access_token != NULL)
		explicit_bzero(t->access_token, strlen(t->access_token));
	free(t->access_token);
	t->access_token = a;
	/*
	 * RFC 6749 5.1: a lifetime in seconds.  None or nonsense is taken
	 * as an hour; more than a year as a year (the token is only
	 * refreshed early), so the sum cannot overflow.
	 */
	t->expires_at = (long long)now +
	    (g->expires_in <= 0			       ? 3600 :
		    g->expires_in > GRANT_LIFETIME_MAX ? GRANT_LIFETIME_MAX :
							 g->expires_in);
	if (g->refresh_token != NULL && g->refresh_token[0] != '\0') {
		char *rt = strdup(g->refresh_token);

		if (rt == NULL)
			return -1;
		if (t->refresh_token != NULL)
			explicit_bzero(t->refresh_token,
			    strlen(t->refresh_token));
		free(t->refresh_token);
		t->refresh_token = rt;
		t->refresh_obtained = (long long)now;
	}
	t->last_used = (long long)now;
	t->present = 1;
	return 0;
}
