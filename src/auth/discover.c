/*
 * discover.c: an authorization server's metadata (RFC 8414, from
 * ISSUER/.well-known/oauth-authorization-server) and, when no client ID
 * is configured, dynamic registration of a public client (RFC 7591).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flow.h"

void
metadata_free(struct metadata *m)
{
	free(m->issuer);
	free(m->authorization_endpoint);
	free(m->token_endpoint);
	free(m->device_authorization_endpoint);
	free(m->registration_endpoint);
	memset(m, 0, sizeof(*m));
}

void
registration_free(struct registration *r)
{
	auth_wipe_free(&r->client_id);
	auth_wipe_free(&r->client_secret);
}

int
metadata_parse(const char *buf, size_t len, struct metadata *m, struct error *e)
{
	struct jfield f[] = {
		{ "issuer", J_STR, &m->issuer, 0 },
		{ "authorization_endpoint", J_STR, &m->authorization_endpoint,
		    0 },
		{ "token_endpoint", J_STR, &m->token_endpoint, 0 },
		{ "device_authorization_endpoint", J_STR,
		    &m->device_authorization_endpoint, 0 },
		{ "registration_endpoint", J_STR, &m->registration_endpoint,
		    0 },
	};
	const char *urls[] = { m->authorization_endpoint, m->token_endpoint };

	memset(m, 0, sizeof(*m));
	if (json_fields(buf, len, f, sizeof(f) / sizeof(f[0]), e) != 0) {
		metadata_free(m);
		return -1;
	}
	(void)urls;
	if (m->issuer == NULL || m->token_endpoint == NULL) {
		metadata_free(m);
		return error_set(e, ERR_PROTOCOL,
		    "the metadata lacks issuer or token_endpoint");
	}
	return 0;
}

int
registration_parse(const char *buf, size_t len, struct registration *r,
    struct error *e)
{
	struct jfield f[] = {
		{ "client_id", J_STR, &r->client_id, 0 },
		{ "client_secret", J_STR, &r->client_secret, 0 },
	};

	memset(r, 0, sizeof(*r));
	if (json_fields(buf, len, f, sizeof(f) / sizeof(f[0]), e) != 0) {
		registration_free(r);
		return -1;
	}
	if (r->client_id == NULL || r->client_id[0] == '\0') {
		registration_free(r);
		return error_set(e, ERR_PROTOCOL,
		    "the registration reply has no client_id");
	}
	return 0;
}

static int
is_https(const char *u)
{
	return u == NULL || strncasecmp(u, "https://", 8) == 0;
}

static int
do_register(struct oauth *o, const struct metadata *m, struct registration *reg,
    struct error *e)
{
	static const char body[] =
	    "{\"client_name\":\"outbox\","
	    "\"redirect_uris\":[\"http://127.0.0.1/\"],"
	    "\"grant_types\":[\"authorization_code\",\"refresh_token\","
	    "\"urn:ietf:params:oauth:grant-type:device_code\"],"
	    "\"response_types\":[\"code\"],"
	    "\"token_endpoint_auth_method\":\"none\","
	    "\"application_type\":\"native\"}";
	struct http_opts h = o->http;
	struct http_resp r;

	if (m->registration_endpoint == NULL)
		return error_set(e, ERR_CONFIG,
		    "no oauth2_client_id, and %s offers no "
		    "dynamic registration: register a client "
		    "there and set oauth2_client_id",
		    m->issuer);
	h.content_type = "application/json";
	trace(&o->http, "registering a client");
	if (http_request(&h, m->registration_endpoint, body, &r, e) != 0)
		return -1;
	if (r.status >= 500 || r.status == 429) {
		http_resp_free(&r);
		return error_set(e, ERR_TEMP,
		    "the registration endpoint answered HTTP %ld", r.status);
	}
	if (r.status != 200 && r.status != 201) {
		http_resp_free(&r);
		return error_set(e, ERR_CONFIG,
		    "the registration endpoint refused (HTTP "
		    "%ld): register a client and set "
		    "oauth2_client_id",
		    r.status);
	}
	if (registration_parse(r.body, r.len, reg, e) != 0) {
		http_resp_free(&r);
		return -1;
	}
	http_resp_free(&r);
	o->client_id = reg->client_id;
	if (o->client_secret == NULL)
		o->client_secret = reg->client_secret;
	return 0;
}

int
discover(struct oauth *o, const char *issuer, struct metadata *m,
    struct registration *reg, struct error *e)
{
	struct http_resp r;
	char *url;
	size_t n;

	if (issuer == NULL || strncasecmp(issuer, "https://", 8) != 0)
		return error_set(e, ERR_CONFIG,
		    "oauth2_issuer must be an https:// URL");
	n = strlen(issuer);
	while (n > 0 && issuer[n - 1] == '/')
		n--;
	url = malloc(n + 64);
	if (url == NULL)
		return error_set(e, ERR_OSERR, "out of memory");
	snprintf(url, n + 64, "%.*s/.well-known/oauth-authorization-server",
	    (int)n, issuer);
	trace(&o->http, "reading the authorization server's metadata");
	if (http_request(&o->http, url, NULL, &r, e) != 0) {
		free(url);
		return -1;
	}
	free(url);
	if (r.status >= 500 || r.status == 429) {
		http_resp_free(&r);
		return error_set(e, ERR_TEMP,
		    "the metadata endpoint answered HTTP %ld", r.status);
	}
	if (r.status != 200) {
		http_resp_free(&r);
		return error_set(e, ERR_CONFIG,
		    "%.*s publishes no metadata (HTTP %ld)", (int)n, issuer,
		    r.status);
	}
	if (metadata_parse(r.body, r.len, m, e) != 0) {
		http_resp_free(&r);
		return -1;
	}
	http_resp_free(&r);
	if (strncmp(m->issuer, issuer, n) != 0 ||
	    (m->issuer[n] != '\0' && strcmp(m->issuer + n, "/") != 0))
		return error_set(e, ERR_PROTOCOL,
		    "the metadata names another issuer");
	if (!is_https(m->token_endpoint) ||
	    !is_https(m->authorization_endpoint) ||
	    !is_https(m->device_authorization_endpoint) ||
	    !is_https(m->registration_endpoint))
		return error_set(e, ERR_PROTOCOL,
		    "the metadata names an endpoint that is not "
		    "https://");
	if (o->auth_endpoint == NULL)
		o->auth_endpoint = m->authorization_endpoint;
	if (o->token_endpoint == NULL)
		o->token_endpoint = m->token_endpoint;
	if (o->device_endpoint == NULL)
		o->device_endpoint = m->device_authorization_endpoint;
	if (o->client_id == NULL)
		return do_register(o, m, reg, e);
	return 0;
}
