/*
 * test_lineio.c: line reading and coalesced writes over a fake transport
 * that delivers bytes in awkward chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lineio.h"

/* The fake: reads come from a list of chunks, writes are recorded. */
struct fake {
	struct transport t; /* first, so a transport pointer is a fake */
	const char *data;   /* all the bytes to deliver */
	size_t len, off;
	const size_t *sizes; /* how much each read returns, at most */
	size_t nsizes, next;
	size_t every;	 /* or this much every time (0: all) */
	int fail_at_end; /* at the end: -1 (time-out) instead of EOF */
	int reads;
	int writes;
	struct buf written;
};

static ssize_t
fake_read(struct transport *t, void *p, size_t n, int64_t deadline,
    struct error *err)
{
	struct fake *f = (struct fake *)t;
	size_t k;

	f->reads++;
	assert_true(n > 0);
	if (f->off == f->len) {
		if (f->fail_at_end)
			return error_set(err, ERR_TEMP,
			    "timed out waiting for the server");
		return 0;
	}
	k = f->len - f->off;
	if (f->next < f->nsizes)
		k = f->sizes[f->next++];
	else if (f->every > 0)
		k = f->every;
	if (k > f->len - f->off)
		k = f->len - f->off;
	if (k > n)
		k = n;
	memcpy(p, f->data + f->off, k);
	f->off += k;
	return (ssize_t)k;
}

static int
fake_write(struct transport *t, const void *p, size_t n, int64_t deadline,
    struct error *err)
{
	struct fake *f = (struct fake *)t;

	f->writes++;
	assert_int_equal(buf_add(&f->written, p, n), 0);
	return 0;
}

static size_t
fake_pending(struct transport *t)
{
	return 0;
}

static void
fake_close(struct transport *t)
{
}

static const struct transport_ops fake_ops = {
	fake_read,
	fake_write,
	fake_pending,
	fake_close,
	"fake",
};

static void
fake_init(struct fake *f, const char *data, size_t len)
{
	memset(f, 0, sizeof(*f));
	f->t.ops = &fake_ops;
	f->t.fd = -1;
	f->data = data;
	f->len = len;
	buf_init(&f->written, 16 * 1024 * 1024);
}

static void
fake_free(struct fake *f)
{
	buf_free(&f->written);
}

/* Read one line and compare it. */
static void
expect_line(struct lineio *l, const char *want)
{
	struct error err;
	const char *line;
	size_t len;

	error_clear(&err);
	if (lineio_getline(l, 0, &line, &len, &err) == -1)
		fail_msg("expected \"%s\": %s", want, err.msg);
	if (len != strlen(want) || memcmp(line, want, len) != 0)
		fail_msg("line \"%.*s\", expected \"%s\"", (int)len, line,
		    want);
}

static void
expect_error(struct lineio *l, enum error_kind kind, const char *want)
{
	struct error err;
	const char *line;
	size_t len;

	error_clear(&err);
	assert_int_equal(lineio_getline(l, 0, &line, &len, &err), -1);
	assert_int_equal(err.kind, kind);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static const char reply[] = "220 mx.example ESMTP\r\n"
			    "250-mx.example\r\n"
			    "250-PIPELINING\n"
			    "250 8BITMIME\r\n";

static void
read_reply_lines(struct lineio *l)
{
	expect_line(l, "220 mx.example ESMTP");
	expect_line(l, "250-mx.example");
	expect_line(l, "250-PIPELINING");
	expect_line(l, "250 8BITMIME");
}

static void
test_one_byte_at_a_time(void **state)
{
	struct fake f;
	struct lineio *l;

	fake_init(&f, reply, sizeof(reply) - 1);
	f.every = 1;
	assert_non_null(l = lineio_new(&f.t, 512));
	read_reply_lines(l);
	assert_int_equal(lineio_buffered(l), 0);
	assert_int_equal(f.reads, (int)(sizeof(reply) - 1));
	expect_error(l, ERR_TEMP, "closed");
	lineio_free(l);
	fake_free(&f);
}

static void
test_crlf_split(void **state)
{
	static const char data[] = "250-first\r\n250 second\r\n";
	static const size_t sizes[] = { 10, 1, 6, 7 }; /* "\r" | "\n" */
	struct fake f;
	struct lineio *l;

	fake_init(&f, data, sizeof(data) - 1);
	f.sizes = sizes;
	f.nsizes = 4;
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_line(l, "250-first");
	expect_line(l, "250 second");
	expect_error(l, ERR_TEMP, NULL);
	lineio_free(l);
	fake_free(&f);
}

static void
test_several_lines_in_one_read(void **state)
{
	struct fake f;
	struct lineio *l;

	fake_init(&f, reply, sizeof(reply) - 1);
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_line(l, "220 mx.example ESMTP");
	assert_int_equal(f.reads, 1);
	assert_int_equal(lineio_buffered(l), sizeof(reply) - 1 - 22);
	expect_line(l, "250-mx.example");
	assert_int_equal(lineio_buffered(l), sizeof(reply) - 1 - 22 - 16);
	expect_line(l, "250-PIPELINING");
	expect_line(l, "250 8BITMIME");
	assert_int_equal(lineio_buffered(l), 0);
	/* All from the one read. */
	assert_int_equal(f.reads, 1);
	lineio_free(l);
	fake_free(&f);
}

static void
test_bytes_after_line(void **state)
{
	/* As after a STARTTLS reply: the driver must see the extra bytes. */
	static const char data[] = "220 ready\r\nEHLO injected\r\n";
	struct fake f;
	struct lineio *l;

	fake_init(&f, data, sizeof(data) - 1);
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_line(l, "220 ready");
	assert_int_equal(lineio_buffered(l), strlen("EHLO injected\r\n"));
	lineio_free(l);
	fake_free(&f);
}

static void
test_partial_then_rest(void **state)
{
	static const char data[] = "250-aaaa\r\n250-bb"
				   "bb\r\n250 c\r\n";
	static const size_t sizes[] = { 16, 4, 7 };
	struct fake f;
	struct lineio *l;

	fake_init(&f, data, sizeof(data) - 1);
	f.sizes = sizes;
	f.nsizes = 3;
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_line(l, "250-aaaa");
	assert_int_equal(lineio_buffered(l), 6);
	expect_line(l, "250-bbbb");
	expect_line(l, "250 c");
	lineio_free(l);
	fake_free(&f);
}

static void
test_line_endings(void **state)
{
	static const char data[] = "a\nb\r\n\r\n\nc\rd\n";
	struct fake f;
	struct lineio *l;

	fake_init(&f, data, sizeof(data) - 1);
	f.every = 1;
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_line(l, "a");
	expect_line(l, "b");
	expect_line(l, "");
	expect_line(l, "");
	/* Only a CR before the LF is part of the ending. */
	expect_line(l, "c\rd");
	lineio_free(l);
	fake_free(&f);
}

static void
test_long_line(void **state)
{
	static const char exact[] = "0123456789abcdef\r\nnext\r\n";
	static const char over[] = "0123456789abcdefX\r\nnext\r\n";
	static const char over_lf[] = "0123456789abcdefXY\n";
	struct fake f;
	struct lineio *l;
	size_t every;

	for (every = 0; every <= 3; every++) {
		/* Exactly the maximum, without its CRLF, is a line. */
		fake_init(&f, exact, sizeof(exact) - 1);
		f.every = every;
		assert_non_null(l = lineio_new(&f.t, 16));
		expect_line(l, "0123456789abcdef");
		expect_line(l, "next");
		lineio_free(l);
		fake_free(&f);

		/* One more byte is an error. */
		fake_init(&f, over, sizeof(over) - 1);
		f.every = every;
		assert_non_null(l = lineio_new(&f.t, 16));
		expect_error(l, ERR_PROTOCOL, "longer than 16");
		lineio_free(l);
		fake_free(&f);

		fake_init(&f, over_lf, sizeof(over_lf) - 1);
		f.every = every;
		assert_non_null(l = lineio_new(&f.t, 16));
		expect_error(l, ERR_PROTOCOL, "longer than 16");
		lineio_free(l);
		fake_free(&f);
	}
}

static void
test_endless_line(void **state)
{
	size_t n = 1024 * 1024;
	char *data = malloc(n);
	struct fake f;
	struct lineio *l;

	/* No newline at all: refused past the limit, not read to the end. */
	memset(data, 'x', n);
	fake_init(&f, data, n);
	f.every = 1000;
	assert_non_null(l = lineio_new(&f.t, 4096));
	expect_error(l, ERR_PROTOCOL, "longer than");
	assert_true(f.off < 64 * 1024);
	lineio_free(l);
	fake_free(&f);
	free(data);
}

static void
test_big_maxline(void **state)
{
	size_t n = 20000, i;
	char *data = malloc(n + 2);
	struct fake f;
	struct lineio *l;
	const char *line;
	size_t len;
	struct error err;

	/* A limit larger than the read chunk: the buffer must hold it all. */
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	data[n] = '\r';
	data[n + 1] = '\n';
	fake_init(&f, data, n + 2);
	f.every = 3000;
	assert_non_null(l = lineio_new(&f.t, n));
	error_clear(&err);
	assert_int_equal(lineio_getline(l, 0, &line, &len, &err), 0);
	assert_int_equal(len, n);
	assert_memory_equal(line, data, n);
	lineio_free(l);
	fake_free(&f);
	free(data);
}

static void
test_eof(void **state)
{
	static const char partial[] = "250 no line end";
	struct fake f;
	struct lineio *l;

	fake_init(&f, "", 0);
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_error(l, ERR_TEMP, "closed the connection");
	lineio_free(l);
	fake_free(&f);

	/* A line cut short by the end of the stream is not a line. */
	fake_init(&f, partial, sizeof(partial) - 1);
	f.every = 4;
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_error(l, ERR_TEMP, "closed the connection");
	lineio_free(l);
	fake_free(&f);
}

static void
test_transport_error(void **state)
{
	static const char data[] = "250-one\r\n250";
	struct fake f;
	struct lineio *l;

	fake_init(&f, data, sizeof(data) - 1);
	f.fail_at_end = 1;
	assert_non_null(l = lineio_new(&f.t, 512));
	expect_line(l, "250-one");
	expect_error(l, ERR_TEMP, "timed out");
	lineio_free(l);
	fake_free(&f);
}

/* A seeded generator for the chunk sizes. */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_random_chunks(void **state)
{
	static size_t sizes[4096];
	struct buf data;
	char line[64];
	uint32_t seed = 12345;
	struct fake f;
	struct lineio *l;
	int i, round, nlines = 300;

	for (round = 0; round < 20; round++) {
		buf_init(&data, 1024 * 1024);
		for (i = 0; i < nlines; i++)
			buf_printf(&data, "250-line %d of round %d%s", i, round,
			    i % 3 == 0 ? "\n" : "\r\n");
		for (i = 0; i < 4096; i++)
			sizes[i] = 1 + next_rand(&seed) % 40;
		fake_init(&f, data.data, data.len);
		f.sizes = sizes;
		f.nsizes = 4096;
		assert_non_null(l = lineio_new(&f.t, 64));
		for (i = 0; i < nlines; i++) {
			snprintf(line, sizeof(line), "250-line %d of round %d",
			    i, round);
			expect_line(l, line);
		}
		expect_error(l, ERR_TEMP, NULL);
		lineio_free(l);
		fake_free(&f);
		buf_free(&data);
	}
}

static void
test_flush_one_write(void **state)
{
	static const char flight[] = "MAIL FROM:<a@example.com>\r\n"
				     "RCPT TO:<b@example.org>\r\n"
				     "RCPT TO:<c@example.org>\r\n"
				     "DATA\r\n";
	struct fake f;
	struct lineio *l;
	struct error err;
	struct buf *w;

	fake_init(&f, "", 0);
	assert_non_null(l = lineio_new(&f.t, 512));
	error_clear(&err);

	/* Nothing to send: no write at all. */
	assert_int_equal(lineio_flush(l, 0, &err), 0);
	assert_int_equal(f.writes, 0);

	w = lineio_wbuf(l);
	assert_int_equal(buf_addstr(w, "MAIL FROM:<a@example.com>\r\n"), 0);
	assert_int_equal(buf_addstr(w, "RCPT TO:<b@example.org>\r\n"), 0);
	assert_int_equal(buf_addstr(w, "RCPT TO:<c@example.org>\r\n"), 0);
	assert_int_equal(buf_addstr(w, "DATA\r\n"), 0);
	assert_int_equal(f.writes, 0);
	assert_int_equal(lineio_flush(l, 0, &err), 0);
	assert_int_equal(f.writes, 1);
	assert_int_equal(f.written.len, sizeof(flight) - 1);
	assert_memory_equal(f.written.data, flight, sizeof(flight) - 1);
	assert_int_equal(lineio_wbuf(l)->len, 0);

	/* Flushed once: a second flush sends nothing again. */
	assert_int_equal(lineio_flush(l, 0, &err), 0);
	assert_int_equal(f.writes, 1);
	lineio_free(l);
	fake_free(&f);
}

static void
test_flush_large(void **state)
{
	size_t n = LINEIO_FLUSH_AT + 12345, i;
	struct fake f;
	struct lineio *l;
	struct error err;
	struct buf *w;

	fake_init(&f, "", 0);
	assert_non_null(l = lineio_new(&f.t, 512));
	error_clear(&err);
	w = lineio_wbuf(l);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_add(w, i % 80 == 79 ? "\n" : "x", 1), 0);
	assert_int_equal(buf_addstr(w, ".\r\nQUIT\r\n"), 0);
	assert_int_equal(lineio_flush(l, 0, &err), 0);
	assert_int_equal(f.writes, 1);
	assert_int_equal(f.written.len, n + 9);
	assert_memory_equal(f.written.data + n, ".\r\nQUIT\r\n", 9);
	lineio_free(l);
	fake_free(&f);
}

static void
test_secret_wiped(void **state)
{
	static const char secret[] = "AUTH PLAIN AGFsaWNlAHBhc3M=\r\n";
	struct fake f;
	struct lineio *l;
	struct error err;
	struct buf *w;
	size_t i;

	fake_init(&f, "", 0);
	assert_non_null(l = lineio_new(&f.t, 512));
	error_clear(&err);
	w = lineio_wbuf(l);
	assert_int_equal(buf_addstr(w, secret), 0);
	lineio_secret(l);
	assert_int_equal(lineio_flush(l, 0, &err), 0);
	assert_int_equal(f.writes, 1);
	assert_memory_equal(f.written.data, secret, sizeof(secret) - 1);
	for (i = 0; i < sizeof(secret) - 1; i++)
		assert_int_equal(w->data[i], 0);
	lineio_free(l);
	fake_free(&f);
}

static void
test_set_transport(void **state)
{
	static const char first[] = "220 go ahead\r\n";
	static const char second[] = "250-after\r\n250 TLS\r\n";
	struct fake a, b;
	struct lineio *l;

	fake_init(&a, first, sizeof(first) - 1);
	fake_init(&b, second, sizeof(second) - 1);
	assert_non_null(l = lineio_new(&a.t, 512));
	assert_ptr_equal(lineio_transport(l), &a.t);
	expect_line(l, "220 go ahead");
	lineio_set_transport(l, &b.t);
	assert_ptr_equal(lineio_transport(l), &b.t);
	expect_line(l, "250-after");
	expect_line(l, "250 TLS");
	assert_int_equal(a.reads, 1);
	lineio_free(l);
	fake_free(&a);
	fake_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_crlf_split),
		cmocka_unit_test(test_several_lines_in_one_read),
		cmocka_unit_test(test_bytes_after_line),
		cmocka_unit_test(test_partial_then_rest),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_endless_line),
		cmocka_unit_test(test_big_maxline),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_transport_error),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_flush_one_write),
		cmocka_unit_test(test_flush_large),
		cmocka_unit_test(test_secret_wiped),
		cmocka_unit_test(test_set_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
