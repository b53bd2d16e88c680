/*
 * auth.h: outbox-auth's modules (the OAuth2 companion program): the
 * request read from stdin, HTTPS (http.c), JSON (json.c), the token
 * file (store.c), the provider table (provider.c) and the flows.
 */
#ifndef OUTBOX_AUTH_H
#define OUTBOX_AUTH_H

#include <stddef.h>
#include <time.h>

#include "error.h"

/* request.c: the key=value request. */
enum req_key {
	RK_ACCOUNT,
	RK_HOST,
	RK_USER,
	RK_PROVIDER,
	RK_CLIENT_ID,
	RK_CLIENT_SECRET,
	RK_SCOPE,
	RK_AUTH_ENDPOINT,
	RK_TOKEN_ENDPOINT,
	RK_DEVICE_ENDPOINT,
	RK_ISSUER,
	RK_TRUST_FILE,
	RK_TOKEN_FILE,
	RK_KEYRING,
	RK_KEEPALIVE,
	RK_FLOW,
	RK_VERBOSE,
	RK_COUNT
};

#define REQ_MAX (64 * 1024)

struct request {
	char *v[RK_COUNT]; /* NULL when absent */
	char *rest;	   /* what follows an empty line (paste flow) */
};

/* Parse len bytes; 0, or -1 with e set (ERR_USAGE). */
int request_parse(struct request *, const char *buf, size_t len,
    struct error *e);
void request_free(struct request *);
const char *req_get(const struct request *, enum req_key);
const char *req_key_name(enum req_key);

/* http.c: HTTPS requests through libcurl. */
#define HTTP_BODY_MAX (1024 * 1024)
struct http_opts {
	const char *trust_file; /* NULL: the system store */
	const char *account;	/* for verbose traces */
	int verbose;
	int allow_http;		  /* fetch --insecure-hint */
	long timeout;		  /* seconds, whole transfer */
	const char *content_type; /* of a POST body; NULL: a form */
};
struct http_resp {
	long status;
	char *body; /* NUL-terminated, len bytes */
	size_t len;
	char ctype[128];
};
/* GET (form NULL) or POST form. ERR_TEMP for connection trouble and
 * timeouts, ERR_PROTOCOL for oversized replies and bad redirects,
 * ERR_CONFIG for a non-HTTPS URL or an unreadable trust file. */
int http_request(const struct http_opts *, const char *url, const char *form,
    struct http_resp *, struct error *);
void http_resp_free(struct http_resp *);
/* Append key=value, URL-encoded, to a form (allocated); -1 out of memory. */
int http_form_add(char **form, const char *key, const char *value);
/* Percent-decode in place ('+' is a space); -1 on a bad escape. */
int url_decode(char *);
int http_global_init(void);

/* json.c: reading and writing the few JSON objects outbox-auth sees. */
enum jtype {
	J_STR,
	J_INT
};
struct jfield {
	const char *name;
	enum jtype type;
	void *dest; /* char ** (allocated) or long long * */
	int found;
};
/* Parse a JSON object and fill the fields it names; other members are
 * ignored.  -1 with e set (ERR_PROTOCOL) on anything but an object. */
int json_fields(const char *buf, size_t len, struct jfield *, size_t n,
    struct error *e);
/* Serialise the fields (NULL strings and J_INT < 0 left out). */
char *json_write(const struct jfield *, size_t n);

/* store.c: the token file. */
struct tokens {
	char *access_token;
	long long expires_at;
	char *refresh_token;
	long long refresh_obtained;
	long long last_used;
	char *client_id;
	char *client_secret;
	char *token_endpoint;
	int present; /* the file exists */
};
void tokens_free(struct tokens *);
int tokens_parse(const char *buf, size_t len, struct tokens *, struct error *);
/* Read the file: 0 (t->present says whether it exists) or -1. */
int store_read(const char *path, struct tokens *, struct error *);
int store_write(const char *path, const struct tokens *, struct error *);
/* Take the lock (path.lock); the fd, or -1. Waits at most wait seconds. */
int store_lock(const char *path, int wait, struct error *);
void store_unlock(int fd);
/* With keyring set, the refresh token goes to (comes from) the Secret
 * Service rather than the file: ERR_UNAVAILABLE when it cannot. */
int store_save(const char *path, const struct tokens *, int keyring,
    const char *account, struct error *);
int store_load_refresh(const char *path, struct tokens *, int keyring,
    struct error *);
/* Create the file's directory (0700) when missing. */
int store_mkdir(const char *path, struct error *);

/* provider.c: the provider table and the resolved configuration. */
struct oauth {
	const char *account;
	const char *provider; /* the table's name, or NULL */
	const char *user;
	const char *client_id;
	const char *client_secret;
	const char *scope;
	const char *auth_endpoint;
	const char *token_endpoint;
	const char *device_endpoint;
	const char *registration_endpoint;
	const char *mechanisms;
	const char *best_flow;
	int discover;
	int keyring; /* keyring=on */
	struct http_opts http;
};
/* Fill o from the request's provider and overrides (no network). */
int provider_resolve(const struct request *, struct oauth *, struct error *);
/* Checks client_id, the endpoints are HTTPS. */
int provider_check(const struct oauth *, int need_auth, struct error *);

/* grant.c: token endpoint requests. */
struct grant {
	char *access_token;
	char *refresh_token;
	long long expires_in;
	char *error;
	char *error_description;
};
void grant_free(struct grant *);
/* Parse a token endpoint's reply body. */
int grant_parse(const char *buf, size_t len, struct grant *, struct error *);
/* POST form to the token endpoint; on an OAuth error reply, -1 with
 * g->error set and e worded (ERR_AUTH for invalid_grant/invalid_client). */
int grant_post(const struct oauth *, const char *form, struct grant *,
    struct error *);
/* Store a grant's result into t (rotation: a new refresh token replaces
 * the old). */
/* The longest access token lifetime believed, in seconds: a year. */
#define GRANT_LIFETIME_MAX (366LL * 86400)
int grant_apply(struct tokens *, const struct grant *, time_t now);

/* trace.c: verbose lines (never secrets). */
/* Wipe a secret string, free it and set the pointer to NULL (wipe.c). */
void auth_wipe_free(char **);
void trace(const struct http_opts *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
