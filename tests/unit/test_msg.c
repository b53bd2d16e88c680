/* test_msg.c: the body filter and the message reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "msg.h"

#define OUT_MAX (64 * 1024 * 1024)

/* A small seeded generator, the same on every run and every system. */
static uint64_t rng_state;

static void
rng_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* A byte, mostly from the ones that matter to the filter. */
static char
rng_byte(void)
{
	static const char pick[] = "\r\n..ab \xc3\xa9";
	uint32_t r = rng() % 16;

	if (r < sizeof(pick) - 1)
		return pick[r];
	return (char)(1 + rng() % 255); /* anything but NUL */
}

/*
 * The expected output, written the plain way: every line ending becomes
 * CRLF, a line starting with a dot gets another, CRLF added at the end if
 * missing, then the dot line.  *content is the size without stuffing and
 * without the final dot line.
 */
static char *
model(const char *in, size_t n, size_t *outlen, size_t *content)
{
	char *out = malloc(2 * n + 8);
	size_t i, o = 0, stuffed = 0;
	int bol = 1;

	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
			out[o++] = '\r';
			out[o++] = '\n';
			bol = 1;
			continue;
		}
		if (bol && in[i] == '.') {
			out[o++] = '.';
			stuffed++;
		}
		out[o++] = in[i];
		bol = 0;
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	*content = o - stuffed;
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	*outlen = o;
	return out;
}

/* Filter in chunks: step 0 is one chunk, -1 random sizes, else that size. */
static void
filter(const char *in, size_t n, long step, struct buf *out,
    unsigned long long *size)
{
	struct bodyfilter bf;
	struct error err;
	size_t off = 0, k;

	bodyfilter_init(&bf);
	error_clear(&err);
	while (off < n || (n == 0 && off == 0)) {
		if (step == 0)
			k = n - off;
		else if (step < 0)
			k = rng() % 9;
		else
			k = (size_t)step;
		if (k > n - off)
			k = n - off;
		assert_int_equal(bodyfilter_feed(&bf, in + off, k, out, &err),
		    0);
		off += k;
		if (n == 0)
			break;
	}
	assert_int_equal(bodyfilter_finish(&bf, out, &err), 0);
	assert_int_equal(err.kind, ERR_NONE);
	*size = bf.size;
}

/* Filter a string in one chunk and compare with what is expected. */
static void
expect_filtered(const char *in, const char *want)
{
	struct buf out;
	unsigned long long size;
	size_t len = strlen(in);

	buf_init(&out, OUT_MAX);
	filter(in, len, 0, &out, &size);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("filtering \"%s\": got %zu bytes \"%.*s\"", in,
		    out.len, (int)out.len, out.data);
	buf_free(&out);

	/* One byte at a time must give the same. */
	buf_init(&out, OUT_MAX);
	filter(in, len, 1, &out, &size);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("filtering \"%s\" bytewise: got \"%.*s\"", in,
		    (int)out.len, out.data);
	buf_free(&out);
}

static void
test_line_endings(void **state)
{
	expect_filtered("a\nb\n", "a\r\nb\r\n.\r\n");
	expect_filtered("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
	expect_filtered("a\rb\r", "a\r\nb\r\n.\r\n");
	expect_filtered("a\nb\r\nc\rd", "a\r\nb\r\nc\r\nd\r\n.\r\n");
	expect_filtered("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
	expect_filtered("a\n\rb", "a\r\n\r\nb\r\n.\r\n");
	expect_filtered("\n\n", "\r\n\r\n.\r\n");
	expect_filtered("\r\r", "\r\n\r\n.\r\n");
	expect_filtered("\r\n\r\n", "\r\n\r\n.\r\n");
	expect_filtered("\n", "\r\n.\r\n");
	expect_filtered("x\n\n\ny", "x\r\n\r\n\r\ny\r\n.\r\n");
}

static void
test_no_final_newline(void **state)
{
	expect_filtered("Subject: x\n\nbody",
	    "Subject: x\r\n\r\nbody\r\n.\r\n");
	expect_filtered("a", "a\r\n.\r\n");
	expect_filtered("a\rb", "a\r\nb\r\n.\r\n");
}

static void
test_empty(void **state)
{
	struct bodyfilter bf;
	struct buf out;
	struct error err;

	expect_filtered("", ".\r\n");

	/* Without any feed at all. */
	buf_init(&out, OUT_MAX);
	error_clear(&err);
	bodyfilter_init(&bf);
	assert_int_equal(bodyfilter_finish(&bf, &out, &err), 0);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, ".\r\n", 3);
	assert_int_equal(bf.size, 0);
	buf_free(&out);
}

static void
test_dots(void **state)
{
	expect_filtered(".\n", "..\r\n.\r\n");
	expect_filtered(".", "..\r\n.\r\n");
	expect_filtered("a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n");
	expect_filtered("..x\n", "...x\r\n.\r\n");
	expect_filtered(".hidden\r\n", "..hidden\r\n.\r\n");
	expect_filtered("a.b\n", "a.b\r\n.\r\n");
	expect_filtered("a\r.\r", "a\r\n..\r\n.\r\n");
	expect_filtered("\r.\r", "\r\n..\r\n.\r\n");
	expect_filtered("\n.\n", "\r\n..\r\n.\r\n");
	expect_filtered("\r\n.\r\n", "\r\n..\r\n.\r\n");
	expect_filtered(" .\n", " .\r\n.\r\n");
	expect_filtered(".\r\n.\r\n", "..\r\n..\r\n.\r\n");
}

/* Feed the chunks given, then finish; compare with want. */
static void
expect_chunks(const char *const *chunks, size_t n, const char *want)
{
	struct bodyfilter bf;
	struct buf out;
	struct error err;
	size_t i;

	buf_init(&out, OUT_MAX);
	error_clear(&err);
	bodyfilter_init(&bf);
	for (i = 0; i < n; i++)
		assert_int_equal(bodyfilter_feed(&bf, chunks[i],
				     strlen(chunks[i]), &out, &err),
		    0);
	assert_int_equal(bodyfilter_finish(&bf, &out, &err), 0);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("got \"%.*s\", expected \"%s\"", (int)out.len,
		    out.data, want);
	buf_free(&out);
}

static void
test_chunk_boundaries(void **state)
{
	static const char *const crlf[] = { "a\r", "\nb\r\n" };
	static const char *const cr_then_text[] = { "a\r", "b" };
	static const char *const cr_then_cr[] = { "a\r", "\r", "\nb" };
	static const char *const dot_next[] = { "a\n", ".b\n" };
	static const char *const dot_after_cr[] = { "a\r", ".b" };
	static const char *const dot_after_crlf[] = { "a\r", "\n", ".", "\n" };
	static const char *const dot_mid[] = { "a", ".", "b\n" };
	static const char *const empties[] = { "", "a", "", "\r", "", "\n",
		"" };

	expect_chunks(crlf, 2, "a\r\nb\r\n.\r\n");
	expect_chunks(cr_then_text, 2, "a\r\nb\r\n.\r\n");
	expect_chunks(cr_then_cr, 3, "a\r\n\r\nb\r\n.\r\n");
	expect_chunks(dot_next, 2, "a\r\n..b\r\n.\r\n");
	expect_chunks(dot_after_cr, 2, "a\r\n..b\r\n.\r\n");
	expect_chunks(dot_after_crlf, 4, "a\r\n..\r\n.\r\n");
	expect_chunks(dot_mid, 3, "a.b\r\n.\r\n");
	expect_chunks(empties, 7, "a\r\n.\r\n");
}

static void
test_nul(void **state)
{
	struct bodyfilter bf;
	struct buf out;
	struct error err;

	buf_init(&out, OUT_MAX);
	error_clear(&err);
	bodyfilter_init(&bf);
	assert_int_equal(bodyfilter_feed(&bf, "ab\0cd", 5, &out, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_true(strstr(err.msg, "NUL") != NULL);
	buf_free(&out);

	/* At the start of a later chunk, and right after a CR. */
	buf_init(&out, OUT_MAX);
	error_clear(&err);
	bodyfilter_init(&bf);
	assert_int_equal(bodyfilter_feed(&bf, "ab\r", 3, &out, &err), 0);
	assert_int_equal(bodyfilter_feed(&bf, "\0", 1, &out, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	buf_free(&out);

	/* At the start of a line. */
	buf_init(&out, OUT_MAX);
	error_clear(&err);
	bodyfilter_init(&bf);
	assert_int_equal(bodyfilter_feed(&bf, "\0", 1, &out, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	buf_free(&out);
}

static void
test_size(void **state)
{
	static const struct {
		const char *in;
		unsigned long long size;
	} cases[] = {
		{ "", 0 },
		{ "a", 3 }, /* "a\r\n" */
		{ "a\n", 3 },
		{ "a\r\n", 3 },
		{ ".\n", 3 },	/* ".\r\n" once unstuffed */
		{ "..\n.", 7 }, /* "..\r\n.\r\n" */
		{ "a\rb\nc", 9 },
	};
	struct buf out;
	unsigned long long size;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&out, OUT_MAX);
		filter(cases[i].in, strlen(cases[i].in), 0, &out, &size);
		if (size != cases[i].size)
			fail_msg("\"%s\": size %llu, expected %llu",
			    cases[i].in, size, cases[i].size);
		buf_free(&out);
	}
}

/* Undo the dot-stuffing and the final dot line; -1 if the form is wrong. */
static int
unstuff(const char *out, size_t len, struct buf *content)
{
	size_t i = 0, end;

	if (len < 3 || memcmp(out + len - 3, ".\r\n", 3) != 0)
		return -1;
	if (len > 3 && (len < 5 || memcmp(out + len - 5, "\r\n", 2) != 0))
		return -1;
	len -= 3;
	while (i < len) {
		for (end = i; end < len && out[end] != '\r' && out[end] != '\n';
		     end++)
			;
		/* Only CRLF line endings, each line ended by one. */
		if (end + 1 >= len + 1 || out[end] != '\r' ||
		    out[end + 1] != '\n')
			return -1;
		if (out[i] == '.') {
			/* A line starting with a dot must have been stuffed. */
			if (end == i || out[i + 1] != '.')
				return -1;
			i++;
		}
		if (buf_add(content, out + i, end + 2 - i) == -1)
			return -1;
		i = end + 2;
	}
	return 0;
}

/* The input with every line ending CRLF and a final one added. */
static void
normalise(const char *in, size_t n, struct buf *b)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
			buf_add(b, "\r\n", 2);
		} else
			buf_add(b, in + i, 1);
	}
	if (b->len > 0 &&
	    (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0))
		buf_add(b, "\r\n", 2);
}

static void
test_random_property(void **state)
{
	struct buf whole, bytes, rand_chunks, content, norm;
	unsigned long long s1, s2, s3;
	char in[300];
	char *want;
	size_t n, i, wantlen, wantsize;
	int iter;

	rng_seed(20240611);
	for (iter = 0; iter < 4000; iter++) {
		n = rng() % sizeof(in);
		if (iter < 50)
			n = (size_t)iter % 6;
		for (i = 0; i < n; i++)
			in[i] = rng_byte();
		buf_init(&whole, OUT_MAX);
		buf_init(&bytes, OUT_MAX);
		buf_init(&rand_chunks, OUT_MAX);
		buf_init(&content, OUT_MAX);
		buf_init(&norm, OUT_MAX);
		filter(in, n, 0, &whole, &s1);
		filter(in, n, 1, &bytes, &s2);
		filter(in, n, -1, &rand_chunks, &s3);

		/* The chunking does not matter. */
		assert_int_equal(whole.len, bytes.len);
		assert_memory_equal(whole.data, bytes.data, whole.len);
		assert_int_equal(whole.len, rand_chunks.len);
		assert_memory_equal(whole.data, rand_chunks.data, whole.len);
		assert_int_equal(s1, s2);
		assert_int_equal(s1, s3);

		/* The same as the plain model. */
		want = model(in, n, &wantlen, &wantsize);
		assert_int_equal(whole.len, wantlen);
		assert_memory_equal(whole.data, want, wantlen);
		assert_int_equal(s1, wantsize);
		free(want);

		/* Well-formed, and unstuffing gives the normalised input. */
		assert_true(whole.len <= 2 * n + 5);
		if (unstuff(whole.data, whole.len, &content) == -1)
			fail_msg("iteration %d: malformed output", iter);
		normalise(in, n, &norm);
		assert_int_equal(content.len, norm.len);
		if (norm.len > 0)
			assert_memory_equal(content.data, norm.data, norm.len);
		assert_int_equal(s1, content.len);
		buf_free(&whole);
		buf_free(&bytes);
		buf_free(&rand_chunks);
		buf_free(&content);
		buf_free(&norm);
	}
}

/* --- the message reader --- */

/* A deterministic message of about `size' bytes, with dots and endings. */
static char *
make_message(size_t size, int eightbit)
{
	static const char *const lines[] = {
		"Subject: test\n",
		"\n",
		"plain text line\n",
		".\n",
		".leading dot\r\n",
		"cr only\r",
		"mixed\r\n",
		"x\n",
		"..double\n",
	};
	char *m = malloc(size + 1);
	size_t off = 0, k, l;

	assert_non_null(m);
	for (k = 0; off < size; k++) {
		const char *s = lines[k % (sizeof(lines) / sizeof(lines[0]))];

		l = strlen(s);
		if (l > size - off)
			l = size - off;
		memcpy(m + off, s, l);
		off += l;
	}
	if (eightbit && size > 10)
		m[size - 10] = (char)0xe9;
	m[size] = '\0';
	return m;
}

static int
temp_file(const char *data, size_t len)
{
	char path[] = "/tmp/outbox-test-msg-XXXXXX";
	int fd = mkstemp(path);
	size_t off = 0;
	ssize_t w;

	assert_true(fd != -1);
	unlink(path);
	while (off < len) {
		w = write(fd, data + off, len - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* A pipe whose writer (a child process) sends data and closes. */
static int
pipe_from_child(const char *data, size_t len, pid_t *pid)
{
	int p[2];
	size_t off = 0;
	ssize_t w;

	assert_int_equal(pipe(p), 0);
	*pid = fork();
	assert_true(*pid != -1);
	if (*pid == 0) {
		close(p[0]);
		while (off < len) {
			/* Odd sizes, so reads end in odd places. */
			size_t k = len - off < 7777 ? len - off : 7777;

			w = write(p[1], data + off, k);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void
reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * Pump the message out 256 KiB at a time into a buffer that may never
 * grow past 1 MiB, comparing with the model as it goes.
 */
static void
pump_and_check(struct msg *m, const char *in, size_t n)
{
	struct buf out;
	struct error err;
	char *want;
	size_t wantlen, wantsize, off = 0, maxlen = 0;
	int r, calls = 0;

	want = model(in, n, &wantlen, &wantsize);
	buf_init(&out, 1024 * 1024);
	error_clear(&err);
	do {
		r = msg_pump(m, &out, 256 * 1024, &err);
		if (r == -1)
			fail_msg("msg_pump: %s", err.msg);
		calls++;
		if (out.len > maxlen)
			maxlen = out.len;
		assert_true(off + out.len <= wantlen);
		assert_memory_equal(out.data, want + off, out.len);
		off += out.len;
		if (r == 1)
			assert_true(out.len >= 256 * 1024);
		out.len = 0;
	} while (r == 1);
	assert_int_equal(off, wantlen);
	assert_true(out.cap <= 1024 * 1024);
	assert_true(calls >= 3);
	assert_int_equal(msg_size(m), wantsize);
	/* Finished: nothing more. */
	assert_int_equal(msg_pump(m, &out, 256 * 1024, &err), 0);
	assert_int_equal(out.len, 0);
	free(want);
	buf_free(&out);
}

static void
test_pump_large_file(void **state)
{
	size_t n = 4 * 1024 * 1024 + 13;
	char *in = make_message(n, 0);
	struct error err;
	struct msg *m;
	int fd = temp_file(in, n);

	error_clear(&err);
	assert_non_null(m = msg_new(fd));
	assert_int_equal(msg_prefetch(m, &err), 0);
	/* Not all read yet: it may hold 8-bit bytes. */
	assert_true(msg_eightbit(m));
	pump_and_check(m, in, n);
	msg_free(m);
	close(fd);
	free(in);
}

static void
test_pump_large_pipe(void **state)
{
	size_t n = 3 * 1024 * 1024 + 1;
	char *in = make_message(n, 1);
	struct error err;
	struct msg *m;
	pid_t pid;
	int fd = pipe_from_child(in, n, &pid);

	error_clear(&err);
	assert_non_null(m = msg_new(fd));
	assert_int_equal(msg_prefetch(m, &err), 0);
	pump_and_check(m, in, n);
	msg_free(m);
	close(fd);
	reap(pid);
	free(in);
}

static void
test_pump_without_prefetch(void **state)
{
	size_t n = 1024 * 1024 + 5;
	char *in = make_message(n, 0);
	struct msg *m;
	int fd = temp_file(in, n);

	assert_non_null(m = msg_new(fd));
	pump_and_check(m, in, n);
	msg_free(m);
	close(fd);
	free(in);
}

/* A short message through a pipe: prefetch, eightbit, pump. */
static void
small_message(const char *in, size_t n, int eightbit, const char *want)
{
	struct buf out;
	struct error err;
	struct msg *m;
	pid_t pid;
	int fd = pipe_from_child(in, n, &pid);

	error_clear(&err);
	assert_non_null(m = msg_new(fd));
	assert_int_equal(msg_prefetch(m, &err), 0);
	reap(pid);
	assert_int_equal(msg_eightbit(m), eightbit);
	buf_init(&out, 1024 * 1024);
	assert_int_equal(msg_pump(m, &out, 256 * 1024, &err), 0);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	buf_free(&out);
	msg_free(m);
	close(fd);
}

static void
test_eightbit(void **state)
{
	small_message("Subject: hi\n\nplain\n", 19, 0,
	    "Subject: hi\r\n\r\nplain\r\n.\r\n");
	small_message("Subject: hi\n\ncaf\xc3\xa9\n", 19, 1,
	    "Subject: hi\r\n\r\ncaf\xc3\xa9\r\n.\r\n");
	small_message("\x80", 1, 1, "\x80\r\n.\r\n");
	small_message("\x7f\n", 2, 0, "\x7f\r\n.\r\n");
	small_message("", 0, 0, ".\r\n");
}

static void
test_message_nul(void **state)
{
	struct buf out;
	struct error err;
	struct msg *m;
	size_t n = 3 * 1024 * 1024;
	char *in;
	int fd, r;

	/* Within what prefetch reads: found before connecting. */
	fd = temp_file("abc\n\0def\n", 9);
	error_clear(&err);
	assert_non_null(m = msg_new(fd));
	assert_int_equal(msg_prefetch(m, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	assert_true(strstr(err.msg, "NUL") != NULL);
	msg_free(m);
	close(fd);

	/* Far beyond it: found while pumping. */
	in = make_message(n, 0);
	in[n - 100] = '\0';
	fd = temp_file(in, n);
	error_clear(&err);
	assert_non_null(m = msg_new(fd));
	assert_int_equal(msg_prefetch(m, &err), 0);
	buf_init(&out, 1024 * 1024);
	do {
		r = msg_pump(m, &out, 256 * 1024, &err);
		out.len = 0;
	} while (r == 1);
	assert_int_equal(r, -1);
	assert_int_equal(err.kind, ERR_DATA);
	buf_free(&out);
	msg_free(m);
	close(fd);
	free(in);
}

static void
test_read_error(void **state)
{
	struct buf out;
	struct error err;
	struct msg *m;
	int p[2];

	/* A write-only descriptor cannot be read. */
	assert_int_equal(pipe(p), 0);
	error_clear(&err);
	assert_non_null(m = msg_new(p[1]));
	buf_init(&out, 1024 * 1024);
	assert_int_equal(msg_pump(m, &out, 256 * 1024, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	buf_free(&out);
	msg_free(m);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_dots),
		cmocka_unit_test(test_chunk_boundaries),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_random_property),
		cmocka_unit_test(test_pump_large_file),
		cmocka_unit_test(test_pump_large_pipe),
		cmocka_unit_test(test_pump_without_prefetch),
		cmocka_unit_test(test_eightbit),
		cmocka_unit_test(test_message_nul),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
