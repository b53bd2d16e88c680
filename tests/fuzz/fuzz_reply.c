/* fuzz_reply.c: SMTP replies, one line at a time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct reply r;
	struct error err;
	size_t len, i, n;
	int rc;

	reply_init(&r);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		error_clear(&err);
		rc = reply_feed(&r, p, len, &err);
		if (rc == 1) {
			if (r.code < 200 || r.code > 599 || r.nlines == 0)
				abort();
			for (i = 0; i < r.nlines; i++)
				(void)reply_line(&r, i, &n);
			(void)reply_text(&r);
		} else if (rc == -1) {
			if (err.kind == ERR_NONE)
				abort();
			reply_reset(&r);
		} else if (rc != 0)
			abort();
		p = nl + 1;
	}
	reply_free(&r);
	return 0;
}
