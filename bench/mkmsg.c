/*
 * mkmsg.c: write a test message of exactly SIZE bytes to standard output,
 * in SMTP's own form (CRLF line endings), so that every client sends it
 * unchanged: a complete header (From, To, Date, Message-ID, Subject) and
 * text lines of up to 76 characters, one in 64 starting with a dot.
 *
 * Usage: mkmsg SIZE      (a number, with an optional K, M or G: KiB...)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE 76
#define BLOCK (1024 * 1024)

int
main(int argc, char **argv)
{
	static char buf[BLOCK + 256];
	const char *head = "From: Alice <alice@example.org>\r\n"
			   "To: Bob <bob@example.net>\r\n"
			   "Date: Mon, 1 Jan 2024 12:00:00 +0000\r\n"
			   "Message-ID: <bench.1@example.org>\r\n"
			   "Subject: benchmark message\r\n"
			   "\r\n";
	unsigned long long size, left, line = 0;
	size_t len = 0, k, i;
	char *end;

	if (argc != 2)
		goto usage;
	size = strtoull(argv[1], &end, 10);
	if (*end == 'K')
		size <<= 10, end++;
	else if (*end == 'M')
		size <<= 20, end++;
	else if (*end == 'G')
		size <<= 30, end++;
	if (*end != '\0' || size < strlen(head) + 2)
		goto usage;
	memcpy(buf, head, strlen(head));
	len = strlen(head);
	left = size - len;
	while (left > 0) {
		/* A line of LINE characters and CRLF, or what is left. */
		k = left >= LINE + 2 ? LINE : (size_t)left - 2;
		if (left - (k + 2) > 0 && left - (k + 2) < 3)
			k -= 3; /* leave room for a last line of one char */
		for (i = 0; i < k; i++)
			buf[len + i] = (char)('a' + (line * 7 + i) % 26);
		if (k > 0 && line % 64 == 63)
			buf[len] = '.';
		if (k > 10)
			buf[len + k / 2] = ' ';
		buf[len + k] = '\r';
		buf[len + k + 1] = '\n';
		len += k + 2;
		left -= k + 2;
		line++;
		if (len >= BLOCK || left == 0) {
			if (fwrite(buf, 1, len, stdout) != len)
				return 74;
			len = 0;
		}
	}
	return fflush(stdout) == 0 ? 0 : 74;
usage:
	fprintf(stderr, "usage: mkmsg SIZE[K|M|G]\n");
	return 64;
}
