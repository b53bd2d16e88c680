/*
 * test_auth_request.c: outbox-auth's request lines: keys, repeats,
 * unknown keys, the empty line that ends the request before a pasted
 * address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static int
parse(struct request *r, const char *s, struct error *e)
{
	error_clear(e);
	return request_parse(r, s, strlen(s), e);
}

static void
test_keys(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r,
			     "account=work\nhost=smtp.example.org\n"
			     "scope=a b=c\ntoken_file=/t/f.json\n",
			     &e),
	    0);
	assert_string_equal(req_get(&r, RK_ACCOUNT), "work");
	assert_string_equal(req_get(&r, RK_HOST), "smtp.example.org");
	/* The value runs to the end of the line, '=' and spaces included. */
	assert_string_equal(req_get(&r, RK_SCOPE), "a b=c");
	assert_null(req_get(&r, RK_USER));
	assert_null(r.rest);
	request_free(&r);
}

static void
test_no_final_newline(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r, "account=a\nflow=paste", &e), 0);
	assert_string_equal(req_get(&r, RK_FLOW), "paste");
	request_free(&r);
}

static void
test_unknown_key(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r, "account=a\nclientid=x\n", &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
	assert_non_null(strstr(e.msg, "unknown key clientid"));
	assert_non_null(strstr(e.msg, "line 2"));
}

static void
test_repeat(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r, "account=a\naccount=b\n", &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
	assert_non_null(strstr(e.msg, "account repeats"));
}

static void
test_no_equals(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r, "account\n", &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
}

static void
test_control(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r, "account=a\r\n", &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
	error_clear(&e);
	assert_int_equal(request_parse(&r, "account=a\0b\n", 12, &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
}

static void
test_empty_value(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r, "account=a\nprovider=\n", &e), 0);
	assert_string_equal(req_get(&r, RK_PROVIDER), "");
	request_free(&r);
}

static void
test_rest_after_empty_line(void **state)
{
	struct request r;
	struct error e;

	assert_int_equal(parse(&r,
			     "account=a\nflow=paste\n\n"
			     "http://127.0.0.1/?code=x&state=y\n",
			     &e),
	    0);
	assert_string_equal(req_get(&r, RK_FLOW), "paste");
	assert_string_equal(r.rest, "http://127.0.0.1/?code=x&state=y\n");
	request_free(&r);
}

static void
test_too_long(void **state)
{
	static char big[REQ_MAX + 2];
	struct request r;
	struct error e;

	memset(big, 'x', sizeof(big));
	error_clear(&e);
	assert_int_equal(request_parse(&r, big, sizeof(big), &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
}

static void
test_provider(void **state)
{
	struct request r;
	struct oauth o;
	struct error e;

	assert_int_equal(parse(&r, "account=a\nprovider=microsoft\n", &e), 0);
	assert_int_equal(provider_resolve(&r, &o, &e), 0);
	assert_string_equal(o.mechanisms, "XOAUTH2");
	assert_non_null(strstr(o.scope, "offline_access"));
	/* No client ID is shipped: the error says how to get one. */
	assert_int_equal(provider_check(&o, 1, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "register"));
	request_free(&r);

	assert_int_equal(parse(&r, "account=a\nprovider=google\n", &e), 0);
	assert_int_equal(provider_resolve(&r, &o, &e), 0);
	assert_string_equal(o.mechanisms, "OAUTHBEARER XOAUTH2");
	request_free(&r);

	assert_int_equal(parse(&r, "account=a\nprovider=nope\n", &e), 0);
	assert_int_equal(provider_resolve(&r, &o, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	request_free(&r);

	assert_int_equal(parse(&r,
			     "account=a\nclient_id=c\n"
			     "token_endpoint=http://example.org/t\n",
			     &e),
	    0);
	assert_int_equal(provider_resolve(&r, &o, &e), 0);
	assert_string_equal(o.mechanisms, "XOAUTH2 OAUTHBEARER");
	assert_int_equal(provider_check(&o, 0, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "not https://"));
	request_free(&r);

	assert_int_equal(parse(&r, "account=a\nprovider=discover\n", &e), 0);
	assert_int_equal(provider_resolve(&r, &o, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	request_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_no_equals),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_rest_after_empty_line),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_provider),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
