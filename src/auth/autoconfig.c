/*
 * autoconfig.c: see autoconfig.h.  The only file that includes expat.h.
 * Everything is bounded: the document's size, its depth, the number of
 * servers and each value; a document type declaration (and with it any
 * entity declaration: internal, external or nested "billion laughs") is
 * refused outright, so no entity is ever expanded.
 */
#include "autoconfig.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One outgoing server as read, before it is checked. */
struct server {
	char type[AUTOCONFIG_TEXT_MAX + 1];
	char host[AUTOCONFIG_TEXT_MAX + 1];
	char port[AUTOCONFIG_TEXT_MAX + 1];
	char socket[AUTOCONFIG_TEXT_MAX + 1];
	char user[AUTOCONFIG_TEXT_MAX + 1];
	int has_user;
	unsigned int auth;
};

/* The elements whose text is kept, inside an outgoingServer. */
enum field {
	F_NONE,
	F_HOST,
	F_PORT,
	F_SOCKET,
	F_AUTH,
	F_USER,
	F_ISSUER,
};

struct parse {
	XML_Parser p;
	const char *address;
	struct autoconfig *out;
	struct server cur;
	int depth;
	int in_client;	 /* depth of clientConfig, 0 if outside */
	int in_provider; /* depth of emailProvider */
	int in_server;	 /* depth of outgoingServer */
	int in_oauth;	 /* depth of oAuth2 */
	enum field field;
	char text[AUTOCONFIG_TEXT_MAX + 1];
	size_t tlen;
	unsigned int servers;
	int chosen;
	const char *why; /* set when parsing was stopped */
};

static void
stop(struct parse *ps, const char *why)
{
	if (ps->why == NULL)
		ps->why = why;
	XML_StopParser(ps->p, XML_FALSE);
}

/* Copy s, with its leading and trailing white space removed. */
static void
trimmed(char *dst, size_t cap, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++, n--;
	while (n > 0 &&
	    (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
		s[n - 1] == '\n'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static const char *
attr(const XML_Char **atts, const char *name)
{
	for (; atts != NULL && atts[0] != NULL; atts += 2)
		if (strcmp(atts[0], name) == 0)
			return atts[1];
	return NULL;
}

static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct parse *ps = arg;
	const char *v;

	if (++ps->depth > AUTOCONFIG_DEPTH_MAX) {
		stop(ps, "nested too deeply");
		return;
	}
	ps->field = F_NONE;
	ps->tlen = 0;
	if (ps->depth == 1) {
		if (strcmp(name, "clientConfig") != 0)
			stop(ps, "not a clientConfig document");
		ps->in_client = 1;
		return;
	}
	if (ps->in_server != 0) {
		if (ps->depth != ps->in_server + 1)
			return;
		if (strcmp(name, "hostname") == 0)
			ps->field = F_HOST;
		else if (strcmp(name, "port") == 0)
			ps->field = F_PORT;
		else if (strcmp(name, "socketType") == 0)
			ps->field = F_SOCKET;
		else if (strcmp(name, "authentication") == 0)
			ps->field = F_AUTH;
		else if (strcmp(name, "username") == 0)
			ps->field = F_USER;
		return;
	}
	if (ps->in_oauth != 0) {
		if (ps->depth == ps->in_oauth + 1 &&
		    strcmp(name, "issuer") == 0)
			ps->field = F_ISSUER;
		return;
	}
	if (ps->depth == 2 && strcmp(name, "emailProvider") == 0 &&
	    ps->in_provider == 0) {
		ps->in_provider = ps->depth;
		if ((v = attr(atts, "id")) != NULL && ps->out->provider[0] == 0)
			trimmed(ps->out->provider, sizeof(ps->out->provider), v,
			    strlen(v));
		return;
	}
	if (ps->depth == 2 && strcmp(name, "oAuth2") == 0) {
		ps->in_oauth = ps->depth;
		return;
	}
	if (ps->in_provider != 0 && ps->depth == ps->in_provider + 1 &&
	    (strcmp(name, "outgoingServer") == 0 ||
		strcmp(name, "incomingServer") == 0)) {
		if (++ps->servers > AUTOCONFIG_SERVERS_MAX) {
			stop(ps, "too many servers");
			return;
		}
		if (strcmp(name, "outgoingServer") != 0)
			return;
		memset(&ps->cur, 0, sizeof(ps->cur));
		if ((v = attr(atts, "type")) != NULL)
			trimmed(ps->cur.type, sizeof(ps->cur.type), v,
			    strlen(v));
		ps->in_server = ps->depth;
	}
}

static void XMLCALL
on_text(void *arg, const XML_Char *s, int len)
{
	struct parse *ps = arg;

	if (ps->field == F_NONE || len <= 0)
		return;
	if (ps->tlen + (size_t)len > AUTOCONFIG_TEXT_MAX) {
		stop(ps, "a value is too long");
		return;
	}
	memcpy(ps->text + ps->tlen, s, (size_t)len);
	ps->tlen += (size_t)len;
}

static void
keep_field(struct parse *ps)
{
	struct server *c = &ps->cur;
	char v[AUTOCONFIG_TEXT_MAX + 1];

	trimmed(v, sizeof(v), ps->text, ps->tlen);
	/* A control character inside a value: the value is not there. */
	for (const char *p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			v[0] = '\0';
			break;
		}
	switch (ps->field) {
	case F_HOST:
		memcpy(c->host, v, sizeof(v));
		break;
	case F_PORT:
		memcpy(c->port, v, sizeof(v));
		break;
	case F_SOCKET:
		memcpy(c->socket, v, sizeof(v));
		break;
	case F_USER:
		memcpy(c->user, v, sizeof(v));
		c->has_user = 1;
		break;
	case F_AUTH:
		if (strcmp(v, "password-cleartext") == 0 ||
		    strcmp(v, "plain") == 0)
			c->auth |= AUTOCONFIG_AUTH_PASSWORD;
		else if (strcmp(v, "password-encrypted") == 0 ||
		    strcmp(v, "secure") == 0)
			c->auth |= AUTOCONFIG_AUTH_ENCRYPTED;
		else if (strcmp(v, "OAuth2") == 0)
			c->auth |= AUTOCONFIG_AUTH_OAUTH2;
		else if (strcmp(v, "none") == 0 ||
		    strcmp(v, "client-IP-address") == 0)
			c->auth |= AUTOCONFIG_AUTH_NONE;
		break;
	case F_ISSUER:
		if (ps->out->oauth2_issuer[0] == '\0')
			memcpy(ps->out->oauth2_issuer, v, sizeof(v));
		break;
	case F_NONE:
		break;
	}
}

/* A host name: letters, digits, '-' and dots between labels of 1-63. */
static int
is_host(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0;
}

/*
 * Replace the placeholders of the draft in s into dst; -1 for one that
 * is unknown or a result too long.
 */
static int
substitute(char *dst, size_t cap, const char *s, const char *address)
{
	static const char *const names[] = { "%EMAILADDRESS%",
		"%EMAILLOCALPART%", "%EMAILDOMAIN%" };
	const char *at = strrchr(address, '@');
	size_t n = 0, k, vlen;
	const char *v;

	if (at == NULL)
		return -1;
	while (*s != '\0') {
		if (*s != '%') {
			if (n + 1 >= cap)
				return -1;
			dst[n++] = *s++;
			continue;
		}
		for (k = 0; k < 3; k++)
			if (strncmp(s, names[k], strlen(names[k])) == 0)
				break;
		if (k == 3)
			return -1;
		v = k == 0 ? address : k == 1 ? address : at + 1;
		vlen = k == 0 ? strlen(address) :
		    k == 1    ? (size_t)(at - address) :
				strlen(at + 1);
		if (n + vlen >= cap)
			return -1;
		memcpy(dst + n, v, vlen);
		n += vlen;
		s += strlen(names[k]);
	}
	dst[n] = '\0';
	return 0;
}

/*
 * The end of an outgoingServer: take it when it is SMTP over TLS with a
 * host and port, and better than what was taken (RFC 8314 3.3: implicit
 * TLS before STARTTLS; plain is never taken).
 */
static void
end_server(struct parse *ps)
{
	struct server *c = &ps->cur;
	struct autoconfig *o = ps->out;
	char host[AUTOCONFIG_TEXT_MAX + 1], *end;
	unsigned long port;
	int implicit;

	if (strcmp(c->type, "smtp") != 0)
		goto skip;
	if (strcmp(c->socket, "SSL") == 0)
		implicit = 1;
	else if (strcmp(c->socket, "STARTTLS") == 0)
		implicit = 0;
	else
		goto skip;
	if (substitute(host, sizeof(host), c->host, ps->address) != 0 ||
	    !is_host(host))
		goto skip;
	if (c->port[0] < '1' || c->port[0] > '9')
		goto skip;
	port = strtoul(c->port, &end, 10);
	if (*end != '\0' || port > 65535)
		goto skip;
	if (ps->chosen && (o->implicit_tls || !implicit))
		return;
	snprintf(o->host, sizeof(o->host), "%s", host);
	o->port = (unsigned int)port;
	o->implicit_tls = implicit;
	o->auth = c->auth;
	if (!c->has_user ||
	    substitute(o->user, sizeof(o->user), c->user, ps->address) != 0)
		o->user[0] = '\0';
	ps->chosen = 1;
	return;
skip:
	o->skipped++;
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct parse *ps = arg;

	(void)name;
	if (ps->field != F_NONE)
		keep_field(ps);
	ps->field = F_NONE;
	ps->tlen = 0;
	if (ps->in_server != 0 && ps->depth == ps->in_server) {
		end_server(ps);
		ps->in_server = 0;
	} else if (ps->in_provider != 0 && ps->depth == ps->in_provider)
		ps->in_provider = 0;
	else if (ps->in_oauth != 0 && ps->depth == ps->in_oauth)
		ps->in_oauth = 0;
	ps->depth--;
}

static void XMLCALL
on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)internal;
	stop(arg, "a document type declaration is not accepted");
}

static void XMLCALL
on_entity(void *arg, const XML_Char *name, int param, const XML_Char *value,
    int vlen, const XML_Char *base, const XML_Char *sysid,
    const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)param;
	(void)value;
	(void)vlen;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	stop(arg, "an entity declaration is not accepted");
}

int
autoconfig_parse(const char *doc, size_t len, const char *address,
    struct autoconfig *out, struct error *e)
{
	struct parse ps;
	enum XML_Status st;

	memset(out, 0, sizeof(*out));
	if (len > AUTOCONFIG_DOC_MAX)
		return error_set(e, ERR_PROTOCOL,
		    "autoconfig document larger than %d KiB",
		    AUTOCONFIG_DOC_MAX / 1024);
	memset(&ps, 0, sizeof(ps));
	ps.address = address;
	ps.out = out;
	if ((ps.p = XML_ParserCreate("UTF-8")) == NULL)
		return error_set(e, ERR_OSERR, "out of memory");
	XML_SetUserData(ps.p, &ps);
	XML_SetElementHandler(ps.p, on_start, on_end);
	XML_SetCharacterDataHandler(ps.p, on_text);
	XML_SetStartDoctypeDeclHandler(ps.p, on_doctype);
	XML_SetEntityDeclHandler(ps.p, on_entity);
	XML_SetParamEntityParsing(ps.p, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(ps.p, doc, (int)len, XML_TRUE);
	if (st != XML_STATUS_OK) {
		if (ps.why != NULL)
			error_set(e, ERR_PROTOCOL,
			    "autoconfig document refused: %s", ps.why);
		else
			error_set(e, ERR_PROTOCOL,
			    "malformed autoconfig document: line %lu: %s",
			    (unsigned long)XML_GetCurrentLineNumber(ps.p),
			    XML_ErrorString(XML_GetErrorCode(ps.p)));
		XML_ParserFree(ps.p);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	XML_ParserFree(ps.p);
	if (!ps.chosen) {
		unsigned int skipped = out->skipped;

		memset(out, 0, sizeof(*out));
		return error_set(e, ERR_UNAVAILABLE,
		    "the autoconfig document names no SMTP server over TLS "
		    "(%u outgoing server%s passed over)",
		    skipped, skipped == 1 ? "" : "s");
	}
	return 0;
}
