/*
 * test_flush.c: the queue's policy: which failures are the message's,
 * which the user must mend (held) and which may pass, the retry schedule
 * an account's settings give, and when a message has waited too long.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "flush.h"

static struct error
failure(enum error_kind kind, int code)
{
	struct error e;

	error_clear(&e);
	e.kind = kind;
	e.code = code;
	return e;
}

static void
test_which_failures_are_temporary(void **state)
{
	static const struct {
		enum error_kind kind;
		int code;
		enum flush_fate fate;
	} cases[] = {
		{ ERR_NONE, 250, FLUSH_SENT },
		/* The server refused the message or a recipient for good. */
		{ ERR_DATA, 550, FLUSH_FAILED },
		{ ERR_DATA, 552, FLUSH_FAILED },
		{ ERR_UNAVAILABLE, 554, FLUSH_FAILED },
		/*
		 * What the user must mend is held: 530 asks for a login
		 * first (RFC 4954 6), a refused login, the configuration, an
		 * unreadable trust file, a certificate or a server lacking
		 * what the account needs (no reply code).
		 */
		{ ERR_UNAVAILABLE, 530, FLUSH_HELD },
		{ ERR_AUTH, 535, FLUSH_HELD },
		{ ERR_AUTH, 0, FLUSH_HELD },
		{ ERR_CONFIG, 0, FLUSH_HELD },
		{ ERR_NOINPUT, 0, FLUSH_HELD },
		{ ERR_UNAVAILABLE, 0, FLUSH_HELD },
		/* 4xx, the network, a broken server: later. */
		{ ERR_TEMP, 451, FLUSH_RETRY },
		{ ERR_TEMP, 421, FLUSH_RETRY },
		{ ERR_TEMP, 0, FLUSH_RETRY },
		{ ERR_NOHOST, 0, FLUSH_RETRY },
		{ ERR_PROTOCOL, 0, FLUSH_RETRY },
		{ ERR_OSERR, 0, FLUSH_RETRY },
	};
	struct error e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = failure(cases[i].kind, cases[i].code);
		if (flush_fate(&e) != cases[i].fate)
			fail_msg("kind %d code %d: fate %d, expected %d",
			    (int)cases[i].kind, cases[i].code,
			    (int)flush_fate(&e), (int)cases[i].fate);
	}
}

static struct account *
account_with(const char *settings)
{
	struct account *list = NULL;
	struct error err;
	FILE *fp = fmemopen((void *)settings, strlen(settings), "r");

	assert_non_null(fp);
	error_clear(&err);
	assert_int_equal(conf_parse(fp, "test", 0, &list, &err), 0);
	fclose(fp);
	assert_non_null(list);
	return list;
}

static void
test_schedule_defaults(void **state)
{
	struct account *a = account_with("host h\n");
	struct flush_policy pol;
	time_t now = 1000000, next;
	long want[] = { 300, 600, 1200, 2400, 4800, 9600, 14400, 14400 };
	int i;

	(void)state;
	flush_policy_of(&pol, a);
	assert_int_equal(pol.rmin, 300);
	assert_int_equal(pol.rmax, 4 * 3600);
	assert_int_equal(pol.max_age, 5 * 86400);
	/* 5 minutes doubling up to 4 hours, the attempt counted first. */
	for (i = 0; i < 8; i++) {
		assert_int_equal(flush_decide(&pol, now - 60, i + 1,
				     FLUSH_RETRY, now, &next),
		    FLUSH_RETRY);
		if (next - now != want[i])
			fail_msg("attempt %d: next in %ld s, expected %ld",
			    i + 1, (long)(next - now), want[i]);
	}
	account_free_list(a);
}

static void
test_schedule_configured_and_expiry(void **state)
{
	struct account *a = account_with("host h\nqueue_retry 30s 2m\n"
					 "queue_max_age 1h\n");
	struct flush_policy pol;
	time_t now = 1000000, next;

	(void)state;
	flush_policy_of(&pol, a);
	assert_int_equal(flush_decide(&pol, now, 1, FLUSH_RETRY, now, &next),
	    FLUSH_RETRY);
	assert_int_equal(next - now, 30);
	assert_int_equal(flush_decide(&pol, now, 2, FLUSH_RETRY, now, &next),
	    FLUSH_RETRY);
	assert_int_equal(next - now, 60);
	assert_int_equal(flush_decide(&pol, now, 9, FLUSH_RETRY, now, &next),
	    FLUSH_RETRY);
	assert_int_equal(next - now, 120);
	/* A second short of the age limit: one more try. */
	assert_int_equal(
	    flush_decide(&pol, now - 3599, 3, FLUSH_RETRY, now, &next),
	    FLUSH_RETRY);
	/* At the limit: given up on, with no next attempt. */
	assert_int_equal(
	    flush_decide(&pol, now - 3600, 3, FLUSH_RETRY, now, &next),
	    FLUSH_EXPIRED);
	assert_int_equal(next, 0);
	/* A held message has no schedule; a refusal for good fails at once. */
	assert_int_equal(
	    flush_decide(&pol, now - 7200, 1, FLUSH_HELD, now, &next),
	    FLUSH_HELD);
	assert_int_equal(flush_decide(&pol, now, 1, FLUSH_FAILED, now, &next),
	    FLUSH_FAILED);
	assert_int_equal(flush_decide(&pol, now, 1, FLUSH_SENT, now, &next),
	    FLUSH_SENT);
	account_free_list(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which_failures_are_temporary),
		cmocka_unit_test(test_schedule_defaults),
		cmocka_unit_test(test_schedule_configured_and_expiry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
