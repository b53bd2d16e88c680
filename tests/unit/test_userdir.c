/* test_userdir.c: HOME and XDG_* as bases for user files. */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "userdir.h"

static void
is(char *got, const char *want)
{
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_home(void **state)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *db = pw != NULL && strcmp(pw->pw_dir, "/") != 0 ?
	    pw->pw_dir :
	    NULL;

	(void)state;
	setenv("HOME", "/home/someone", 1);
	is(userdir_home(), "/home/someone");
	/* Relative, empty, missing or the root: the password database's. */
	setenv("HOME", "relative/dir", 1);
	is(userdir_home(), db);
	setenv("HOME", "", 1);
	is(userdir_home(), db);
	setenv("HOME", "//", 1);
	is(userdir_home(), db);
	unsetenv("HOME");
	is(userdir_home(), db);
}

static void
test_xdg(void **state)
{
	(void)state;
	setenv("HOME", "/home/someone", 1);
	setenv("XDG_STATE_HOME", "/var/state/someone", 1);
	is(userdir_xdg("XDG_STATE_HOME", ".local/state"), "/var/state/someone");
	/* The XDG specification: a relative value is ignored. */
	setenv("XDG_STATE_HOME", "state", 1);
	is(userdir_xdg("XDG_STATE_HOME", ".local/state"),
	    "/home/someone/.local/state");
	setenv("XDG_STATE_HOME", "", 1);
	is(userdir_xdg("XDG_STATE_HOME", ".local/state"),
	    "/home/someone/.local/state");
	unsetenv("XDG_STATE_HOME");
	is(userdir_xdg("XDG_STATE_HOME", ".local/state"),
	    "/home/someone/.local/state");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home),
		cmocka_unit_test(test_xdg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
