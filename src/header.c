/* header.c: the header fields outbox reads, removes and adds. */
#include "header.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "buf.h"
#include "idn.h"
#include "sasl.h"

static int
is_resent(const struct msg *m, size_t i)
{
	size_t nl;
	const char *v, *name;
	size_t vl;

	name = msg_field(m, i, &nl, &v, &vl);
	return nl > 7 && strncasecmp(name, "Resent-", 7) == 0;
}

static int
add_from_field(const struct msg *m, size_t i, struct addrlist *l,
    struct error *err)
{
	size_t nl, vl;
	const char *v;

	msg_field(m, i, &nl, &v, &vl);
	return addr_list_parse(v, vl, l, "an address in the header", ERR_DATA,
	    err);
}

int
header_recipients(const struct msg *m, struct addrlist *l, struct error *err)
{
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
		"Resent-Bcc" };
	const char *const *names = plain;
	size_t i, n = msg_nfields(m), lo = 0, hi = n, k;

	/* RFC 5322 3.6.6: the topmost Resent- block is the latest. */
	for (i = 0; i < n; i++)
		if (is_resent(m, i)) {
			names = resent;
			lo = i;
			for (hi = i; hi < n && is_resent(m, hi); hi++)
				;
			break;
		}
	for (i = lo; i < hi; i++)
		for (k = 0; k < 3; k++)
			if (msg_field_is(m, i, names[k]) &&
			    add_from_field(m, i, l, err) == -1)
				return -1;
	return 0;
}

char *
header_sender(const struct msg *m, struct error *err)
{
	struct addrlist l;
	size_t i, n = msg_nfields(m);
	char *from = NULL;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < n; i++) {
		if (!msg_field_is(m, i, "From") &&
		    !msg_field_is(m, i, "Resent-From"))
			continue;
		if (add_from_field(m, i, &l, err) == -1) {
			addrlist_free(&l);
			return NULL;
		}
		break;
	}
	if (l.n == 0)
		error_set(err, ERR_USAGE,
		    "no From header field to take the "
		    "envelope-from address from");
	else if ((from = strdup(l.v[0])) == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	addrlist_free(&l);
	return from;
}

static void
drop_all(struct msg *m, const char *name)
{
	int i;

	while ((i = msg_find_field(m, name)) != -1)
		msg_drop_field(m, (size_t)i);
}

/* RFC 5322 3.2.3 specials: a name holding one must be quoted. */
static int
needs_quotes(const char *s)
{
	if (*s == ' ' || (*s != '\0' && s[strlen(s) - 1] == ' '))
		return 1;
	return strpbrk(s, "()<>[]:;@\\,.\"") != NULL;
}

/*
 * RFC 2047 B encoding.  Words of 39 bytes (64 characters encoded), one a
 * line, keep every line, "From: " included, within 76 characters (2).
 */
static int
encode_words(struct buf *b, const char *s, size_t *last)
{
	size_t len = strlen(s), n;
	char *w;

	while (len > 0) {
		n = len > 39 ? 39 : len;
		/* Never split a UTF-8 sequence between two words. */
		while (n < len && n > 1 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		if ((w = sasl_base64(s, n)) == NULL)
			return -1;
		if (buf_printf(b, "%s=?UTF-8?B?%s?=", b->len ? "\r\n " : "",
			w) == -1) {
			free(w);
			return -1;
		}
		*last = strlen(w) + 12;
		free(w);
		s += n;
		len -= n;
	}
	return 0;
}

char *
header_mailbox(const char *name, const char *addr)
{
	struct buf b;
	const char *p;
	size_t last = 0, col;

	buf_init(&b, 64 * 1024);
	if (name == NULL || *name == '\0') {
		if (buf_addstr(&b, addr) == -1)
			goto fail;
	} else if (!idn_is_ascii(name)) {
		/*
		 * The address on a line of its own if it would not fit after
		 * the last word ("From: " before the first).
		 */
		if (encode_words(&b, name, &last) == -1)
			goto fail;
		col = (memchr(b.data, '\n', b.len) ? 1 : 6) + last;
		if (buf_printf(&b, "%s<%s>",
			col + 1 + strlen(addr) + 2 > 76 ? "\r\n " : " ",
			addr) == -1)
			goto fail;
	} else if (needs_quotes(name)) {
		if (buf_add(&b, "\"", 1) == -1)
			goto fail;
		for (p = name; *p != '\0'; p++)
			if ((*p == '"' || *p == '\\') && buf_add(&b, "\\", 1))
				goto fail;
			else if (buf_add(&b, p, 1) == -1)
				goto fail;
		if (buf_printf(&b, "\" <%s>", addr) == -1)
			goto fail;
	} else if (buf_printf(&b, "%s <%s>", name, addr) == -1)
		goto fail;
	if (buf_add(&b, "", 1) == -1)
		goto fail;
	return b.data;
fail:
	buf_free(&b);
	return NULL;
}

static int
random_hex(char *out, size_t bytes)
{
	unsigned char r[32];
	size_t i;
	ssize_t got = -1;
	int fd;

	if (bytes > sizeof(r))
		return -1;
	do
		got = getrandom(r, bytes, 0);
	while (got == -1 && errno == EINTR);
	if (got != (ssize_t)bytes) {
		if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
			return -1;
		got = read(fd, r, bytes);
		close(fd);
		if (got != (ssize_t)bytes)
			return -1;
	}
	for (i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static int
add_to(struct msg *m, const struct header_policy *p, struct error *err)
{
	struct buf b;
	size_t i, n, col;
	int r;

	drop_all(m, "To");
	drop_all(m, "Cc");
	drop_all(m, "Bcc");
	if (p->to == HEADER_TO_UNDISCLOSED)
		return msg_add_field(m, "To", "undisclosed-recipients:;", err);
	buf_init(&b, 1024 * 1024);
	/* RFC 5322 2.2.3: folded after a comma, lines kept near 78. */
	for (i = 0, col = 4; i < p->nrcpt; i++) {
		n = strlen(p->rcpt[i]);
		if (i > 0 &&
		    buf_addstr(&b, col + n + 3 > 78 ? ",\r\n " : ", ") == -1)
			break;
		if (i > 0)
			col = col + n + 3 > 78 ? 1 : col + 2;
		if (buf_addstr(&b, p->rcpt[i]) == -1)
			break;
		col += n;
	}
	if (i < p->nrcpt) {
		buf_free(&b);
		return error_set(err, ERR_DATA,
		    "too many recipients for a To: header field");
	}
	buf_add(&b, "", 1);
	r = msg_add_field(m, "To", b.data, err);
	buf_free(&b);
	return r;
}

int
header_apply(struct msg *m, const struct header_policy *p, struct error *err)
{
	char date[64], id[33], *from, *msgid;
	struct tm tm;
	int r;

	if (p->remove_bcc) {
		drop_all(m, "Bcc");
		drop_all(m, "Resent-Bcc");
	}
	/* Added in front, in this order: From, To, Date, Message-ID. */
	/* Replaced only by a real sender: a null one adds no From. */
	if (p->from == HEADER_ON && *p->from_addr != '\0')
		drop_all(m, "From");
	/* RFC 5322 2.1.1: a line of at most 998 characters. */
	if (p->full_name != NULL && idn_is_ascii(p->full_name) &&
	    strlen(p->full_name) > 900)
		return error_set(err, ERR_CONFIG,
		    "the full name is longer than 900 bytes");
	if (p->from != HEADER_OFF && *p->from_addr != '\0' &&
	    msg_find_field(m, "From") == -1) {
		if ((from = header_mailbox(p->full_name, p->from_addr)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		r = msg_add_field(m, "From", from, err);
		free(from);
		if (r == -1)
			return -1;
	}
	if (p->to != HEADER_TO_OFF && add_to(m, p, err) == -1)
		return -1;
	if (p->date != HEADER_OFF && msg_find_field(m, "Date") == -1) {
		/* RFC 5322 3.3, in the C locale's day and month names. */
		localtime_r(&p->now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		if (msg_add_field(m, "Date", date, err) == -1)
			return -1;
	}
	if (p->msgid != HEADER_OFF && msg_find_field(m, "Message-ID") == -1) {
		if (random_hex(id, 16) == -1)
			return error_set(err, ERR_OSERR,
			    "no random bytes for a Message-ID");
		if (asprintf(&msgid, "<%s@%s>", id, p->msgid_domain) == -1)
			return error_set(err, ERR_OSERR, "out of memory");
		r = msg_add_field(m, "Message-ID", msgid, err);
		free(msgid);
		if (r == -1)
			return -1;
	}
	return 0;
}
