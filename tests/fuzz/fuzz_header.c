/*
 * fuzz_header.c: a message's header fields as read for -t and
 * --read-envelope-from, then the whole message through the filter.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "header.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const char *a)
{
	const unsigned char *p;

	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addrlist l;
	struct error err;
	struct buf out;
	struct msg *m;
	char *from;
	size_t i, off;
	ssize_t n;
	int fd, r;

	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) == -1)
		abort();
	for (off = 0; off < size; off += (size_t)n)
		if ((n = write(fd, data + off, size - off)) <= 0)
			abort();
	if (lseek(fd, 0, SEEK_SET) == -1 || (m = msg_new(fd)) == NULL)
		abort();
	error_clear(&err);
	if (msg_prefetch(m, &err) == -1)
		goto out;
	memset(&l, 0, sizeof(l));
	error_clear(&err);
	if (header_recipients(m, &l, &err) == 0)
		for (i = 0; i < l.n; i++)
			check(l.v[i]);
	addrlist_free(&l);
	error_clear(&err);
	if ((from = header_sender(m, &err)) != NULL) {
		check(from);
		free(from);
	}
	buf_init(&out, (size_t)-1);
	do {
		out.len = 0;
		error_clear(&err);
		r = msg_pump(m, &out, 8192, &err);
	} while (r == 1);
	buf_free(&out);
out:
	msg_free(m);
	close(fd);
	return 0;
}
