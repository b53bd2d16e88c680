/*
 * bsmtp.c: an SMTP server on standard input and output (RFC 5321 as the
 * server side, with PIPELINING, 8BITMIME and SMTPUTF8), for -bs.  It is a
 * local pipe: no STARTTLS, no AUTH.  Messages are spooled to an unlinked
 * file in $TMPDIR, so memory stays the same whatever their size.
 */
#include "bsmtp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"

#define IN_SIZE (64 * 1024)
#define SPOOL_FLUSH_AT (64 * 1024)
/* What of a server's reply is repeated, per line. */
#define REPLY_TEXT_MAX 400

/* Where the content parser is, byte by byte (RFC 5321 4.5.2). */
enum data_state {
	D_BOL,	 /* at the start of a line */
	D_MID,	 /* inside a line */
	D_CR,	 /* a CR inside a line, its LF may follow */
	D_DOT,	 /* a dot at the start of a line */
	D_DOTCR, /* ".\r" at the start of a line */
};

struct bsmtp {
	int in;
	FILE *out;
	const char *name;
	bsmtp_deliver_fn *deliver;
	void *ctx;

	char ibuf[IN_SIZE];
	size_t ioff, ilen;
	int eof;

	int greeted;
	int in_mail;	/* MAIL was accepted */
	int requiretls; /* and it asked for REQUIRETLS */
	char *from;
	char **rcpt;
	size_t nrcpt;

	int spool; /* the spool file, made at the first DATA */
	struct buf sbuf;
	struct error last; /* the last delivery's outcome */
};

static void reply(struct bsmtp *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One reply line, CRLF added; fmt must not hold line breaks. */
static void
reply(struct bsmtp *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(b->out, fmt, ap);
	va_end(ap);
	fputs("\r\n", b->out);
}

static void
reset_transaction(struct bsmtp *b)
{
	size_t i;

	for (i = 0; i < b->nrcpt; i++)
		free(b->rcpt[i]);
	b->nrcpt = 0;
	free(b->from);
	b->from = NULL;
	b->in_mail = 0;
	b->requiretls = 0;
}

/*
 * The next byte of input, or -1 at its end (-2 on a read error).  Replies
 * go out before waiting for more (RFC 2920 3.2: never sit on them).
 */
static int
next_byte(struct bsmtp *b, struct error *err)
{
	ssize_t n;

	if (b->ioff < b->ilen)
		return (unsigned char)b->ibuf[b->ioff++];
	if (b->eof)
		return -1;
	fflush(b->out);
	do
		n = read(b->in, b->ibuf, sizeof(b->ibuf));
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		error_set(err, ERR_IO, "cannot read standard input: %s",
		    strerror(errno));
		return -2;
	}
	if (n == 0) {
		b->eof = 1;
		return -1;
	}
	b->ioff = 1;
	b->ilen = (size_t)n;
	return (unsigned char)b->ibuf[0];
}

/*
 * One command line, without its line ending (CRLF, or a bare LF from a
 * lenient caller).  Returns its length, -1 at the end of the input, -2 on
 * error, -3 for a line longer than BSMTP_LINE_MAX (read and dropped).
 */
static int
read_line(struct bsmtp *b, char *line, struct error *err)
{
	size_t n = 0;
	int c, toolong = 0;

	while ((c = next_byte(b, err)) >= 0 && c != '\n') {
		if (n < BSMTP_LINE_MAX)
			line[n++] = (char)c;
		else
			toolong = 1;
	}
	if (c == -2)
		return -2;
	if (c == -1 && n == 0)
		return -1;
	if (toolong)
		return -3;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (int)n;
}

/* --- the spool --- */

static int
spool_flush(struct bsmtp *b, struct error *err)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->sbuf.len) {
		n = write(b->spool, b->sbuf.data + off, b->sbuf.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			b->sbuf.len = 0;
			return error_set(err, ERR_IO,
			    "cannot write the message to a temporary file: "
			    "%s",
			    strerror(errno));
		}
		off += (size_t)n;
	}
	b->sbuf.len = 0;
	return 0;
}

static int
spool_byte(struct bsmtp *b, char c, struct error *err)
{
	if (b->sbuf.len >= SPOOL_FLUSH_AT && spool_flush(b, err) == -1)
		return -1;
	if (buf_add(&b->sbuf, &c, 1) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

/* An empty spool: made once, unlinked at once, emptied per message. */
static int
spool_open(struct bsmtp *b, struct error *err)
{
	const char *dir = getenv("TMPDIR");
	char *path;

	if (b->spool != -1) {
		if (ftruncate(b->spool, 0) == -1 ||
		    lseek(b->spool, 0, SEEK_SET) == -1)
			return error_set(err, ERR_IO,
			    "cannot empty the temporary file: %s",
			    strerror(errno));
		return 0;
	}
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (asprintf(&path, "%s/outbox-bs-XXXXXX", dir) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	b->spool = mkostemp(path, O_CLOEXEC);
	if (b->spool == -1) {
		error_set(err, ERR_IO, "cannot make a temporary file in %s: %s",
		    dir, strerror(errno));
		free(path);
		return -1;
	}
	unlink(path);
	free(path);
	return 0;
}

/*
 * The content after 354, up to the line holding a single dot: each line
 * ending becomes LF, a leading dot is removed (RFC 5321 4.5.2).  A bare
 * CR stays; the message reader makes it a line ending later.  Returns 0,
 * 1 when the input ended first, -1 on error.
 */
static int
read_content(struct bsmtp *b, struct error *err)
{
	enum data_state st = D_BOL;
	int c = 0, r = 0;

	while (r == 0 && (c = next_byte(b, err)) >= 0) {
		switch (st) {
		case D_DOT:
			if (c == '\r') {
				st = D_DOTCR;
				continue;
			}
			if (c == '\n')
				return spool_flush(b, err);
			st = D_MID; /* the stuffed dot goes */
			break;
		case D_DOTCR:
			if (c == '\n')
				return spool_flush(b, err);
			r = spool_byte(b, '\r', err);
			st = D_MID;
			break;
		case D_CR:
			if (c == '\n') {
				r = spool_byte(b, '\n', err);
				st = D_BOL;
				continue;
			}
			r = spool_byte(b, '\r', err);
			st = D_MID;
			break;
		case D_BOL:
			if (c == '.') {
				st = D_DOT;
				continue;
			}
			st = D_MID;
			break;
		case D_MID:
			break;
		}
		if (r != 0)
			break;
		/* Inside a line. */
		if (c == '\r')
			st = D_CR;
		else {
			r = spool_byte(b, (char)c, err);
			st = c == '\n' ? D_BOL : D_MID;
		}
	}
	if (r != 0 || c == -2)
		return -1;
	return 1;
}

/* --- replies for a delivery --- */

int
bsmtp_reply_code(const struct error *e)
{
	int cls = error_reply_class(e->kind);

	/*
	 * The server's own code where it fits, as a reply to the end of
	 * the content (RFC 5321 4.3.2); else 451 or 554.
	 */
	if (cls != 2 && e->code / 100 == cls &&
	    (e->code == 450 || e->code == 451 || e->code == 452 ||
		e->code == 550 || e->code == 552 || e->code == 554))
		return e->code;
	return cls == 2 ? 250 : cls == 4 ? 451 : 554;
}

/* The enhanced code in the server's reply, if of the same class. */
static void
enhanced(const struct error *e, int cls, char *out, size_t n)
{
	const char *p = e->reply;
	size_t len;

	snprintf(out, n, "%d.%d.0", cls, cls == 2 ? 0 : 3);
	if (strlen(p) < 4 || !isdigit((unsigned char)p[0]))
		return;
	p += 4; /* "550 " or "550-" */
	len = strspn(p, "0123456789.");
	if (len >= 5 && len < n && p[0] == '0' + cls && p[1] == '.' &&
	    (p[len] == ' ' || p[len] == '\0' || p[len] == '\n')) {
		memcpy(out, p, len);
		out[len] = '\0';
	}
}

/* Text fit for a reply line: no control characters, bounded. */
static void
clean(char *dst, const char *src, size_t len)
{
	size_t i;

	if (len > REPLY_TEXT_MAX)
		len = REPLY_TEXT_MAX;
	for (i = 0; i < len; i++)
		dst[i] = (unsigned char)src[i] < ' ' || src[i] == 0x7f ? '?' :
									 src[i];
	dst[len] = '\0';
}

/*
 * The reply to the final dot: what happened, then the server's reply
 * lines, as "server message: ..." continuation lines.
 */
static void
reply_outcome(struct bsmtp *b, const struct error *e)
{
	char text[REPLY_TEXT_MAX + 1], ext[16];
	const char *p = e->reply, *nl;
	int code = bsmtp_reply_code(e), cls = code / 100;

	enhanced(e, cls, ext, sizeof(ext));
	clean(text, e->msg[0] != '\0' ? e->msg : "sent",
	    strlen(e->msg[0] != '\0' ? e->msg : "sent"));
	if (e->code == 0 || *p == '\0') {
		reply(b, "%d %s %s", code, ext, text);
		return;
	}
	reply(b, "%d-%s %s", code, ext, text);
	for (;;) {
		nl = strchr(p, '\n');
		clean(text, p, nl != NULL ? (size_t)(nl - p) : strlen(p));
		reply(b, "%d%c%s server message: %s", code,
		    nl != NULL ? '-' : ' ', ext, text);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* --- commands --- */

/* "FROM:" or "TO:" after the verb, then optional blanks. */
static const char *
after_keyword(const char *arg, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(arg, kw, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	return arg;
}

/*
 * The path in "<...>": *addr gets the address (a source route dropped,
 * RFC 5321 4.1.1.3), *rest what follows.  -1 when malformed.
 */
static int
parse_path(const char *p, char **addr, const char **rest)
{
	const char *start, *q;
	int quoted = 0;

	if (*p != '<')
		return -1;
	start = ++p;
	for (q = p; *q != '\0' && (quoted || *q != '>'); q++) {
		if (*q == '"')
			quoted = !quoted;
		else if (*q == '\\' && quoted && q[1] != '\0')
			q++;
	}
	if (*q != '>')
		return -1;
	if (*start == '@') {
		while (start < q && *start != ':')
			start++;
		if (start == q)
			return -1;
		start++;
	}
	if ((*addr = strndup(start, (size_t)(q - start))) == NULL)
		return -1;
	*rest = q + 1;
	return 0;
}

/*
 * MAIL's parameters (RFC 5321 4.1.2): BODY (RFC 6152), SIZE (RFC 1870)
 * and SMTPUTF8 (RFC 6531), accepted and not needed: the content is read
 * as it comes, and the submission declares what the server needs.
 * REQUIRETLS (RFC 8689) is kept: the message goes on with it, or not at
 * all.
 */
static int
mail_params_ok(struct bsmtp *b, const char *p)
{
	char word[BSMTP_LINE_MAX + 1];
	size_t n;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 1;
		n = strcspn(p, " ");
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if (strcasecmp(word, "BODY=7BIT") == 0 ||
		    strcasecmp(word, "BODY=8BITMIME") == 0 ||
		    strcasecmp(word, "SMTPUTF8") == 0)
			continue;
		if (strcasecmp(word, "REQUIRETLS") == 0) {
			b->requiretls = 1;
			continue;
		}
		if (strncasecmp(word, "SIZE=", 5) == 0 && word[5] != '\0' &&
		    strspn(word + 5, "0123456789") == n - 5)
			continue;
		reply(b, "555 5.5.4 MAIL parameter %s is not supported", word);
		return 0;
	}
}

static void
cmd_ehlo(struct bsmtp *b, const char *arg, int extended)
{
	reset_transaction(b);
	b->greeted = 1;
	if (!extended) {
		reply(b, "250 %s", b->name);
		return;
	}
	/* No STARTTLS, no AUTH: this is a local pipe, not a network. */
	reply(b, "250-%s", b->name);
	reply(b, "250-PIPELINING");
	reply(b, "250-8BITMIME");
	reply(b, "250-SMTPUTF8");
	reply(b, "250-REQUIRETLS");
	reply(b, "250-ENHANCEDSTATUSCODES");
	reply(b, "250 HELP");
}

static void
cmd_mail(struct bsmtp *b, const char *arg)
{
	const char *p = after_keyword(arg, "FROM:"), *rest;
	char *addr = NULL, *checked;
	struct error e;

	if (!b->greeted) {
		reply(b, "503 5.5.1 Say EHLO or HELO first");
		return;
	}
	if (b->in_mail) {
		reply(b,
		    "503 5.5.1 A transaction is already open (RSET "
		    "ends it)");
		return;
	}
	if (p == NULL || parse_path(p, &addr, &rest) == -1) {
		reply(b, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (!mail_params_ok(b, rest)) {
		free(addr);
		return;
	}
	error_clear(&e);
	if (*addr != '\0') {
		checked = addr_parse_one(addr, "the sender", ERR_DATA, &e);
		free(addr);
		if (checked == NULL) {
			clean(e.msg, e.msg, strlen(e.msg));
			reply(b, "553 5.1.7 %s", e.msg);
			return;
		}
		addr = checked;
	}
	b->from = addr;
	b->in_mail = 1;
	reply(b, "250 2.1.0 Sender ok");
}

static void
cmd_rcpt(struct bsmtp *b, const char *arg)
{
	const char *p = after_keyword(arg, "TO:"), *rest;
	char *addr, *checked;
	char **v;
	struct error e;

	if (!b->in_mail) {
		reply(b, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (p == NULL || parse_path(p, &addr, &rest) == -1) {
		reply(b, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	while (*rest == ' ')
		rest++;
	if (*rest != '\0') {
		reply(b, "555 5.5.4 RCPT parameters are not supported");
		free(addr);
		return;
	}
	error_clear(&e);
	checked = addr_parse_one(addr, "the recipient", ERR_DATA, &e);
	free(addr);
	if (checked == NULL) {
		clean(e.msg, e.msg, strlen(e.msg));
		reply(b, "553 5.1.3 %s", e.msg);
		return;
	}
	if (b->nrcpt == BSMTP_RCPT_MAX) {
		free(checked);
		reply(b, "452 4.5.3 Too many recipients");
		return;
	}
	if ((v = realloc(b->rcpt, (b->nrcpt + 1) * sizeof(*v))) == NULL) {
		free(checked);
		reply(b, "452 4.3.0 Out of memory");
		return;
	}
	b->rcpt = v;
	b->rcpt[b->nrcpt++] = checked;
	reply(b, "250 2.1.5 Recipient ok");
}

/* DATA: 354, the content, the delivery, its reply.  -1: give up. */
static int
cmd_data(struct bsmtp *b, const char *arg, struct error *err)
{
	struct bsmtp_envelope env;
	struct error e;
	int r;

	if (*arg != '\0') {
		reply(b, "501 5.5.4 DATA takes no argument");
		return 0;
	}
	if (!b->in_mail || b->nrcpt == 0) {
		reply(b,
		    b->in_mail ? "503 5.5.1 No valid recipients" :
				 "503 5.5.1 Need MAIL and RCPT first");
		return 0;
	}
	error_clear(&e);
	if (spool_open(b, &e) == -1) {
		clean(e.msg, e.msg, strlen(e.msg));
		reply(b, "451 4.3.0 %s", e.msg);
		reset_transaction(b);
		return 0;
	}
	reply(b, "354 End data with <CR><LF>.<CR><LF>");
	if ((r = read_content(b, err)) == 1)
		return error_set(err, ERR_DATA,
		    "standard input ended inside a message (-bs), which "
		    "was not sent");
	if (r == -1)
		return -1;
	fflush(b->out); /* the caller may wait for nothing more */
	env.from = b->from;
	env.rcpt = (const char *const *)b->rcpt;
	env.nrcpt = b->nrcpt;
	env.requiretls = b->requiretls;
	error_clear(&e);
	if (lseek(b->spool, 0, SEEK_SET) == -1)
		error_set(&e, ERR_IO, "cannot read back the temporary file");
	else if (b->deliver(b->ctx, &env, b->spool, &e) == 0)
		e.kind = ERR_NONE;
	else if (e.kind == ERR_NONE)
		e.kind = ERR_SOFTWARE;
	reply_outcome(b, &e);
	b->last = e;
	reset_transaction(b);
	return 0;
}

static const char *const help_text =
    "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP";

/* One command; 1 after QUIT, -1 when the dialogue must end. */
static int
command(struct bsmtp *b, char *line, struct error *err)
{
	char *arg = line + strcspn(line, " ");
	size_t vlen = (size_t)(arg - line);

	while (*arg == ' ')
		arg++;
#define IS(v) (vlen == sizeof(v) - 1 && strncasecmp(line, v, vlen) == 0)
	if (IS("EHLO") || IS("HELO")) {
		if (*arg == '\0')
			reply(b, "501 5.5.4 Syntax: %s hostname",
			    IS("EHLO") ? "EHLO" : "HELO");
		else
			cmd_ehlo(b, arg, IS("EHLO"));
	} else if (IS("MAIL"))
		cmd_mail(b, arg);
	else if (IS("RCPT"))
		cmd_rcpt(b, arg);
	else if (IS("DATA"))
		return cmd_data(b, arg, err);
	else if (IS("RSET")) {
		reset_transaction(b);
		reply(b, "250 2.0.0 Ok");
	} else if (IS("NOOP"))
		reply(b, "250 2.0.0 Ok");
	else if (IS("VRFY"))
		reply(b, "252 2.5.2 Cannot verify, but will try to deliver");
	else if (IS("HELP"))
		reply(b, "%s", help_text);
	else if (IS("QUIT")) {
		reply(b, "221 2.0.0 %s closing", b->name);
		return 1;
	} else if (IS("STARTTLS") || IS("AUTH") || IS("BDAT") || IS("EXPN") ||
	    IS("ETRN"))
		reply(b,
		    "502 5.5.1 Not implemented here: this is a local "
		    "pipe");
	else
		reply(b, "500 5.5.2 Command not recognized");
#undef IS
	return 0;
}

int
bsmtp_serve(int in, FILE *out, const char *name, bsmtp_deliver_fn *deliver,
    void *ctx, struct error *err)
{
	struct bsmtp b;
	char *line;
	int n, r = 0;

	memset(&b, 0, sizeof(b));
	b.in = in;
	b.out = out;
	b.name = name;
	b.deliver = deliver;
	b.ctx = ctx;
	b.spool = -1;
	buf_init(&b.sbuf, 2 * SPOOL_FLUSH_AT);
	error_clear(err);
	if ((line = malloc(BSMTP_LINE_MAX + 1)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	reply(&b, "220 %s ESMTP outbox", name);
	while (r == 0) {
		if ((n = read_line(&b, line, err)) == -1) {
			/* No QUIT: whatever was open is dropped. */
			*err = b.last;
			r = 1;
		} else if (n == -2)
			r = -1;
		else if (n == -3)
			reply(&b, "500 5.5.2 Line too long (at most %d bytes)",
			    BSMTP_LINE_MAX);
		else
			r = command(&b, line, err);
	}
	if (r == 1 && fflush(out) == EOF && n != -1)
		r = error_set(err, ERR_IO, "cannot write to standard output");
	if (r == 1 && n != -1)
		r = 0; /* QUIT */
	reset_transaction(&b);
	free(b.rcpt);
	free(line);
	buf_free(&b.sbuf);
	if (b.spool != -1)
		close(b.spool);
	return r;
}
