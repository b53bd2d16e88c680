/*
 * hint.c: the table from a failure to the setting that fixes it.  A row
 * matches on the reply code, the enhanced status code (RFC 3463), a text
 * pattern and a condition on the account; adding a provider's code is one
 * row.  The first matching row wins, so specific rows come first.
 */
#include "hint.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum cond {
	C_ANY = 0,
	C_AUTH_OFF,	/* auth off */
	C_NO_TLS,	/* tls off */
	C_PLAIN_FIRST,	/* plain greeting expected: no TLS or STARTTLS */
	C_IMPLICIT_TLS, /* tls on, tls_starttls off */
};

struct row {
	int code;	  /* reply code, 0: any */
	const char *esc;  /* enhanced status code, NULL: any */
	const char *text; /* in the reply or the message, NULL: any */
	enum cond cond;
	const char *hint;
};

static const struct row rows[] = {
	/* Providers' codes: the most specific first. */
	{ 535, "5.7.139", NULL, C_ANY,
	    "the provider has SMTP AUTH turned off for this mailbox or "
	    "tenant: an administrator must allow authenticated SMTP, or use "
	    "auth xoauth2" },
	{ 550, "5.7.30", NULL, C_ANY,
	    "the provider no longer accepts passwords (basic "
	    "authentication): use auth xoauth2 or auth oauthbearer" },
	{ 534, "5.7.9", NULL, C_ANY,
	    "the provider wants an application-specific password: create "
	    "one in the account's security settings and put it in password "
	    "or passwordeval" },
	{ 535, "5.7.8", NULL, C_ANY,
	    "the server refused the user name or password: check password "
	    "(or passwordeval) and user (some providers want the whole "
	    "address, some only the part before the @)" },
	{ 550, "5.7.60", NULL, C_ANY,
	    "this login may not send as the envelope sender: set from to an "
	    "address of this account, or get send-as rights for it" },
	{ 0, "5.7.1", "send as", C_ANY,
	    "this login may not send as the envelope sender: set from to an "
	    "address of this account, or get send-as rights for it" },
	{ 0, "5.7.1", "not allowed to send", C_ANY,
	    "this login may not send as the envelope sender: set from to an "
	    "address of this account, or get send-as rights for it" },
	{ 0, "5.7.1", "not owned by", C_ANY,
	    "this login may not send as the envelope sender: set from to an "
	    "address of this account, or get send-as rights for it" },
	/* The message itself. */
	{ 552, "5.3.4", NULL, C_ANY,
	    "the message is larger than the server takes (outbox -S shows "
	    "its SIZE limit): send it smaller, or put the file somewhere and "
	    "send a link" },
	{ 552, NULL, "size", C_ANY,
	    "the message is larger than the server takes (outbox -S shows "
	    "its SIZE limit): send it smaller, or put the file somewhere and "
	    "send a link" },
	/* Submission without authentication. */
	{ 530, NULL, NULL, C_AUTH_OFF,
	    "the server wants authentication: set auth on, user and password "
	    "(or passwordeval)" },
	{ 0, NULL, "authentication required", C_AUTH_OFF,
	    "the server wants authentication: set auth on, user and password "
	    "(or passwordeval)" },
	{ 0, NULL, "relay", C_AUTH_OFF,
	    "the server relays only for authenticated users: set auth on, "
	    "user and password (or passwordeval)" },
	{ 0, NULL, "authentication is required", C_AUTH_OFF,
	    "the server wants authentication: set auth on, user and password "
	    "(or passwordeval)" },
	/* Authentication before TLS. */
	{ 0, NULL, "cannot use a secure authentication method without TLS",
	    C_NO_TLS,
	    "PLAIN and LOGIN send the password readably: set tls on (with "
	    "tls_starttls on for port 587)" },
	{ 0, NULL, "the server does not support authentication", C_NO_TLS,
	    "many servers offer AUTH only after TLS: set tls on (with "
	    "tls_starttls on for port 587)" },
	{ 538, NULL, NULL, C_NO_TLS,
	    "the server wants TLS before AUTH: set tls on (with tls_starttls "
	    "on for port 587)" },
	/* A name that does not resolve (getaddrinfo: EAI_NONAME, EAI_NODATA). */
	{ 0, NULL, "Name or service not known", C_ANY,
	    "no such host name: check host (or proxy_host) for a typo; "
	    "outbox -P shows the settings in use" },
	{ 0, NULL, "No address associated with hostname", C_ANY,
	    "the name has no address: check host (or proxy_host); a "
	    "provider's submission server is often smtp.DOMAIN" },
	/* Nothing listens there: a server down, or the wrong host or port. */
	{ 0, NULL, "Connection refused", C_ANY,
	    "nothing listens on that port: if it lasts, check host and port "
	    "(587 with STARTTLS, 465 with implicit TLS), or the proxy's" },
	/* The wrong TLS mode for the port. */
	{ 0, NULL, "sent nothing", C_PLAIN_FIRST,
	    "a server that says nothing usually waits for TLS (port 465): set "
	    "tls on and tls_starttls off, or use port 587 with tls_starttls "
	    "on" },
	{ 0, NULL, "answered in plain text", C_IMPLICIT_TLS,
	    "this port speaks plain SMTP first (port 587 or 25): set "
	    "tls_starttls on, or use port 465 with tls_starttls off" },
};

static int
cond_holds(enum cond c, const struct hint_ctx *x)
{
	switch (c) {
	case C_ANY:
		return 1;
	case C_AUTH_OFF:
		return !x->auth;
	case C_NO_TLS:
		return !x->tls;
	case C_PLAIN_FIRST:
		return !x->tls || x->starttls;
	case C_IMPLICIT_TLS:
		return x->tls && !x->starttls;
	}
	return 0;
}

/* Does an enhanced status code esc stand in s as a word of its own? */
static int
has_esc(const char *s, const char *esc)
{
	size_t n = strlen(esc);
	const char *p;

	for (p = s; (p = strstr(p, esc)) != NULL; p++) {
		if (p > s && !isspace((unsigned char)p[-1]) && p[-1] != '-')
			continue;
		if (isdigit((unsigned char)p[n]) || p[n] == '.')
			continue;
		return 1;
	}
	return 0;
}

static int
has_text(const char *s, const char *pat)
{
	size_t n = strlen(pat);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, pat, n) == 0)
			return 1;
	return 0;
}

const char *
hint_find(const struct hint_ctx *x, const struct error *e)
{
	size_t i;
	const struct row *r;

	if (e->kind == ERR_NONE)
		return NULL;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = &rows[i];
		if (r->code != 0 && r->code != e->code)
			continue;
		if (r->esc != NULL && !has_esc(e->reply, r->esc))
			continue;
		if (r->text != NULL && !has_text(e->reply, r->text) &&
		    !has_text(e->msg, r->text))
			continue;
		if (!cond_holds(r->cond, x))
			continue;
		return r->hint;
	}
	return NULL;
}

void
hint_apply(const struct hint_ctx *x, struct error *e)
{
	const char *h = hint_find(x, e);

	if (h != NULL && e->hint[0] == '\0')
		snprintf(e->hint, sizeof(e->hint), "%s", h);
}
