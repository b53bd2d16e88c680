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

/* --- the header block --- */

/* A message read from a temporary file or from a pipe. */
struct source {
	int fd;
	pid_t pid;
	struct msg *m;
};

static struct msg *
open_message(struct source *s, const char *in, size_t n, int via_pipe)
{
	struct error err;

	s->pid = -1;
	s->fd = via_pipe ? pipe_from_child(in, n, &s->pid) : temp_file(in, n);
	error_clear(&err);
	assert_non_null(s->m = msg_new(s->fd));
	if (msg_prefetch(s->m, &err) == -1)
		fail_msg("msg_prefetch: %s", err.msg);
	assert_int_equal(err.kind, ERR_NONE);
	return s->m;
}

static struct msg *
open_str(struct source *s, const char *in, int via_pipe)
{
	return open_message(s, in, strlen(in), via_pipe);
}

static void
close_message(struct source *s)
{
	msg_free(s->m);
	close(s->fd);
	if (s->pid != -1)
		reap(s->pid);
}

/*
 * msg_content_size before sending equals msg_size after: for a message
 * read whole, and for the rest of a regular file; unknown (0) for a long
 * message on a pipe.
 */
static void
content_size_case(const char *in, size_t n, int via_pipe, int edit)
{
	struct source src;
	struct buf out;
	struct error err;
	struct msg *m = open_message(&src, in, n, via_pipe);
	unsigned long long before;
	int r, f;

	if (edit) {
		/* Header edits count: a field added, one dropped. */
		assert_int_equal(msg_add_field(m, "X-Added", "yes", &err), 0);
		if ((f = msg_find_field(m, "Subject")) != -1)
			msg_drop_field(m, (size_t)f);
	}
	before = msg_content_size(m);
	buf_init(&out, OUT_MAX);
	error_clear(&err);
	while ((r = msg_pump(m, &out, 64 * 1024, &err)) == 1)
		out.len = 0;
	assert_int_equal(r, 0);
	if (via_pipe && n > 128 * 1024)
		assert_int_equal(before, 0);
	else if (before != msg_size(m))
		fail_msg("content size %llu before, %llu sent (%zu bytes in, "
			 "%s)",
		    before, msg_size(m), n, via_pipe ? "pipe" : "file");
	/* Once sending has begun the answer is msg_size's. */
	assert_int_equal(msg_content_size(m), 0);
	buf_free(&out);
	close_message(&src);
}

static void
test_content_size(void **state)
{
	static const char *const small[] = {
		"",
		"Subject: hi\n\nbody\n",
		"Subject: hi\r\n\r\nno final newline",
		"Subject: hi\n\n.dot\n..\n.\n",
		"Subject: hi\n",
		"no header at all\rbare CR\r\n",
		"Subject: hi\r",
	};
	size_t sizes[] = { 128 * 1024 - 1, 128 * 1024 + 1, 1024 * 1024 + 7 };
	size_t i;
	int pipe_or_file, edit;
	char *big;

	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		for (pipe_or_file = 0; pipe_or_file < 2; pipe_or_file++)
			for (edit = 0; edit < 2; edit++)
				content_size_case(small[i], strlen(small[i]),
				    pipe_or_file, edit);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		big = make_message(sizes[i], 1);
		for (pipe_or_file = 0; pipe_or_file < 2; pipe_or_file++)
			for (edit = 0; edit < 2; edit++)
				content_size_case(big, sizes[i], pipe_or_file,
				    edit);
		free(big);
	}
	/* Random bytes, so CR and LF fall on every boundary somewhere. */
	for (i = 0; i < 4; i++) {
		size_t n = 300 * 1024 + i * 4099, k;

		rng_seed(77 + i);
		big = malloc(n);
		assert_non_null(big);
		for (k = 0; k < n; k++)
			big[k] = rng_byte();
		content_size_case(big, n, 0, (int)(i & 1));
		free(big);
	}
}

/*
 * A regular file counted first (msg_content_size) goes out byte for byte
 * as one that was not: the count's single scan may let the send skip the
 * line-ending scan, never change what is sent.  CRLF text with lines
 * starting with "." (the skip), then a NUL, a bare LF, a bare CR late
 * in the file (no skip), and CRLF split at a read boundary; a line
 * starting with "." at the start of a later read, and one after a CRLF
 * split by it (the skip, stuffing in place).
 */
static void
counted_case(const char *in, size_t n, int raw)
{
	struct source a, b;
	struct buf oa, ob;
	struct error ea, eb;
	int ra, rb;

	open_message(&a, in, n, 0);
	open_message(&b, in, n, 0);
	if (raw) {
		msg_raw(a.m);
		msg_raw(b.m);
	}
	(void)msg_content_size(a.m);
	buf_init(&oa, OUT_MAX);
	buf_init(&ob, OUT_MAX);
	error_clear(&ea);
	error_clear(&eb);
	while ((ra = msg_pump(a.m, &oa, oa.len + 256 * 1024, &ea)) == 1)
		;
	while ((rb = msg_pump(b.m, &ob, ob.len + 256 * 1024, &eb)) == 1)
		;
	assert_int_equal(ra, rb);
	assert_int_equal(ea.kind, eb.kind);
	if (ra == 0) {
		assert_int_equal(oa.len, ob.len);
		assert_memory_equal(oa.data, ob.data, oa.len);
		assert_int_equal(msg_size(a.m), msg_size(b.m));
		assert_int_equal(msg_size_lf(a.m), msg_size_lf(b.m));
	}
	buf_free(&oa);
	buf_free(&ob);
	close_message(&a);
	close_message(&b);
}

/*
 * CRLF text gets a line starting with "." at pos, without a bare CR or LF
 * where the CRLF it is written over was.
 */
static void
dot_line_at(char *big, size_t pos)
{
	if (big[pos - 3] == '\r')
		big[pos - 3] = 'y';
	memcpy(big + pos - 2, "\r\n.y", 4);
	if (big[pos + 2] == '\n')
		big[pos + 2] = 'y';
}

static void
test_counted_same_bytes(void **state)
{
	static const char *const lines[] = { "Subject: t\r\n\r\n",
		"text line\r\n", ".dot\r\n", "..two\r\n", ".\r\n" };
	size_t n = 600 * 1024 + 3, off, k, l, v;
	char *big = malloc(n + 1);
	int raw;

	(void)state;
	assert_non_null(big);
	for (v = 0; v < 8; v++) {
		for (off = 0, k = 0; off < n; k++) {
			const char *s = lines[k == 0 ? 0 : 1 + k % 4];

			l = strlen(s);
			if (l > n - off)
				l = n - off;
			memcpy(big + off, s, l);
			off += l;
		}
		switch (v) {
		case 1:
			big[n - 100] = '\0';
			break;
		case 2:
			big[n - 100] = '\n';
			break;
		case 3:
			big[n - 100] = '\r';
			break;
		case 4: /* a CRLF across the first read's end */
			memcpy(big + 128 * 1024 - 1, "\r\n.", 3);
			break;
		case 5:
			memcpy(big + n - 2, "\r\n", 2);
			break;
		case 6: /* a dot line starting a later read */
			dot_line_at(big, 256 * 1024);
			break;
		case 7: /* a later read starting inside a CRLF, a dot next */
			dot_line_at(big, 256 * 1024 + 1);
			break;
		}
		for (raw = 0; raw < 2; raw++)
			counted_case(big, n, raw);
	}
	free(big);
}

/*
 * The rest of a file counted through its mapping (msg_content_size maps
 * a regular file) goes out as the same file not counted: past many of the
 * mapping's windows, for CRLF text (sent as it is) and for mixed line
 * endings (filtered).
 */
static void
test_mapped_same_bytes(void **state)
{
	size_t n = 5 * 1024 * 1024 + 17, k;
	char *big = malloc(n);
	int raw;

	(void)state;
	assert_non_null(big);
	memcpy(big, "Subject: t\r\n\r\n", 14);
	for (k = 14; k < n; k++)
		big[k] = k % 61 == 59 ? '\r' :
		    k % 61 == 60      ? '\n' :
		    k % 61 == 0	      ? '.' :
					(char)('a' + k % 26);
	for (raw = 0; raw < 2; raw++)
		counted_case(big, n, raw);
	rng_seed(5);
	for (k = 14; k < n; k++)
		big[k] = rng_byte();
	for (raw = 0; raw < 2; raw++)
		counted_case(big, n, raw);
	free(big);
}

/*
 * A file cut short after it was counted (through its mapping) goes out as
 * it is then, as before the mapping: the send reads the file, so there is
 * no SIGBUS and no NUL byte the file never held, only the shorter content.
 */
static void
test_counted_file_shrinks_before_send(void **state)
{
	size_t n = 3 * 1024 * 1024, cut = 1024 * 1024, k;
	char *big = malloc(n), *want;
	struct source src;
	struct buf out;
	struct error err;
	size_t wantlen, content;
	int raw, crlf, r;

	(void)state;
	assert_non_null(big);
	for (crlf = 0; crlf < 2; crlf++)
		for (raw = 0; raw < 2; raw++) {
			memcpy(big, "Subject: t\n\n", 12);
			for (k = 12; k < n; k++)
				big[k] = k % 50 == 49	 ? '\n' :
				    crlf && k % 50 == 48 ? '\r' :
							   'x';
			open_message(&src, big, n, 0);
			if (raw)
				msg_raw(src.m);
			assert_true(msg_content_size(src.m) > n);
			assert_int_equal(ftruncate(src.fd, (off_t)cut), 0);
			buf_init(&out, OUT_MAX);
			error_clear(&err);
			while ((r = msg_pump(src.m, &out, out.len + 256 * 1024,
				    &err)) == 1)
				;
			assert_int_equal(r, 0);
			want = model(big, cut, &wantlen, &content);
			if (raw) {
				assert_int_equal(msg_size(src.m), content);
			} else {
				assert_int_equal(out.len, wantlen);
				assert_memory_equal(out.data, want, wantlen);
			}
			assert_null(memchr(out.data, '\0', out.len));
			free(want);
			buf_free(&out);
			close_message(&src);
		}
	free(big);
}

/* Bytes shown escaped, for messages. */
static void
show(char *out, size_t outlen, const char *p, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			o += (size_t)snprintf(out + o, outlen - o, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(out + o, outlen - o, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
			    c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/*
 * Pump the whole message and compare with want, byte for byte.  0 if
 * equal; else -1 with what differs in why (briefly if whylen is small).
 */
static int
pumped_equal(struct msg *m, const char *want, size_t wantlen, char *why,
    size_t whylen)
{
	struct buf out;
	struct error err;
	char got[256], exp[256];
	size_t i, from;
	int r;

	buf_init(&out, OUT_MAX);
	error_clear(&err);
	while ((r = msg_pump(m, &out, out.len + 256 * 1024, &err)) == 1)
		;
	if (r == -1) {
		snprintf(why, whylen, "msg_pump: %s", err.msg);
		buf_free(&out);
		return -1;
	}
	for (i = 0; i < out.len && i < wantlen && out.data[i] == want[i]; i++)
		;
	if (i == out.len && i == wantlen) {
		buf_free(&out);
		return 0;
	}
	if (whylen < 200) {
		snprintf(why, whylen,
		    "got %zu bytes, expected %zu (from %zu on)", out.len,
		    wantlen, i);
		buf_free(&out);
		return -1;
	}
	from = i > 20 ? i - 20 : 0;
	show(got, sizeof(got), out.data + from,
	    out.len - from < 60 ? out.len - from : 60);
	show(exp, sizeof(exp), want + from,
	    wantlen - from < 60 ? wantlen - from : 60);
	snprintf(why, whylen,
	    "got %zu bytes, expected %zu; from byte %zu: \"%s\", expected "
	    "\"%s\"",
	    out.len, wantlen, from, got, exp);
	buf_free(&out);
	return -1;
}

static void
expect_pumped_n(struct msg *m, const char *want, size_t wantlen)
{
	char why[1024];

	if (pumped_equal(m, want, wantlen, why, sizeof(why)) == -1)
		fail_msg("%s", why);
}

static void
expect_pumped(struct msg *m, const char *want)
{
	expect_pumped_n(m, want, strlen(want));
}

/* Field i is named name and has the raw value given. */
static void
expect_field(const struct msg *m, size_t i, const char *name, const char *value)
{
	const char *start, *v;
	size_t nl, vl;

	assert_true(i < msg_nfields(m));
	start = msg_field(m, i, &nl, &v, &vl);
	if (nl != strlen(name) || memcmp(start, name, nl) != 0)
		fail_msg("field %zu is named \"%.*s\", expected \"%s\"", i,
		    (int)nl, start, name);
	if (vl != strlen(value) || memcmp(v, value, vl) != 0)
		fail_msg("field %zu (%s) has the value \"%.*s\", expected "
			 "\"%s\"",
		    i, name, (int)vl, v, value);
	assert_true(msg_field_is(m, i, name));
}

/* The whole message read, pumped unchanged (line endings aside). */
static void
expect_unchanged(const char *in, size_t nfields, int via_pipe)
{
	struct source s;
	char *want;
	size_t wantlen, content;

	open_message(&s, in, strlen(in), via_pipe);
	assert_int_equal(msg_nfields(s.m), nfields);
	want = model(in, strlen(in), &wantlen, &content);
	expect_pumped_n(s.m, want, wantlen);
	assert_int_equal(msg_size(s.m), content);
	free(want);
	close_message(&s);
}

/*
 * The whole message read, pumped as `as' would be: a header that ends at
 * a line which is not a field gets the empty line it lacked.
 */
static void
expect_as(const char *in, const char *as, size_t nfields, int via_pipe)
{
	struct source s;
	char *want;
	size_t wantlen, content;

	open_message(&s, in, strlen(in), via_pipe);
	assert_int_equal(msg_nfields(s.m), nfields);
	want = model(as, strlen(as), &wantlen, &content);
	expect_pumped_n(s.m, want, wantlen);
	assert_int_equal(msg_size(s.m), content);
	free(want);
	close_message(&s);
}

static void
test_header_fields(void **state)
{
	static const char *const endings[] = { "\r\n", "\n", "\r" };
	char in[512], v[128];
	struct source s;
	const char *e;
	size_t k;
	int via_pipe;

	for (k = 0; k < 3; k++)
		for (via_pipe = 0; via_pipe < 2; via_pipe++) {
			e = endings[k];
			snprintf(in, sizeof(in),
			    "Subject: hi%sTo: a@x,%s b@y%s\tc@z%sX-Empty:%s"
			    "X-Colon : a: b%sX:v%s%sbody%s",
			    e, e, e, e, e, e, e, e, e);
			open_message(&s, in, strlen(in), via_pipe);
			assert_int_equal(msg_nfields(s.m), 5);
			expect_field(s.m, 0, "Subject", " hi");
			snprintf(v, sizeof(v), " a@x,%s b@y%s\tc@z", e, e);
			expect_field(s.m, 1, "To", v);
			expect_field(s.m, 2, "X-Empty", "");
			expect_field(s.m, 3, "X-Colon", " a: b");
			expect_field(s.m, 4, "X", "v");
			assert_true(msg_field_is(s.m, 0, "SUBJECT"));
			assert_false(msg_field_is(s.m, 0, "Subjec"));
			assert_false(msg_field_is(s.m, 3, "X-Colon "));
			assert_int_equal(msg_find_field(s.m, "to"), 1);
			assert_int_equal(msg_find_field(s.m, "x-colon"), 3);
			assert_int_equal(msg_find_field(s.m, "Cc"), -1);
			assert_int_equal(msg_find_field(s.m, "body"), -1);
			expect_pumped(s.m,
			    "Subject: hi\r\nTo: a@x,\r\n b@y\r\n\tc@z\r\n"
			    "X-Empty:\r\nX-Colon : a: b\r\nX:v\r\n\r\n"
			    "body\r\n.\r\n");
			close_message(&s);
		}
}

static void
test_header_mixed_line_endings(void **state)
{
	struct source s;

	open_str(&s, "A: 1\nB: 2\r\n 2b\r\tc\nC: 3\r\n\nbody", 0);
	assert_int_equal(msg_nfields(s.m), 3);
	expect_field(s.m, 0, "A", " 1");
	expect_field(s.m, 1, "B", " 2\r\n 2b\r\tc");
	expect_field(s.m, 2, "C", " 3");
	expect_pumped(s.m,
	    "A: 1\r\nB: 2\r\n 2b\r\n\tc\r\nC: 3\r\n\r\nbody\r\n.\r\n");
	close_message(&s);

	/* A CR, then a CRLF: two line breaks, the second the empty line. */
	open_str(&s, "A: 1\r\r\nB: 2\r\n", 1);
	assert_int_equal(msg_nfields(s.m), 1);
	expect_field(s.m, 0, "A", " 1");
	expect_pumped(s.m, "A: 1\r\n\r\nB: 2\r\n.\r\n");
	close_message(&s);

	/* An LF, then a CR: the same. */
	open_str(&s, "A: 1\n\rB: 2\n", 0);
	assert_int_equal(msg_nfields(s.m), 1);
	expect_pumped(s.m, "A: 1\r\n\r\nB: 2\r\n.\r\n");
	close_message(&s);
}

static void
test_header_ends_at_non_field(void **state)
{
	struct source s;
	int via_pipe;

	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		expect_as("Subject: a\nTo: b@x\nthis is body\nmore\n",
		    "Subject: a\nTo: b@x\n\nthis is body\nmore\n", 2, via_pipe);
		expect_as("Subject: a\nFrom x: y\nCc: c@x\n",
		    "Subject: a\n\nFrom x: y\nCc: c@x\n", 1, via_pipe);
		expect_as("Subject: a\n: no name\n",
		    "Subject: a\n\n: no name\n", 1, via_pipe);
		expect_as("Subject: a\n>From x\n", "Subject: a\n\n>From x\n", 1,
		    via_pipe);
		expect_as("Subject: a\nS\xc3\xbc"
			  "bject: b\n",
		    "Subject: a\n\nS\xc3\xbc"
		    "bject: b\n",
		    1, via_pipe);
		expect_as("Subject: a\nno colon at all",
		    "Subject: a\n\nno colon at all", 1, via_pipe);
		/* Fields alone need no separator. */
		expect_unchanged("Subject: a\nTo: b@x\n", 2, via_pipe);
	}

	/* Added fields go in front; the separator goes before the body. */
	open_str(&s, "Subject: a\nthis is body\n", 0);
	assert_int_equal(msg_nfields(s.m), 1);
	assert_int_equal(msg_find_field(s.m, "this is body"), -1);
	assert_int_equal(msg_add_field(s.m, "X-A", "1", NULL), 0);
	expect_pumped(s.m, "X-A: 1\r\nSubject: a\r\n\r\nthis is body\r\n.\r\n");
	close_message(&s);
}

static void
test_header_none(void **state)
{
	struct error err;
	struct source s;
	int via_pipe;

	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		expect_unchanged("hello world\nSecond: line\n", 0, via_pipe);
		expect_unchanged(" folded: x\nA: b\n", 0, via_pipe);
		expect_unchanged("\nA: b\n", 0, via_pipe);
		expect_unchanged("\r\n\r\nbody", 0, via_pipe);
		expect_unchanged("no newline", 0, via_pipe);
	}

	/* Fields added to a message without a header need a separator. */
	error_clear(&err);
	open_str(&s, "hello world\nSecond: line\n", 1);
	assert_int_equal(msg_add_field(s.m, "X-A", "1", &err), 0);
	expect_pumped(s.m,
	    "X-A: 1\r\n\r\nhello world\r\nSecond: line\r\n.\r\n");
	close_message(&s);

	/* A message that starts with the empty line has one already. */
	open_str(&s, "\nbody\n", 0);
	assert_int_equal(msg_add_field(s.m, "X-A", "1", &err), 0);
	expect_pumped(s.m, "X-A: 1\r\n\r\nbody\r\n.\r\n");
	close_message(&s);
}

static void
test_header_only(void **state)
{
	struct error err;
	struct source s;
	int via_pipe;

	error_clear(&err);
	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		/* No final newline. */
		open_str(&s, "Subject: x\nTo: y", via_pipe);
		assert_int_equal(msg_nfields(s.m), 2);
		expect_field(s.m, 1, "To", " y");
		expect_pumped(s.m, "Subject: x\r\nTo: y\r\n.\r\n");
		close_message(&s);

		open_str(&s, "To: y\r\n z", via_pipe);
		assert_int_equal(msg_nfields(s.m), 1);
		expect_field(s.m, 0, "To", " y\r\n z");
		expect_pumped(s.m, "To: y\r\n z\r\n.\r\n");
		close_message(&s);

		open_str(&s, "Subject: x\nTo: y", via_pipe);
		assert_int_equal(msg_add_field(s.m, "X-A", "1", &err), 0);
		expect_pumped(s.m, "X-A: 1\r\nSubject: x\r\nTo: y\r\n.\r\n");
		close_message(&s);

		open_str(&s, "Subject: x\nTo: y", via_pipe);
		msg_drop_field(s.m, 1);
		expect_pumped(s.m, "Subject: x\r\n.\r\n");
		close_message(&s);

		open_str(&s, "Subject: x\nTo: y", via_pipe);
		msg_drop_field(s.m, 0);
		expect_pumped(s.m, "To: y\r\n.\r\n");
		close_message(&s);

		/* With a final newline, or a final CR. */
		expect_unchanged("Subject: x\n", 1, via_pipe);
		expect_unchanged("Subject: x\r", 1, via_pipe);
		expect_unchanged("Subject: x\r\n", 1, via_pipe);
	}
}

static void
test_header_separator_kept(void **state)
{
	struct error err;
	struct source s;

	error_clear(&err);
	expect_unchanged("A: 1\n\nbody", 1, 0);
	expect_unchanged("A: 1\r\n\r\nbody\r\n", 1, 1);
	expect_unchanged("A: 1\r\rbody\r", 1, 0);
	expect_unchanged("A: 1\n\n", 1, 1);
	expect_unchanged("A: 1\n\n\n\nbody\n", 1, 0);

	/* All fields dropped: the separator stays, then the body. */
	open_str(&s, "Bcc: x\n\nbody\n", 0);
	msg_drop_field(s.m, 0);
	expect_pumped(s.m, "\r\nbody\r\n.\r\n");
	close_message(&s);

	open_str(&s, "Bcc: x\n\nbody\n", 1);
	msg_drop_field(s.m, 0);
	assert_int_equal(msg_add_field(s.m, "To", "t@x", &err), 0);
	expect_pumped(s.m, "To: t@x\r\n\r\nbody\r\n.\r\n");
	close_message(&s);

	/* A header and the separator, no body. */
	open_str(&s, "A: 1\n\n", 0);
	assert_int_equal(msg_add_field(s.m, "X", "y", &err), 0);
	expect_pumped(s.m, "X: y\r\nA: 1\r\n\r\n.\r\n");
	close_message(&s);
}

static void
test_drop_field(void **state)
{
	static const char in[] = "A: 1\nB: 2\n 2b\n\t2c\nC: 3\n\nbody\n";
	struct source s;
	int via_pipe;

	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		open_message(&s, in, sizeof(in) - 1, via_pipe);
		assert_int_equal(msg_nfields(s.m), 3);
		assert_int_equal(msg_find_field(s.m, "b"), 1);
		msg_drop_field(s.m, 1);
		assert_int_equal(msg_find_field(s.m, "B"), -1);
		/* Dropped, the field is still there to read. */
		assert_int_equal(msg_nfields(s.m), 3);
		expect_field(s.m, 1, "B", " 2\n 2b\n\t2c");
		msg_drop_field(s.m, 1);
		expect_pumped(s.m, "A: 1\r\nC: 3\r\n\r\nbody\r\n.\r\n");
		close_message(&s);
	}

	open_message(&s, in, sizeof(in) - 1, 0);
	msg_drop_field(s.m, 0);
	msg_drop_field(s.m, 2);
	expect_pumped(s.m, "B: 2\r\n 2b\r\n\t2c\r\n\r\nbody\r\n.\r\n");
	close_message(&s);

	/* Of two fields with one name, the first; then the other. */
	open_str(&s, "X: 1\nY: 2\nx: 3\n\tx3\n\nb", 0);
	assert_int_equal(msg_find_field(s.m, "X"), 0);
	msg_drop_field(s.m, 0);
	assert_int_equal(msg_find_field(s.m, "X"), 2);
	msg_drop_field(s.m, 2);
	assert_int_equal(msg_find_field(s.m, "X"), -1);
	expect_pumped(s.m, "Y: 2\r\n\r\nb\r\n.\r\n");
	close_message(&s);

	/* CR line endings: the folded lines go with the field. */
	open_str(&s, "A: 1\rB: 2\r 2b\rC: 3\r\rbody", 1);
	msg_drop_field(s.m, 1);
	expect_pumped(s.m, "A: 1\r\nC: 3\r\n\r\nbody\r\n.\r\n");
	close_message(&s);
}

static void
test_add_field(void **state)
{
	struct error err;
	struct source s;
	char *big;

	error_clear(&err);
	open_str(&s, "A: 1\n\nbody\n", 0);
	assert_int_equal(msg_add_field(s.m, "X-1", "a", &err), 0);
	assert_int_equal(msg_add_field(s.m, "X-2", "b c", &err), 0);
	assert_int_equal(msg_add_field(s.m, "X-3", "", &err), 0);
	/* Added fields are not among those read. */
	assert_int_equal(msg_nfields(s.m), 1);
	assert_int_equal(msg_find_field(s.m, "X-1"), -1);
	assert_false(msg_eightbit(s.m));
	expect_pumped(s.m,
	    "X-1: a\r\nX-2: b c\r\nX-3: \r\nA: 1\r\n\r\nbody\r\n.\r\n");
	assert_int_equal(msg_size(s.m), 39);
	close_message(&s);

	/* An added 8-bit value makes the message 8-bit. */
	open_str(&s, "A: 1\n\nbody\n", 1);
	assert_false(msg_eightbit(s.m));
	assert_int_equal(msg_add_field(s.m, "X", "caf\xc3\xa9", &err), 0);
	assert_true(msg_eightbit(s.m));
	close_message(&s);

	/* The added fields have a limit too. */
	assert_non_null(big = malloc(1024 * 1024 + 1));
	memset(big, 'v', 1024 * 1024);
	big[1024 * 1024] = '\0';
	open_str(&s, "A: 1\n\nbody\n", 0);
	assert_int_equal(msg_add_field(s.m, "X", big, &err), -1);
	assert_int_equal(err.kind, ERR_DATA);
	close_message(&s);
	free(big);
}

static void
test_empty_message(void **state)
{
	struct error err;
	struct source s;
	int via_pipe;

	error_clear(&err);
	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		open_str(&s, "", via_pipe);
		assert_int_equal(msg_nfields(s.m), 0);
		assert_false(msg_eightbit(s.m));
		expect_pumped(s.m, ".\r\n");
		assert_int_equal(msg_size(s.m), 0);
		close_message(&s);

		open_str(&s, "", via_pipe);
		assert_int_equal(msg_add_field(s.m, "X", "1", &err), 0);
		expect_pumped(s.m, "X: 1\r\n.\r\n");
		close_message(&s);
	}
}

/* Sent, its buffers freed: the sizes the log and the queue use stay. */
static void
test_release_keeps_sizes(void **state)
{
	struct source s;
	unsigned long long size, lf;
	int via_pipe;

	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		open_str(&s, "Subject: a\n\nline one\nline two\n", via_pipe);
		expect_pumped(s.m,
		    "Subject: a\r\n\r\nline one\r\nline two\r\n"
		    ".\r\n");
		size = msg_size(s.m);
		lf = msg_size_lf(s.m);
		msg_release(s.m);
		assert_int_equal(msg_size(s.m), size);
		assert_int_equal(msg_size_lf(s.m), lf);
		assert_int_equal(lf, size - 4);
		close_message(&s);
	}
}

static void
test_header_dots(void **state)
{
	struct error err;
	struct source s;

	error_clear(&err);
	/* ".B" is a field name; a line starting with a dot gets another. */
	open_str(&s, "A: 1\n.B: 2\n\n.\n..x\n", 0);
	assert_int_equal(msg_nfields(s.m), 2);
	expect_field(s.m, 1, ".B", " 2");
	expect_pumped(s.m, "A: 1\r\n..B: 2\r\n\r\n..\r\n...x\r\n.\r\n");
	close_message(&s);

	/* A dotted line that is not a field ends the header. */
	open_str(&s, "A: 1\n.hidden\n", 1);
	assert_int_equal(msg_nfields(s.m), 1);
	assert_int_equal(msg_add_field(s.m, "X", "1", &err), 0);
	expect_pumped(s.m, "X: 1\r\nA: 1\r\n\r\n..hidden\r\n.\r\n");
	close_message(&s);

	/* A folded line of a field starting with a dot is not stuffed. */
	expect_unchanged("A: 1\n .x\n\n.\r", 1, 0);
	expect_unchanged(".\n", 0, 1);
}

/*
 * A header block of `size' bytes (fields of `width' bytes, the last
 * shorter, then the empty line), with `eol' line endings, followed by a
 * short body.
 */
static char *
make_header(size_t size, size_t width, const char *eol, size_t *len,
    size_t *nfields)
{
	size_t e = strlen(eol), off = 0, line;
	char *m = malloc(size + 64);

	assert_non_null(m);
	*nfields = 0;
	while (off < size - e) {
		line = size - e - off;
		if (line > width)
			line = width;
		/* Never leave less than a field's worth for the last one. */
		if (size - e - off - line < 16 && size - e - off > width)
			line = width - 24;
		assert_true(line >= 8 + e);
		memcpy(m + off, "X-Fill:", 7);
		memset(m + off + 7, 'a', line - 7 - e);
		m[off + 7] = ' ';
		memcpy(m + off + line - e, eol, e);
		off += line;
		(*nfields)++;
	}
	memcpy(m + off, eol, e);
	off += e;
	assert_int_equal(off, size);
	memcpy(m + off, "body\n.\n", 7);
	*len = off + 7;
	m[*len] = '\0';
	return m;
}

/*
 * Read and pump a header block of `size' bytes; what goes wrong is noted
 * in report.
 */
static void
header_of_size(size_t size, const char *eol, int via_pipe, struct buf *report)
{
	struct source s;
	size_t n, nfields, wantlen, content;
	char *in = make_header(size, 1000, eol, &n, &nfields), *want;
	char why[128];

	open_message(&s, in, n, via_pipe);
	want = model(in, n, &wantlen, &content);
	if (msg_nfields(s.m) != nfields)
		buf_printf(report, "\n  %zu bytes (%s%s): %zu fields, not %zu",
		    size, eol[0] == '\r' ? "CRLF" : "LF",
		    via_pipe ? ", pipe" : "", msg_nfields(s.m), nfields);
	else if (pumped_equal(s.m, want, wantlen, why, sizeof(why)) == -1)
		buf_printf(report, "\n  %zu bytes (%s%s): %s", size,
		    eol[0] == '\r' ? "CRLF" : "LF", via_pipe ? ", pipe" : "",
		    why);
	close_message(&s);
	free(want);
	free(in);
}

static void
report_done(struct buf *report)
{
	char text[8192];

	snprintf(text, sizeof(text), "%.*s", (int)report->len, report->data);
	buf_free(report);
	if (text[0] != '\0')
		fail_msg("%s", text);
}

/* A header block of `size' bytes is refused: ERR_DATA, naming the limit. */
static void
header_too_large(size_t size, const char *eol, int via_pipe, struct buf *report)
{
	struct error err;
	struct source s;
	size_t n, nfields;
	char *in = make_header(size, 1000, eol, &n, &nfields);

	s.pid = -1;
	s.fd = via_pipe ? pipe_from_child(in, n, &s.pid) : temp_file(in, n);
	error_clear(&err);
	assert_non_null(s.m = msg_new(s.fd));
	if (msg_prefetch(s.m, &err) == 0)
		buf_printf(report,
		    "\n  %zu bytes (%s%s): accepted, with %zu fields", size,
		    eol[0] == '\r' ? "CRLF" : "LF", via_pipe ? ", pipe" : "",
		    msg_nfields(s.m));
	else if (err.kind != ERR_DATA || strstr(err.msg, "header") == NULL ||
	    strstr(err.msg, "1024 KiB") == NULL)
		buf_printf(report, "\n  %zu bytes: refused with \"%s\"", size,
		    err.msg);
	msg_free(s.m);
	close(s.fd);
	if (s.pid != -1)
		waitpid(s.pid, NULL, 0); /* the writer dies of SIGPIPE */
	free(in);
}

/* The header block is held in memory, up to 1 MiB. */
static void
test_header_limit(void **state)
{
	struct buf report;
	int via_pipe;

	buf_init(&report, 1024 * 1024);
	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		header_of_size(1024 * 1024 - 1, "\n", via_pipe, &report);
		header_of_size(1024 * 1024, "\n", via_pipe, &report);
		header_of_size(1024 * 1024, "\r\n", via_pipe, &report);
		header_too_large(1024 * 1024 + 1, "\n", via_pipe, &report);
		header_too_large(1024 * 1024 + 2, "\r\n", via_pipe, &report);
		header_too_large(1024 * 1024 + 2, "\n", via_pipe, &report);
		header_too_large(2 * 1024 * 1024, "\n", via_pipe, &report);
	}
	report_done(&report);
}

/* Header blocks that end where a read buffer ends, or just around it. */
static void
test_header_read_boundaries(void **state)
{
	static const size_t sizes[] = { 128 * 1024, 256 * 1024, 512 * 1024 };
	struct buf report;
	size_t i;
	long d;

	buf_init(&report, 1024 * 1024);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (d = -2; d <= 2; d++) {
			header_of_size(sizes[i] + (size_t)d, "\n", 0, &report);
			header_of_size(sizes[i] + (size_t)d, "\r\n", 1,
			    &report);
		}
	report_done(&report);
}

/*
 * A field whose CRLF, or the empty line's, is split by the first read
 * (128 KiB): one line break, not two.
 */
static void
crlf_split(int separator)
{
	size_t at = 128 * 1024, n, wantlen, content;
	struct source s;
	char *in, *want;

	assert_non_null(in = malloc(at + 64));
	memcpy(in, "X-Big: ", 7);
	n = at - 1 - (separator ? 2 : 0);
	memset(in + 7, 'a', n - 7);
	if (separator)
		memcpy(in + n, "\r\n\r\nbody\r\n", 10);
	else
		memcpy(in + n, "\r\nY: 2\r\n\r\nbody\r\n", 16);
	n += separator ? 10 : 16;
	assert_int_equal(in[at - 1], '\r');
	assert_int_equal(in[at], '\n');
	open_message(&s, in, n, 0);
	assert_int_equal(msg_nfields(s.m), separator ? 1 : 2);
	if (!separator)
		expect_field(s.m, 1, "Y", " 2");
	want = model(in, n, &wantlen, &content);
	expect_pumped_n(s.m, want, wantlen);
	close_message(&s);
	free(want);
	free(in);
}

static void
test_header_crlf_split(void **state)
{
	crlf_split(0);
	crlf_split(1);
}

/*
 * The first read (128 KiB) ends where a line ends, inside the header:
 * the fields after it are still fields, and a Bcc there can be removed.
 */
static void
test_header_line_ends_at_read_boundary(void **state)
{
	static const char tail[] = "Subject: s\nBcc: hidden@example.com\n"
				   "\tmore@example.com\nTo: t@example.com\n\n"
				   "body\n";
	size_t at = 128 * 1024, n, nfields, wantlen, content, bcc, got;
	struct source s;
	char *in, *want;
	int via_pipe;

	for (via_pipe = 0; via_pipe < 2; via_pipe++) {
		in = make_header(at + 1, 1024, "\n", &n, &nfields);
		assert_int_equal(nfields, 128);
		assert_non_null(in = realloc(in, at + sizeof(tail)));
		memcpy(in + at, tail, sizeof(tail));
		n = at + sizeof(tail) - 1;
		open_message(&s, in, n, via_pipe);
		if ((got = msg_nfields(s.m)) != 131) {
			close_message(&s);
			free(in);
			fail_msg("%s: %zu fields, not 131",
			    via_pipe ? "pipe" : "file", got);
		}
		assert_int_equal(msg_find_field(s.m, "To"), 130);
		expect_field(s.m, 129, "Bcc",
		    " hidden@example.com\n\tmore@example.com");
		msg_drop_field(s.m, 129);

		/* The same message without the Bcc field. */
		bcc = at + strlen("Subject: s\n");
		memmove(in + bcc, in + bcc + 42, n - bcc - 42);
		n -= 42;
		assert_memory_equal(in + bcc, "To: ", 4);
		want = model(in, n, &wantlen, &content);
		expect_pumped_n(s.m, want, wantlen);
		close_message(&s);
		free(want);
		free(in);
	}
}

/* BDAT (RFC 3030 2): line endings made CRLF, but no stuffing, no dot. */
static void
test_raw_mode(void **state)
{
	struct bodyfilter bf;
	struct buf out;
	struct error err;

	buf_init(&out, 1 << 20);
	error_clear(&err);
	bodyfilter_init(&bf);
	bf.raw = 1;
	assert_int_equal(bodyfilter_feed(&bf, ".a\n..b\r.\nc", 10, &out, &err),
	    0);
	assert_int_equal(bodyfilter_finish(&bf, &out, &err), 0);
	assert_int_equal(out.len, strlen(".a\r\n..b\r\n.\r\nc\r\n"));
	assert_memory_equal(out.data, ".a\r\n..b\r\n.\r\nc\r\n", out.len);
	assert_int_equal(bf.size, out.len);
	out.len = 0;
	bodyfilter_init(&bf);
	bf.raw = 1;
	assert_int_equal(bodyfilter_finish(&bf, &out, &err), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_mode),
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
		cmocka_unit_test(test_content_size),
		cmocka_unit_test(test_counted_same_bytes),
		cmocka_unit_test(test_mapped_same_bytes),
		cmocka_unit_test(test_counted_file_shrinks_before_send),
		cmocka_unit_test(test_message_nul),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_header_mixed_line_endings),
		cmocka_unit_test(test_header_ends_at_non_field),
		cmocka_unit_test(test_header_none),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_header_separator_kept),
		cmocka_unit_test(test_drop_field),
		cmocka_unit_test(test_add_field),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_header_dots),
		cmocka_unit_test(test_release_keeps_sizes),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_header_read_boundaries),
		cmocka_unit_test(test_header_crlf_split),
		cmocka_unit_test(test_header_line_ends_at_read_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
