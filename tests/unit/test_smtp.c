/*
 * test_smtp.c: the SMTP engine driven with hand-written replies, checking
 * the exact bytes it queues and the action it asks for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sasl.h"
#include "smtp.h"

#define HELO "client.example"
#define FROM "sender@example.com"
#define USER "alice"
#define PASS "s3cr3t-Pa55"
/* base64("\0alice\0s3cr3t-Pa55") */
#define PLAIN_B64 "AGFsaWNlAHMzY3IzdC1QYTU1"

static const char *const rcpt2[] = { "a@example.org", "b@example.org" };

static const char *const all_actions[] = {
	[SMTP_A_READ] = "READ",
	[SMTP_A_TLS] = "TLS",
	[SMTP_A_BODY] = "BODY",
	[SMTP_A_DONE] = "DONE",
	[SMTP_A_FAIL] = "FAIL",
	[SMTP_A_NEXT] = "NEXT",
	[SMTP_A_TOKEN] = "TOKEN",
};

/* Everything the trace callback was given, one line each. */
static char trace_log[16384];

static void
trace_cb(void *ctx, enum smtp_trace kind, const char *text)
{
	size_t have = strlen(trace_log);

	snprintf(trace_log + have, sizeof(trace_log) - have, "%s %s\n",
	    kind == SMTP_TRACE_SEND ? "SEND" : "STATE", text);
}

static void
params_init(struct smtp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->helo = HELO;
	p->from = FROM;
	p->rcpt = rcpt2;
	p->nrcpt = 2;
}

static struct smtp *
engine(const struct smtp_params *p)
{
	struct smtp *s;

	trace_log[0] = '\0';
	s = smtp_new(p, trace_cb, NULL);
	assert_non_null(s);
	return s;
}

/* What the engine queued, as a string; emptied as the driver would. */
static const char *
take(struct smtp *s)
{
	static char out[65536];
	struct buf *b = smtp_output(s);

	assert_true(b->len < sizeof(out));
	if (b->len > 0)
		memcpy(out, b->data, b->len);
	out[b->len] = '\0';
	assert_int_equal(strlen(out), b->len);
	b->len = 0;
	return out;
}

/* Feed one reply, lines separated by \n. */
static enum smtp_action
on(struct smtp *s, const char *text)
{
	struct reply r;
	struct error err;
	const char *p = text, *nl;
	enum smtp_action a;
	int rc;

	reply_init(&r);
	error_clear(&err);
	for (;;) {
		nl = strchr(p, '\n');
		rc = reply_feed(&r, p, nl ? (size_t)(nl - p) : strlen(p), &err);
		if (nl == NULL)
			break;
		if (rc != 0)
			fail_msg("reply \"%s\" ended early", text);
		p = nl + 1;
	}
	if (rc != 1)
		fail_msg("reply \"%s\": %s", text, err.msg);
	a = smtp_on_reply(s, &r);
	reply_free(&r);
	return a;
}

static void
expect_action(enum smtp_action got, enum smtp_action want)
{
	if (got != want)
		fail_msg("action %s, expected %s", all_actions[got],
		    all_actions[want]);
}

static void
expect_fail(struct smtp *s, enum smtp_action a, enum error_kind kind, int code)
{
	expect_action(a, SMTP_A_FAIL);
	if (smtp_error(s)->kind != kind)
		fail_msg("error kind %s, expected %s (%s)",
		    error_exit_name(smtp_error(s)->kind), error_exit_name(kind),
		    smtp_error(s)->msg);
	assert_int_equal(smtp_error(s)->code, code);
	assert_int_equal(smtp_state(s), SMTP_S_FAILED);
	assert_true(smtp_error(s)->msg[0] != '\0');
}

/* Greeting and EHLO, with the EHLO reply given. */
static enum smtp_action
to_ehlo(struct smtp *s, const char *ehlo)
{
	expect_action(smtp_start(s), SMTP_A_READ);
	assert_string_equal(take(s), "");
	expect_action(on(s, "220 mx.example ESMTP"), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO " HELO "\r\n");
	return on(s, ehlo);
}

static int
b64val(int c)
{
	const char *alpha =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != '\0' ? strchr(alpha, c) : NULL;

	return p != NULL ? (int)(p - alpha) : -1;
}

/* Decode base64 up to the end of the string or a CR; -1 if malformed. */
static int
b64decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
	size_t n = 0, i, len = strcspn(in, "\r");
	int v[4], k;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			v[k] = in[i + k] == '=' ? 0 : b64val(in[i + k]);
			if (v[k] == -1)
				return -1;
		}
		if (n + 3 > cap)
			return -1;
		out[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (in[i + 2] != '=')
			out[n++] = (unsigned char)((v[1] & 15) << 4 |
			    v[2] >> 2);
		if (in[i + 3] != '=')
			out[n++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*outlen = n;
	return 0;
}

static void
test_greeting_ehlo(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	s = engine(&p);
	expect_action(smtp_start(s), SMTP_A_READ);
	assert_int_equal(smtp_state(s), SMTP_S_GREETING);
	assert_string_equal(take(s), "");
	expect_action(on(s, "220 mx.example ESMTP"), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO client.example\r\n");
	assert_int_equal(smtp_state(s), SMTP_S_EHLO);
	assert_true(strstr(trace_log, "SEND EHLO client.example\n") != NULL);
	assert_true(strstr(trace_log, "STATE GREETING -> EHLO\n") != NULL);
	smtp_free(s);
}

static void
test_greeting_refused(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	s = engine(&p);
	smtp_start(s);
	expect_fail(s, on(s, "554 5.3.2 go away"), ERR_UNAVAILABLE, 554);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_false(smtp_must_drop(s));
	assert_true(strstr(smtp_error(s)->reply, "go away") != NULL);
	smtp_free(s);

	s = engine(&p);
	smtp_start(s);
	expect_fail(s, on(s, "421 busy"), ERR_TEMP, 421);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);

	/* A positive code other than 220 is not a greeting. */
	s = engine(&p);
	smtp_start(s);
	expect_fail(s, on(s, "250 hello?"), ERR_PROTOCOL, 250);
	smtp_free(s);
}

/*
 * The AUTH list has a stated maximum: past it the session fails, rather
 * than choosing among mechanisms it never saw.  The greeting and EHLO
 * text kept for -S are cut at theirs, and say so.
 */
static void
test_text_limits(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	static char ehlo[8192], greeting[2048];
	size_t n, i;
	const char *kept;

	(void)state;
	params_init(&p);
	s = engine(&p);
	n = (size_t)snprintf(ehlo, sizeof(ehlo), "250-mx.example");
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(ehlo + n, sizeof(ehlo) - n,
		    "\n250-AUTH MECHANISM-NUMBER-%02zu-XXXXXXXX", i);
	snprintf(ehlo + n, sizeof(ehlo) - n, "\n250 8BITMIME");
	expect_fail(s, to_ehlo(s, ehlo), ERR_PROTOCOL, 250);
	assert_non_null(strstr(smtp_error(s)->msg, "AUTH"));
	assert_non_null(strstr(smtp_error(s)->msg, "1023 bytes"));
	smtp_free(s);

	/* Many short lines: the kept EHLO text ends with a note. */
	params_init(&p);
	p.info_only = 1;
	s = engine(&p);
	n = (size_t)snprintf(ehlo, sizeof(ehlo), "250-mx.example");
	for (i = 0; i < 180; i++)
		n += (size_t)snprintf(ehlo + n, sizeof(ehlo) - n,
		    "\n250-X-EXTENSION-%03zu-PADDING-PADDING", i);
	snprintf(ehlo + n, sizeof(ehlo) - n, "\n250 8BITMIME");
	to_ehlo(s, ehlo);
	kept = smtp_ehlo_reply(s);
	assert_true(strlen(kept) < 4096);
	assert_non_null(strstr(kept, "more bytes not kept]"));
	/* Cut at a line's end: the last whole line kept is intact. */
	assert_non_null(strstr(kept, "X-EXTENSION-000-PADDING-PADDING\n"));
	assert_null(strstr(kept, "X-EXTENSION-179"));
	smtp_free(s);

	/* A long greeting line is cut too, with the note. */
	params_init(&p);
	p.info_only = 1;
	s = engine(&p);
	memset(greeting, 'g', sizeof(greeting) - 1);
	memcpy(greeting, "220 ", 4);
	greeting[2000] = '\0';
	expect_action(smtp_start(s), SMTP_A_READ);
	on(s, greeting);
	kept = smtp_greeting(s);
	assert_true(strlen(kept) < 1024);
	assert_non_null(strstr(kept, "more bytes not kept]"));
	smtp_free(s);
}

static void
test_pipelining(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *ehlo;

	params_init(&p);
	s = engine(&p);
	ehlo = "250-mx.example\n250-PIPELINING\n"
	       "250-8BITMIME\n250 SIZE 1000000";
	expect_action(to_ehlo(s, ehlo), SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\n"
	    "RCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\n"
	    "DATA\r\n");
	assert_true(smtp_caps(s) & SMTP_CAP_PIPELINING);
	expect_action(on(s, "250 2.1.0 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "");
	expect_action(on(s, "250 2.1.5 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "");
	expect_action(on(s, "251 2.1.5 forwarded"), SMTP_A_READ);
	assert_string_equal(take(s), "");
	expect_action(on(s, "354 go ahead"), SMTP_A_BODY);
	assert_string_equal(take(s), "");
	assert_int_equal(smtp_state(s), SMTP_S_BODY);
	/* RFC 2920: QUIT goes with the content and the dot. */
	expect_action(smtp_body_done(s, 42), SMTP_A_READ);
	assert_string_equal(take(s), "QUIT\r\n");
	expect_action(on(s, "250 2.0.0 queued as X"), SMTP_A_DONE);
	assert_string_equal(take(s), "");
	assert_int_equal(smtp_state(s), SMTP_S_DONE);
	assert_int_equal(smtp_rcpt_code(s, 0), 250);
	assert_int_equal(smtp_rcpt_code(s, 1), 251);
	assert_int_equal(smtp_rcpt_code(s, 2), 0);
	assert_int_equal(smtp_error(s)->kind, ERR_NONE);
	assert_false(smtp_must_drop(s));
	smtp_free(s);
}

static void
test_chunking(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	static const char *const one[] = { "a@example.org" };

	/* One recipient, all content known: BDAT joins the envelope. */
	params_init(&p);
	p.rcpt = one;
	p.nrcpt = 1;
	p.whole = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-PIPELINING\n250 CHUNKING"),
	    SMTP_A_BODY);
	assert_true(smtp_bdat(s));
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<a@example.org>\r\n");
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	assert_string_equal(take(s), "QUIT\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 queued"), SMTP_A_DONE);
	assert_string_equal(take(s), "");
	smtp_free(s);

	/* Content not all known (a large message from a pipe): DATA. */
	p.whole = 0;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-PIPELINING\n250 CHUNKING"),
	    SMTP_A_READ);
	assert_false(smtp_bdat(s));
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	smtp_free(s);

	/* Two recipients: the chunk waits for both RCPT replies. */
	params_init(&p);
	p.whole = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-PIPELINING\n250 CHUNKING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<a@example.org>\r\n"
	    "RCPT TO:<b@example.org>\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "550 no"), SMTP_A_FAIL);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_int_equal(smtp_error(s)->kind, ERR_DATA);
	smtp_free(s);
}

static void
test_no_pipelining(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx.example\n250 SIZE 1000"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "RCPT TO:<a@example.org>\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "RCPT TO:<b@example.org>\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "DATA\r\n");
	expect_action(on(s, "354 go ahead"), SMTP_A_BODY);
	assert_string_equal(take(s), "");
	expect_action(smtp_body_done(s, 42), SMTP_A_READ);
	assert_string_equal(take(s), "");
	expect_action(on(s, "250 queued"), SMTP_A_DONE);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_int_equal(smtp_rcpt_code(s, 0), 250);
	assert_int_equal(smtp_rcpt_code(s, 1), 250);
	assert_true(strstr(trace_log, "SEND (42 bytes of content)\n") != NULL);
	smtp_free(s);
}

static void
test_null_sender(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.from = "";
	p.nrcpt = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 PIPELINING"), SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	smtp_free(s);
}

static void
test_8bitmime(void **state)
{
	static const struct {
		int eightbit;
		const char *ehlo;
		const char *mail;
	} cases[] = {
		{ 1, "250-mx\n250 8BITMIME",
		    "MAIL FROM:<" FROM "> BODY=8BITMIME\r\n" },
		{ 1, "250-mx\n250 SIZE 10", "MAIL FROM:<" FROM ">\r\n" },
		{ 0, "250-mx\n250 8BITMIME", "MAIL FROM:<" FROM ">\r\n" },
		{ 0, "250 mx", "MAIL FROM:<" FROM ">\r\n" },
		{ 1, "250-mx\n250 8bitmime",
		    "MAIL FROM:<" FROM "> BODY=8BITMIME\r\n" },
	};
	struct smtp_params p;
	struct smtp *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		params_init(&p);
		p.eightbit = cases[i].eightbit;
		s = engine(&p);
		expect_action(to_ehlo(s, cases[i].ehlo), SMTP_A_READ);
		assert_string_equal(take(s), cases[i].mail);
		smtp_free(s);
	}

	/* With pipelining, on the MAIL line of the group. */
	params_init(&p);
	p.eightbit = 1;
	p.nrcpt = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-8BITMIME\n250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM "> BODY=8BITMIME\r\n"
	    "RCPT TO:<a@example.org>\r\nDATA\r\n");
	smtp_free(s);
}

static const char *const rcpt_utf8[] = { "jos\xc3\xa9@b\xc3\xbc"
					 "cher.example",
	"bob@example.org" };

/* RFC 6531: UTF-8 addresses go as they are when SMTPUTF8 is offered. */
static void
test_smtputf8_offered(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.from = "alice@b\xc3\xbc"
		 "cher.example";
	p.rcpt = rcpt_utf8;
	s = engine(&p);
	expect_action(to_ehlo(s,
			  "250-mx\n250-PIPELINING\n250-8BITMIME\n"
			  "250 SMTPUTF8"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<alice@b\xc3\xbc"
	    "cher.example> BODY=8BITMIME "
	    "SMTPUTF8\r\n"
	    "RCPT TO:<jos\xc3\xa9@b\xc3\xbc"
	    "cher.example>\r\n"
	    "RCPT TO:<bob@example.org>\r\n"
	    "DATA\r\n");
	smtp_free(s);

	/* All ASCII: no SMTPUTF8 even where it is offered. */
	params_init(&p);
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-8BITMIME\n250 SMTPUTF8"),
	    SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	smtp_free(s);
}

/* Without SMTPUTF8 domains go in A-labels, the local part unchanged. */
static void
test_smtputf8_not_offered_alabels(void **state)
{
	static const char *const rcpt[] = { "bob@B\xc3\x9c"
					    "CHER.example",
		"carol@example.org" };
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.from = "alice@\xe4\xbe\x8b\xe5\xad\x90.example";
	p.rcpt = rcpt;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-8BITMIME\n250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<alice@xn--fsqu00a.example>\r\n"
	    "RCPT TO:<bob@xn--bcher-kva.example>\r\n"
	    "RCPT TO:<carol@example.org>\r\n"
	    "DATA\r\n");
	smtp_free(s);
}

/* A UTF-8 local part has no ASCII form: nothing is sent but QUIT. */
static void
test_smtputf8_local_part_refused(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.rcpt = rcpt_utf8;
	s = engine(&p);
	expect_fail(s,
	    to_ehlo(s, "250-mx\n250-8BITMIME\n250-DSN\n250 PIPELINING"),
	    ERR_UNAVAILABLE, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_non_null(strstr(smtp_error(s)->msg,
	    "jos\xc3\xa9@b\xc3\xbc"
	    "cher.example"));
	assert_non_null(strstr(smtp_error(s)->msg, "SMTPUTF8"));
	smtp_free(s);

	/* The sender too. */
	params_init(&p);
	p.from = "jos\xc3\xa9@example.org";
	s = engine(&p);
	expect_fail(s, to_ehlo(s, "250-mx\n250 PIPELINING"), ERR_UNAVAILABLE,
	    0);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

/* RFC 3461: NOTIFY, ORCPT in xtext, RET and ENVID in xtext. */
static void
test_dsn_parameters(void **state)
{
	static const char *const rcpt[] = { "a+b=c@example.org",
		"\"d e\"@example.org" };
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.rcpt = rcpt;
	p.dsn_notify = "failure,delay";
	p.dsn_return = "headers";
	p.envid = "id+1=x \xc3\xa9";
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-DSN\n250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM "> RET=HDRS ENVID=id+2B1+3Dx+20+C3+A9\r\n"
	    "RCPT TO:<a+b=c@example.org> NOTIFY=FAILURE,DELAY "
	    "ORCPT=rfc822;a+2Bb+3Dc@example.org\r\n"
	    "RCPT TO:<\"d e\"@example.org> NOTIFY=FAILURE,DELAY "
	    "ORCPT=rfc822;\"d+20e\"@example.org\r\n"
	    "DATA\r\n");
	smtp_free(s);

	/* -V alone: ENVID and ORCPT, no NOTIFY or RET. */
	params_init(&p);
	p.nrcpt = 1;
	p.envid = "q1";
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 DSN"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM "> ENVID=q1\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	assert_string_equal(take(s),
	    "RCPT TO:<a@example.org> ORCPT=rfc822;a@example.org\r\n");
	smtp_free(s);

	/* -V alone where DSN is not offered: it only labels reports. */
	params_init(&p);
	p.envid = "q1";
	s = engine(&p);
	expect_action(to_ehlo(s, "250 mx"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	smtp_free(s);
}

/* RFC 6533: with SMTPUTF8 a UTF-8 recipient's ORCPT is utf-8, unitext. */
static void
test_dsn_orcpt_utf8(void **state)
{
	static const char *const rcpt[] = { "j+\xc3\xbc=\\@b\xc3\xbc"
					    "cher.example" };
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.rcpt = rcpt;
	p.nrcpt = 1;
	p.dsn_notify = "success";
	s = engine(&p);
	expect_action(to_ehlo(s,
			  "250-mx\n250-DSN\n250-8BITMIME\n250-SMTPUTF8\n"
			  "250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM "> BODY=8BITMIME SMTPUTF8\r\n"
	    "RCPT TO:<j+\xc3\xbc=\\@b\xc3\xbc"
	    "cher.example> NOTIFY=SUCCESS "
	    "ORCPT=utf-8;j\\x{2B}\xc3\xbc\\x{3D}\\x{5C}@b\xc3\xbc"
	    "cher.example\r\n"
	    "DATA\r\n");
	smtp_free(s);

	/* Without SMTPUTF8 the domain is in A-labels, ORCPT with it. */
	params_init(&p);
	p.rcpt = (const char *const[]){ "j@b\xc3\xbc"
					"cher.example" };
	p.nrcpt = 1;
	p.dsn_notify = "never";
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-DSN\n250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\n"
	    "RCPT TO:<j@xn--bcher-kva.example> NOTIFY=NEVER "
	    "ORCPT=rfc822;j@xn--bcher-kva.example\r\n"
	    "DATA\r\n");
	smtp_free(s);
}

/* NOTIFY or RET asked for and DSN not offered: no MAIL at all. */
static void
test_dsn_not_offered(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.dsn_return = "full";
	s = engine(&p);
	expect_fail(s, to_ehlo(s, "250-mx\n250 PIPELINING"), ERR_UNAVAILABLE,
	    0);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_non_null(strstr(smtp_error(s)->msg, "(DSN)"));
	smtp_free(s);
}

/* Up to the EHLO after STARTTLS; `before' is the EHLO reply in the clear. */
static struct smtp *
requiretls_session(struct smtp_params *p, const char *before)
{
	struct smtp *s;

	p->starttls = 1;
	p->requiretls = 1;
	s = engine(p);
	expect_action(to_ehlo(s, before), SMTP_A_READ);
	assert_string_equal(take(s), "STARTTLS\r\n");
	expect_action(on(s, "220 2.0.0 ready"), SMTP_A_TLS);
	expect_action(smtp_tls_started(s, NULL, NULL, 0), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO " HELO "\r\n");
	return s;
}

/* RFC 8689 4.1: offered after TLS, asked for: MAIL says REQUIRETLS. */
static void
test_requiretls_sent(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.size = 300;
	p.eightbit = 1;
	s = requiretls_session(&p, "250-mx\n250 STARTTLS");
	expect_action(on(s,
			  "250-mx\n250-PIPELINING\n250-SIZE 1000\n"
			  "250-8BITMIME\n250 REQUIRETLS"),
	    SMTP_A_READ);
	assert_true(smtp_caps(s) & SMTP_CAP_REQUIRETLS);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM "> SIZE=300 BODY=8BITMIME REQUIRETLS\r\n"
	    "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
	    "DATA\r\n");
	smtp_free(s);

	/* Implicit TLS: the first EHLO is already inside TLS. */
	params_init(&p);
	p.tls = 1;
	p.requiretls = 1;
	s = engine(&p);
	expect_action(smtp_start(s), SMTP_A_READ);
	expect_action(smtp_tls_started(s, NULL, NULL, 0), SMTP_A_READ);
	expect_action(on(s, "220 mx ESMTP"), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO " HELO "\r\n");
	expect_action(on(s, "250-mx\n250 requiretls"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM "> REQUIRETLS\r\n");
	smtp_free(s);

	/* Not asked for: offered or not, MAIL carries no REQUIRETLS. */
	params_init(&p);
	p.tls = 1;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_action(on(s, "220 mx ESMTP"), SMTP_A_READ);
	take(s);
	expect_action(on(s, "250-mx\n250 REQUIRETLS"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	smtp_free(s);
}

/* Offered only in the clear: forgotten after TLS, so nothing is sent. */
static void
test_requiretls_not_offered(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	s = requiretls_session(&p, "250-mx\n250-STARTTLS\n250 REQUIRETLS");
	expect_fail(s, on(s, "250-mx\n250-PIPELINING\n250 DSN"),
	    ERR_UNAVAILABLE, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_non_null(
	    strstr(smtp_error(s)->msg, "does not offer REQUIRETLS"));
	assert_null(strstr(trace_log, "MAIL"));
	smtp_free(s);
}

/* RFC 8689 4.2.1: never in the clear, even where the server offers it. */
static void
test_requiretls_without_tls(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.requiretls = 1;
	s = engine(&p);
	expect_fail(s, to_ehlo(s, "250-mx\n250-PIPELINING\n250 REQUIRETLS"),
	    ERR_CONFIG, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_non_null(strstr(smtp_error(s)->msg, "not encrypted"));
	assert_null(strstr(trace_log, "MAIL"));
	smtp_free(s);

	/* The same after AUTH: the check is at MAIL, whatever came first. */
	params_init(&p);
	p.requiretls = 1;
	p.auth = "plain";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-AUTH PLAIN\n250 REQUIRETLS"),
	    SMTP_A_READ);
	assert_string_equal(take(s), "AUTH PLAIN " PLAIN_B64 "\r\n");
	expect_fail(s, on(s, "235 ok"), ERR_CONFIG, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

/* The AUTH line for an XOAUTH2 or OAUTHBEARER token of user alice. */
static const char *
oauth_line(const char *mech, const char *token)
{
	static char line[512];
	char raw[256], *b;
	int n;

	if (strcmp(mech, "XOAUTH2") == 0)
		n = snprintf(raw, sizeof(raw),
		    "user=%s\001auth=Bearer %s\001\001", USER, token);
	else
		n = snprintf(raw, sizeof(raw),
		    "n,a=%s,\001auth=Bearer %s\001\001", USER, token);
	b = sasl_base64(raw, (size_t)n);
	assert_non_null(b);
	snprintf(line, sizeof(line), "AUTH %s %s\r\n", mech, b);
	free(b);
	return line;
}

/*
 * A cached token refused with 535: the engine asks for a fresh one and
 * tries AUTH once more on the same connection; the mail then goes.
 */
static void
test_oauth_token_retry(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	(void)state;
	params_init(&p);
	p.auth = "xoauth2";
	p.user = USER;
	p.password = "cached-token";
	p.token_retry = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH XOAUTH2"), SMTP_A_READ);
	assert_string_equal(take(s), oauth_line("XOAUTH2", "cached-token"));
	expect_action(on(s, "535 5.7.8 token expired"), SMTP_A_TOKEN);
	assert_string_equal(take(s), "");
	expect_action(smtp_auth_retry(s, "fresh-token"), SMTP_A_READ);
	assert_string_equal(take(s), oauth_line("XOAUTH2", "fresh-token"));
	expect_action(on(s, "235 2.7.0 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	assert_null(strstr(trace_log, "token"));
	smtp_free(s);

	/* A second refusal is the error: no third AUTH. */
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH XOAUTH2"), SMTP_A_READ);
	take(s);
	expect_action(on(s, "535 5.7.8 no"), SMTP_A_TOKEN);
	expect_action(smtp_auth_retry(s, "fresh-token"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "535 5.7.8 still no"), ERR_AUTH, 535);
	assert_null(strstr(take(s), "AUTH"));
	smtp_free(s);

	/* A token from passwordeval is not the cache's: 535 is final. */
	p.token_retry = 0;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH XOAUTH2"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "535 5.7.8 no"), ERR_AUTH, 535);
	smtp_free(s);

	/* A temporary failure is not a refused token. */
	p.token_retry = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH XOAUTH2"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "454 4.7.0 try later"), ERR_TEMP, 454);
	smtp_free(s);
}

/*
 * RFC 7628 3.2.3: an error challenge is answered with a single 0x01
 * (AQ==); the final reply is the refusal, and a fresh token follows.
 */
static void
test_oauthbearer_error_challenge(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	(void)state;
	params_init(&p);
	p.auth = "oauthbearer";
	p.user = USER;
	p.password = "cached-token";
	p.token_retry = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH OAUTHBEARER"), SMTP_A_READ);
	assert_string_equal(take(s), oauth_line("OAUTHBEARER", "cached-token"));
	/* {"status":"invalid_token"} */
	expect_action(on(s, "334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="),
	    SMTP_A_READ);
	assert_string_equal(take(s), "AQ==\r\n");
	expect_action(on(s, "535 5.7.8 invalid token"), SMTP_A_TOKEN);
	expect_action(smtp_auth_retry(s, "fresh-token"), SMTP_A_READ);
	assert_string_equal(take(s), oauth_line("OAUTHBEARER", "fresh-token"));
	/* The fresh token refused too: answered, then the error. */
	expect_action(on(s, "334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0="),
	    SMTP_A_READ);
	assert_string_equal(take(s), "AQ==\r\n");
	expect_fail(s, on(s, "535 5.7.8 invalid token"), ERR_AUTH, 535);
	smtp_free(s);
}

/* auth on with a token: the first of its mechanisms the server offers. */
static void
test_oauth_auth_on(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	(void)state;
	params_init(&p);
	p.auth = "on";
	p.tls = 1;
	p.user = USER;
	p.password = "tok";
	p.oauth_mechs = "OAUTHBEARER XOAUTH2";
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN XOAUTH2 LOGIN"),
	    SMTP_A_READ);
	assert_string_equal(take(s), oauth_line("XOAUTH2", "tok"));
	smtp_free(s);

	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH XOAUTH2 OAUTHBEARER"),
	    SMTP_A_READ);
	assert_string_equal(take(s), oauth_line("OAUTHBEARER", "tok"));
	smtp_free(s);

	/* None of them offered: the token never goes as a PLAIN password. */
	s = engine(&p);
	expect_fail(s, to_ehlo(s, "250-mx\n250 AUTH PLAIN LOGIN"),
	    ERR_UNAVAILABLE, 0);
	assert_null(strstr(take(s), "AUTH"));
	smtp_free(s);
}

/* RFC 1870: SIZE=n declared where known and offered. */
static void
test_size_declared(void **state)
{
	static const struct {
		unsigned long long size;
		const char *ehlo;
		const char *mail;
	} cases[] = {
		{ 500, "250-mx\n250 SIZE 1000",
		    "MAIL FROM:<" FROM "> SIZE=500\r\n" },
		{ 1000, "250-mx\n250 SIZE 1000",
		    "MAIL FROM:<" FROM "> SIZE=1000\r\n" },
		/* No limit given: declared all the same. */
		{ 99999999999ULL, "250-mx\n250 SIZE",
		    "MAIL FROM:<" FROM "> SIZE=99999999999\r\n" },
		{ 5000, "250-mx\n250 SIZE 0",
		    "MAIL FROM:<" FROM "> SIZE=5000\r\n" },
		/* Unknown, or not offered: nothing. */
		{ 0, "250-mx\n250 SIZE 1000", "MAIL FROM:<" FROM ">\r\n" },
		{ 5000, "250 mx", "MAIL FROM:<" FROM ">\r\n" },
	};
	struct smtp_params p;
	struct smtp *s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		params_init(&p);
		p.size = cases[i].size;
		s = engine(&p);
		expect_action(to_ehlo(s, cases[i].ehlo), SMTP_A_READ);
		assert_string_equal(take(s), cases[i].mail);
		smtp_free(s);
	}

	/* With the other parameters, in one line. */
	params_init(&p);
	p.size = 42;
	p.eightbit = 1;
	p.dsn_return = "full";
	p.nrcpt = 1;
	s = engine(&p);
	expect_action(to_ehlo(s,
			  "250-mx\n250-SIZE 100\n250-8BITMIME\n250-DSN\n"
			  "250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM "> SIZE=42 BODY=8BITMIME RET=FULL\r\n"
	    "RCPT TO:<a@example.org> ORCPT=rfc822;a@example.org\r\n"
	    "DATA\r\n");
	smtp_free(s);
}

/* RFC 1870 4: larger than the server's limit: stop before MAIL. */
static void
test_size_over_limit(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.size = 1001;
	s = engine(&p);
	expect_fail(s, to_ehlo(s, "250-mx\n250-PIPELINING\n250 SIZE 1000"),
	    ERR_DATA, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_non_null(strstr(smtp_error(s)->msg, "1001"));
	assert_non_null(strstr(smtp_error(s)->msg, "1000"));
	smtp_free(s);
}

static void
test_starttls_flow(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *ehlo;

	params_init(&p);
	p.starttls = 1;
	s = engine(&p);
	ehlo = "250-mx\n250-PIPELINING\n250-STARTTLS\n"
	       "250 AUTH PLAIN LOGIN";
	expect_action(to_ehlo(s, ehlo), SMTP_A_READ);
	assert_string_equal(take(s), "STARTTLS\r\n");
	assert_int_equal(smtp_state(s), SMTP_S_STARTTLS);
	expect_action(on(s, "220 2.0.0 ready"), SMTP_A_TLS);
	/* Nothing may be sent before the handshake. */
	assert_string_equal(take(s), "");
	expect_action(smtp_tls_started(s, NULL, NULL, 0), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO " HELO "\r\n");
	/* RFC 3207 4.2: what was learned in the clear is forgotten. */
	assert_int_equal(smtp_caps(s), 0);
	/* After TLS: no PIPELINING now, so one command at a time. */
	expect_action(on(s, "250-mx\n250 8BITMIME"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	assert_int_equal(smtp_caps(s), SMTP_CAP_8BITMIME);
	smtp_free(s);
}

static void
test_starttls_forgets_auth(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	/* AUTH offered only before TLS: it must not count afterwards. */
	params_init(&p);
	p.starttls = 1;
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-STARTTLS\n250 AUTH PLAIN"),
	    SMTP_A_READ);
	assert_string_equal(take(s), "STARTTLS\r\n");
	expect_action(on(s, "220 ready"), SMTP_A_TLS);
	expect_action(smtp_tls_started(s, NULL, NULL, 0), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO " HELO "\r\n");
	expect_fail(s, on(s, "250-mx\n250 SIZE 100"), ERR_UNAVAILABLE, 0);
	assert_true(strstr(smtp_error(s)->msg, "authentication") != NULL);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);

	/* The list after TLS replaces the one before it. */
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250-STARTTLS\n250 AUTH PLAIN"),
	    SMTP_A_READ);
	take(s);
	expect_action(on(s, "220 ready"), SMTP_A_TLS);
	expect_action(smtp_tls_started(s, NULL, NULL, 0), SMTP_A_READ);
	take(s);
	expect_action(on(s, "250-mx\n250 AUTH LOGIN"), SMTP_A_READ);
	assert_string_equal(take(s), "AUTH LOGIN\r\n");
	assert_string_equal(smtp_auth_mech(s), "LOGIN");
	smtp_free(s);
}

static void
test_starttls_not_offered(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *ehlo;

	params_init(&p);
	p.starttls = 1;
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	ehlo = "250-mx\n250-PIPELINING\n"
	       "250 AUTH PLAIN LOGIN";
	expect_fail(s, to_ehlo(s, ehlo), ERR_UNAVAILABLE, 0);
	assert_true(strstr(smtp_error(s)->msg, "STARTTLS") != NULL);
	/* QUIT and nothing else: no MAIL, no AUTH. */
	assert_string_equal(take(s), "QUIT\r\n");
	assert_false(smtp_must_drop(s));
	assert_null(strstr(trace_log, "AUTH"));
	assert_null(strstr(trace_log, "MAIL"));
	smtp_free(s);

	/* Nor after HELO, which offers nothing. */
	s = engine(&p);
	expect_action(to_ehlo(s, "502 5.5.1 what?"), SMTP_A_READ);
	assert_string_equal(take(s), "HELO " HELO "\r\n");
	expect_fail(s, on(s, "250 mx"), ERR_UNAVAILABLE, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

static void
test_starttls_refused(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.starttls = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 STARTTLS"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "454 4.7.0 TLS not available"), ERR_TEMP, 454);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);

	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 STARTTLS"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "501 5.5.4 no"), ERR_UNAVAILABLE, 501);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

static void
test_auth_plain(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *out;
	unsigned char dec[256];
	size_t n;

	params_init(&p);
	p.tls = 1;
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	expect_action(smtp_start(s), SMTP_A_READ);
	expect_action(smtp_tls_started(s, NULL, NULL, 0), SMTP_A_READ);
	assert_string_equal(take(s), "");
	expect_action(on(s, "220 mx"), SMTP_A_READ);
	assert_string_equal(take(s), "EHLO " HELO "\r\n");
	expect_action(on(s, "250-mx\n250-PIPELINING\n250 AUTH LOGIN PLAIN"),
	    SMTP_A_READ);
	assert_true(smtp_output_secret(s));
	/* Reading the flag clears it. */
	assert_false(smtp_output_secret(s));
	out = take(s);
	assert_int_equal(strncmp(out, "AUTH PLAIN ", 11), 0);
	assert_int_equal(strcmp(out + strlen(out) - 2, "\r\n"), 0);
	/* One line only. */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_int_equal(b64decode(out + 11, dec, sizeof(dec), &n), 0);
	assert_int_equal(n, 1 + strlen(USER) + 1 + strlen(PASS));
	assert_memory_equal(dec, "\0" USER "\0" PASS, n);
	assert_string_equal(out, "AUTH PLAIN " PLAIN_B64 "\r\n");
	assert_string_equal(smtp_auth_mech(s), "PLAIN");
	assert_int_equal(smtp_state(s), SMTP_S_AUTH);
	expect_action(on(s, "235 2.7.0 ok"), SMTP_A_READ);
	assert_false(smtp_output_secret(s));
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\n"
	    "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	smtp_free(s);
}

static void
test_auth_no_second_answer(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *out;

	/*
	 * PLAIN is done once its initial response is sent: a 334 after it
	 * is answered with "*", never with the credentials again.
	 */
	params_init(&p);
	p.auth = "plain";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN"), SMTP_A_READ);
	assert_string_equal(take(s), "AUTH PLAIN " PLAIN_B64 "\r\n");
	expect_fail(s, on(s, "334 "), ERR_PROTOCOL, 334);
	out = take(s);
	assert_string_equal(out, "*\r\nQUIT\r\n");
	assert_null(strstr(out, PLAIN_B64));
	smtp_free(s);
}

static void
test_auth_explicit_without_tls(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	/* A mechanism the user named is used even in the clear. */
	params_init(&p);
	p.auth = "plain";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN LOGIN"), SMTP_A_READ);
	assert_string_equal(take(s), "AUTH PLAIN " PLAIN_B64 "\r\n");
	smtp_free(s);

	/* A named mechanism the server does not offer fails. */
	p.auth = "cram-md5";
	s = engine(&p);
	expect_fail(s, to_ehlo(s, "250-mx\n250 AUTH PLAIN LOGIN"),
	    ERR_UNAVAILABLE, 0);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

static void
test_auth_refused_in_clear(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *ehlo;
	const char *out;

	params_init(&p);
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	ehlo = "250-mx\n250-PIPELINING\n"
	       "250 AUTH PLAIN LOGIN";
	expect_fail(s, to_ehlo(s, ehlo), ERR_UNAVAILABLE, 0);
	assert_true(
	    strstr(smtp_error(s)->msg, "secure authentication") != NULL);
	assert_false(smtp_output_secret(s));
	out = take(s);
	assert_string_equal(out, "QUIT\r\n");
	assert_null(strstr(trace_log, "AUTH"));
	assert_null(strstr(trace_log, PASS));
	assert_null(strstr(trace_log, PLAIN_B64));
	assert_null(strstr(smtp_error(s)->msg, PASS));
	assert_null(smtp_auth_mech(s));
	smtp_free(s);
}

static void
test_auth_not_offered(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.tls = 1;
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_fail(s, to_ehlo(s, "250-mx\n250 PIPELINING"), ERR_UNAVAILABLE,
	    0);
	assert_true(strstr(smtp_error(s)->msg,
			"does not support authentication") != NULL);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

static void
test_auth_login(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *out;
	unsigned char dec[64];
	size_t n;

	params_init(&p);
	p.tls = 1;
	p.auth = "login";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH LOGIN PLAIN"), SMTP_A_READ);
	assert_string_equal(take(s), "AUTH LOGIN\r\n");
	expect_action(on(s, "334 VXNlcm5hbWU6"), SMTP_A_READ);
	assert_true(smtp_output_secret(s));
	out = take(s);
	assert_int_equal(b64decode(out, dec, sizeof(dec), &n), 0);
	assert_int_equal(n, strlen(USER));
	assert_memory_equal(dec, USER, n);
	expect_action(on(s, "334 UGFzc3dvcmQ6"), SMTP_A_READ);
	assert_true(smtp_output_secret(s));
	out = take(s);
	assert_int_equal(b64decode(out, dec, sizeof(dec), &n), 0);
	assert_int_equal(n, strlen(PASS));
	assert_memory_equal(dec, PASS, n);
	expect_action(on(s, "235 ok"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	/* The trace shows the exchange but neither response. */
	assert_true(strstr(trace_log, "SEND AUTH LOGIN\n") != NULL);
	assert_null(strstr(trace_log, "YWxpY2U="));
	assert_null(strstr(trace_log, USER));
	assert_null(strstr(trace_log, PASS));
	{
		const char *t = trace_log;
		int k = 0;

		while ((t = strstr(t, "SEND <redacted>\n")) != NULL) {
			k++;
			t++;
		}
		assert_int_equal(k, 2);
	}
	smtp_free(s);
}

static void
test_auth_failed(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.tls = 1;
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "535 5.7.8 bad credentials"), ERR_AUTH, 535);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_true(strstr(smtp_error(s)->reply, "bad credentials") != NULL);
	assert_null(strstr(smtp_error(s)->msg, PASS));
	smtp_free(s);

	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "454 4.7.0 try later"), ERR_TEMP, 454);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

/*
 * A full dialogue without pipelining: greeting, EHLO, STARTTLS, EHLO,
 * AUTH, MAIL, RCPT, RCPT, DATA, dot.
 */
static const char *const full_script[] = {
	"220 mx ESMTP",
	"250-mx\n250-STARTTLS\n250 AUTH PLAIN",
	"220 2.0.0 ready",
	"250-mx\n250-8BITMIME\n250 AUTH PLAIN LOGIN",
	"235 2.7.0 ok",
	"250 2.1.0 ok",
	"250 2.1.5 ok",
	"250 2.1.5 ok",
	"354 go ahead",
	"250 2.0.0 queued",
};
#define FULL_STEPS (sizeof(full_script) / sizeof(full_script[0]))

/*
 * Play the script up to step `last', with `last' replaced by `bad' when
 * it is not NULL, answering TLS and BODY as the driver would.  The output
 * is taken before the last reply so that the caller sees what it caused.
 */
static enum smtp_action
play(struct smtp *s, const char *const *script, size_t last, const char *bad)
{
	enum smtp_action a;
	size_t i;

	a = smtp_start(s);
	for (i = 0; i <= last; i++) {
		expect_action(a, SMTP_A_READ);
		take(s);
		a = on(s, i == last && bad != NULL ? bad : script[i]);
		if (a == SMTP_A_TLS)
			a = smtp_tls_started(s, NULL, NULL, 0);
		else if (a == SMTP_A_BODY)
			a = smtp_body_done(s, 100);
	}
	return a;
}

static void
full_params(struct smtp_params *p)
{
	params_init(p);
	p->starttls = 1;
	p->auth = "on";
	p->user = USER;
	p->password = PASS;
}

static void
test_full_dialogue(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	full_params(&p);
	s = engine(&p);
	expect_action(play(s, full_script, FULL_STEPS - 1, NULL), SMTP_A_DONE);
	assert_string_equal(take(s), "QUIT\r\n");
	assert_string_equal(smtp_auth_mech(s), "PLAIN");
	assert_true(strstr(trace_log,
			"SEND EHLO client.example\n"
			"STATE EHLO -> STARTTLS\n"
			"SEND STARTTLS\n") != NULL);
	assert_true(strstr(trace_log, "SEND AUTH PLAIN <redacted>\n") != NULL);
	assert_null(strstr(trace_log, PLAIN_B64));
	assert_null(strstr(trace_log, PASS));
	smtp_free(s);
}

static void
test_temp_failure_each_step(void **state)
{
	static const char *const bad[FULL_STEPS] = {
		"421 4.3.2 shutting down",
		"421 4.3.2 shutting down",
		"454 4.7.0 TLS not available",
		"421 4.3.2 shutting down",
		"454 4.7.0 temporary authentication failure",
		"451 4.3.0 try later",
		"450 4.2.0 mailbox busy",
		"452 4.5.3 too many recipients",
		"451 4.3.0 try later",
		"451 4.3.0 queue full",
	};
	struct smtp_params p;
	struct smtp *s;
	size_t i;
	int code;

	full_params(&p);
	for (i = 0; i < FULL_STEPS; i++) {
		s = engine(&p);
		code = atoi(bad[i]);
		expect_fail(s, play(s, full_script, i, bad[i]), ERR_TEMP, code);
		if (strcmp(take(s), "QUIT\r\n") != 0)
			fail_msg("step %zu: QUIT not queued", i);
		assert_false(smtp_must_drop(s));
		assert_true(strstr(smtp_error(s)->reply, bad[i] + 4) != NULL);
		smtp_free(s);
	}
}

static void
test_envelope_refused(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	size_t i;

	/* Without pipelining: 5xx to MAIL, RCPT, RCPT or DATA. */
	full_params(&p);
	for (i = 5; i <= 8; i++) {
		s = engine(&p);
		expect_fail(s, play(s, full_script, i, "550 5.7.1 no"),
		    ERR_DATA, 550);
		assert_string_equal(take(s), "QUIT\r\n");
		assert_false(smtp_must_drop(s));
		smtp_free(s);
	}

	/* The refused recipient is named. */
	s = engine(&p);
	expect_fail(s, play(s, full_script, 6, "550 5.1.1 unknown"), ERR_DATA,
	    550);
	assert_true(strstr(smtp_error(s)->msg, "a@example.org") != NULL);
	assert_true(strstr(smtp_error(s)->msg, "not accepted") != NULL);
	assert_int_equal(smtp_rcpt_code(s, 0), 550);
	smtp_free(s);

	/* And the refused sender. */
	s = engine(&p);
	expect_fail(s, play(s, full_script, 5, "553 5.1.8 bad sender"),
	    ERR_DATA, 553);
	assert_true(strstr(smtp_error(s)->msg, FROM) != NULL);
	smtp_free(s);
}

static void
test_envelope_refused_pipelined(void **state)
{
	static const struct {
		const char *mail, *rcpt1, *rcpt2, *data;
		enum error_kind kind;
		int code;
	} cases[] = {
		{ "550 5.1.8 bad sender", "503 5.5.1 need MAIL",
		    "503 5.5.1 need MAIL", "503 5.5.1 need RCPT", ERR_DATA,
		    550 },
		{ "250 ok", "550 5.1.1 unknown", "550 5.1.1 unknown",
		    "554 5.5.1 no valid recipients", ERR_DATA, 550 },
		{ "250 ok", "250 ok", "250 ok", "554 5.6.0 no", ERR_DATA, 554 },
		{ "451 4.3.0 later", "503 5.5.1 need MAIL",
		    "503 5.5.1 need MAIL", "503 5.5.1 need RCPT", ERR_TEMP,
		    451 },
		{ "250 ok", "450 4.2.0 busy", "550 5.1.1 unknown",
		    "554 5.5.1 no valid recipients", ERR_TEMP, 450 },
		{ "250 ok", "250 ok", "250 ok", "451 4.3.0 later", ERR_TEMP,
		    451 },
	};
	struct smtp_params p;
	struct smtp *s;
	size_t i;

	params_init(&p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = engine(&p);
		expect_action(to_ehlo(s, "250-mx\n250 PIPELINING"),
		    SMTP_A_READ);
		take(s);
		expect_action(on(s, cases[i].mail), SMTP_A_READ);
		expect_action(on(s, cases[i].rcpt1), SMTP_A_READ);
		expect_action(on(s, cases[i].rcpt2), SMTP_A_READ);
		assert_string_equal(take(s), "");
		expect_fail(s, on(s, cases[i].data), cases[i].kind,
		    cases[i].code);
		assert_string_equal(take(s), "QUIT\r\n");
		assert_false(smtp_must_drop(s));
		smtp_free(s);
	}
}

static void
test_one_rcpt_refused_data_354(void **state)
{
	static const struct {
		const char *refusal;
		enum error_kind kind;
		int code;
	} cases[] = {
		{ "550 5.1.1 unknown user", ERR_DATA, 550 },
		{ "450 4.2.1 try later", ERR_TEMP, 450 },
	};
	struct smtp_params p;
	struct smtp *s;
	size_t i;

	params_init(&p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = engine(&p);
		expect_action(to_ehlo(s, "250-mx\n250 PIPELINING"),
		    SMTP_A_READ);
		take(s);
		expect_action(on(s, "250 ok"), SMTP_A_READ);
		expect_action(on(s, "250 ok"), SMTP_A_READ);
		expect_action(on(s, cases[i].refusal), SMTP_A_READ);
		expect_fail(s, on(s, "354 go ahead"), cases[i].kind,
		    cases[i].code);
		/* Closing without the dot is how nothing is delivered. */
		assert_true(smtp_must_drop(s));
		assert_string_equal(take(s), "");
		assert_int_equal(smtp_rcpt_code(s, 0), 250);
		assert_int_equal(smtp_rcpt_code(s, 1), cases[i].code);
		assert_true(
		    strstr(smtp_error(s)->msg, "b@example.org") != NULL);
		smtp_free(s);
	}
}

static void
test_dot_refused(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	/* Without pipelining: QUIT after the refusal. */
	full_params(&p);
	s = engine(&p);
	expect_fail(s,
	    play(s, full_script, FULL_STEPS - 1, "554 5.6.0 content rejected"),
	    ERR_UNAVAILABLE, 554);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);

	/* With pipelining QUIT went with the dot: nothing more. */
	params_init(&p);
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 PIPELINING"), SMTP_A_READ);
	take(s);
	on(s, "250 ok");
	on(s, "250 ok");
	on(s, "250 ok");
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	expect_action(smtp_body_done(s, 1), SMTP_A_READ);
	assert_string_equal(take(s), "QUIT\r\n");
	expect_fail(s, on(s, "554 5.6.0 content rejected"), ERR_UNAVAILABLE,
	    554);
	assert_string_equal(take(s), "");
	smtp_free(s);
}

static void
test_ehlo_fallback_helo(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.eightbit = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "502 5.5.2 command not recognized"),
	    SMTP_A_READ);
	assert_string_equal(take(s), "HELO " HELO "\r\n");
	assert_int_equal(smtp_state(s), SMTP_S_HELO);
	/* HELO offers no extensions: no BODY=, no pipelining. */
	expect_action(on(s, "250 mx"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	assert_int_equal(smtp_caps(s), 0);
	smtp_free(s);

	s = engine(&p);
	expect_action(to_ehlo(s, "500 what"), SMTP_A_READ);
	assert_string_equal(take(s), "HELO " HELO "\r\n");
	expect_fail(s, on(s, "501 no"), ERR_PROTOCOL, 501);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);

	s = engine(&p);
	expect_action(to_ehlo(s, "500 what"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "421 closing"), ERR_TEMP, 421);
	smtp_free(s);
}

static void
test_trace_redacted(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.tls = 1;
	p.auth = "plain";
	p.user = USER;
	p.password = PASS;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN"), SMTP_A_READ);
	/* The wire has the response; the trace has the placeholder. */
	assert_string_equal(take(s), "AUTH PLAIN " PLAIN_B64 "\r\n");
	assert_true(strstr(trace_log, "SEND AUTH PLAIN <redacted>\n") != NULL);
	assert_null(strstr(trace_log, PLAIN_B64));
	assert_null(strstr(trace_log, PASS));
	assert_true(strstr(trace_log, "STATE EHLO -> AUTH\n") != NULL);
	smtp_free(s);
}

static void
test_capabilities(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	const char *ehlo;
	const unsigned all = SMTP_CAP_8BITMIME | SMTP_CAP_AUTH |
	    SMTP_CAP_CHUNKING | SMTP_CAP_DSN | SMTP_CAP_ENHANCEDSTATUSCODES |
	    SMTP_CAP_PIPELINING | SMTP_CAP_SIZE | SMTP_CAP_SMTPUTF8 |
	    SMTP_CAP_STARTTLS | SMTP_CAP_REQUIRETLS;

	params_init(&p);
	/* Keywords are case-insensitive (RFC 5321 2.4). */
	s = engine(&p);
	ehlo = "250-mx.example greets you\n"
	       "250-pipelining\n250-8bitmime\n250-Starttls\n250-auth plain\n"
	       "250-size 1000\n250-dsn\n250-chunking\n250-smtputf8\n"
	       "250-requiretls\n250 enhancedstatuscodes";
	expect_action(to_ehlo(s, ehlo), SMTP_A_READ);
	assert_int_equal(smtp_caps(s), all);
	/* Lower-case PIPELINING still pipelines. */
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\n"
	    "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	smtp_free(s);

	/* The same, upper case, in reverse order. */
	s = engine(&p);
	ehlo = "250-mx\n250-STARTTLS\n250-SMTPUTF8\n"
	       "250-SIZE\n250-PIPELINING\n250-ENHANCEDSTATUSCODES\n250-DSN\n"
	       "250-CHUNKING\n250-AUTH=LOGIN\n250-REQUIRETLS\n250 8BITMIME";
	expect_action(to_ehlo(s, ehlo), SMTP_A_READ);
	assert_int_equal(smtp_caps(s), all);
	smtp_free(s);

	/* Near misses are not keywords. */
	s = engine(&p);
	ehlo = "250-mx\n250-PIPELININGX\n250-XPIPELINING\n"
	       "250-X-AUTH PLAIN\n250-8BITMIM\n250-SIZE1000\n250 STARTTLS2";
	expect_action(to_ehlo(s, ehlo), SMTP_A_READ);
	assert_int_equal(smtp_caps(s), 0);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	smtp_free(s);

	/* The first line is the server's name, not a keyword. */
	s = engine(&p);
	expect_action(to_ehlo(s, "250 PIPELINING"), SMTP_A_READ);
	assert_int_equal(smtp_caps(s), 0);
	smtp_free(s);
}

static void
test_auth_old_form(void **state)
{
	static const struct {
		const char *ehlo;
		const char *mech;
	} cases[] = {
		{ "250-mx\n250 AUTH=LOGIN PLAIN", "PLAIN" },
		{ "250-mx\n250 auth=login plain", "PLAIN" },
		{ "250-mx\n250 AUTH=LOGIN", "LOGIN" },
		/* Both forms, as old servers send: the lists are merged. */
		{ "250-mx\n250-AUTH LOGIN\n250 AUTH=PLAIN", "PLAIN" },
		{ "250-mx\n250-AUTH=LOGIN\n250 AUTH PLAIN", "PLAIN" },
		{ "250-mx\n250-AUTH CRAM-MD5 LOGIN\n250 AUTH=CRAM-MD5 LOGIN",
		    "CRAM-MD5" },
	};
	struct smtp_params p;
	struct smtp *s;
	const char *out;
	size_t i;

	params_init(&p);
	p.tls = 1;
	p.auth = "on";
	p.user = USER;
	p.password = PASS;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = engine(&p);
		smtp_start(s);
		smtp_tls_started(s, NULL, NULL, 0);
		expect_action(to_ehlo(s, cases[i].ehlo), SMTP_A_READ);
		out = take(s);
		if (smtp_auth_mech(s) == NULL ||
		    strcmp(smtp_auth_mech(s), cases[i].mech) != 0)
			fail_msg("%s: mechanism %s, expected %s", cases[i].ehlo,
			    smtp_auth_mech(s) ? smtp_auth_mech(s) : "none",
			    cases[i].mech);
		assert_int_equal(strncmp(out, "AUTH ", 5), 0);
		assert_int_equal(
		    strncmp(out + 5, cases[i].mech, strlen(cases[i].mech)), 0);
		smtp_free(s);
	}
}

static void
test_unexpected_reply(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.nrcpt = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx\n250 PIPELINING"), SMTP_A_READ);
	take(s);
	on(s, "250 ok");
	on(s, "250 ok");
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	/* A reply while the content is going out: give up at once. */
	expect_fail(s, on(s, "250 what?"), ERR_PROTOCOL, 250);
	assert_true(smtp_must_drop(s));
	assert_string_equal(take(s), "");
	smtp_free(s);
}

static void
test_abort(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	struct error e;

	error_clear(&e);
	error_set(&e, ERR_DATA, "the message contains a NUL byte");

	/* During the content: close without the dot. */
	params_init(&p);
	p.nrcpt = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250 mx"), SMTP_A_READ);
	take(s);
	on(s, "250 ok");
	on(s, "250 ok");
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	take(s);
	expect_action(smtp_abort(s, &e), SMTP_A_FAIL);
	assert_true(smtp_must_drop(s));
	assert_string_equal(take(s), "");
	assert_int_equal(smtp_error(s)->kind, ERR_DATA);
	assert_string_equal(smtp_error(s)->msg,
	    "the message contains a NUL byte");
	smtp_free(s);

	/* Before it: QUIT politely. */
	s = engine(&p);
	expect_action(to_ehlo(s, "250 mx"), SMTP_A_READ);
	take(s);
	expect_action(smtp_abort(s, &e), SMTP_A_FAIL);
	assert_false(smtp_must_drop(s));
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

static void
test_wait_seconds(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.nrcpt = 1;
	s = engine(&p);
	smtp_start(s);
	assert_int_equal(smtp_wait_seconds(s), 300);
	to_ehlo(s, "250 mx");
	on(s, "250 ok");
	on(s, "250 ok");
	assert_int_equal(smtp_state(s), SMTP_S_DATA);
	assert_int_equal(smtp_wait_seconds(s), 120);
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	smtp_body_done(s, 1);
	assert_int_equal(smtp_wait_seconds(s), 600);
	smtp_free(s);

	p.timeout = 3;
	s = engine(&p);
	smtp_start(s);
	assert_int_equal(smtp_wait_seconds(s), 3);
	smtp_free(s);
}

static void
test_unexpected_codes(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	/* A reply of the wrong class for the step is a protocol error. */
	full_params(&p);
	s = engine(&p);
	expect_fail(s, play(s, full_script, 1, "354 what?"), ERR_PROTOCOL, 354);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);

	s = engine(&p);
	expect_fail(s, play(s, full_script, 2, "250 ok?"), ERR_PROTOCOL, 250);
	smtp_free(s);

	s = engine(&p);
	expect_fail(s, play(s, full_script, 4, "354 what?"), ERR_PROTOCOL, 354);
	smtp_free(s);

	s = engine(&p);
	expect_fail(s, play(s, full_script, 5, "354 what?"), ERR_PROTOCOL, 354);
	smtp_free(s);

	s = engine(&p);
	expect_fail(s, play(s, full_script, 9, "354 what?"), ERR_PROTOCOL, 354);
	smtp_free(s);

	s = engine(&p);
	expect_fail(s, play(s, full_script, 8, "334 what?"), ERR_PROTOCOL, 334);
	smtp_free(s);

	/* 250 to DATA is not a refusal of the data but a broken server. */
	s = engine(&p);
	expect_fail(s, play(s, full_script, 8, "250 ok"), ERR_PROTOCOL, 250);
	assert_false(smtp_must_drop(s));
	smtp_free(s);
}

static void
test_error_keeps_reply(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	full_params(&p);
	s = engine(&p);
	expect_fail(s,
	    play(s, full_script, 6,
		"550-5.1.1 no such user\n550 5.1.1 see https://example.org/550"),
	    ERR_DATA, 550);
	assert_string_equal(smtp_error(s)->reply,
	    "550-5.1.1 no such user\n550 5.1.1 see https://example.org/550");
	smtp_free(s);
}

static void
test_long_auth_response(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	char *pw;
	const char *out;
	size_t n = 10000;

	/* Too long for the AUTH line: it answers the first 334 instead. */
	pw = malloc(n + 1);
	assert_non_null(pw);
	memset(pw, 'p', n);
	pw[n] = '\0';
	params_init(&p);
	p.tls = 1;
	p.auth = "plain";
	p.user = USER;
	p.password = pw;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	expect_action(to_ehlo(s, "250-mx\n250 AUTH PLAIN"), SMTP_A_READ);
	assert_string_equal(take(s), "AUTH PLAIN\r\n");
	expect_action(on(s, "334 "), SMTP_A_READ);
	assert_true(smtp_output_secret(s));
	out = take(s);
	assert_true(strlen(out) > n);
	assert_string_equal(out + strlen(out) - 2, "\r\n");
	assert_null(strstr(trace_log, "cHBwcHBw"));
	assert_true(strstr(trace_log, "SEND <redacted>\n") != NULL);
	smtp_free(s);
	free(pw);
}

/*
 * However long the arguments, a command is either queued whole or the
 * engine fails: never a READ with the command silently left out, which
 * would leave the driver waiting for a reply that cannot come.
 */
static void
test_long_commands_not_dropped(void **state)
{
	char report[1024] = "";
	struct smtp_params p;
	struct smtp *s;
	enum smtp_action a;
	const char *out;
	char *from, *pw, *rcpt[10];
	size_t i, lines;

	from = malloc(20001);
	assert_non_null(from);
	memset(from, 'f', 20000);
	from[19990] = '@';
	from[20000] = '\0';
	params_init(&p);
	p.from = from;
	s = engine(&p);
	a = to_ehlo(s, "250 mx");
	out = take(s);
	if (a == SMTP_A_READ && strncmp(out, "MAIL FROM:<", 11) != 0)
		strcat(report,
		    " [20000-byte envelope-from: READ with MAIL "
		    "not queued]");
	smtp_free(s);
	free(from);

	for (i = 0; i < 10; i++) {
		rcpt[i] = malloc(3001);
		assert_non_null(rcpt[i]);
		memset(rcpt[i], 'r', 3000);
		rcpt[i][2990] = '@';
		rcpt[i][3000] = '\0';
	}
	params_init(&p);
	p.rcpt = (const char *const *)rcpt;
	p.nrcpt = 10;
	s = engine(&p);
	a = to_ehlo(s, "250-mx\n250 PIPELINING");
	out = take(s);
	for (lines = 0; (out = strchr(out, '\n')) != NULL; out++)
		lines++;
	if (a == SMTP_A_READ && lines != 12) {
		snprintf(report + strlen(report),
		    sizeof(report) - strlen(report),
		    " [10 recipients of 3000 "
		    "bytes, pipelined: %zu of 12 commands queued]",
		    lines);
	}
	smtp_free(s);
	for (i = 0; i < 10; i++)
		free(rcpt[i]);

	pw = malloc(14001);
	assert_non_null(pw);
	memset(pw, 'p', 14000);
	pw[14000] = '\0';
	params_init(&p);
	p.tls = 1;
	p.auth = "plain";
	p.user = USER;
	p.password = pw;
	s = engine(&p);
	smtp_start(s);
	smtp_tls_started(s, NULL, NULL, 0);
	a = to_ehlo(s, "250-mx\n250 AUTH PLAIN");
	take(s);
	if (a == SMTP_A_READ) {
		a = on(s, "334 ");
		out = take(s);
		if (a == SMTP_A_READ && *out == '\0')
			strcat(report,
			    " [14000-byte password: READ with the "
			    "response to 334 not queued]");
	}
	smtp_free(s);
	free(pw);

	if (report[0] != '\0')
		fail_msg("commands dropped:%s", report);
}

static void
test_command_over_limit(void **state)
{
	struct smtp_params p;
	struct smtp *s;
	enum smtp_action a;
	size_t n = 65 * 1024 * 1024;
	char *from = malloc(n + 1);

	/* Past the engine's bound: a clear failure, nothing half-queued. */
	assert_non_null(from);
	memset(from, 'f', n);
	from[n - 12] = '@';
	from[n] = '\0';
	params_init(&p);
	p.from = from;
	s = engine(&p);
	expect_action(smtp_start(s), SMTP_A_READ);
	expect_action(on(s, "220 mx"), SMTP_A_READ);
	take(s);
	a = on(s, "250-mx\n250 PIPELINING");
	expect_action(a, SMTP_A_FAIL);
	assert_int_equal(smtp_error(s)->kind, ERR_OSERR);
	assert_true(smtp_error(s)->msg[0] != '\0');
	assert_true(smtp_must_drop(s));
	assert_int_equal(smtp_state(s), SMTP_S_FAILED);
	assert_string_equal(take(s), "");
	smtp_free(s);
	free(from);
}

static void
test_state_names(void **state)
{
	int st;

	for (st = SMTP_S_CONNECTED; st <= SMTP_S_FAILED; st++) {
		assert_non_null(smtp_state_name((enum smtp_state)st));
		assert_string_not_equal(smtp_state_name((enum smtp_state)st),
		    "?");
	}
	assert_string_equal(smtp_state_name(SMTP_S_STARTTLS), "STARTTLS");
}

/* Several messages in one session: no QUIT until the last. */
static void
test_session_several_messages(void **state)
{
	static const char *const one[] = { "a@example.org" };
	static const char *const other[] = { "b@example.org" };
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.rcpt = one;
	p.nrcpt = 1;
	p.more = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx.example\n250 PIPELINING"),
	    SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<a@example.org>\r\nDATA\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	/* No QUIT behind the content: another message follows. */
	assert_string_equal(take(s), "");
	expect_action(on(s, "250 queued as 1"), SMTP_A_NEXT);
	assert_int_equal(smtp_error(s)->kind, ERR_NONE);
	assert_int_equal(smtp_error(s)->code, 250);
	assert_true(smtp_rcpt_delivered(s, 0));
	assert_int_equal(smtp_state(s), SMTP_S_READY);

	/* The second, the last: QUIT goes with its content again. */
	p.rcpt = other;
	p.more = 0;
	expect_action(smtp_next(s, &p), SMTP_A_READ);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	assert_false(smtp_rcpt_delivered(s, 0));
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	assert_string_equal(take(s), "QUIT\r\n");
	expect_action(on(s, "250 queued as 2"), SMTP_A_DONE);
	smtp_free(s);
}

/* A refused message is cleared with RSET; the session goes on. */
static void
test_session_refusal_then_next(void **state)
{
	static const char *const one[] = { "a@example.org" };
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.rcpt = one;
	p.nrcpt = 1;
	p.more = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250 mx.example"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	expect_action(on(s, "550 5.7.1 sender refused"), SMTP_A_READ);
	assert_string_equal(take(s), "RSET\r\n");
	assert_int_equal(smtp_state(s), SMTP_S_RSET);
	expect_action(on(s, "250 reset"), SMTP_A_NEXT);
	assert_int_equal(smtp_error(s)->kind, ERR_DATA);
	assert_int_equal(smtp_error(s)->code, 550);
	/* Nothing more to send: QUIT, done. */
	expect_action(smtp_quit(s), SMTP_A_DONE);
	assert_string_equal(take(s), "QUIT\r\n");
	smtp_free(s);
}

/* 421 ends the session even between messages. */
static void
test_session_421_ends_it(void **state)
{
	static const char *const one[] = { "a@example.org" };
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.rcpt = one;
	p.nrcpt = 1;
	p.more = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250 mx.example"), SMTP_A_READ);
	take(s);
	expect_fail(s, on(s, "421 shutting down"), ERR_TEMP, 421);
	smtp_free(s);
}

/* One recipient, and more transactions to follow. */
static void
params_more(struct smtp_params *p, const char *const *rcpt)
{
	params_init(p);
	p->rcpt = rcpt;
	p->nrcpt = 1;
	p->more = 1;
}

/*
 * RFC 2920 3.1, RFC 3030 4: with CHUNKING and PIPELINING the next
 * transactions go out behind the current one, each after an RSET, and
 * each keeps its own outcome: a refused recipient in the middle leaves
 * the ones after it alone.
 */
static void
test_ahead_chunking_each_its_own_outcome(void **state)
{
	static const char *const a[] = { "a@example.org" };
	static const char *const b[] = { "b@example.org" };
	static const char *const c[] = { "c@example.org" };
	struct smtp_params p, pb, pc;
	struct error e;
	struct smtp *s;

	params_more(&p, a);
	p.whole = 1;
	s = engine(&p);
	expect_action(
	    to_ehlo(s, "250-mx.example\n250-PIPELINING\n250 CHUNKING"),
	    SMTP_A_BODY);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<a@example.org>\r\n");
	assert_false(smtp_ahead_room(s));
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	assert_true(smtp_ahead_room(s));
	pb = p;
	pb.rcpt = b;
	error_clear(&e);
	assert_int_equal(smtp_ahead(s, &pb, &e), 1);
	assert_string_equal(take(s),
	    "RSET\r\nMAIL FROM:<" FROM ">\r\nRCPT TO:<b@example.org>\r\n");
	/* Its content is not out yet: nothing may follow it. */
	assert_false(smtp_ahead_room(s));
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	assert_string_equal(take(s), "");
	pc = p;
	pc.rcpt = c;
	pc.more = 0;
	assert_int_equal(smtp_ahead(s, &pc, &e), 1);
	take(s);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	/* The last one said no more follow: QUIT ends the flight. */
	assert_string_equal(take(s), "QUIT\r\n");
	assert_false(smtp_ahead_room(s));
	assert_int_equal(smtp_ahead_count(s), 2);

	/* The first is taken. */
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 queued as 1"), SMTP_A_NEXT);
	assert_int_equal(smtp_error(s)->kind, ERR_NONE);
	assert_true(smtp_rcpt_delivered(s, 0));
	/* The second's recipient is refused: its outcome alone. */
	expect_action(smtp_resume(s), SMTP_A_READ);
	assert_int_equal(smtp_state(s), SMTP_S_RESET);
	assert_false(smtp_rcpt_delivered(s, 0));
	expect_action(on(s, "250 reset"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "550 5.1.1 no such user"), SMTP_A_READ);
	expect_action(on(s, "554 5.5.1 no valid recipients"), SMTP_A_NEXT);
	/* No RSET of its own: the next one began with one. */
	assert_string_equal(take(s), "");
	assert_int_equal(smtp_error(s)->kind, ERR_DATA);
	assert_int_equal(smtp_error(s)->code, 550);
	assert_int_equal(smtp_rcpt_code(s, 0), 550);
	/* The third is taken, and the session ends. */
	expect_action(smtp_resume(s), SMTP_A_READ);
	expect_action(on(s, "250 reset"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 queued as 3"), SMTP_A_DONE);
	assert_true(smtp_rcpt_delivered(s, 0));
	assert_int_equal(smtp_ahead_count(s), 0);
	assert_string_equal(take(s), "");
	smtp_free(s);
}

/*
 * Without CHUNKING the next MAIL, RCPT and DATA follow the dot, in the
 * same flight; a dot ends its transaction whatever the reply, so no RSET.
 */
static void
test_ahead_data_follows_the_dot(void **state)
{
	static const char *const a[] = { "a@example.org" };
	static const char *const b[] = { "b@example.org" };
	struct smtp_params p, pb;
	struct error e;
	struct smtp *s;

	params_more(&p, a);
	s = engine(&p);
	expect_action(to_ehlo(s, "250-mx.example\n250 PIPELINING"),
	    SMTP_A_READ);
	take(s);
	assert_false(smtp_ahead_room(s));
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	assert_true(smtp_ahead_room(s));
	pb = p;
	pb.rcpt = b;
	pb.more = 0;
	error_clear(&e);
	assert_int_equal(smtp_ahead(s, &pb, &e), 0);
	assert_string_equal(take(s),
	    "MAIL FROM:<" FROM ">\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
	/* Its content waits for its 354. */
	assert_false(smtp_ahead_room(s));
	expect_action(on(s, "554 5.6.0 content refused"), SMTP_A_NEXT);
	assert_int_equal(smtp_error(s)->code, 554);
	assert_string_equal(take(s), "");
	expect_action(smtp_resume(s), SMTP_A_READ);
	assert_int_equal(smtp_state(s), SMTP_S_MAIL);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	assert_string_equal(take(s), "QUIT\r\n");
	expect_action(on(s, "250 queued as 2"), SMTP_A_DONE);
	assert_int_equal(smtp_error(s)->kind, ERR_NONE);
	smtp_free(s);
}

/*
 * A transaction ahead that cannot go (larger than SIZE, a CR in an
 * address) is refused before a byte of it is queued; a 421 takes the
 * session down with those ahead.
 */
static void
test_ahead_refused_locally_then_421(void **state)
{
	static const char *const a[] = { "a@example.org" };
	static const char *const bad[] = { "b@example.org\r\nDATA" };
	struct smtp_params p, pb;
	struct error e;
	struct smtp *s;

	params_more(&p, a);
	p.whole = 1;
	p.size = 10;
	s = engine(&p);
	expect_action(to_ehlo(s,
			  "250-mx.example\n250-PIPELINING\n"
			  "250-SIZE 100\n250 CHUNKING"),
	    SMTP_A_BODY);
	take(s);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	pb = p;
	pb.size = 1000;
	error_clear(&e);
	assert_int_equal(smtp_ahead(s, &pb, &e), -1);
	assert_int_equal(e.kind, ERR_DATA);
	assert_non_null(strstr(e.msg, "SIZE"));
	pb.size = 10;
	pb.rcpt = bad;
	error_clear(&e);
	assert_int_equal(smtp_ahead(s, &pb, &e), -1);
	assert_int_equal(e.kind, ERR_DATA);
	assert_string_equal(take(s), "");
	assert_int_equal(smtp_ahead_count(s), 0);
	pb.rcpt = a;
	error_clear(&e);
	assert_int_equal(smtp_ahead(s, &pb, &e), 1);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	take(s);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_fail(s, on(s, "421 4.7.0 too many messages"), ERR_TEMP, 421);
	assert_int_equal(smtp_ahead_count(s), 1);
	smtp_free(s);
}

/* LMTP: who got it is known per recipient. */
static void
test_session_lmtp_partial(void **state)
{
	struct smtp_params p;
	struct smtp *s;

	params_init(&p);
	p.lmtp = 1;
	p.more = 1;
	s = engine(&p);
	expect_action(smtp_start(s), SMTP_A_READ);
	expect_action(on(s, "220 lmtp ready"), SMTP_A_READ);
	assert_string_equal(take(s), "LHLO " HELO "\r\n");
	expect_action(on(s, "250-lmtp\n250 PIPELINING"), SMTP_A_READ);
	take(s);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "250 ok"), SMTP_A_READ);
	expect_action(on(s, "354 go"), SMTP_A_BODY);
	expect_action(smtp_body_done(s, 10), SMTP_A_READ);
	expect_action(on(s, "250 a delivered"), SMTP_A_READ);
	expect_action(on(s, "452 b over quota"), SMTP_A_READ);
	assert_string_equal(take(s), "RSET\r\n");
	expect_action(on(s, "250 ok"), SMTP_A_NEXT);
	assert_int_equal(smtp_error(s)->kind, ERR_TEMP);
	assert_true(smtp_rcpt_delivered(s, 0));
	assert_false(smtp_rcpt_delivered(s, 1));
	smtp_free(s);
}

/*
 * The last guard: CR, LF or NUL in any argument stops the session before
 * a byte of the command group is queued, whatever the source forgot.
 */
static void
test_injection_refused(void **state)
{
	static const char *const evil_rcpt[] = { "a@example.org",
		"b@example.org>\r\nRCPT TO:<c@example.org" };
	static const char *const lf_rcpt[] = { "a@example.org\nDATA" };
	struct smtp_params p;
	struct smtp *s;
	const char *ehlo = "250-mx.example\n250 PIPELINING";

	(void)state;
	/* A recipient with CR LF: MAIL, RCPT, DATA all held back. */
	params_init(&p);
	p.rcpt = evil_rcpt;
	s = engine(&p);
	expect_fail(s, to_ehlo(s, ehlo), ERR_DATA, 0);
	assert_string_equal(take(s), "");
	assert_true(smtp_must_drop(s));
	assert_null(strstr(trace_log, "c@example.org"));
	smtp_free(s);

	/* A bare LF, and no pipelining: MAIL itself never goes. */
	params_init(&p);
	p.rcpt = lf_rcpt;
	p.nrcpt = 1;
	s = engine(&p);
	expect_action(to_ehlo(s, "250 mx.example"), SMTP_A_READ);
	assert_string_equal(take(s), "MAIL FROM:<" FROM ">\r\n");
	expect_fail(s, on(s, "250 ok"), ERR_DATA, 0);
	assert_string_equal(take(s), "");
	smtp_free(s);

	/* The sender and the EHLO name are arguments too. */
	params_init(&p);
	p.from = "x@example.org>\rRSET";
	s = engine(&p);
	expect_fail(s, to_ehlo(s, ehlo), ERR_DATA, 0);
	assert_string_equal(take(s), "");
	smtp_free(s);

	params_init(&p);
	p.helo = "host\r\nMAIL FROM:<evil@example.org>";
	s = engine(&p);
	expect_action(smtp_start(s), SMTP_A_READ);
	expect_fail(s, on(s, "220 mx.example ESMTP"), ERR_DATA, 0);
	assert_string_equal(take(s), "");
	smtp_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_several_messages),
		cmocka_unit_test(test_session_refusal_then_next),
		cmocka_unit_test(test_session_421_ends_it),
		cmocka_unit_test(test_session_lmtp_partial),
		cmocka_unit_test(test_greeting_ehlo),
		cmocka_unit_test(test_oauth_token_retry),
		cmocka_unit_test(test_oauthbearer_error_challenge),
		cmocka_unit_test(test_oauth_auth_on),
		cmocka_unit_test(test_injection_refused),
		cmocka_unit_test(test_greeting_refused),
		cmocka_unit_test(test_text_limits),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_no_pipelining),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_8bitmime),
		cmocka_unit_test(test_starttls_flow),
		cmocka_unit_test(test_starttls_forgets_auth),
		cmocka_unit_test(test_starttls_not_offered),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_auth_plain),
		cmocka_unit_test(test_auth_no_second_answer),
		cmocka_unit_test(test_auth_explicit_without_tls),
		cmocka_unit_test(test_auth_refused_in_clear),
		cmocka_unit_test(test_auth_not_offered),
		cmocka_unit_test(test_auth_login),
		cmocka_unit_test(test_auth_failed),
		cmocka_unit_test(test_full_dialogue),
		cmocka_unit_test(test_temp_failure_each_step),
		cmocka_unit_test(test_envelope_refused),
		cmocka_unit_test(test_envelope_refused_pipelined),
		cmocka_unit_test(test_one_rcpt_refused_data_354),
		cmocka_unit_test(test_dot_refused),
		cmocka_unit_test(test_ehlo_fallback_helo),
		cmocka_unit_test(test_trace_redacted),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_auth_old_form),
		cmocka_unit_test(test_unexpected_reply),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_wait_seconds),
		cmocka_unit_test(test_unexpected_codes),
		cmocka_unit_test(test_error_keeps_reply),
		cmocka_unit_test(test_long_auth_response),
		cmocka_unit_test(test_long_commands_not_dropped),
		cmocka_unit_test(test_command_over_limit),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_smtputf8_offered),
		cmocka_unit_test(test_smtputf8_not_offered_alabels),
		cmocka_unit_test(test_smtputf8_local_part_refused),
		cmocka_unit_test(test_dsn_parameters),
		cmocka_unit_test(test_dsn_orcpt_utf8),
		cmocka_unit_test(test_dsn_not_offered),
		cmocka_unit_test(test_requiretls_sent),
		cmocka_unit_test(test_requiretls_not_offered),
		cmocka_unit_test(test_requiretls_without_tls),
		cmocka_unit_test(test_size_declared),
		cmocka_unit_test(test_size_over_limit),
		cmocka_unit_test(test_ahead_chunking_each_its_own_outcome),
		cmocka_unit_test(test_ahead_data_follows_the_dot),
		cmocka_unit_test(test_ahead_refused_locally_then_421),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
