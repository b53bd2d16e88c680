/*
 * smtp.c: the SMTP client engine (RFC 5321, 2920, 3207, 4954, 6152,
 * 8689).
 */
#include "smtp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idn.h"
#include "sasl.h"
#include "secret.h"

/* RFC 4954 4: an AUTH command line may be up to 12288 octets. */
#define AUTH_LINE_MAX 12288
/* The server's AUTH mechanisms, all lines together: more is refused. */
#define AUTH_LIST_MAX 1024
/* The greeting and EHLO text kept for -S: more is cut, and says so. */
#define GREETING_KEEP 1024
#define EHLO_KEEP 4096
/* What one group of commands may take, at most. */
#define OUT_MAX (64 * 1024 * 1024)
/*
 * Content sent ahead of the replies that would tell whether it is
 * wanted: a failed transaction wastes at most this much (RFC 3030 2).
 */
#define AHEAD_BYTES (256 * 1024)

/*
 * A transaction's own state: what smtp_next sets up afresh, and what a
 * transaction sent ahead (smtp_ahead) keeps until its replies come.
 */
struct smtp_txn {
	struct smtp_params p;
	int *rcpt_code;
	char *delivered;
	char **ascii;
	int utf8;
	int bdat;
	int body_sent;
	int reset;		 /* RSET went before its MAIL */
	unsigned long long sent; /* content bytes sent ahead */
};

struct smtp {
	struct smtp_params p;
	enum smtp_state state;
	struct buf out;
	int out_secret;
	int drop;
	int plain_fallback; /* tls_starttls auto: no STARTTLS offered */
	int broken;	    /* a command could not be queued */
	int injected;	    /* an argument held CR, LF or NUL: nothing goes */
	int bdat;	    /* the content goes in one BDAT LAST */
	int body_sent;
	struct error err;
	smtp_trace_fn *trace;
	void *trace_ctx;

	int tls; /* TLS is on */
	unsigned caps;
	char auth_list[AUTH_LIST_MAX]; /* the server's AUTH mechanisms */
	char *cb_type;
	unsigned char *cb;
	size_t cblen;

	struct sasl *sasl;
	const char *mech;
	char *held_response; /* initial response too long for the line */
	int auth_challenged; /* an OAuth error challenge came (RFC 7628) */
	int auth_retried;    /* a fresh token was asked for already */

	size_t rcpt_i;	 /* the RCPT whose reply comes next */
	size_t accepted; /* recipients the server took */
	char greeting[GREETING_KEEP];
	char ehlo[EHLO_KEEP];
	unsigned long long size_limit;
	int *rcpt_code;
	/*
	 * The envelope as sent: [0] the sender, [1 + i] recipient i, in
	 * A-labels where the original needs converting, NULL where it goes as
	 * given.  utf8: the addresses go in UTF-8, with SMTPUTF8.
	 */
	char **ascii;
	int utf8;
	char *delivered; /* per recipient: the server took the mail */
	/* The first refusal in a pipelined envelope, reported at DATA. */
	struct error envelope_err;
	/* In a transaction: a refusal ends it, not the session. */
	int session_ok;
	/*
	 * RFC 2920 3.1: transactions whose commands (and content) went out
	 * behind the current one's, oldest first; their replies follow its
	 * own.  ahead_body: the newest one's content is being sent.
	 */
	struct smtp_txn *ahead; /* SMTP_AHEAD_MAX, made when first used */
	size_t ahead_first, nahead;
	unsigned long long ahead_bytes;
	int ahead_body;
};

static const char *const state_names[] = {
	[SMTP_S_CONNECTED] = "CONNECTED",
	[SMTP_S_GREETING] = "GREETING",
	[SMTP_S_EHLO] = "EHLO",
	[SMTP_S_HELO] = "HELO",
	[SMTP_S_STARTTLS] = "STARTTLS",
	[SMTP_S_TLS] = "TLS",
	[SMTP_S_AUTH] = "AUTH",
	[SMTP_S_MAIL] = "MAIL",
	[SMTP_S_RCPT] = "RCPT",
	[SMTP_S_DATA] = "DATA",
	[SMTP_S_BODY] = "BODY",
	[SMTP_S_DOT] = "DOT",
	[SMTP_S_ETRN] = "ETRN",
	[SMTP_S_RSET] = "RSET",
	[SMTP_S_RESET] = "RESET",
	[SMTP_S_READY] = "READY",
	[SMTP_S_DONE] = "DONE",
	[SMTP_S_FAILED] = "FAILED",
};

/* EHLO keywords, sorted; a unit test checks the order. */
static const struct {
	const char *name;
	unsigned cap;
} cap_table[] = {
	{ "8BITMIME", SMTP_CAP_8BITMIME },
	{ "AUTH", SMTP_CAP_AUTH },
	{ "CHUNKING", SMTP_CAP_CHUNKING },
	{ "DSN", SMTP_CAP_DSN },
	{ "ENHANCEDSTATUSCODES", SMTP_CAP_ENHANCEDSTATUSCODES },
	{ "PIPELINING", SMTP_CAP_PIPELINING },
	{ "REQUIRETLS", SMTP_CAP_REQUIRETLS },
	{ "SIZE", SMTP_CAP_SIZE },
	{ "SMTPUTF8", SMTP_CAP_SMTPUTF8 },
	{ "STARTTLS", SMTP_CAP_STARTTLS },
};

const char *
smtp_state_name(enum smtp_state st)
{
	return st <= SMTP_S_FAILED ? state_names[st] : "?";
}

/* The one place the state changes. */
static void
smtp_enter(struct smtp *s, enum smtp_state st)
{
	char line[64];

	if (s->trace != NULL) {
		snprintf(line, sizeof(line), "%s -> %s",
		    smtp_state_name(s->state), smtp_state_name(st));
		s->trace(s->trace_ctx, SMTP_TRACE_STATE, line);
	}
	s->state = st;
}

/* Queue one command line; `shown' is what the trace says instead. */
static void send_line(struct smtp *s, const char *shown, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
send_line(struct smtp *s, const char *shown, const char *fmt, ...)
{
	va_list ap;
	size_t start = s->out.len;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(&s->out, (size_t)n + 3) == -1) {
		/* Reported by the entry point: never send a partial group. */
		s->broken = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s->out.data + s->out.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	/*
	 * The last guard (RFC 5321 2.3.8): a CR, LF or NUL inside a command
	 * would end it and start another of someone else's making.  Every
	 * source checks its addresses already; whatever slipped through
	 * stops the session before any byte of this group is written.
	 */
	if (memchr(s->out.data + start, '\r', (size_t)n) != NULL ||
	    memchr(s->out.data + start, '\n', (size_t)n) != NULL ||
	    strlen(s->out.data + start) != (size_t)n) {
		s->injected = 1;
		if (s->trace != NULL)
			s->trace(s->trace_ctx, SMTP_TRACE_SEND,
			    "(a command holding CR, LF or NUL, not sent)");
		return;
	}
	s->out.len += (size_t)n;
	buf_add(&s->out, "\r\n", 2);
	if (s->trace != NULL) {
		if (shown != NULL) {
			s->trace(s->trace_ctx, SMTP_TRACE_SEND, shown);
		} else {
			s->out.data[start + (size_t)n] = '\0';
			s->trace(s->trace_ctx, SMTP_TRACE_SEND,
			    s->out.data + start);
			s->out.data[start + (size_t)n] = '\r';
		}
	}
}

/*
 * End the session with s->err as the outcome, saying goodbye politely
 * (RFC 5321 4.1.1.10) unless the connection must just be dropped.
 */
static enum smtp_action
give_up(struct smtp *s)
{
	/*
	 * With another transaction to come, a refused one is cleared with
	 * RSET (RFC 5321 4.1.1.5) and the session goes on, unless the
	 * connection itself is lost or must be dropped.
	 */
	if (s->p.more && !s->drop && s->session_ok) {
		/*
		 * The next transaction went out already: it follows a dot,
		 * which ends a transaction whatever its reply, or begins
		 * with an RSET of its own.
		 */
		if (s->nahead > 0) {
			smtp_enter(s, SMTP_S_READY);
			return SMTP_A_NEXT;
		}
		smtp_enter(s, SMTP_S_RSET);
		send_line(s, NULL, "RSET");
		return SMTP_A_READ;
	}
	if (!s->drop)
		send_line(s, NULL, "QUIT");
	smtp_enter(s, SMTP_S_FAILED);
	return SMTP_A_FAIL;
}

static enum smtp_action fail(struct smtp *s, enum error_kind kind,
    const struct reply *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum smtp_action
fail(struct smtp *s, enum error_kind kind, const struct reply *r,
    const char *fmt, ...)
{
	va_list ap;

	s->err.kind = kind;
	if (kind == ERR_PROTOCOL)
		s->session_ok = 0; /* no telling what the server thinks */
	va_start(ap, fmt);
	vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap);
	va_end(ap);
	if (r != NULL)
		error_set_reply(&s->err, r->code, r->text.data, r->text.len);
	return give_up(s);
}

/* A transaction's per-recipient arrays, for p. */
static int
txn_init(struct smtp_txn *t, const struct smtp_params *p)
{
	memset(t, 0, sizeof(*t));
	t->p = *p;
	t->rcpt_code = calloc(p->nrcpt + 1, sizeof(int));
	t->delivered = calloc(p->nrcpt + 1, 1);
	t->ascii = calloc(p->nrcpt + 1, sizeof(char *));
	if (t->rcpt_code == NULL || t->delivered == NULL || t->ascii == NULL) {
		free(t->rcpt_code);
		free(t->delivered);
		free(t->ascii);
		return -1;
	}
	return 0;
}

static void
txn_free(struct smtp_txn *t)
{
	free(t->rcpt_code);
	free(t->delivered);
	for (size_t i = 0; t->ascii != NULL && i <= t->p.nrcpt; i++)
		free(t->ascii[i]);
	free(t->ascii);
	memset(t, 0, sizeof(*t));
}

/* Exchange the current transaction's state with t's. */
static void
txn_swap(struct smtp *s, struct smtp_txn *t)
{
	struct smtp_txn cur = { 0 };

	/* reset and sent stay 0: they belong to a transaction ahead. */
	cur.p = s->p;
	cur.rcpt_code = s->rcpt_code;
	cur.delivered = s->delivered;
	cur.ascii = s->ascii;
	cur.utf8 = s->utf8;
	cur.bdat = s->bdat;
	cur.body_sent = s->body_sent;
	s->p = t->p;
	s->rcpt_code = t->rcpt_code;
	s->delivered = t->delivered;
	s->ascii = t->ascii;
	s->utf8 = t->utf8;
	s->bdat = t->bdat;
	s->body_sent = t->body_sent;
	*t = cur;
}

struct smtp *
smtp_new(const struct smtp_params *p, smtp_trace_fn *trace, void *ctx)
{
	struct smtp *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->p = *p;
	s->trace = trace;
	s->trace_ctx = ctx;
	s->tls = p->tls;
	/* Commands have no length limit here: the server judges them. */
	buf_init(&s->out, OUT_MAX);
	if ((s->rcpt_code = calloc(p->nrcpt + 1, sizeof(int))) == NULL ||
	    (s->ascii = calloc(p->nrcpt + 1, sizeof(char *))) == NULL ||
	    (s->delivered = calloc(p->nrcpt + 1, 1)) == NULL) {
		free(s->rcpt_code);
		free(s->ascii);
		free(s);
		return NULL;
	}
	return s;
}

void
smtp_free(struct smtp *s)
{
	if (s == NULL)
		return;
	buf_free(&s->out);
	sasl_free(s->sasl);
	secret_free(s->held_response);
	free(s->cb_type);
	free(s->cb);
	free(s->rcpt_code);
	for (size_t i = 0; i <= s->p.nrcpt; i++)
		free(s->ascii[i]);
	free(s->ascii);
	free(s->delivered);
	for (; s->nahead > 0; s->nahead--)
		txn_free(&s->ahead[(s->ahead_first + s->nahead - 1) %
		    SMTP_AHEAD_MAX]);
	free(s->ahead);
	free(s);
}

struct buf *
smtp_output(struct smtp *s)
{
	return &s->out;
}

int
smtp_output_secret(struct smtp *s)
{
	int r = s->out_secret;

	s->out_secret = 0;
	return r;
}

int
smtp_must_drop(const struct smtp *s)
{
	return s->drop;
}

const struct error *
smtp_error(const struct smtp *s)
{
	return &s->err;
}

enum smtp_state
smtp_state(const struct smtp *s)
{
	return s->state;
}

unsigned
smtp_caps(const struct smtp *s)
{
	return s->caps;
}

int
smtp_rcpt_code(const struct smtp *s, size_t i)
{
	return i < s->p.nrcpt ? s->rcpt_code[i] : 0;
}

int
smtp_rcpt_delivered(const struct smtp *s, size_t i)
{
	return i < s->p.nrcpt ? s->delivered[i] : 0;
}

int
smtp_bdat(const struct smtp *s)
{
	return s->bdat;
}

const char *
smtp_greeting(const struct smtp *s)
{
	return s->greeting;
}

const char *
smtp_ehlo_reply(const struct smtp *s)
{
	return s->ehlo;
}

unsigned long long
smtp_size_limit(const struct smtp *s)
{
	return s->size_limit;
}

/*
 * Keep a reply's text for -S within n bytes; a longer one is cut at a
 * line's end where it can be, and ends with a line saying how much was
 * left out.
 */
static void
keep_text(char *dst, size_t n, const struct reply *r)
{
	static const char note[] = "\n[%zu more bytes not kept]";
	size_t len = r->text.len, room = n - sizeof(note) - 20;
	const char *nl;

	while (len > 0 && r->text.data[len - 1] == '\n')
		len--;
	if (len < n) {
		memcpy(dst, r->text.data, len);
		dst[len] = '\0';
		return;
	}
	nl = memrchr(r->text.data, '\n', room);
	room = nl != NULL ? (size_t)(nl - r->text.data) : room;
	memcpy(dst, r->text.data, room);
	snprintf(dst + room, n - room, note, len - room);
}

int
smtp_plain_fallback(const struct smtp *s)
{
	return s->plain_fallback;
}

const char *
smtp_auth_mech(const struct smtp *s)
{
	return s->mech;
}

int
smtp_wait_seconds(const struct smtp *s)
{
	if (s->p.timeout > 0)
		return s->p.timeout;
	/* RFC 5321 4.5.3.2. */
	switch (s->state) {
	case SMTP_S_DATA:
		return 120;
	case SMTP_S_BODY:
		return 180;
	case SMTP_S_DOT:
		return 600;
	default:
		return 300;
	}
}

#define reply_class_of(code) ((code) / 100)

/* 4xx is temporary, 5xx is `perm', anything else breaks the protocol. */
static enum error_kind
kind_for(const struct reply *r, enum error_kind perm)
{
	switch (reply_class(r)) {
	case 4:
		return ERR_TEMP;
	case 5:
		return perm;
	default:
		return ERR_PROTOCOL;
	}
}

/* --- entering states: each sends what the state waits a reply for --- */

static enum smtp_action enter_mail(struct smtp *);

static enum smtp_action
enter_ehlo(struct smtp *s)
{
	/* RFC 3207 4.2: what was learned before TLS is forgotten. */
	s->caps = 0;
	s->auth_list[0] = '\0';
	smtp_enter(s, SMTP_S_EHLO);
	send_line(s, NULL, "%s %s", s->p.lmtp ? "LHLO" : "EHLO", s->p.helo);
	return SMTP_A_READ;
}

/*
 * auth on with an OAuth token: the first of the token's mechanisms that
 * the server offers.  -1 leaves the choice to sasl_choose.
 */
static int
oauth_choose(struct smtp *s)
{
	const char *p = s->p.oauth_mechs, *end;
	char name[32];
	struct error e;
	size_t n;

	if (p == NULL)
		return -1;
	/* A mechanism named in auth is used as named. */
	if (strcasecmp(s->p.auth, "on") != 0)
		p = s->p.auth;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		end = p + strcspn(p, " ");
		n = (size_t)(end - p);
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			error_clear(&e);
			if (sasl_choose(name, s->auth_list, s->tls,
				s->cb != NULL, &s->mech, &e) == 0)
				return 0;
		}
		p = end;
	}
	return -1;
}

static enum smtp_action
enter_auth(struct smtp *s)
{
	struct sasl_creds c;
	struct error e;
	char *resp = NULL;
	size_t n;

	if (!(s->caps & SMTP_CAP_AUTH))
		return fail(s, ERR_UNAVAILABLE, NULL,
		    "the server does not support authentication");
	error_clear(&e);
	/* A token is no password: never PLAIN or LOGIN with it. */
	if (s->p.oauth_mechs != NULL && oauth_choose(s) == -1)
		return fail(s, ERR_UNAVAILABLE, NULL,
		    "the server offers none of the token's mechanisms (%s)",
		    s->p.oauth_mechs);
	if (s->p.oauth_mechs == NULL &&
	    sasl_choose(s->p.auth, s->auth_list, s->tls, s->cb != NULL,
		&s->mech, &e) == -1)
		return fail(s, e.kind, NULL, "%s", e.msg);
	s->auth_challenged = 0;
	memset(&c, 0, sizeof(c));
	c.user = s->p.user;
	c.password = s->p.password;
	c.realm = s->p.realm;
	c.cb_type = s->cb_type;
	c.cb_data = s->cb;
	c.cb_len = s->cblen;
	if ((s->sasl = sasl_new(s->mech, &c, &e)) == NULL ||
	    sasl_initial(s->sasl, &resp, &e) == -1)
		return fail(s, e.kind, NULL, "%s", e.msg);
	smtp_enter(s, SMTP_S_AUTH);
	n = resp != NULL ? strlen(resp) : 0;
	if (resp != NULL && n + strlen(s->mech) + 8 <= AUTH_LINE_MAX) {
		char shown[64];

		snprintf(shown, sizeof(shown), "AUTH %s <redacted>", s->mech);
		send_line(s, shown, "AUTH %s %s", s->mech, resp);
		s->out_secret = 1;
		secret_free(resp);
	} else {
		/* Too long for the line: it answers the first 334 instead. */
		s->held_response = resp;
		send_line(s, NULL, "AUTH %s", s->mech);
	}
	return SMTP_A_READ;
}

static enum smtp_action
after_ehlo(struct smtp *s)
{
	if (s->p.starttls && !s->tls) {
		/* RFC 3207 4: never go on in the clear when TLS was asked. */
		if (!(s->caps & SMTP_CAP_STARTTLS) && !s->p.starttls_auto)
			return fail(s, ERR_UNAVAILABLE, NULL,
			    "the server does not offer STARTTLS");
		if (s->caps & SMTP_CAP_STARTTLS) {
			smtp_enter(s, SMTP_S_STARTTLS);
			send_line(s, NULL, "STARTTLS");
			return SMTP_A_READ;
		}
		/*
		 * tls_starttls auto: plain text is allowed, credentials in
		 * plain text are not.
		 */
		s->plain_fallback = 1;
		if (s->p.auth != NULL)
			return fail(s, ERR_UNAVAILABLE, NULL,
			    "the server does not offer STARTTLS, and "
			    "tls_starttls auto sends no credentials without TLS");
	}
	if (s->p.info_only) {
		send_line(s, NULL, "QUIT");
		smtp_enter(s, SMTP_S_DONE);
		return SMTP_A_DONE;
	}
	if (s->p.auth != NULL)
		return enter_auth(s);
	return enter_mail(s);
}

/* Envelope address i as sent: 0 is the sender, 1 + n recipient n. */
static const char *
envelope_addr(const struct smtp *s, size_t i)
{
	if (s->ascii[i] != NULL)
		return s->ascii[i];
	return i == 0 ? s->p.from : s->p.rcpt[i - 1];
}

/*
 * RFC 6531 3.2: addresses in UTF-8 go as they are when the server offers
 * SMTPUTF8.  Otherwise each domain goes in A-labels (RFC 5890), and a
 * local part in UTF-8, which has no ASCII form, stops the session before
 * MAIL: better no mail than mail to some of the recipients.
 */
static int
envelope_forms(struct smtp *s, struct error *e)
{
	size_t i;
	int need = 0;

	for (i = 0; i <= s->p.nrcpt && !need; i++)
		need = !idn_is_ascii(envelope_addr(s, i));
	s->utf8 = need && (s->caps & SMTP_CAP_SMTPUTF8);
	if (!need || s->utf8)
		return 0;
	for (i = 0; i <= s->p.nrcpt; i++) {
		if (idn_is_ascii(envelope_addr(s, i)))
			continue;
		if ((s->ascii[i] = idn_addr_ascii(envelope_addr(s, i), e)) ==
		    NULL)
			return -1;
	}
	return 0;
}

/*
 * RFC 3461 4: xtext, for ORCPT and ENVID: printable ASCII but "+" and "="
 * as it is, every other byte as "+" and two upper-case hex digits.
 */
static int
add_xtext(struct buf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	int r = 0;

	for (; *p != '\0' && r == 0; p++)
		r = *p > ' ' && *p < 0x7f && *p != '+' && *p != '=' ?
		    buf_add(b, p, 1) :
		    buf_printf(b, "+%02X", *p);
	return r;
}

/*
 * RFC 6533 3: utf-8-addr-unitext, for an ORCPT address in UTF-8 once
 * SMTPUTF8 is in use: UTF-8 as it is, "+", "=", "\\", space and controls
 * as "\x{HEX}".
 */
static int
add_unitext(struct buf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	int r = 0;

	for (; *p != '\0' && r == 0; p++)
		r = *p > ' ' && *p != 0x7f && *p != '+' && *p != '=' &&
			*p != '\\' ?
		    buf_add(b, p, 1) :
		    buf_printf(b, "\\x{%02X}", *p);
	return r;
}

/* Whether DSN parameters go out: asked for, and offered (RFC 3461 4). */
static int
dsn_used(const struct smtp *s)
{
	return (s->caps & SMTP_CAP_DSN) &&
	    (s->p.dsn_notify != NULL || s->p.dsn_return != NULL ||
		s->p.envid != NULL);
}

/* Queue "VERB:<addr>" and the parameters in b; b is freed. */
static void
send_with_params(struct smtp *s, const char *verb, const char *addr,
    struct buf *b)
{
	if (buf_add(b, "", 1) == -1)
		s->broken = 1;
	else
		send_line(s, NULL, "%s:<%s>%s", verb, addr, b->data);
	buf_free(b);
}

static void
send_rcpt(struct smtp *s, size_t i)
{
	const char *addr = envelope_addr(s, 1 + i);
	struct buf b;
	size_t k;
	int r = 0;

	buf_init(&b, OUT_MAX);
	/* RFC 3461 4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
	if (s->p.dsn_notify != NULL) {
		r = buf_printf(&b, " NOTIFY=%s", s->p.dsn_notify);
		for (k = 0; r == 0 && k < b.len; k++)
			b.data[k] = (char)toupper((unsigned char)b.data[k]);
	}
	/*
	 * RFC 3461 4.2: the recipient as given, for the reports; RFC 6533 3
	 * its utf-8 form when the address is in UTF-8.
	 */
	if (r == 0 && dsn_used(s))
		r = idn_is_ascii(addr) ?
		    buf_addstr(&b, " ORCPT=rfc822;") | add_xtext(&b, addr) :
		    buf_addstr(&b, " ORCPT=utf-8;") | add_unitext(&b, addr);
	if (r != 0)
		s->broken = 1;
	send_with_params(s, "RCPT TO", addr, &b);
}

/* MAIL FROM's parameters, in the order the extensions came. */
static int
mail_params(struct smtp *s, struct buf *b)
{
	int r = 0;

	/* RFC 1870 6: the size, where known, so a server can refuse early. */
	if (s->p.size > 0 && (s->caps & SMTP_CAP_SIZE))
		r |= buf_printf(b, " SIZE=%llu", s->p.size);
	/*
	 * RFC 6152: declare 8-bit content where the server takes it; RFC 6531
	 * 3.4 asks for it with SMTPUTF8 whatever the content.
	 */
	if ((s->p.eightbit || s->utf8) && (s->caps & SMTP_CAP_8BITMIME))
		r |= buf_addstr(b, " BODY=8BITMIME");
	if (s->utf8)
		r |= buf_addstr(b, " SMTPUTF8");
	if (s->p.dsn_return != NULL)
		r |= buf_addstr(b,
		    strcmp(s->p.dsn_return, "full") == 0 ? " RET=FULL" :
							   " RET=HDRS");
	/* RFC 3461 4.4: the envelope identifier, returned in reports. */
	if (s->p.envid != NULL && dsn_used(s))
		r |= buf_addstr(b, " ENVID=") | add_xtext(b, s->p.envid);
	/* RFC 8689 4.1; requiretls_refused made sure it may be said. */
	if (s->p.requiretls)
		r |= buf_addstr(b, " REQUIRETLS");
	return r;
}

/*
 * RFC 8689 4.2.1: a message that asks for TLS on every hop goes only over
 * TLS, and only to a server that offers REQUIRETLS in its EHLO reply after
 * the handshake (what it said in the clear was forgotten).  Otherwise it
 * is not sent at all: never in the clear, never without the parameter.
 */
static int
requiretls_refused(struct smtp *s, struct error *e)
{
	if (!s->tls)
		return error_set(e, ERR_CONFIG,
		    "requiretls is on but the session is not encrypted "
		    "(set tls on): the message was not sent");
	return error_set(e, ERR_UNAVAILABLE,
	    "requiretls is on but the server does not offer REQUIRETLS "
	    "(RFC 8689): the message was not sent");
}

/*
 * What stops the current message before its MAIL: -1 with e.  *own says
 * whether it is the message's alone (with more to send, the session goes
 * on) or what the session lacks.
 */
static int
mail_refusal(struct smtp *s, struct error *e, int *own)
{
	*own = 0;
	/* RFC 3461 4: what was asked for must not be dropped quietly. */
	if ((s->p.dsn_notify != NULL || s->p.dsn_return != NULL) &&
	    !(s->caps & SMTP_CAP_DSN))
		return error_set(e, ERR_UNAVAILABLE,
		    "the server does not "
		    "support delivery status notifications (DSN)");
	if (s->p.requiretls && (!s->tls || !(s->caps & SMTP_CAP_REQUIRETLS)))
		return requiretls_refused(s, e);
	*own = 1;
	/* RFC 1870 4: what the server would refuse is not sent at all. */
	if (s->p.size > 0 && (s->caps & SMTP_CAP_SIZE) && s->size_limit > 0 &&
	    s->p.size > s->size_limit)
		return error_set(e, ERR_DATA,
		    "the message is %llu bytes, larger than the %llu bytes "
		    "the server takes (SIZE)",
		    s->p.size, s->size_limit);
	return envelope_forms(s, e);
}

static enum smtp_action
enter_mail(struct smtp *s)
{
	struct error e;
	struct buf b;
	size_t i;
	int r, own;

	error_clear(&s->envelope_err);
	/* --check: everything a send does before MAIL, then RSET. */
	if (s->p.check_only) {
		s->session_ok = 1;
		smtp_enter(s, SMTP_S_RSET);
		send_line(s, NULL, "RSET");
		return SMTP_A_READ;
	}
	if (s->p.etrn != NULL) {
		smtp_enter(s, SMTP_S_ETRN);
		send_line(s, NULL, "ETRN %s", s->p.etrn);
		return SMTP_A_READ;
	}
	/*
	 * Past the session's own shortcomings a refusal concerns this
	 * message alone: with more to send, RSET and go on with the next.
	 */
	error_clear(&e);
	r = mail_refusal(s, &e, &own);
	if (own)
		s->session_ok = 1;
	if (r == -1)
		return fail(s, e.kind, NULL, "%s", e.msg);
	smtp_enter(s, SMTP_S_MAIL);
	buf_init(&b, OUT_MAX);
	if (mail_params(s, &b) != 0)
		s->broken = 1;
	send_with_params(s, "MAIL FROM", envelope_addr(s, 0), &b);
	/*
	 * RFC 3030: content known in full goes as one BDAT chunk; LMTP keeps
	 * DATA, whose per-recipient replies it knows.
	 */
	s->bdat = s->p.whole && (s->caps & SMTP_CAP_CHUNKING) && !s->p.lmtp;
	/* RFC 2920 3.1: the envelope and DATA go as one group. */
	if (s->caps & SMTP_CAP_PIPELINING) {
		for (i = 0; i < s->p.nrcpt; i++)
			send_rcpt(s, i);
		if (!s->bdat)
			send_line(s, NULL, "DATA");
		/*
		 * With one recipient the content joins the group: if that
		 * recipient is refused, the chunk is refused with it.  With
		 * more, it waits for their replies, so that one refusal
		 * still delivers nothing.
		 */
		else if (s->p.nrcpt == 1)
			return SMTP_A_BODY;
	}
	return SMTP_A_READ;
}

/* --- reply handlers, one per state --- */

static enum smtp_action
on_greeting(struct smtp *s, const struct reply *r)
{
	keep_text(s->greeting, sizeof(s->greeting), r);
	if (r->code == 220)
		return enter_ehlo(s);
	if (reply_class(r) == 4 || reply_class(r) == 5)
		return fail(s, kind_for(r, ERR_UNAVAILABLE), r,
		    "the server refused the connection");
	return fail(s, ERR_PROTOCOL, r, "invalid greeting from the server");
}

/* The capabilities; -1 when the AUTH list passes AUTH_LIST_MAX. */
static int
parse_caps(struct smtp *s, const struct reply *r)
{
	size_t i, j, len, kl;
	const char *t;

	for (i = 1; i < r->nlines; i++) {
		t = reply_line(r, i, &len);
		for (kl = 0; kl < len && t[kl] != ' ' && t[kl] != '='; kl++)
			;
		for (j = 0; j < sizeof(cap_table) / sizeof(cap_table[0]); j++) {
			if (strlen(cap_table[j].name) != kl ||
			    strncasecmp(cap_table[j].name, t, kl) != 0)
				continue;
			s->caps |= cap_table[j].cap;
			if (cap_table[j].cap == SMTP_CAP_SIZE && kl < len)
				s->size_limit = strtoull(t + kl + 1, NULL, 10);
			/* Both "AUTH a b" and the old "AUTH=a b" count. */
			if (cap_table[j].cap == SMTP_CAP_AUTH && kl < len) {
				size_t have = strlen(s->auth_list);
				size_t add = len - kl;

				if (have + add + 1 >= sizeof(s->auth_list))
					return -1;
				s->auth_list[have] = ' ';
				memcpy(s->auth_list + have + 1, t + kl + 1,
				    add - 1);
				s->auth_list[have + add] = '\0';
			}
		}
	}
	return 0;
}

static enum smtp_action
on_ehlo(struct smtp *s, const struct reply *r)
{
	if (reply_class(r) == 2) {
		keep_text(s->ehlo, sizeof(s->ehlo), r);
		if (parse_caps(s, r) == -1)
			return fail(s, ERR_PROTOCOL, r,
			    "the server's AUTH capability lists more than %d "
			    "bytes of mechanisms",
			    AUTH_LIST_MAX - 1);
		return after_ehlo(s);
	}
	/* LMTP has no HELO to fall back to (RFC 2033 4.1). */
	if (reply_class(r) == 5 && !s->p.lmtp) {
		/* RFC 5321 3.2: a server that does not know EHLO gets HELO. */
		smtp_enter(s, SMTP_S_HELO);
		send_line(s, NULL, "HELO %s", s->p.helo);
		return SMTP_A_READ;
	}
	return fail(s, kind_for(r, ERR_PROTOCOL), r, "the server refused %s",
	    s->p.lmtp ? "LHLO" : "EHLO");
}

static enum smtp_action
on_helo(struct smtp *s, const struct reply *r)
{
	if (reply_class(r) == 2)
		return after_ehlo(s);
	return fail(s, kind_for(r, ERR_PROTOCOL), r,
	    "the server refused EHLO and HELO");
}

static enum smtp_action
on_starttls(struct smtp *s, const struct reply *r)
{
	if (r->code == 220) {
		smtp_enter(s, SMTP_S_TLS);
		return SMTP_A_TLS;
	}
	return fail(s, kind_for(r, ERR_UNAVAILABLE), r,
	    "the server refused STARTTLS");
}

static enum smtp_action
on_auth(struct smtp *s, const struct reply *r)
{
	struct error e;
	char *resp = NULL;
	size_t len;
	const char *chal;

	if (reply_class(r) == 2) {
		sasl_free(s->sasl);
		s->sasl = NULL;
		return enter_mail(s);
	}
	if (r->code == 334) {
		error_clear(&e);
		if (s->held_response == NULL && sasl_oauth(s->mech))
			s->auth_challenged = 1;
		if (s->held_response != NULL) {
			resp = s->held_response;
			s->held_response = NULL;
		} else {
			chal = reply_line(r, 0, &len);
			/* The text ends at the line end; copy to terminate. */
			char *c = strndup(chal, len);

			if (c == NULL)
				return fail(s, ERR_OSERR, NULL,
				    "out of memory");
			if (sasl_step(s->sasl, c, &resp, &e) == -1) {
				free(c);
				/* "*" cancels the exchange (RFC 4954 4). */
				send_line(s, NULL, "*");
				return fail(s, e.kind, r, "%s", e.msg);
			}
			free(c);
		}
		send_line(s, "<redacted>", "%s", resp);
		s->out_secret = 1;
		secret_free(resp);
		return SMTP_A_READ;
	}
	/*
	 * A cached token may have been revoked or expired early: one fresh
	 * token, one more AUTH (RFC 4954 4: the session may try again).
	 */
	if (s->p.token_retry && !s->auth_retried && sasl_oauth(s->mech) &&
	    (r->code == 535 || (s->auth_challenged && reply_class(r) == 5))) {
		s->auth_retried = 1;
		sasl_free(s->sasl);
		s->sasl = NULL;
		return SMTP_A_TOKEN;
	}
	if (reply_class(r) == 4 || reply_class(r) == 5)
		return fail(s, kind_for(r, ERR_AUTH), r,
		    "authentication failed (method %s)", s->mech);
	return fail(s, ERR_PROTOCOL, r, "invalid reply to AUTH");
}

/* Remember a refusal; with pipelining it is reported once DATA replies. */
static void envelope_refused(struct smtp *s, const struct reply *r,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
envelope_refused(struct smtp *s, const struct reply *r, const char *fmt, ...)
{
	va_list ap;

	if (s->envelope_err.kind != ERR_NONE)
		return;
	s->envelope_err.kind = kind_for(r, ERR_DATA);
	va_start(ap, fmt);
	vsnprintf(s->envelope_err.msg, sizeof(s->envelope_err.msg), fmt, ap);
	va_end(ap);
	error_set_reply(&s->envelope_err, r->code, r->text.data, r->text.len);
}

static enum smtp_action
report_envelope(struct smtp *s)
{
	s->err = s->envelope_err;
	return give_up(s);
}

static enum smtp_action
next_rcpt(struct smtp *s)
{
	if (s->rcpt_i < s->p.nrcpt) {
		if (!(s->caps & SMTP_CAP_PIPELINING))
			send_rcpt(s, s->rcpt_i);
		return SMTP_A_READ;
	}
	if (s->bdat) {
		/* The chunk went with the envelope: its reply comes next. */
		if (s->body_sent) {
			smtp_enter(s, SMTP_S_DOT);
			return SMTP_A_READ;
		}
		if (s->envelope_err.kind != ERR_NONE)
			return report_envelope(s);
		smtp_enter(s, SMTP_S_BODY);
		return SMTP_A_BODY;
	}
	smtp_enter(s, SMTP_S_DATA);
	if (!(s->caps & SMTP_CAP_PIPELINING))
		send_line(s, NULL, "DATA");
	return SMTP_A_READ;
}

static enum smtp_action
on_mail(struct smtp *s, const struct reply *r)
{
	if (reply_class(r) != 2) {
		envelope_refused(s, r,
		    "envelope-from address %s not "
		    "accepted by the server",
		    *s->p.from ? s->p.from : "<>");
		if (!(s->caps & SMTP_CAP_PIPELINING))
			return report_envelope(s);
	}
	s->rcpt_i = 0;
	smtp_enter(s, SMTP_S_RCPT);
	return next_rcpt(s);
}

static enum smtp_action
on_rcpt(struct smtp *s, const struct reply *r)
{
	size_t i = s->rcpt_i++;

	s->rcpt_code[i] = r->code;
	if (reply_class(r) == 2)
		s->accepted++;
	if (reply_class(r) != 2) {
		envelope_refused(s, r,
		    "recipient address %s not accepted "
		    "by the server",
		    s->p.rcpt[i]);
		if (!(s->caps & SMTP_CAP_PIPELINING))
			return report_envelope(s);
	}
	return next_rcpt(s);
}

static enum smtp_action
on_data(struct smtp *s, const struct reply *r)
{
	if (r->code == 354) {
		if (s->envelope_err.kind != ERR_NONE) {
			/*
			 * A recipient was refused but others were taken: the
			 * server now waits for content.  Closing without the
			 * final dot is the only way to deliver nothing.
			 */
			s->drop = 1;
			return report_envelope(s);
		}
		smtp_enter(s, SMTP_S_BODY);
		return SMTP_A_BODY;
	}
	if (s->envelope_err.kind != ERR_NONE)
		return report_envelope(s);
	return fail(s, kind_for(r, ERR_DATA), r,
	    "the server did not accept the mail data");
}

/* The mail was accepted: QUIT, or the next transaction. */
static enum smtp_action
accepted(struct smtp *s)
{
	size_t i;

	/* LMTP marked each recipient as its reply came. */
	for (i = 0; i < s->p.nrcpt && !s->p.lmtp; i++)
		s->delivered[i] = 1;
	s->err.kind = ERR_NONE;
	if (s->p.more) {
		smtp_enter(s, SMTP_S_READY);
		return SMTP_A_NEXT;
	}
	if (!(s->caps & SMTP_CAP_PIPELINING))
		send_line(s, NULL, "QUIT");
	smtp_enter(s, SMTP_S_DONE);
	return SMTP_A_DONE;
}

/* RFC 5321 4.1.1.5: the refused transaction is cleared. */
static enum smtp_action
on_rset(struct smtp *s, const struct reply *r)
{
	if (reply_class(r) == 2) {
		smtp_enter(s, SMTP_S_READY);
		return SMTP_A_NEXT;
	}
	/* The refusal stays the outcome; the session cannot go on. */
	s->session_ok = 0;
	s->p.more = 0;
	return give_up(s);
}

/* The RSET that began a transaction sent ahead. */
static enum smtp_action
on_reset(struct smtp *s, const struct reply *r)
{
	if (reply_class(r) == 2) {
		smtp_enter(s, SMTP_S_MAIL);
		return SMTP_A_READ;
	}
	/* What the server makes of the commands behind it is unknown. */
	s->session_ok = 0;
	s->p.more = 0;
	return fail(s, kind_for(r, ERR_PROTOCOL), r, "the server refused RSET");
}

/*
 * One recipient the LMTP server did not deliver to: every one is named,
 * with its reply; any permanent refusal makes the whole a permanent one.
 */
static void
lmtp_refused(struct smtp *s, const struct reply *r, const char *rcpt)
{
	struct error *e = &s->envelope_err;
	size_t have = strlen(e->reply), n = r->text.len;

	if (e->kind == ERR_NONE) {
		e->kind = kind_for(r, ERR_UNAVAILABLE);
		snprintf(e->msg, sizeof(e->msg),
		    "the server did not deliver "
		    "the mail to %s",
		    rcpt);
		error_set_reply(e, r->code, r->text.data, r->text.len);
		return;
	}
	if (reply_class(r) == 5)
		e->kind = ERR_UNAVAILABLE;
	if (strlen(e->msg) + strlen(rcpt) + 3 < sizeof(e->msg))
		strcat(strcat(e->msg, ", "), rcpt);
	while (n > 0 && r->text.data[n - 1] == '\n')
		n--;
	if (have + n + 2 < sizeof(e->reply)) {
		e->reply[have] = '\n';
		memcpy(e->reply + have + 1, r->text.data, n);
		e->reply[have + 1 + n] = '\0';
	}
}

/*
 * RFC 2033 4.2: after the dot an LMTP server replies once for each
 * recipient it took, in order; each says whether that one got the mail.
 */
static enum smtp_action
on_lmtp_dot(struct smtp *s, const struct reply *r)
{
	size_t i = s->rcpt_i;

	while (i < s->p.nrcpt && reply_class_of(s->rcpt_code[i]) != 2)
		i++;
	if (i == s->p.nrcpt)
		return fail(s, ERR_PROTOCOL, r,
		    "more replies than recipients from the LMTP server");
	s->rcpt_i = i + 1;
	s->rcpt_code[i] = r->code;
	if (reply_class(r) != 2)
		lmtp_refused(s, r, s->p.rcpt[i]);
	else
		s->delivered[i] = 1;
	if (--s->accepted > 0)
		return SMTP_A_READ;
	if (s->envelope_err.kind != ERR_NONE) {
		if ((s->caps & SMTP_CAP_PIPELINING) && !s->p.more)
			s->drop = 1;
		return report_envelope(s);
	}
	error_set_reply(&s->err, r->code, r->text.data, r->text.len);
	return accepted(s);
}

static enum smtp_action
on_dot(struct smtp *s, const struct reply *r)
{
	if (s->p.lmtp)
		return on_lmtp_dot(s, r);
	/* A chunk sent with a refused envelope: report the refusal. */
	if (s->bdat && s->envelope_err.kind != ERR_NONE) {
		if ((s->caps & SMTP_CAP_PIPELINING) && !s->p.more)
			s->drop = 1;
		return report_envelope(s);
	}
	if (reply_class(r) == 2) {
		/* Kept for the log record: the server's word on success. */
		error_set_reply(&s->err, r->code, r->text.data, r->text.len);
		return accepted(s);
	}
	/* With pipelining QUIT went out with the dot. */
	if ((s->caps & SMTP_CAP_PIPELINING) && !s->p.more)
		s->drop = 1;
	return fail(s, kind_for(r, ERR_UNAVAILABLE), r,
	    "the server did not accept the mail");
}

/* RFC 1985 5: 250, 251, 252 and 253 say the queue will be run. */
static enum smtp_action
on_etrn(struct smtp *s, const struct reply *r)
{
	if (reply_class(r) != 2)
		return fail(s,
		    kind_for(r,
			r->code == 500 || r->code == 501 ? ERR_DATA :
							   ERR_UNAVAILABLE),
		    r, "the server refused ETRN");
	error_set_reply(&s->err, r->code, r->text.data, r->text.len);
	send_line(s, NULL, "QUIT");
	smtp_enter(s, SMTP_S_DONE);
	return SMTP_A_DONE;
}

/* Every entry point returns through here. */
static enum smtp_action
checked(struct smtp *s, enum smtp_action act)
{
	if (s->injected) {
		s->injected = 0;
		s->broken = 0;
		s->out.len = 0;
		s->drop = 1;
		s->p.more = 0;
		s->err.code = 0;
		s->err.reply[0] = '\0';
		return fail(s, ERR_DATA, NULL,
		    "refused to send a command whose argument holds CR, LF "
		    "or NUL");
	}
	if (!s->broken)
		return act;
	s->broken = 0;
	s->out.len = 0;
	s->drop = 1;
	s->err.code = 0;
	s->err.reply[0] = '\0';
	return fail(s, ERR_OSERR, NULL, "out of memory for the commands");
}

enum smtp_action
smtp_start(struct smtp *s)
{
	smtp_enter(s, SMTP_S_GREETING);
	return SMTP_A_READ;
}

static enum smtp_action
dispatch(struct smtp *s, const struct reply *r)
{
	/*
	 * RFC 5321 3.8: 421 at any point means the server is closing the
	 * connection; nothing queued behind it will be answered.  QUIT
	 * still goes out, in case it is listening.
	 */
	if (r->code == 421)
		s->session_ok = 0;
	if (r->code == 421 && s->state != SMTP_S_GREETING)
		return fail(s, ERR_TEMP, r,
		    "the server closed the session "
		    "(421) during %s",
		    smtp_state_name(s->state));
	switch (s->state) {
	case SMTP_S_GREETING:
		return on_greeting(s, r);
	case SMTP_S_EHLO:
		return on_ehlo(s, r);
	case SMTP_S_HELO:
		return on_helo(s, r);
	case SMTP_S_STARTTLS:
		return on_starttls(s, r);
	case SMTP_S_AUTH:
		return on_auth(s, r);
	case SMTP_S_MAIL:
		return on_mail(s, r);
	case SMTP_S_RCPT:
		return on_rcpt(s, r);
	case SMTP_S_DATA:
		return on_data(s, r);
	case SMTP_S_DOT:
		return on_dot(s, r);
	case SMTP_S_ETRN:
		return on_etrn(s, r);
	case SMTP_S_RSET:
		return on_rset(s, r);
	case SMTP_S_RESET:
		return on_reset(s, r);
	default:
		s->drop = 1;
		return fail(s, ERR_PROTOCOL, r,
		    "unexpected reply from the server");
	}
}

enum smtp_action
smtp_on_reply(struct smtp *s, const struct reply *r)
{
	return checked(s, dispatch(s, r));
}

enum smtp_action
smtp_tls_started(struct smtp *s, const char *cb_type, const unsigned char *cb,
    size_t cblen)
{
	s->tls = 1;
	if (cb_type != NULL && cb != NULL && cblen > 0) {
		s->cb_type = strdup(cb_type);
		s->cb = malloc(cblen);
		if (s->cb_type == NULL || s->cb == NULL) {
			free(s->cb_type);
			free(s->cb);
			s->cb_type = NULL;
			s->cb = NULL;
		} else {
			memcpy(s->cb, cb, cblen);
			s->cblen = cblen;
		}
	}
	if (s->state == SMTP_S_TLS)
		return checked(s, enter_ehlo(s));
	return SMTP_A_READ; /* implicit TLS: the greeting comes next */
}

enum smtp_action
smtp_body_done(struct smtp *s, unsigned long long size)
{
	char shown[64];

	if (s->ahead_body) {
		struct smtp_txn
		    *t = &s->ahead[(s->ahead_first + s->nahead - 1) %
			SMTP_AHEAD_MAX];

		s->ahead_body = 0;
		t->body_sent = 1;
		t->sent = size;
		s->ahead_bytes += size;
		if (s->trace != NULL) {
			snprintf(shown, sizeof(shown), "BDAT %llu LAST", size);
			s->trace(s->trace_ctx, SMTP_TRACE_SEND, shown);
			snprintf(shown, sizeof(shown),
			    "(%llu bytes of content)", size);
			s->trace(s->trace_ctx, SMTP_TRACE_SEND, shown);
		}
		if (!t->p.more)
			send_line(s, NULL, "QUIT");
		return checked(s, SMTP_A_READ);
	}
	if (s->trace != NULL && s->bdat) {
		snprintf(shown, sizeof(shown), "BDAT %llu LAST", size);
		s->trace(s->trace_ctx, SMTP_TRACE_SEND, shown);
	}
	if (s->trace != NULL) {
		snprintf(shown, sizeof(shown), "(%llu bytes of content)", size);
		s->trace(s->trace_ctx, SMTP_TRACE_SEND, shown);
		if (!s->bdat)
			s->trace(s->trace_ctx, SMTP_TRACE_SEND, ".");
	}
	s->body_sent = 1;
	/* Sent with the envelope: its replies come first. */
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT) {
		if ((s->caps & SMTP_CAP_PIPELINING) && !s->p.more)
			send_line(s, NULL, "QUIT");
		return checked(s, SMTP_A_READ);
	}
	smtp_enter(s, SMTP_S_DOT);
	s->rcpt_i = 0;
	error_clear(&s->envelope_err);
	/* RFC 2920 3.1: QUIT may end the group that the content began. */
	if ((s->caps & SMTP_CAP_PIPELINING) && !s->p.more)
		send_line(s, NULL, "QUIT");
	return checked(s, SMTP_A_READ);
}

enum smtp_action
smtp_auth_retry(struct smtp *s, const char *token)
{
	if (s->state != SMTP_S_AUTH || !s->auth_retried) {
		s->drop = 1;
		return fail(s, ERR_SOFTWARE, NULL,
		    "AUTH was retried in state %s", smtp_state_name(s->state));
	}
	s->p.password = token;
	return enter_auth(s);
}

enum smtp_action
smtp_abort(struct smtp *s, const struct error *e)
{
	s->err = *e;
	/* Mid-content nothing but closing keeps the server from delivering. */
	if (s->state == SMTP_S_BODY)
		s->drop = 1;
	return give_up(s);
}

enum smtp_action
smtp_next(struct smtp *s, const struct smtp_params *p)
{
	int *codes;
	char *got, **ascii;
	size_t i;

	if (s->state != SMTP_S_READY || s->nahead > 0) {
		s->drop = 1;
		s->p.more = 0;
		return fail(s, ERR_SOFTWARE, NULL,
		    "a transaction was started in state %s%s",
		    smtp_state_name(s->state),
		    s->nahead > 0 ? " with transactions ahead" : "");
	}
	codes = calloc(p->nrcpt + 1, sizeof(int));
	got = calloc(p->nrcpt + 1, 1);
	ascii = calloc(p->nrcpt + 1, sizeof(char *));
	if (codes == NULL || got == NULL || ascii == NULL) {
		free(codes);
		free(got);
		free(ascii);
		s->p.more = 0;
		return fail(s, ERR_OSERR, NULL, "out of memory");
	}
	free(s->rcpt_code);
	free(s->delivered);
	for (i = 0; i <= s->p.nrcpt; i++)
		free(s->ascii[i]);
	free(s->ascii);
	s->rcpt_code = codes;
	s->delivered = got;
	s->ascii = ascii;
	s->p = *p;
	s->rcpt_i = 0;
	s->accepted = 0;
	s->bdat = 0;
	s->body_sent = 0;
	error_clear(&s->err);
	return checked(s, enter_mail(s));
}

enum smtp_action
smtp_quit(struct smtp *s)
{
	send_line(s, NULL, "QUIT");
	smtp_enter(s, SMTP_S_DONE);
	return checked(s, SMTP_A_DONE);
}

int
smtp_ahead_room(const struct smtp *s)
{
	const struct smtp_txn *last;

	if (!(s->caps & SMTP_CAP_PIPELINING) || s->p.lmtp || s->ahead_body ||
	    s->nahead >= SMTP_AHEAD_MAX || s->ahead_bytes >= AHEAD_BYTES)
		return 0;
	if (s->nahead > 0) {
		last = &s->ahead[(s->ahead_first + s->nahead - 1) %
		    SMTP_AHEAD_MAX];
		return last->p.more && last->body_sent;
	}
	/* The current one: all of it sent, its outcome not known yet. */
	return s->p.more && s->body_sent && s->session_ok &&
	    (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT ||
		s->state == SMTP_S_DOT);
}

int
smtp_ahead(struct smtp *s, const struct smtp_params *p, struct error *err)
{
	struct smtp_txn *t;
	struct buf b;
	int prev_bdat, joins = 0, own;
	size_t i, start;

	if (!smtp_ahead_room(s))
		return error_set(err, ERR_SOFTWARE,
		    "no room for a transaction ahead");
	if (s->ahead == NULL &&
	    (s->ahead = calloc(SMTP_AHEAD_MAX, sizeof(*s->ahead))) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	prev_bdat = s->nahead > 0 ?
	    s->ahead[(s->ahead_first + s->nahead - 1) % SMTP_AHEAD_MAX].bdat :
	    s->bdat;
	t = &s->ahead[(s->ahead_first + s->nahead) % SMTP_AHEAD_MAX];
	if (txn_init(t, p) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	/* The checks and commands of enter_mail, on t's envelope. */
	txn_swap(s, t);
	mail_refusal(s, err, &own);
	if (err->kind != ERR_NONE) {
		txn_swap(s, t);
		txn_free(t);
		return -1;
	}
	s->bdat = s->p.whole && (s->caps & SMTP_CAP_CHUNKING);
	start = s->out.len;
	if (prev_bdat)
		send_line(s, NULL, "RSET");
	buf_init(&b, OUT_MAX);
	if (mail_params(s, &b) != 0)
		s->broken = 1;
	send_with_params(s, "MAIL FROM", envelope_addr(s, 0), &b);
	for (i = 0; i < s->p.nrcpt; i++)
		send_rcpt(s, i);
	if (!s->bdat)
		send_line(s, NULL, "DATA");
	else if (s->p.nrcpt == 1)
		joins = 1;
	if (s->injected || s->broken) {
		/* Nothing of this one goes; the session goes on. */
		error_set(err, s->injected ? ERR_DATA : ERR_OSERR,
		    s->injected ? "refused to send a command whose argument "
				  "holds CR, LF or NUL" :
				  "out of memory for the commands");
		s->out.len = start;
		s->injected = s->broken = 0;
		txn_swap(s, t);
		txn_free(t);
		return -1;
	}
	txn_swap(s, t);
	t->reset = prev_bdat;
	s->nahead++;
	s->ahead_body = joins;
	return joins;
}

void
smtp_ahead_body_lost(struct smtp *s)
{
	s->ahead_body = 0;
}

size_t
smtp_ahead_count(const struct smtp *s)
{
	return s->nahead;
}

enum smtp_action
smtp_resume(struct smtp *s)
{
	struct smtp_txn *t = &s->ahead[s->ahead_first];
	int reset = t->reset;

	if (s->state != SMTP_S_READY || s->nahead == 0) {
		s->drop = 1;
		s->p.more = 0;
		return fail(s, ERR_SOFTWARE, NULL,
		    "a transaction was resumed in state %s",
		    smtp_state_name(s->state));
	}
	s->ahead_bytes -= t->sent;
	txn_swap(s, t);
	smtp_enter(s, reset ? SMTP_S_RESET : SMTP_S_MAIL);
	txn_free(t);
	s->ahead_first = (s->ahead_first + 1) % SMTP_AHEAD_MAX;
	s->nahead--;
	s->rcpt_i = 0;
	s->accepted = 0;
	s->session_ok = 1;
	error_clear(&s->err);
	error_clear(&s->envelope_err);
	return SMTP_A_READ;
}
