/*
 * provider.c: the providers outbox-auth knows (endpoints, scopes, SASL
 * mechanisms, best interactive flow) and the request's overrides.  No
 * client ID is shipped: each user registers their own.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

static const struct provider {
	const char *name;
	const char *auth, *token, *device;
	const char *scope;
	const char *mechanisms;
	const char *flow;
	const char *register_hint;
} providers[] = {
	{ "google", "https://accounts.google.com/o/oauth2/v2/auth",
	    "https://oauth2.googleapis.com/token", NULL,
	    "https://mail.google.com/", "OAUTHBEARER XOAUTH2", "browser",
	    "create a \"Desktop app\" OAuth client in your Google Cloud "
	    "project and set oauth2_client_id" },
	{ "microsoft",
	    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
	    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
	    "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
	    "https://outlook.office.com/SMTP.Send offline_access", "XOAUTH2",
	    "device",
	    "register an application in your Microsoft Entra tenant "
	    "(public client, redirect http://localhost) and set "
	    "oauth2_client_id" },
};

static const char *
set(const struct request *r, enum req_key k, const char *dflt)
{
	const char *v = req_get(r, k);

	return v != NULL && *v != '\0' ? v : dflt;
}

int
provider_resolve(const struct request *r, struct oauth *o, struct error *e)
{
	const char *name = set(r, RK_PROVIDER, NULL);
	const struct provider *p = NULL;

	memset(o, 0, sizeof(*o));
	o->account = set(r, RK_ACCOUNT, NULL);
	if (o->account == NULL)
		return error_set(e, ERR_USAGE, "the request names no account");
	if (name != NULL && strcmp(name, "discover") == 0) {
		o->discover = 1;
	} else if (name != NULL) {
		for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]);
		     i++)
			if (strcasecmp(providers[i].name, name) == 0)
				p = &providers[i];
		if (p == NULL)
			return error_set(e, ERR_CONFIG,
			    "unknown oauth2_provider %s (google, "
			    "microsoft or discover)",
			    name);
	}
	o->provider = p != NULL ? p->name : NULL;
	o->user = set(r, RK_USER, NULL);
	o->client_id = set(r, RK_CLIENT_ID, NULL);
	o->client_secret = set(r, RK_CLIENT_SECRET, NULL);
	o->scope = set(r, RK_SCOPE, p ? p->scope : NULL);
	o->auth_endpoint = set(r, RK_AUTH_ENDPOINT, p ? p->auth : NULL);
	o->token_endpoint = set(r, RK_TOKEN_ENDPOINT, p ? p->token : NULL);
	o->device_endpoint = set(r, RK_DEVICE_ENDPOINT, p ? p->device : NULL);
	o->mechanisms = p ? p->mechanisms : "XOAUTH2 OAUTHBEARER";
	o->best_flow = p ? p->flow : NULL;
	o->http.trust_file = set(r, RK_TRUST_FILE, NULL);
	o->http.account = o->account;
	o->http.verbose = set(r, RK_VERBOSE, "0")[0] == '1';
	o->http.timeout = 30;
	o->keyring = strcmp(set(r, RK_KEYRING, "off"), "on") == 0;
	if (o->discover && set(r, RK_ISSUER, NULL) == NULL)
		return error_set(e, ERR_CONFIG,
		    "oauth2_provider discover needs oauth2_issuer");
	return 0;
}

static const char *
hint(const char *provider)
{
	for (size_t i = 0;
	     provider != NULL && i < sizeof(providers) / sizeof(providers[0]);
	     i++)
		if (strcasecmp(providers[i].name, provider) == 0)
			return providers[i].register_hint;
	return "register a client with your authorization server and set "
	       "oauth2_client_id";
}

static int
https(const char *what, const char *url, struct error *e)
{
	if (url != NULL && strncasecmp(url, "https://", 8) != 0)
		return error_set(e, ERR_CONFIG, "%s %s is not https://", what,
		    url);
	return 0;
}

int
provider_check(const struct oauth *o, int need_auth, struct error *e)
{
	if (o->client_id == NULL)
		return error_set(e, ERR_CONFIG,
		    "no oauth2_client_id: outbox ships none; %s",
		    hint(o->provider));
	if (o->token_endpoint == NULL)
		return error_set(e, ERR_CONFIG,
		    "no oauth2_token_endpoint (set "
		    "oauth2_provider or the endpoints)");
	if (https("oauth2_token_endpoint", o->token_endpoint, e) != 0 ||
	    https("oauth2_auth_endpoint", o->auth_endpoint, e) != 0 ||
	    https("oauth2_device_endpoint", o->device_endpoint, e) != 0 ||
	    https("registration endpoint", o->registration_endpoint, e) != 0)
		return -1;
	if (need_auth && o->auth_endpoint == NULL && o->device_endpoint == NULL)
		return error_set(e, ERR_CONFIG,
		    "no oauth2_auth_endpoint or "
		    "oauth2_device_endpoint to authorize with");
	return 0;
}
