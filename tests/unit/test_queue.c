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
	e = make("odd%41@example.org", "Subject: x\r\n\r\nbody\r\n");
	memcpy(id, e->id, sizeof(id));
	e->error = strdup("421 try\nlater 100%");
	assert_int_equal(queue_save(e, &err), 0);
	queue_entry_free(e);

	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->id, id);
	assert_string_equal(v[0]->from, "odd%41@example.org");
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

/* Write NAME in the queue directory (or SUB) with TEXT. */
static void
plant(const char *sub, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s%s%s", dir, sub ? sub : "", sub ? "/" : "",
	    name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
	chmod(p, 0600);
}

static const char good_env[] = "outbox-queue 1\n"
			       "id 00000000000000A1\n"
			       "created 1\nnext 1\nattempts 0\n"
			       "account default\n"
			       "from a@example.org\n"
			       "rcpt pending b@example.org\n";

static size_t
count_damaged(const char *needle)
{
	struct queue_damage *d;
	struct error err;
	size_t n, i, hits = 0;

	error_clear(&err);
	assert_int_equal(queue_list_damaged(dir, 0, &d, &n, &err), 0);
	for (i = 0; i < n; i++)
		if (strstr(d[i].why, needle) != NULL)
			hits++;
	queue_damage_free(d, n);
	return hits;
}

static size_t
count_listed(void)
{
	struct queue_entry **v;
	struct error err;
	size_t n;

	error_clear(&err);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	queue_list_free(v, n);
	return n;
}

/* The parser alone: what a stored entry may and may not say. */
static void
test_parse(void **state)
{
	static const char *const bad[] = {
		/* CR LF in a recipient would be a second SMTP command. */
		"outbox-queue 1\nid 00000000000000A1\nfrom a@example.org\n"
		"rcpt pending b@example.org%0D%0ADATA\n",
		"outbox-queue 1\nid 00000000000000A1\nfrom a@b%0Ax\n"
		"rcpt pending b@example.org\n",
		"outbox-queue 1\nid 00000000000000A1\nfrom a@b\n"
		"rcpt pending b@example.org%00c\n",
		"outbox-queue 1\nid 00000000000000A1\nfrom a@b\n"
		"rcpt pending <b@example.org> <c@example.org>\n",
		"outbox-queue 1\nid ../../etc/passwd\nfrom a@b\n"
		"rcpt pending b@example.org\n",
		"outbox-queue 1\nid 00000000000000A1\nfrom a@b\n"
		"rcpt maybe b@example.org\n",
		"outbox-queue 1\nid 00000000000000A1\nfrom a@b\n",
		"not-a-queue 1\n",
		"outbox-queue 1\nid 00000000000000A1\nfrom a@b\nrcpt pending b@c",
	};
	struct queue_entry *e;
	struct error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		assert_int_equal(queue_parse(bad[i], strlen(bad[i]), &e, &err),
		    -1);
		assert_null(e);
		assert_int_equal(err.kind, ERR_DATA);
	}
	error_clear(&err);
	assert_int_equal(queue_parse(good_env, strlen(good_env), &e, &err), 0);
	assert_string_equal(e->rcpt[0], "b@example.org");
	/* Parsed from a buffer, the entry is nobody's file: not trusted. */
	assert_false(queue_entry_conf_trusted(e, NULL, NULL));
	queue_entry_free(e);
}

/* A stored CR LF in a recipient: the entry is skipped and reported. */
static void
test_crlf_rcpt_skipped(void **state)
{
	(void)state;
	plant(NULL, "00000000000000A1.env",
	    "outbox-queue 1\nid 00000000000000A1\nfrom a@example.org\n"
	    "rcpt pending b@example.org%0D%0ARCPT TO:<c@example.org>\n");
	plant(NULL, "00000000000000A1.msg", "x\r\n");
	assert_int_equal(count_listed(), 0);
	assert_int_equal(count_damaged("00000000000000A1.env is damaged: a "
				       "stored recipient contains a control"),
	    1);
}

/* Loose modes, other owners and symbolic links: refused, path named. */
static void
test_untrusted_dirs(void **state)
{
	struct queue_entry *e, **v;
	struct error err;
	char p[512], link[512];
	size_t n;

	(void)state;
	chmod(dir, 01777);
	error_clear(&err);
	assert_null(queue_create(dir, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, "writable by other users"));
	error_clear(&err);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	/* Nothing was mended quietly. */
	{
		struct stat st;

		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & 07777, 01777);
	}
	chmod(dir, 0700);

	/* tmp/ writable by the group. */
	e = make("x@example.org", "a\r\n");
	queue_entry_free(e);
	snprintf(p, sizeof(p), "%s/tmp", dir);
	chmod(p, 0770);
	error_clear(&err);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "its group"));
	chmod(p, 0700);

	/* failed/ a symbolic link. */
	snprintf(p, sizeof(p), "%s/failed", dir);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink("/tmp", p), 0);
	error_clear(&err);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "failed is a symbolic link"));
	unlink(p);
	mkdir(p, 0700);

	/* The queue directory itself a symbolic link. */
	snprintf(link, sizeof(link), "%s/q", dir);
	assert_int_equal(symlink(dir, link), 0);
	error_clear(&err);
	assert_null(queue_create(link, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "is a symbolic link"));
	unlink(link);

	/* Another owner (as root, the test can make one). */
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		error_clear(&err);
		assert_int_equal(queue_list(dir, 0, &v, &n, &err), -1);
		assert_non_null(strstr(err.msg, "belongs to uid 65534"));
		assert_int_equal(chown(dir, 0, 0), 0);
	}
}

/* ID.msg a symbolic link to someone's private file: never read. */
static void
test_symlink_msg(void **state)
{
	struct queue_entry *e;
	struct error err;
	char p[512], victim[512];
	char id[QUEUE_ID_LEN + 1];

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	plant(NULL, "victim", "secret\n");
	e = make("x@example.org", "a\r\n");
	memcpy(id, e->id, sizeof(id));
	queue_entry_free(e);
	snprintf(p, sizeof(p), "%s/%s.msg", dir, id);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(victim, p), 0);
	assert_int_equal(count_listed(), 0);
	assert_int_equal(count_damaged("is damaged: a symbolic link"), 1);
	/* A hard link is no better. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(link(victim, p), 0);
	assert_int_equal(count_listed(), 0);
	assert_int_equal(count_damaged("2 names (hard links)"), 1);
	/* And a FIFO does not block the listing. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(count_listed(), 0);
	assert_int_equal(count_damaged("not a regular file"), 1);
	error_clear(&err);
}

/* tmp/ID.env planted as a link to a victim file: never written through. */
static void
test_tmp_env_symlink(void **state)
{
	struct queue_entry *e;
	struct error err;
	char p[512], victim[512], buf[64];
	FILE *f;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	plant(NULL, "victim", "precious\n");
	e = make("x@example.org", "a\r\n");
	snprintf(p, sizeof(p), "%s/tmp/%s.env", dir, e->id);
	assert_int_equal(symlink(victim, p), 0);
	error_clear(&err);
	assert_int_equal(queue_save(e, &err), 0);
	queue_entry_free(e);
	assert_non_null(f = fopen(victim, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious\n");
	assert_int_equal(count_listed(), 1);
}

/* The attempt is on disk before sending; the sent mark holds. */
static void
test_attempt_and_sent_mark(void **state)
{
	struct queue_entry *e, **v;
	struct error err;
	char p[512];
	size_t n;

	(void)state;
	e = make("x@example.org", "a\r\n");
	error_clear(&err);
	assert_int_equal(queue_attempt(e, &err), 0);
	queue_entry_free(e);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(v[0]->attempting > 0);
	assert_int_equal(queue_lock(v[0], &err), 1);
	/* The mark a removal that failed leaves: nobody is pending now. */
	snprintf(p, sizeof(p), "%s/%s.msg", dir, v[0]->id);
	assert_int_equal(chmod(p, 0400), 0);
	queue_unlock(v[0]);
	assert_int_equal(queue_lock(v[0], &err), 1);
	assert_int_equal(v[0]->state[0], QUEUE_SENT);
	assert_int_equal(v[0]->state[1], QUEUE_SENT);
	/* An outcome ends the attempt. */
	assert_int_equal(queue_save(v[0], &err), 0);
	assert_int_equal(v[0]->attempting, 0);
	assert_int_equal(queue_sent(v[0], &err), 0);
	queue_list_free(v, n);
	assert_int_equal(count_listed(), 0);
}

/* A directory that cannot be written: nothing is sent from it. */
static void
test_attempt_refused(void **state)
{
	struct queue_entry *e;
	struct error err;
	char p[512];

	(void)state;
	e = make("x@example.org", "a\r\n");
	snprintf(p, sizeof(p), "%s/tmp/%s.env", dir, e->id);
	/* A directory where the file must go: the write fails. */
	assert_int_equal(mkdir(p, 0700), 0);
	error_clear(&err);
	assert_int_equal(queue_attempt(e, &err), -1);
	assert_int_not_equal(err.kind, ERR_NONE);
	assert_int_equal(e->attempting, 0);
	rmdir(p);
	queue_entry_free(e);
}

static void
test_conf_trusted(void **state)
{
	struct queue_entry *e, **v;
	struct error err;
	char conf[512], *real;
	size_t n;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	plant(NULL, "conf", "account default\n");
	assert_non_null(real = realpath(conf, NULL));
	e = make("x@example.org", "a\r\n");
	e->conffile = strdup(real);
	error_clear(&err);
	assert_int_equal(queue_save(e, &err), 0);
	queue_entry_free(e);
	assert_int_equal(queue_list(dir, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(queue_entry_conf_trusted(v[0], conf, NULL));
	assert_false(queue_entry_conf_trusted(v[0], NULL, NULL));
	assert_false(queue_entry_conf_trusted(v[0], "/etc/passwd", NULL));
	/* -C named the user's own file, which a plain -q reads too. */
	assert_true(queue_entry_conf_trusted(v[0], NULL, conf));
	assert_false(queue_entry_conf_trusted(v[0], NULL, "/etc/passwd"));
	/* Not the flusher's own file: nothing it says is configuration. */
	v[0]->own = 0;
	assert_false(queue_entry_conf_trusted(v[0], conf, NULL));
	queue_list_free(v, n);
	free(real);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_crlf_rcpt_skipped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_dirs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink_msg, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tmp_env_symlink, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_attempt_and_sent_mark,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_attempt_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_conf_trusted, setup,
		    teardown),
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
