/* sasl.c: mechanism choice and steps; the only user of libgsasl. */
#include "sasl.h"
#include "secret.h"

#include <gsasl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	M_CLEAR = 1 << 0, /* reveals the password to an eavesdropper */
	M_CB = 1 << 1,	  /* needs TLS channel binding */
	M_FIRST = 1 << 2, /* client speaks first: initial response */
	M_AUTO = 1 << 3,  /* may be chosen automatically */
	M_OAUTH = 1 << 4, /* built here: libgsasl lacks it */
	M_TLS = 1 << 5,	  /* chosen automatically only under TLS */
};

/* Strongest first: automatic choice takes the first usable row. */
static const struct mech {
	const char *name;
	int flags;
} mechs[] = {
	{ "SCRAM-SHA-256-PLUS", M_CB | M_FIRST | M_AUTO },
	{ "SCRAM-SHA-1-PLUS", M_CB | M_FIRST | M_AUTO },
	{ "SCRAM-SHA-256", M_FIRST | M_AUTO },
	{ "SCRAM-SHA-1", M_FIRST | M_AUTO },
	{ "PLAIN", M_CLEAR | M_FIRST | M_AUTO | M_TLS },
	{ "CRAM-MD5", M_AUTO | M_TLS },
	{ "LOGIN", M_CLEAR | M_AUTO | M_TLS },
	{ "DIGEST-MD5", 0 },
	{ "NTLM", 0 },
	{ "GSSAPI", 0 },
	{ "EXTERNAL", M_FIRST },
	{ "OAUTHBEARER", M_CLEAR | M_FIRST | M_OAUTH },
	{ "XOAUTH2", M_CLEAR | M_FIRST | M_OAUTH },
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

struct sasl {
	const struct mech *m;
	Gsasl *ctx;
	Gsasl_session *sess;
	char *oauth; /* the OAuth initial response, base64 */
	int steps;
	int done; /* the mechanism has said all it has to say */
};

static const struct mech *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (strcasecmp(mechs[i].name, name) == 0)
			return &mechs[i];
	return NULL;
}

int
sasl_known(const char *name)
{
	return find(name) != NULL;
}

/* Whether the server's list (space-separated) holds name. */
static int
offers(const char *offered, const char *name)
{
	size_t n = strlen(name);
	const char *p = offered;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, name, n) == 0 &&
		    (p[n] == ' ' || p[n] == '\0'))
			return 1;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	return 0;
}

static int
supported(const struct mech *m)
{
	Gsasl *ctx;
	int ok;

	if (m->flags & M_OAUTH)
		return 1;
	if (gsasl_init(&ctx) != GSASL_OK)
		return 0;
	ok = gsasl_client_support_p(ctx, m->name);
	gsasl_done(ctx);
	return ok;
}

int
sasl_oauth(const char *mech)
{
	const struct mech *m = mech != NULL ? find(mech) : NULL;

	return m != NULL && (m->flags & M_OAUTH) != 0;
}

int
sasl_choose(const char *configured, const char *offered, int tls, int cb,
    const char **mech, struct error *err)
{
	const struct mech *m;
	size_t i;

	if (configured != NULL && strcasecmp(configured, "on") != 0) {
		/* A mechanism the user named is used as named (RFC 4954 4). */
		if ((m = find(configured)) == NULL || !supported(m))
			return error_set(err, ERR_UNAVAILABLE,
			    "authentication method %s is not supported",
			    configured);
		if (!offers(offered, m->name))
			return error_set(err, ERR_UNAVAILABLE,
			    "the server does not support authentication "
			    "method %s",
			    m->name);
		*mech = m->name;
		return 0;
	}
	for (i = 0; i < NMECHS; i++) {
		m = &mechs[i];
		if (!(m->flags & M_AUTO) || !offers(offered, m->name))
			continue;
		/*
		 * Without TLS, only SCRAM: the rest reveal the password or
		 * give an eavesdropper what a dictionary attack needs.
		 */
		if (!tls && (m->flags & M_TLS))
			continue;
		if ((m->flags & M_CB) && !cb)
			continue;
		if (!supported(m))
			continue;
		*mech = m->name;
		return 0;
	}
	return error_set(err, ERR_UNAVAILABLE,
	    "cannot use a secure authentication method%s",
	    tls ? "" : " without TLS");
}

static char *
b64(const char *in, size_t len)
{
	char *out = NULL;
	size_t outlen;

	if (gsasl_base64_to(in, len, &out, &outlen) != GSASL_OK)
		return NULL;
	return out;
}

/*
 * OAuth initial responses.  XOAUTH2: "user=U^Aauth=Bearer T^A^A";
 * OAUTHBEARER (RFC 7628 3.1): "n,a=U,^Aauth=Bearer T^A^A".
 */
static int
oauth_initial(struct sasl *s, const struct sasl_creds *c, struct error *err)
{
	const char *user = c->user ? c->user : "";
	const char *tok = c->password ? c->password : "";
	size_t n = strlen(user) + strlen(tok) + 32;
	char *raw;
	int len;

	if ((raw = malloc(n)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (strcmp(s->m->name, "XOAUTH2") == 0)
		len = snprintf(raw, n, "user=%s\001auth=Bearer %s\001\001",
		    user, tok);
	else
		len = snprintf(raw, n, "n,a=%s,\001auth=Bearer %s\001\001",
		    user, tok);
	s->oauth = b64(raw, (size_t)len);
	explicit_bzero(raw, n);
	free(raw);
	if (s->oauth == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

struct sasl *
sasl_new(const char *mech, const struct sasl_creds *c, struct error *err)
{
	struct sasl *s;
	char *cb;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	if ((s->m = find(mech)) == NULL) {
		free(s);
		error_set(err, ERR_UNAVAILABLE,
		    "authentication method %s is not supported", mech);
		return NULL;
	}
	if (s->m->flags & M_OAUTH) {
		if (oauth_initial(s, c, err) == -1) {
			free(s);
			return NULL;
		}
		return s;
	}
	if ((r = gsasl_init(&s->ctx)) != GSASL_OK ||
	    (r = gsasl_client_start(s->ctx, s->m->name, &s->sess)) !=
		GSASL_OK) {
		error_set(err, ERR_SOFTWARE, "SASL: %s", gsasl_strerror(r));
		sasl_free(s);
		return NULL;
	}
	if (c->user != NULL)
		gsasl_property_set(s->sess, GSASL_AUTHID, c->user);
	if (c->password != NULL)
		gsasl_property_set(s->sess, GSASL_PASSWORD, c->password);
	if (c->realm != NULL)
		gsasl_property_set(s->sess, GSASL_REALM, c->realm);
	/* Only a -PLUS mechanism gets the binding (RFC 5802 6). */
	if ((s->m->flags & M_CB) && c->cb_type != NULL) {
		if ((cb = b64((const char *)c->cb_data, c->cb_len)) == NULL) {
			error_set(err, ERR_OSERR, "out of memory");
			sasl_free(s);
			return NULL;
		}
		gsasl_property_set(s->sess,
		    strcmp(c->cb_type, "tls-exporter") == 0 ?
			GSASL_CB_TLS_EXPORTER :
			GSASL_CB_TLS_UNIQUE,
		    cb);
		free(cb);
	}
	return s;
}

static int
step(struct sasl *s, const char *in, char **out, struct error *err)
{
	int r;

	*out = NULL;
	r = gsasl_step64(s->sess, in, out);
	if (r != GSASL_OK && r != GSASL_NEEDS_MORE) {
		*out = NULL;
		if (r == GSASL_BASE64_ERROR)
			return error_set(err, ERR_PROTOCOL,
			    "the server sent "
			    "an authentication challenge that is not base64");
		return error_set(err, ERR_AUTH, "authentication failed: %s",
		    gsasl_strerror(r));
	}
	if (r == GSASL_OK)
		s->done = 1;
	if (*out == NULL && (*out = strdup("")) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

int
sasl_initial(struct sasl *s, char **out, struct error *err)
{
	*out = NULL;
	if (!(s->m->flags & M_FIRST))
		return 0;
	s->steps++;
	if (s->oauth != NULL) {
		*out = strdup(s->oauth);
		return *out ? 0 : error_set(err, ERR_OSERR, "out of memory");
	}
	if (step(s, "", out, err) == -1)
		return -1;
	/* RFC 4954 4: an empty initial response is sent as "=". */
	if (**out == '\0') {
		free(*out);
		if ((*out = strdup("=")) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
	}
	return 0;
}

int
sasl_step(struct sasl *s, const char *challenge, char **out, struct error *err)
{
	if (++s->steps > 10)
		return error_set(err, ERR_PROTOCOL,
		    "the server asked for too many authentication steps");
	/* Never answer again once finished: that would repeat secrets. */
	if (s->done)
		return error_set(err, ERR_PROTOCOL,
		    "the server asked for more after the %s exchange was "
		    "complete",
		    s->m->name);
	if (s->oauth != NULL) {
		s->done = 1;
		/*
		 * A challenge after the token carries the error (RFC 7628
		 * 3.2.3); the answer ends the exchange so the server says
		 * why with its final reply.
		 */
		*out = strdup(strcmp(s->m->name, "XOAUTH2") == 0 ? "" : "AQ==");
		return *out ? 0 : error_set(err, ERR_OSERR, "out of memory");
	}
	return step(s, challenge, out, err);
}

void
sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	if (s->sess != NULL)
		gsasl_finish(s->sess);
	if (s->ctx != NULL)
		gsasl_done(s->ctx);
	secret_free(s->oauth);
	free(s);
}

const char *
sasl_version(void)
{
	return gsasl_check_version(NULL);
}

char *
sasl_base64(const void *p, size_t n)
{
	return b64(p, n);
}
