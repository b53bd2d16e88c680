/*
 * test_auth_store.c: outbox-auth's token file: modes of what it
 * creates, refusal of loose modes and symbolic links, replacement by
 * rename (no temporary left behind), and the refresh lock.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"

static char dir[256], file[320];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/outbox-auth-test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/sub/oauth2/acc.json", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
sample(struct tokens *t)
{
	memset(t, 0, sizeof(*t));
	t->access_token = strdup("AT\"quoted\"");
	t->expires_at = 1000;
	t->refresh_token = strdup("RT");
	t->refresh_obtained = 10;
	t->last_used = 20;
	t->client_id = NULL;
	t->present = 1;
}

static void
test_round_trip_modes(void **state)
{
	struct tokens t, u;
	struct error e;
	struct stat st;
	char sub[300];
	DIR *d;
	struct dirent *de;
	int entries = 0;

	error_clear(&e);
	assert_int_equal(store_read(file, &u, &e), 0);
	assert_int_equal(u.present, 0);
	sample(&t);
	assert_int_equal(store_write(file, &t, &e), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(sub, sizeof(sub), "%s/sub/oauth2", dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(store_read(file, &u, &e), 0);
	assert_int_equal(u.present, 1);
	assert_string_equal(u.access_token, "AT\"quoted\"");
	assert_string_equal(u.refresh_token, "RT");
	assert_int_equal(u.expires_at, 1000);
	assert_int_equal(u.refresh_obtained, 10);
	assert_int_equal(u.last_used, 20);
	assert_null(u.client_id);
	tokens_free(&u);
	/* Rewriting replaces the file and leaves no temporary behind. */
	free(t.access_token);
	t.access_token = strdup("AT2");
	assert_int_equal(store_write(file, &t, &e), 0);
	assert_int_equal(store_read(file, &u, &e), 0);
	assert_string_equal(u.access_token, "AT2");
	tokens_free(&u);
	snprintf(sub, sizeof(sub), "%s/sub/oauth2", dir);
	d = opendir(sub);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			assert_string_equal(de->d_name, "acc.json");
			entries++;
		}
	closedir(d);
	assert_int_equal(entries, 1);
	tokens_free(&t);
}

static void
test_loose_mode(void **state)
{
	struct tokens t, u;
	struct error e;

	error_clear(&e);
	sample(&t);
	assert_int_equal(store_write(file, &t, &e), 0);
	tokens_free(&t);
	assert_int_equal(chmod(file, 0640), 0);
	assert_int_equal(store_read(file, &u, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_non_null(strstr(e.msg, file));
}

static void
test_symlink(void **state)
{
	struct tokens t, u;
	struct error e;
	char link[400];

	error_clear(&e);
	sample(&t);
	assert_int_equal(store_write(file, &t, &e), 0);
	tokens_free(&t);
	snprintf(link, sizeof(link), "%s/sub/oauth2/link.json", dir);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(store_read(link, &u, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "symbolic link"));
}

static void
test_damaged(void **state)
{
	struct tokens u;
	struct error e;
	FILE *f;

	error_clear(&e);
	assert_int_equal(store_mkdir(file, &e), 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("{\"version\":2}", f);
	fclose(f);
	assert_int_equal(chmod(file, 0600), 0);
	assert_int_equal(store_read(file, &u, &e), -1);
	assert_int_equal(e.kind, ERR_CONFIG);
	assert_non_null(strstr(e.msg, "damaged"));
}

static void
test_relative(void **state)
{
	struct tokens u;
	struct error e;

	error_clear(&e);
	assert_int_equal(store_read("acc.json", &u, &e), -1);
	assert_int_equal(e.kind, ERR_USAGE);
}

static void
test_lock(void **state)
{
	struct error e;
	int fd;
	pid_t pid;
	int status;

	error_clear(&e);
	fd = store_lock(file, 1, &e);
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct error ce;

		error_clear(&ce);
		/* Held by the parent: times out as a temporary failure. */
		_exit(store_lock(file, 1, &ce) < 0 && ce.kind == ERR_TEMP ? 0 :
									    1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	store_unlock(fd);
	fd = store_lock(file, 1, &e);
	assert_true(fd >= 0);
	store_unlock(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_loose_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
