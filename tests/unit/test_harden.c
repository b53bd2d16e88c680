/* test_harden.c: no core dumps once hardened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harden.h"

static void
test_no_core(void **state)
{
	struct rlimit rl;
	struct error err;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	error_clear(&err);
	assert_int_equal(harden_process(&err), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
	/* The hard limit too: nothing later can raise it again. */
	assert_int_equal(rl.rlim_max, 0);
	rl.rlim_cur = 1024;
	assert_int_equal(setrlimit(RLIMIT_CORE, &rl), -1);
	/* A crash dumps nothing (a child, so the test goes on). */
	if ((pid = fork()) == 0)
		abort();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_false(WCOREDUMP(status));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_core),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
