/*
 * test_conf_env.c: the account SMTPSERVER and EMAIL describe, and when
 * there is none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"

static void
test_both_set(void **state)
{
	struct account *a;
	struct error err;

	error_clear(&err);
	assert_int_equal(conf_from_environment("smtp.example.org",
			     "me@example.org", 0, &a, &err),
	    1);
	assert_non_null(a);
	assert_string_equal(a->name, "default");
	assert_string_equal(account_str(a, AF_HOST), "smtp.example.org");
	assert_string_equal(account_str(a, AF_FROM), "me@example.org");
	assert_string_equal(conf_environment_source(a, AF_HOST), "SMTPSERVER");
	assert_string_equal(conf_environment_source(a, AF_FROM), "EMAIL");
	/* Everything else holds its default, set by nobody. */
	assert_null(conf_environment_source(a, AF_PORT));
	assert_false(account_is_set(a, AF_TLS));
	assert_false(account_on(a, AF_TLS));
	assert_int_equal(account_port(a), 25);
	assert_int_equal(account_check(a, &err), 0);
	account_free(a);
}

/* -f or --read-envelope-from gives the sender: EMAIL is not needed. */
static void
test_sender_given(void **state)
{
	struct account *a;
	struct error err;

	assert_int_equal(
	    conf_from_environment("smtp.example.org", NULL, 1, &a, &err), 1);
	assert_string_equal(account_str(a, AF_HOST), "smtp.example.org");
	assert_null(account_str(a, AF_FROM));
	assert_null(conf_environment_source(a, AF_FROM));
	account_free(a);

	/* EMAIL still fills from: the caller's sender overrides it later. */
	assert_int_equal(
	    conf_from_environment("mx", "me@example.org", 1, &a, &err), 1);
	assert_string_equal(account_str(a, AF_FROM), "me@example.org");
	account_free(a);
}

/* No account where the variables do not describe one. */
static void
test_none(void **state)
{
	static const struct {
		const char *server, *email;
		int have_sender;
	} cases[] = {
		{ NULL, NULL, 0 },
		{ NULL, "me@example.org", 0 },
		{ NULL, "me@example.org", 1 },
		{ "", "me@example.org", 0 },
		/* A host but no sender at all. */
		{ "smtp.example.org", NULL, 0 },
		{ "smtp.example.org", "", 0 },
	};
	struct account *a = (struct account *)&a;
	struct error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error_clear(&err);
		assert_int_equal(conf_from_environment(cases[i].server,
				     cases[i].email, cases[i].have_sender, &a,
				     &err),
		    0);
		assert_null(a);
		assert_int_equal(err.kind, ERR_NONE);
	}
}

/* Values checked as the file's would be; the message names the variable. */
static void
test_bad_values(void **state)
{
	static const char *const emails[] = { "Me <me@example.org>",
		"<me@example.org>", "me@example.org, you@example.org",
		"me@example.org (me)", "\"me\"@example.org" };
	struct account *a;
	struct error err;
	size_t i;

	for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
		error_clear(&err);
		assert_int_equal(
		    conf_from_environment("mx", emails[i], 0, &a, &err), -1);
		assert_null(a);
		assert_int_equal(err.kind, ERR_CONFIG);
		assert_non_null(strstr(err.msg, "EMAIL"));
	}
	error_clear(&err);
	assert_int_equal(
	    conf_from_environment("mx\r\nRSET", "me@example.org", 0, &a, &err),
	    -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "SMTPSERVER"));
	error_clear(&err);
	assert_int_equal(
	    conf_from_environment("mx", "me@example.org\n", 0, &a, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
}

/* Accounts from a file never claim to come from the environment. */
static void
test_source_of_file_account(void **state)
{
	struct account *a = conf_account_new("default", "/tmp/f", 1, NULL);
	struct error err;

	assert_non_null(a);
	assert_int_equal(conf_set(a, "host", "mx", "", &err), 0);
	assert_null(conf_environment_source(a, AF_HOST));
	assert_null(conf_environment_source(NULL, AF_HOST));
	account_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_set),
		cmocka_unit_test(test_sender_given),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_source_of_file_account),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
