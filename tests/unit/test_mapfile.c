/* test_mapfile.c: a regular file read through the windowed mapping. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mapfile.h"

#define MIB (1024 * 1024)

/* A temporary file of n bytes, byte i being (i * 7 + i / 4096) & 0xff. */
static int
temp_file(size_t n)
{
	char path[] = "/tmp/outbox-test-mapfile-XXXXXX";
	int fd = mkstemp(path);
	unsigned char *b = malloc(n);
	size_t i, off = 0;
	ssize_t w;

	assert_true(fd != -1);
	assert_non_null(b);
	unlink(path);
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 7 + i / 4096);
	while (off < n) {
		w = write(fd, b + off, n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	free(b);
	return fd;
}

static int
expected_at(const char *p, size_t n, size_t at)
{
	size_t i;

	for (i = 0; i < n; i++, at++)
		if ((unsigned char)p[i] != (unsigned char)(at * 7 + at / 4096))
			return 0;
	return 1;
}

/* The resident file pages of this process (RssFile), in KiB. */
static long
rss_file_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "RssFile: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	assert_true(kb >= 0);
	return kb;
}

/*
 * From an offset that is not on a page boundary, in pieces of awkward
 * sizes: every byte once, in order, then the end; and the same again
 * after a rewind.
 */
static void
test_reads_all_from_offset(void **state)
{
	size_t n = 3 * MIB + 123, from = 5000, at, got;
	int fd = temp_file(n), pass;
	struct mapfile *f;
	const char *p;

	(void)state;
	assert_non_null(f = mapfile_open(fd, (off_t)from));
	for (pass = 0; pass < 2; pass++) {
		at = from;
		while ((got = mapfile_next(f, &p, 100000 + at % 777)) > 0) {
			assert_true(expected_at(p, got, at));
			at += got;
		}
		assert_int_equal(at, n);
		assert_false(mapfile_shrunk(f));
		mapfile_rewind(f);
	}
	mapfile_close(f);
	close(fd);
}

/* Not mapped: a pipe, an empty rest, and a second mapping at once. */
static void
test_refused(void **state)
{
	int p[2], fd = temp_file(10000), fd2 = temp_file(10000);
	struct mapfile *f;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_null(mapfile_open(p[0], 0));
	assert_null(mapfile_open(fd, 10000));
	assert_non_null(f = mapfile_open(fd, 0));
	assert_null(mapfile_open(fd2, 0));
	mapfile_close(f);
	assert_non_null(f = mapfile_open(fd2, 0));
	mapfile_close(f);
	close(p[0]);
	close(p[1]);
	close(fd);
	close(fd2);
}

/*
 * A file cut short under the mapping, with pages already mapped and with
 * none: the reader sees the bytes still there, then NUL bytes, and no more
 * pieces once mapfile_shrunk says so; no SIGBUS.  The SIGBUS handler from
 * before the mapping is back after it.
 */
static void
test_shrinks(void **state)
{
	size_t n = 4 * MIB, at, got, i, cut;
	int fd, early;
	struct mapfile *f;
	struct sigaction before, after;
	const char *p;

	(void)state;
	assert_int_equal(sigaction(SIGBUS, NULL, &before), 0);
	for (early = 0; early < 2; early++) {
		fd = temp_file(n);
		assert_non_null(f = mapfile_open(fd, 0));
		at = 0;
		if (!early)
			while (at < 2 * MIB &&
			    (got = mapfile_next(f, &p, 65536)) > 0) {
				assert_true(expected_at(p, got, at));
				at += got;
			}
		cut = at + 10000;
		assert_int_equal(ftruncate(fd, (off_t)cut), 0);
		while ((got = mapfile_next(f, &p, 65536)) > 0) {
			for (i = 0; i < got; i++, at++)
				if (at < cut ? !expected_at(p + i, 1, at) :
					       p[i] != '\0')
					fail_msg("byte %zu is 0x%02x", at,
					    (unsigned char)p[i]);
		}
		assert_true(mapfile_shrunk(f));
		assert_true(at > cut && at < n);
		mapfile_close(f);
		close(fd);
	}
	assert_int_equal(sigaction(SIGBUS, NULL, &after), 0);
	assert_ptr_equal((void *)after.sa_handler, (void *)before.sa_handler);
}

/*
 * Memory stays flat: reading 64 MiB twice leaves no more than a few
 * windows of the file resident.
 */
static void
test_resident_bounded(void **state)
{
	size_t n = 64 * MIB, got, at;
	int fd = temp_file(n), pass;
	struct mapfile *f;
	const char *p;
	long base, peak = 0, now;
	unsigned sum = 0;

	(void)state;
	base = rss_file_kb();
	assert_non_null(f = mapfile_open(fd, 0));
	for (pass = 0; pass < 2; pass++) {
		at = 0;
		while ((got = mapfile_next(f, &p, 128 * 1024)) > 0) {
			sum += (unsigned char)p[0] + (unsigned char)p[got - 1];
			at += got;
			if (at % (4 * MIB) == 0 && (now = rss_file_kb()) > peak)
				peak = now;
		}
		assert_int_equal(at, n);
		mapfile_rewind(f);
	}
	mapfile_close(f);
	close(fd);
	print_message("RssFile %ld kB before, %ld kB at most while reading "
		      "(sum %u)\n",
	    base, peak, sum);
	assert_true(peak - base < 4 * 1024);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_all_from_offset),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_shrinks),
		cmocka_unit_test(test_resident_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
