/* test_addr.c: envelope addresses from the command line and configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

static void
accepted(const char *arg, const char *want)
{
	struct error err;
	char *got;

	error_clear(&err);
	got = addr_parse_one(arg, "the recipient", ERR_USAGE, &err);
	if (got == NULL)
		fail_msg("\"%s\" refused: %s", arg, err.msg);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" gave \"%s\", expected \"%s\"", arg, got, want);
	assert_int_equal(err.kind, ERR_NONE);
	free(got);
}

static void
refused_as(const char *arg, enum error_kind kind, const char *want)
{
	struct error err;
	char *got;

	error_clear(&err);
	got = addr_parse_one(arg, "the envelope-from address", kind, &err);
	if (got != NULL)
		fail_msg("\"%s\" accepted as \"%s\"", arg, got);
	assert_int_equal(err.kind, kind);
	assert_non_null(strstr(err.msg, "the envelope-from address"));
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void
refused(const char *arg)
{
	refused_as(arg, ERR_USAGE, NULL);
	refused_as(arg, ERR_CONFIG, NULL);
}

static void
test_plain(void **state)
{
	accepted("user@example.com", "user@example.com");
	accepted("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk");
	accepted("  padded@example.com\t", "padded@example.com");
	accepted("postmaster", "postmaster");
	accepted("\"quoted\"@example.com", "\"quoted\"@example.com");
	accepted("us\xc3\xa9r@ex\xc3\xa4mple.com",
	    "us\xc3\xa9r@ex\xc3\xa4mple.com");
}

static void
test_angle_brackets(void **state)
{
	accepted("<user@example.com>", "user@example.com");
	accepted("  <user@example.com>  ", "user@example.com");
	/* The null sender. */
	accepted("<>", "");
}

static void
test_display_name(void **state)
{
	accepted("Jane Doe <jane@example.com>", "jane@example.com");
	accepted("\"Doe, Jane\" <jane@example.com>", "jane@example.com");
	accepted("Jane<jane@example.com>", "jane@example.com");
	accepted("Jane Doe <jane@example.com>   ", "jane@example.com");
}

static void
test_control_characters(void **state)
{
	refused_as("a@example.com\r\nRCPT TO:<evil@example.net>", ERR_USAGE,
	    "control character");
	refused_as("a@example.com\nDATA", ERR_CONFIG, "control character");
	refused_as("a@example.com\r", ERR_DATA, "control character");
	refused_as("<a@example.com>\n", ERR_USAGE, "control character");
	refused_as("Name\n <a@example.com>", ERR_USAGE, "control character");
	refused_as("a\001b@example.com", ERR_USAGE, "control character");
	refused_as("a@example.com\033", ERR_USAGE, "control character");
	refused_as("a@exa\x7fmple.com", ERR_USAGE, "control character");
	refused("\x1f"
		"a@example.com");
}

static void
test_spaces_inside(void **state)
{
	refused("a b@example.com");
	refused("a@exa mple.com");
	refused("a\t@example.com");
	refused("<a b@example.com>");
	refused("< a@example.com>");
	refused("<a@example.com >");
	refused("two@example.com three@example.com");
}

static void
test_unbalanced_brackets(void **state)
{
	refused("<a@example.com");
	refused("a@example.com>");
	refused(">a@example.com<");
	refused("<a@example.com>>");
	refused("<a@example.com> trailing");
	refused("Name <a@example.com");
	refused("Name a@example.com>");
}

/*
 * More than one "<" or ">": not one address.  Each case is checked and
 * every one accepted is named, so one run shows them all.
 */
static void
test_extra_brackets(void **state)
{
	static const char *const cases[] = {
		"<<a@example.com>",
		"<a@<example.com>",
		"<a@example.com> <b@example.com>",
		"Name> <a@example.com>",
	};
	char report[1024] = "";
	struct error err;
	char *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error_clear(&err);
		got = addr_parse_one(cases[i], "the recipient", ERR_USAGE,
		    &err);
		if (got != NULL) {
			snprintf(report + strlen(report),
			    sizeof(report) - strlen(report),
			    " [\"%s\" accepted as \"%s\"]", cases[i], got);
			free(got);
		} else
			assert_int_equal(err.kind, ERR_USAGE);
	}
	if (report[0] != '\0')
		fail_msg("not refused:%s", report);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_angle_brackets),
		cmocka_unit_test(test_display_name),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_spaces_inside),
		cmocka_unit_test(test_unbalanced_brackets),
		cmocka_unit_test(test_extra_brackets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
