/*
 * test_conf_append.c: --write's look for an account name already in the
 * file, and the append itself (into a scratch directory, with --yes).
 * conf_append.c is included so that its static functions can be reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_append.c"

static int
names(const char *line, const char *name)
{
	return names_account(line, strlen(line), name);
}

static void
test_names_account(void **state)
{
	(void)state;
	assert_true(names("account work", "work"));
	assert_true(names("  account\twork  ", "work"));
	assert_true(names("account work : base", "work"));
	assert_true(names("account work: base", "work"));
	assert_true(names("account work\r", "work"));
	assert_false(names("account workshop", "work"));
	assert_false(names("account wor", "work"));
	assert_false(names("# account work", "work"));
	assert_false(names("accounts work", "work"));
	assert_false(names("account", "work"));
	assert_false(names("host work", "work"));
	assert_false(names("account base : work", "work"));
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = calloc(1, 4096);

	assert_non_null(fp);
	assert_non_null(text);
	assert_true(fread(text, 1, 4095, fp) < 4095);
	fclose(fp);
	return text;
}

static void
test_append(void **state)
{
	char dir[] = "/tmp/test_conf_append.XXXXXX", path[128], *got, *text;
	struct error err;
	struct stat st;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	error_clear(&err);
	/* Created with mode 0600. */
	assert_int_equal(
	    conf_append_account(path, "a", "account a\n", 1, &got, &err), 0);
	assert_string_equal(got, path);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Appended after a blank line; a missing last newline is added. */
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("host x.example", fp);
	fclose(fp);
	assert_int_equal(
	    conf_append_account(path, "b", "account b\n", 1, &got, &err), 0);
	free(got);
	text = slurp(path);
	assert_string_equal(text, "account a\nhost x.example\n\naccount b\n");
	free(text);
	/* A name already there. */
	assert_int_equal(
	    conf_append_account(path, "a", "account a\n", 1, &got, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_non_null(strstr(err.msg, "has an account a already"));
	assert_null(got);
	text = slurp(path);
	assert_string_equal(text, "account a\nhost x.example\n\naccount b\n");
	free(text);
	/* A directory is no configuration file. */
	error_clear(&err);
	assert_int_equal(
	    conf_append_account(dir, "c", "account c\n", 1, &got, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_account),
		cmocka_unit_test(test_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
