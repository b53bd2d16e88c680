/*
 * test_queue.c: the spool on disk: durations and back-off, an entry's
 * round trip through its files, locking, and what failed/ keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue.h"

static char dir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/outbox-test-queue-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int
exists(const char *sub, const char *id, const char *ext)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s%s%s%s", dir, sub ? sub : "",
	    sub ? "/" : "", id, ext);
	return access(p, F_OK) == 0;
}

static void
test_durations(void **state)
{
	long lo, hi;

	(void)state;
	assert_int_equal(queue_duration("90"), 90);
	assert_int_equal(queue_duration("30s"), 30);
	assert_int_equal(queue_duration("5m"), 300);
	assert_int_equal(queue_duration("4h"), 14400);
	assert_int_equal(queue_duration("5d"), 432000);
	assert_int_equal(queue_duration(""), -1);
	assert_int_equal(queue_duration("m"), -1);
	assert_int_equal(queue_duration("5w"), -1);
	assert_int_equal(queue_duration("5mm"), -1);
	assert_int_equal(queue_duration("-5"), -1);
	assert_int_equal(queue_duration("99999999999999999999d"), -1);
	assert_int_equal(queue_parse_retry("5m 4h", &lo, &hi), 0);
	assert_int_equal(lo, 300);
	assert_int_equal(hi, 14400);
	assert_int_equal(queue_parse_retry("4h 5m", NULL, NULL), -1);
	assert_int_equal(queue_parse_retry("5m", NULL, NULL), -1);
	assert_int_equal(queue_parse_retry("5m 4h 1d", NULL, NULL), -1);
}

/* The first retry after min, doubling, never past max. */
static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(queue_backoff(1000, 1, 300, 14400), 1300);
	assert_int_equal(queue_backoff(1000, 2, 300, 14400), 1600);
	assert_int_equal(queue_backoff(1000, 3, 300, 14400), 2200);
	assert_int_equal(queue_backoff(1000, 7, 300, 14400), 1000 + 14400);
	assert_int_equal(queue_backoff(1000, 100, 300, 14400), 1000 + 14400);
}

static struct queue_entry *
make(const char *from, const char *body)
{
	struct queue_entry *e;
	struct error err;

	error_clear(&err);
	e = queue_create(dir, &err);
	assert_non_null(e);
	e->account = strdup("work");
	e->from = strdup(from);
	assert_int_equal(queue_add_rcpt(e, "a@example.org", &err), 0);
	assert_int_equal(queue_add_rcpt(e, "b@example.org", &err), 0);
	assert_int_equal(queue_add_set(e, "port", "2525", &err), 0);
	assert_int_equal(queue_write(e, body, strlen(body), &err), 0);
	/* Nothing is visible before the commit. */
	assert_false(exists(NULL, e->id, ".env"));
	assert_int_equal(queue_commit(e, &err), 0);
	assert_true(exists(NULL, e->id, ".env"));
	assert_true(exists(NULL, e->id, ".msg"));
	return e;
}

static void
test_round_trip(void **state)
{
	struct queue_entry *e, **v;
	struct error err;
	size_t n;
	char id[QUEUE_ID_LEN + 1], buf[64];
	ssize_t got;
	int fd;

	(void)state;
	error_clear(&err);
	/* A value with a line break and a % must come back unchanged. */
	e = make("odd\r\n%41@example.org", "Subject: x\r\n\r\nbody\r\n");
	memcpy(id, e->id, sizeof(id));
	e->error = strdup("421 try\nlater 100%");
	assert_int_equal(queue_save(e, &err), 0);
	queue_entry_free(e);

	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->id, id);
	assert_string_equal(v[0]->from, "odd\r\n%41@example.org");
	assert_string_equal(v[0]->account, "work");
	assert_string_equal(v[0]->error, "421 try\nlater 100%");
	assert_int_equal(v[0]->nrcpt, 2);
	assert_string_equal(v[0]->rcpt[1], "b@example.org");
	assert_int_equal(v[0]->state[1], QUEUE_PENDING);
	assert_int_equal(v[0]->nset, 1);
	assert_string_equal(v[0]->set[0], "port 2525");
	assert_int_equal(v[0]->size, 20);
	assert_int_equal(queue_lock(v[0], &err), 1);
	fd = queue_content(v[0], &err);
	assert_true(fd >= 0);
	got = read(fd, buf, sizeof(buf));
	assert_int_equal(got, 20);
	assert_memory_equal(buf, "Subject: x\r\n\r\nbody\r\n", 20);
	close(fd);
	/* Delivered to one: that one is never sent again. */
	v[0]->state[0] = QUEUE_SENT;
	assert_int_equal(queue_save(v[0], &err), 0);
	queue_list_free(v, n);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(v[0]->state[0], QUEUE_SENT);
	assert_int_equal(queue_lock(v[0], &err), 1);
	assert_int_equal(queue_remove(v[0], &err), 0);
	queue_list_free(v, n);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
}

/* A second process cannot take an entry that is locked. */
static void
test_lock_excludes(void **state)
{
	struct queue_entry *e, **v;
	struct error err;
	size_t n;
	pid_t pid;
	int status;

	(void)state;
	error_clear(&err);
	e = make("x@example.org", "a\r\n");
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	pid = fork();
	if (pid == 0)
		_exit(queue_lock(v[0], &err) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Released with the process (here: the file) that held it. */
	queue_entry_free(e);
	assert_int_equal(queue_lock(v[0], &err), 1);
	assert_int_equal(queue_remove(v[0], &err), 0);
	queue_list_free(v, n);
	/* Gone meanwhile: 0, not an error. */
	e = make("y@example.org", "b\r\n");
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(queue_remove(e, &err), 0);
	queue_entry_free(e);
	assert_int_equal(queue_lock(v[0], &err), 0);
	assert_int_equal(err.kind, ERR_NONE);
	queue_list_free(v, n);
}

static void
test_failed_keeps_it(void **state)
{
	struct queue_entry *e, **v;
	struct error err;
	size_t n;
	char id[QUEUE_ID_LEN + 1];

	(void)state;
	error_clear(&err);
	e = make("x@example.org", "a\r\n");
	memcpy(id, e->id, sizeof(id));
	assert_int_equal(queue_fail(e, "550 no such user", &err), 0);
	queue_entry_free(e);
	assert_false(exists(NULL, id, ".env"));
	assert_false(exists(NULL, id, ".msg"));
	assert_true(exists("failed", id, ".msg"));
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(queue_list(dir, 1, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->failed, "550 no such user");
	queue_list_free(v, n);
}

static void
test_drop(void **state)
{
	struct queue_entry *e;
	struct error err;
	char id[QUEUE_ID_LEN + 1];

	(void)state;
	error_clear(&err);
	e = make("x@example.org", "a\r\n");
	memcpy(id, e->id, sizeof(id));
	/* Held by a sender: not now. */
	assert_int_equal(queue_drop(dir, id, &err), -1);
	assert_int_equal(err.kind, ERR_TEMP);
	queue_entry_free(e);
	error_clear(&err);
	assert_int_equal(queue_drop(dir, id, &err), 0);
	assert_false(exists(NULL, id, ".env"));
	assert_int_equal(queue_drop(dir, id, &err), -1);
	assert_int_equal(err.kind, ERR_NOINPUT);
	assert_int_equal(queue_drop(dir, "../../etc/passwd", &err), -1);
}

/* A damaged ID.env is skipped, not taken for an entry. */
static void
test_damaged_env(void **state)
{
	struct queue_entry **v;
	struct error err;
	size_t n;
	char p[512];
	FILE *f;

	(void)state;
	error_clear(&err);
	snprintf(p, sizeof(p), "%s/0000000000000001.env", dir);
	assert_non_null(f = fopen(p, "w"));
	fputs("outbox-queue 1\nid 0000000000000001\nfrom x@exa", f);
	fclose(f);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
	unlink(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lock_excludes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_keeps_it, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_env, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
