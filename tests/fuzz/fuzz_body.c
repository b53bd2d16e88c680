/*
 * fuzz_body.c: the body filter, fed in one to three chunks, checked
 * against a plain model: every line ending (CRLF, LF, bare CR) becomes
 * CRLF, an unended last line gets one, a leading dot gets another, and
 * ".\r\n" ends it all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input with every line ending made CRLF and a last one added. */
static char *
model(const uint8_t *in, size_t n, size_t *outlen, size_t *nlines)
{
	char *o;
	size_t i, k = 0;

	if ((o = malloc(2 * n + 2)) == NULL)
		abort();
	*nlines = 0;
	for (i = 0; i < n; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
			o[k++] = '\r';
			o[k++] = '\n';
			(*nlines)++;
		} else
			o[k++] = (char)in[i];
	}
	if (n > 0 && in[n - 1] != '\r' && in[n - 1] != '\n') {
		o[k++] = '\r';
		o[k++] = '\n';
		(*nlines)++;
	}
	*outlen = k;
	return o;
}

/*
 * Check the filter's output: CRLF-terminated lines only, ".\r\n" last,
 * and, unstuffed, the model.  Returns the unstuffed length.
 */
static size_t
check(const char *o, size_t len, const char *want, size_t wantlen)
{
	size_t i, start, k = 0;

	if (len < 3 || memcmp(o + len - 3, ".\r\n", 3) != 0)
		abort();
	if (len > 3 && (len < 5 || o[len - 5] != '\r' || o[len - 4] != '\n'))
		abort();
	for (i = 0; i < len; i++) {
		if (o[i] == '\r' && (i + 1 >= len || o[i + 1] != '\n'))
			abort();
		if (o[i] == '\n' && (i == 0 || o[i - 1] != '\r'))
			abort();
	}
	len -= 3;
	for (start = 0; start < len;) {
		i = start;
		if (o[i] == '.') {
			/* A line starting with a dot must have been stuffed. */
			if (i + 1 >= len || o[i + 1] != '.')
				abort();
			i++;
		}
		for (; i < len; i++) {
			if (k >= wantlen || o[i] != want[k])
				abort();
			k++;
			if (o[i] == '\n')
				break;
		}
		start = i + 1;
	}
	if (k != wantlen)
		abort();
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bodyfilter bf;
	struct buf out;
	struct error err;
	size_t cut[4], i, nchunks, h, wantlen, nlines;
	char *want;
	int failed = 0;

	/* The first bytes choose the number of chunks and the cuts. */
	h = size >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 :
	    size == 1 ? data[0] :
			0;
	nchunks = 1 + h % 3;
	cut[0] = 0;
	cut[1] = (h >> 2) % (size + 1);
	cut[2] = (h >> 9) % (size + 1);
	if (cut[1] > cut[2]) {
		i = cut[1];
		cut[1] = cut[2];
		cut[2] = i;
	}
	if (nchunks == 1)
		cut[1] = cut[2] = size;
	else if (nchunks == 2)
		cut[2] = size;
	cut[3] = size;

	bodyfilter_init(&bf);
	buf_init(&out, 4 * size + 64);
	for (i = 0; i < 3 && !failed; i++) {
		error_clear(&err);
		if (bodyfilter_feed(&bf, (const char *)data + cut[i],
			cut[i + 1] - cut[i], &out, &err) == -1) {
			if (err.kind == ERR_NONE)
				abort();
			failed = 1;
		}
	}
	if (memchr(data, '\0', size) != NULL) {
		/* Content with a NUL must be refused. */
		if (!failed)
			abort();
		buf_free(&out);
		return 0;
	}
	if (failed)
		abort();
	error_clear(&err);
	if (bodyfilter_finish(&bf, &out, &err) == -1)
		abort();

	want = model(data, size, &wantlen, &nlines);
	check(out.data, out.len, want, wantlen);
	if (bf.size != wantlen || bf.lines != nlines)
		abort();
	free(want);
	buf_free(&out);
	return 0;
}
