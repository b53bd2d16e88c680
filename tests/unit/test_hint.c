/* test_hint.c: the table from a failure to the setting that fixes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hint.h"

static const struct hint_ctx submission = { 587, 1, 1, 1 };
static const struct hint_ctx noauth = { 587, 1, 1, 0 };
static const struct hint_ctx cleartext = { 25, 0, 0, 1 };
static const struct hint_ctx implicit = { 587, 1, 0, 1 };

static const char *
hint(const struct hint_ctx *x, enum error_kind kind, int code,
    const char *reply, const char *msg)
{
	static struct error e;

	error_clear(&e);
	e.kind = kind;
	e.code = code;
	snprintf(e.reply, sizeof(e.reply), "%s", reply);
	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	return hint_find(x, &e);
}

static void
says(const char *h, const char *want)
{
	assert_non_null(h);
	if (strstr(h, want) == NULL)
		fail_msg("hint \"%s\" lacks \"%s\"", h, want);
}

static void
test_provider_codes(void **state)
{
	(void)state;
	says(hint(&submission, ERR_AUTH, 535,
		 "535 5.7.8 Username and Password not accepted",
		 "authentication failed"),
	    "password");
	says(hint(&submission, ERR_AUTH, 534,
		 "534-5.7.9 Application-specific password required.",
		 "authentication failed"),
	    "application-specific password");
	says(
	    hint(&submission, ERR_AUTH, 535,
		"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
		"is disabled for the Tenant.",
		"authentication failed"),
	    "SMTP AUTH");
	says(hint(&submission, ERR_UNAVAILABLE, 550,
		 "550 5.7.30 Basic authentication is not supported for Client "
		 "Submission.",
		 "x"),
	    "xoauth2");
	says(hint(&submission, ERR_DATA, 550,
		 "550 5.7.60 SMTP; Client does not have permissions to send as "
		 "this sender",
		 "x"),
	    "set from");
	says(hint(&submission, ERR_DATA, 550,
		 "550 5.7.1 Sender address not allowed to send as this user",
		 "x"),
	    "set from");
	says(hint(&submission, ERR_UNAVAILABLE, 552,
		 "552 5.3.4 Message size exceeds fixed limit", "x"),
	    "larger than the server takes");
	/* 552 for too many recipients is not about the size */
	assert_null(hint(&submission, ERR_DATA, 552,
	    "552 5.5.3 Too many recipients", "x"));
}

static void
test_enhanced_code_is_a_whole_word(void **state)
{
	(void)state;
	/* 5.7.8 is not 5.7.80, nor a part of 15.7.8 */
	assert_null(hint(&submission, ERR_AUTH, 535, "535 5.7.80 no", "x"));
	assert_null(hint(&submission, ERR_AUTH, 535, "535 15.7.8 no", "x"));
	/* 5.7.139 is not taken for 5.7.13 */
	assert_null(hint(&submission, ERR_AUTH, 535, "535 5.7.13 no", "x"));
	/* the reply code must match as well */
	assert_null(hint(&submission, ERR_AUTH, 554, "554 5.7.8 no", "x"));
	/* a 5.7.1 without the words about sending as someone */
	assert_null(hint(&submission, ERR_DATA, 550, "550 5.7.1 spam", "x"));
}

static void
test_auth_off(void **state)
{
	(void)state;
	says(hint(&noauth, ERR_DATA, 554,
		 "554 5.7.1 <bob@example.net>: Relay access denied", "x"),
	    "auth on");
	says(hint(&noauth, ERR_DATA, 530, "530 5.7.0 Authentication required",
		 "x"),
	    "auth on");
	/* with auth on the same reply is no certain mistake */
	assert_null(hint(&submission, ERR_DATA, 554,
	    "554 5.7.1 <bob@example.net>: Relay access denied", "x"));
}

static void
test_tls_modes(void **state)
{
	(void)state;
	says(hint(&cleartext, ERR_UNAVAILABLE, 0, "",
		 "cannot use a secure authentication method without TLS"),
	    "tls on");
	says(hint(&cleartext, ERR_UNAVAILABLE, 0, "",
		 "the server does not support authentication"),
	    "tls on");
	assert_null(hint(&submission, ERR_UNAVAILABLE, 0, "",
	    "the server does not support authentication"));
	says(hint(&submission, ERR_CONFIG, 0, "",
		 "the server sent nothing in 10 seconds: no greeting"),
	    "tls_starttls off");
	says(hint(&implicit, ERR_PROTOCOL, 0, "",
		 "TLS handshake failed: the server answered in plain text"),
	    "tls_starttls on");
	assert_null(hint(&submission, ERR_PROTOCOL, 0, "",
	    "TLS handshake failed: the server answered in plain text"));
}

static void
test_unresolvable_host(void **state)
{
	(void)state;
	says(hint(&submission, ERR_NOHOST, 0, "",
		 "cannot resolve smtp.example.invalid: Name or service not "
		 "known"),
	    "check host");
	says(hint(&submission, ERR_NOHOST, 0, "",
		 "cannot resolve example.org: No address associated with "
		 "hostname"),
	    "check host");
	says(hint(&submission, ERR_TEMP, 0, "",
		 "cannot connect to localhost port 587: Connection refused"),
	    "check host and port");
	/* a temporary failure of the resolver is no typo */
	assert_null(hint(&submission, ERR_TEMP, 0, "",
	    "cannot resolve smtp.example.org: Temporary failure in name "
	    "resolution"));
}

static void
test_apply_keeps_first(void **state)
{
	struct error e;

	(void)state;
	error_clear(&e);
	e.kind = ERR_AUTH;
	e.code = 535;
	snprintf(e.reply, sizeof(e.reply), "535 5.7.8 bad");
	hint_apply(&submission, &e);
	assert_true(strstr(e.hint, "password") != NULL);
	error_clear(&e);
	hint_apply(&submission, &e);
	assert_string_equal(e.hint, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_codes),
		cmocka_unit_test(test_enhanced_code_is_a_whole_word),
		cmocka_unit_test(test_auth_off),
		cmocka_unit_test(test_tls_modes),
		cmocka_unit_test(test_unresolvable_host),
		cmocka_unit_test(test_apply_keeps_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
