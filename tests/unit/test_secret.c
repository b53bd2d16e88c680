/* test_secret.c: password sources: password, passwordeval, netrc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "account.h"
#include "secret.h"

static char home[64];

static struct account *
mkacct(const char *host, const char *user)
{
	struct account *a = account_new("a", "test", 1);

	assert_non_null(a);
	if (host != NULL)
		account_set(a, AF_HOST, host, 0, 0);
	if (user != NULL)
		account_set(a, AF_USER, user, 0, 0);
	return a;
}

static void
write_netrc(const char *text, mode_t mode)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/.netrc", home);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* The password found, or NULL; err->kind says whether it failed. */
static char *
lookup(struct account *a, struct error *err)
{
	char *pw = NULL;

	error_clear(err);
	if (secret_password(a, &pw, err) == -1)
		return NULL;
	return pw;
}

static int
setup(void **state)
{
	strcpy(home, "/tmp/outbox-secret-XXXXXX");
	assert_non_null(mkdtemp(home));
	setenv("HOME", home, 1);
	return 0;
}

static int
teardown(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/.netrc", home);
	unlink(path);
	rmdir(home);
	return 0;
}

static void
test_password_first(void **state)
{
	struct account *a = mkacct("mx.example", "alice");
	struct error err;
	char *pw;

	/* password wins over passwordeval and netrc. */
	write_netrc("machine mx.example login alice password fromnetrc\n",
	    0600);
	account_set(a, AF_PASSWORD, "plain", 0, 0);
	account_set(a, AF_PASSWORDEVAL, "echo evaluated", 0, 0);
	assert_string_equal(pw = lookup(a, &err), "plain");
	secret_free(pw);
	account_set(a, AF_PASSWORD, NULL, 0, 0);
	assert_string_equal(pw = lookup(a, &err), "evaluated");
	secret_free(pw);
	account_free(a);
}

static void
test_passwordeval(void **state)
{
	struct account *a = mkacct("mx.example", "alice");
	struct error err;
	char *pw;

	/* The first line only; CR and LF gone; stdin is not the message. */
	account_set(a, AF_PASSWORDEVAL, "printf 'tok\\r\\nsecond\\n'", 0, 0);
	assert_string_equal(pw = lookup(a, &err), "tok");
	secret_free(pw);
	account_set(a, AF_PASSWORDEVAL, "cat", 0, 0);
	assert_string_equal(pw = lookup(a, &err), "");
	secret_free(pw);
	account_set(a, AF_PASSWORDEVAL, "exit 3", 0, 0);
	assert_null(lookup(a, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "exit status 3"));
	account_free(a);
}

static void
test_netrc(void **state)
{
	struct account *a = mkacct("mx.example", "alice");
	struct error err;
	char *pw;

	write_netrc("machine other.example login alice password no\n"
		    "machine mx.example login bob password notbob\n"
		    "macdef init\ncd /\nmachine mx.example\n\n"
		    "machine MX.example\n  login alice\n"
		    "  password \"two words \\\"q\\\"\"\n"
		    "default login alice password fallback\n",
	    0600);
	assert_string_equal(pw = lookup(a, &err), "two words \"q\"");
	secret_free(pw);
	account_free(a);

	/* The default entry serves any other host. */
	a = mkacct("else.example", "alice");
	assert_string_equal(pw = lookup(a, &err), "fallback");
	secret_free(pw);
	account_free(a);
}

static void
test_netrc_readable_by_others(void **state)
{
	struct account *a = mkacct("mx.example", "alice");
	struct error err;

	write_netrc("machine mx.example login alice password pw\n", 0644);
	assert_null(lookup(a, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "chmod 600"));
	account_free(a);
}

/* The proxy's password: its own settings, never the account's. */
static void
test_proxy_password(void **state)
{
	struct account *a = mkacct("mx.example", "alice");
	struct error err;
	char *pw = NULL;

	account_set(a, AF_PASSWORD, "smtp-pw", 0, 0);
	account_set(a, AF_PROXY_HOST, "proxy.example", 0, 0);
	account_set(a, AF_PROXY_PASSWORD, "proxy-pw", 0, 0);
	/* No proxy_user: no password, whatever else is set. */
	error_clear(&err);
	assert_int_equal(secret_proxy_password(a, &pw, &err), 0);
	assert_null(pw);
	account_set(a, AF_PROXY_USER, "carol", 0, 0);
	assert_int_equal(secret_proxy_password(a, &pw, &err), 0);
	assert_string_equal(pw, "proxy-pw");
	secret_free(pw);
	account_set(a, AF_PROXY_PASSWORD, NULL, 0, 0);
	account_set(a, AF_PROXY_PASSWORDEVAL, "echo from-eval; echo second", 0,
	    0);
	assert_int_equal(secret_proxy_password(a, &pw, &err), 0);
	assert_string_equal(pw, "from-eval");
	secret_free(pw);
	account_set(a, AF_PROXY_PASSWORDEVAL, "exit 4", 0, 0);
	assert_int_equal(secret_proxy_password(a, &pw, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	/* netrc: the proxy's entry, under proxy_user. */
	account_set(a, AF_PROXY_PASSWORDEVAL, NULL, 0, 0);
	write_netrc("machine mx.example login carol password wrong-host\n"
		    "machine proxy.example login alice password wrong-user\n"
		    "machine proxy.example login carol password netrc-pw\n",
	    0600);
	error_clear(&err);
	assert_int_equal(secret_proxy_password(a, &pw, &err), 0);
	assert_string_equal(pw, "netrc-pw");
	secret_free(pw);
	/* The account's own password is unchanged by all this. */
	assert_string_equal(pw = lookup(a, &err), "smtp-pw");
	secret_free(pw);
	account_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_first),
		cmocka_unit_test(test_passwordeval),
		cmocka_unit_test(test_netrc),
		cmocka_unit_test(test_netrc_readable_by_others),
		cmocka_unit_test(test_proxy_password),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
