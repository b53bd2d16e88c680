/* test_clean.c: the cleaning rule for server-supplied text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clean.h"

static void
is(const char *in, size_t len, int flags, const char *want)
{
	char *got = clean_text(in, len, flags);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("cleaned \"%s\", expected \"%s\"", got, want);
	free(got);
}

#define IS(in, want) is(in, sizeof(in) - 1, 0, want)

static void
test_plain_and_utf8_kept(void **state)
{
	(void)state;
	IS("250 2.0.0 Ok: queued as 4XyZ", "250 2.0.0 Ok: queued as 4XyZ");
	IS("451 r\xc3\xa9"
	   "essayez",
	    "451 r\xc3\xa9"
	    "essayez");
	IS("\xe2\x82\xac \xf0\x9f\x93\xa8", "\xe2\x82\xac \xf0\x9f\x93\xa8");
	IS("", "");
}

/* Escape sequences, bells, CR, NUL: none reaches the terminal. */
static void
test_c0_del(void **state)
{
	(void)state;
	IS("\x1b]0;pwned\x07 550", "?]0;pwned? 550");
	IS("\x1b[2J\x1b[1;1H", "?[2J?[1;1H");
	IS("a\rb\tc\x7f", "a?b?c?");
	IS("a\0b", "a?b");
	IS("one\ntwo", "one?two");
	is("one\ntwo", 7, CLEAN_LINES, "one\ntwo");
	is("one\r\ntwo", 8, CLEAN_LINES, "one?\ntwo");
}

/* C1 controls in UTF-8 (U+009B is a one-character CSI). */
static void
test_c1(void **state)
{
	(void)state;
	IS("\xc2\x9b"
	   "31m red",
	    "?31m red");
	IS("\xc2\x80\xc2\x9f\xc2\xa0", "??\xc2\xa0");
}

/* Bidirectional controls reorder the text a user reads. */
static void
test_bidi(void **state)
{
	(void)state;
	IS("ok \xe2\x80\xae"
	   "gpj.exe",
	    "ok ?gpj.exe");
	IS("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "???");
	IS("\xe2\x81\xa6x\xe2\x81\xa9", "?x?");
	IS("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "????");
}

/* Not UTF-8: overlong, surrogates, past U+10FFFF, cut short, stray. */
static void
test_invalid_utf8(void **state)
{
	(void)state;
	IS("\xc0\xaf", "??");
	IS("\xe0\x80\xaf", "???");
	IS("\xed\xa0\x80", "???");
	IS("\xf4\x90\x80\x80", "????");
	IS("\xe2\x82", "??");
	IS("\x80 \xff", "? ?");
	/* An overlong ESC is not an ESC to let through either. */
	IS("\xc1\x9b", "??");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_utf8_kept),
		cmocka_unit_test(test_c0_del),
		cmocka_unit_test(test_c1),
		cmocka_unit_test(test_bidi),
		cmocka_unit_test(test_invalid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
