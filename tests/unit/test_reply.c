/* test_reply.c: SMTP reply assembly and validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reply.h"

/* Feed one NUL-terminated line. */
static int
feed(struct reply *r, const char *line, struct error *err)
{
	return reply_feed(r, line, strlen(line), err);
}

/* Feed a line and expect it to be refused as a protocol error. */
static void
refused(const char *line, size_t len)
{
	struct reply r;
	struct error err;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(reply_feed(&r, line, len, &err), -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	assert_true(strstr(err.msg, "invalid reply") != NULL);
	reply_free(&r);
}

static void
test_single_line(void **state)
{
	struct reply r;
	struct error err;
	const char *t;
	size_t len;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "220 mx.example ESMTP ready", &err), 1);
	assert_int_equal(r.code, 220);
	assert_int_equal(reply_class(&r), 2);
	assert_int_equal(r.nlines, 1);
	assert_true(r.done);
	t = reply_line(&r, 0, &len);
	assert_int_equal(len, strlen("mx.example ESMTP ready"));
	assert_memory_equal(t, "mx.example ESMTP ready", len);
	assert_string_equal(r.enh, "");
	assert_string_equal(reply_text(&r), "220 mx.example ESMTP ready");
	assert_int_equal(err.kind, ERR_NONE);
	reply_free(&r);
}

static void
test_multi_line(void **state)
{
	struct reply r;
	struct error err;
	const char *t;
	size_t len;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250-mx.example Hello", &err), 0);
	assert_false(r.done);
	assert_int_equal(feed(&r, "250-PIPELINING", &err), 0);
	assert_int_equal(feed(&r, "250-", &err), 0);
	assert_int_equal(feed(&r, "250 8BITMIME", &err), 1);
	assert_true(r.done);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 4);
	t = reply_line(&r, 0, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(t, "mx.example Hello", 16);
	t = reply_line(&r, 1, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(t, "PIPELINING", 10);
	t = reply_line(&r, 2, &len);
	assert_int_equal(len, 0);
	t = reply_line(&r, 3, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(t, "8BITMIME", 8);
	/* Past the end: empty. */
	t = reply_line(&r, 4, &len);
	assert_int_equal(len, 0);
	assert_non_null(t);
	assert_string_equal(reply_text(&r),
	    "250-mx.example Hello\n250-PIPELINING\n250-\n250 8BITMIME");
	reply_free(&r);
}

static void
test_code_only(void **state)
{
	struct reply r;
	struct error err;
	size_t len;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250", &err), 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 1);
	reply_line(&r, 0, &len);
	assert_int_equal(len, 0);
	assert_string_equal(r.enh, "");

	/* A code with a separator and nothing after it. */
	assert_int_equal(feed(&r, "354 ", &err), 1);
	assert_int_equal(r.code, 354);
	reply_line(&r, 0, &len);
	assert_int_equal(len, 0);

	/* A bare code ends a multi-line reply too. */
	assert_int_equal(feed(&r, "250-first", &err), 0);
	assert_int_equal(feed(&r, "250", &err), 1);
	assert_int_equal(r.nlines, 2);
	reply_line(&r, 1, &len);
	assert_int_equal(len, 0);
	reply_free(&r);
}

static void
test_enhanced_codes(void **state)
{
	static const struct {
		const char *line;
		const char *enh;
	} cases[] = {
		{ "250 2.1.0 Sender ok", "2.1.0" },
		{ "550 5.1.1 No such user", "5.1.1" },
		{ "451 4.7.1 Try later", "4.7.1" },
		{ "250 2.0.0", "2.0.0" },
		{ "553 5.100.999 long parts", "5.100.999" },
		/* The class must match the reply code's. */
		{ "250 5.1.1 mismatch", "" },
		{ "550 2.0.0 mismatch", "" },
		{ "450 5.7.1 mismatch", "" },
		/* Malformed. */
		{ "250 2.1 short", "" },
		{ "250 2.1. missing detail", "" },
		{ "250 2..0 missing subject", "" },
		{ "250 2.1000.0 subject too long", "" },
		{ "250 2.1.1000 detail too long", "" },
		{ "250 2.1.0Ok glued text", "" },
		{ "250 2.1.x letters", "" },
		{ "250 x.1.0 letters", "" },
		{ "250 21.0 no dot", "" },
		{ "250 Ok 2.1.0", "" },
		{ "250 3.1.0 no such class", "" },
		{ "250 2.a.0 letters", "" },
	};
	struct reply r;
	struct error err;
	size_t i;

	reply_init(&r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error_clear(&err);
		assert_int_equal(feed(&r, cases[i].line, &err), 1);
		if (strcmp(r.enh, cases[i].enh) != 0)
			fail_msg("\"%s\": enhanced code \"%s\", expected "
				 "\"%s\"",
			    cases[i].line, r.enh, cases[i].enh);
	}

	/* A multi-line reply: the code is taken from the first line. */
	assert_int_equal(feed(&r, "550-5.1.1 first", &err), 0);
	assert_int_equal(feed(&r, "550 5.1.1 second", &err), 1);
	assert_string_equal(r.enh, "5.1.1");
	reply_free(&r);
}

static void
test_garbage(void **state)
{
	refused("", 0);
	refused("2", 1);
	refused("25", 2);
	refused("abc hello", 9);
	refused("x50 hello", 9);
	refused("2x0 hello", 9);
	refused("25x hello", 9);
	refused("150 informational", 17);
	refused("199 informational", 17);
	refused("050 zero", 8);
	refused("650 six", 7);
	refused("999 nine", 8);
	refused("260 second digit", 16);
	refused("2500 four digits", 16);
	refused("250x no separator", 17);
	refused("250_underscore", 14);
	refused(" 250 leading space", 18);
	refused("250\tTab", 7);
	refused("HTTP/1.1 400 Bad Request", 24);
}

static void
test_code_change(void **state)
{
	struct reply r;
	struct error err;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250-first", &err), 0);
	assert_int_equal(feed(&r, "251 second", &err), -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	assert_true(strstr(err.msg, "250") != NULL);
	assert_true(strstr(err.msg, "251") != NULL);
	reply_free(&r);

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250-first", &err), 0);
	assert_int_equal(feed(&r, "550 second", &err), -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	reply_free(&r);
}

static void
test_nul_byte(void **state)
{
	static const char line[] = "250 hello\0world";
	struct reply r;
	struct error err;

	refused(line, sizeof(line) - 1);

	/* In a continuation line too. */
	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250-first", &err), 0);
	assert_int_equal(reply_feed(&r, line, sizeof(line) - 1, &err), -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	assert_true(strstr(err.msg, "NUL") != NULL);
	reply_free(&r);

	/* In the code itself. */
	refused("2\0"
		"50 x",
	    6);
}

static void
test_line_max(void **state)
{
	struct reply r;
	struct error err;
	char *line;

	line = malloc(REPLY_LINE_MAX + 2);
	assert_non_null(line);
	memcpy(line, "250 ", 4);
	memset(line + 4, 'a', REPLY_LINE_MAX + 2 - 4);

	/* Exactly the maximum is fine. */
	reply_init(&r);
	error_clear(&err);
	assert_int_equal(reply_feed(&r, line, REPLY_LINE_MAX, &err), 1);
	assert_int_equal(r.code, 250);
	reply_free(&r);

	/* One byte more is an error, not a truncated line. */
	reply_init(&r);
	error_clear(&err);
	assert_int_equal(reply_feed(&r, line, REPLY_LINE_MAX + 1, &err), -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	assert_int_equal(r.nlines, 0);
	reply_free(&r);
	free(line);
}

static void
test_lines_max(void **state)
{
	struct reply r;
	struct error err;
	size_t i;

	/* REPLY_LINES_MAX lines make a reply... */
	reply_init(&r);
	error_clear(&err);
	for (i = 0; i + 1 < REPLY_LINES_MAX; i++)
		assert_int_equal(feed(&r, "250-x", &err), 0);
	assert_int_equal(feed(&r, "250 x", &err), 1);
	assert_int_equal(r.nlines, REPLY_LINES_MAX);

	/* ...one more is refused. */
	for (i = 0; i < REPLY_LINES_MAX; i++)
		assert_int_equal(feed(&r, "250-x", &err), 0);
	assert_int_equal(feed(&r, "250 x", &err), -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	assert_true(strstr(err.msg, "lines") != NULL);
	assert_false(r.done);
	reply_free(&r);
}

static void
test_size_max(void **state)
{
	struct reply r;
	struct error err;
	char *line;
	size_t total = 0, linelen = 4000;
	int rc = 0, n = 0;

	line = malloc(linelen);
	assert_non_null(line);
	memcpy(line, "250-", 4);
	memset(line + 4, 'b', linelen - 4);
	reply_init(&r);
	error_clear(&err);
	/* Each line is within REPLY_LINE_MAX; together they are not. */
	while (total + linelen + 1 <= REPLY_SIZE_MAX) {
		rc = reply_feed(&r, line, linelen, &err);
		assert_int_equal(rc, 0);
		total += linelen + 1;
		n++;
	}
	assert_true(n < REPLY_LINES_MAX);
	rc = reply_feed(&r, line, linelen, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.kind, ERR_PROTOCOL);
	assert_true(r.text.len <= REPLY_SIZE_MAX);
	reply_free(&r);
	free(line);
}

static void
test_reuse(void **state)
{
	struct reply r;
	struct error err;
	const char *t;
	size_t len;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250-2.0.0 mx Hello", &err), 0);
	assert_int_equal(feed(&r, "250 2.0.0 PIPELINING", &err), 1);
	assert_string_equal(r.enh, "2.0.0");
	assert_string_equal(reply_text(&r),
	    "250-2.0.0 mx Hello\n250 2.0.0 PIPELINING");

	/* The next line starts a new reply with another code. */
	assert_int_equal(feed(&r, "354 go ahead", &err), 1);
	assert_int_equal(r.code, 354);
	assert_int_equal(r.nlines, 1);
	assert_string_equal(r.enh, "");
	t = reply_line(&r, 0, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(t, "go ahead", 8);
	assert_string_equal(reply_text(&r), "354 go ahead");

	/* And again, a multi-line one after a single-line one. */
	assert_int_equal(feed(&r, "550-5.1.1 one", &err), 0);
	assert_int_equal(r.nlines, 1);
	assert_int_equal(feed(&r, "550 5.1.1 two", &err), 1);
	assert_int_equal(r.nlines, 2);
	assert_string_equal(reply_text(&r), "550-5.1.1 one\n550 5.1.1 two");

	/* reply_reset empties a reply in the middle. */
	assert_int_equal(feed(&r, "250-half", &err), 0);
	reply_reset(&r);
	assert_int_equal(feed(&r, "421 bye", &err), 1);
	assert_int_equal(r.code, 421);
	assert_int_equal(r.nlines, 1);
	assert_int_equal(err.kind, ERR_NONE);
	reply_free(&r);
}

/* reply_line must work both before and after reply_text. */
static void
test_line_after_text(void **state)
{
	struct reply r;
	struct error err;
	const char *t;
	size_t len;

	reply_init(&r);
	error_clear(&err);
	assert_int_equal(feed(&r, "250-a", &err), 0);
	assert_int_equal(feed(&r, "250 bc", &err), 1);
	assert_string_equal(reply_text(&r), "250-a\n250 bc");
	t = reply_line(&r, 1, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(t, "bc", 2);
	t = reply_line(&r, 0, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(t, "a", 1);
	reply_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_multi_line),
		cmocka_unit_test(test_code_only),
		cmocka_unit_test(test_enhanced_codes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_code_change),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_max),
		cmocka_unit_test(test_lines_max),
		cmocka_unit_test(test_size_max),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_line_after_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
