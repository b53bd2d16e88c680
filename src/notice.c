/* notice.c: the notice to the sender of a message given up on. */
#include "notice.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flush.h"
#include "log.h"
#include "prepare.h"

/* How much of the original header the notice quotes, at most. */
#define NOTICE_HEADER_MAX (64 * 1024)

static void
put_time(FILE *out, const char *name, time_t t)
{
	char s[64];
	struct tm tm;

	if (gmtime_r(&t, &tm) != NULL &&
	    strftime(s, sizeof(s), "%a, %d %b %Y %H:%M:%S +0000", &tm) > 0)
		fprintf(out, "%s: %s\n", name, s);
}

/*
 * RFC 3463: the enhanced code of the last reply when it has one (its
 * text starts "5.1.1 "), else one for what happened.
 */
static void
status_of(const struct notice *n, char *out, size_t cap)
{
	const char *t = n->reply;
	size_t len;

	/* The reply's lines start with its code: "550 5.1.1 ...". */
	if (t != NULL && strlen(t) > 4 && (t[3] == ' ' || t[3] == '-'))
		t += 4;
	if (t != NULL && (t[0] == '4' || t[0] == '5') && t[1] == '.') {
		len = strspn(t, "0123456789.");
		if (len < cap && len >= 5) {
			memcpy(out, t, len);
			out[len] = '\0';
			/* What was temporary is final now: it failed. */
			out[0] = '5';
			return;
		}
	}
	/* RFC 3463 3.5: 4.4.7 delivery time expired; else undefined. */
	snprintf(out, cap, "%s", n->expired ? "4.4.7" : "5.0.0");
}

/* Each line of text on its own, indented for a readable part. */
static void
put_lines(FILE *out, const char *prefix, const char *text)
{
	const char *nl;

	while (text != NULL && *text != '\0') {
		nl = strchr(text, '\n');
		fprintf(out, "%s%.*s\n", prefix,
		    (int)(nl ? (size_t)(nl - text) : strlen(text)), text);
		text = nl ? nl + 1 : NULL;
	}
}

/* The original header, up to its empty line, CRLF made LF. */
static void
put_header(FILE *out, int fd)
{
	char buf[8192];
	size_t total = 0, i;
	ssize_t got;
	int bol = 1;

	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0)
		return;
	while (total < NOTICE_HEADER_MAX &&
	    (got = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)got; i++) {
			if (buf[i] == '\r')
				continue;
			if (buf[i] == '\n' && bol)
				return;
			bol = buf[i] == '\n';
			fputc(buf[i], out);
			if (++total >= NOTICE_HEADER_MAX)
				break;
		}
	}
	if (!bol)
		fputc('\n', out);
}

int
notice_write(FILE *out, const struct notice *n, int content_fd,
    struct error *err)
{
	const struct queue_entry *e = n->e;
	const char *b = "=_outbox_notice";
	char status[32];
	size_t k;
	int listed = 0;

	status_of(n, status, sizeof(status));
	fprintf(out, "From: Mail Delivery System <%s>\n", n->from);
	fprintf(out, "To: <%s>\n", e->from);
	fprintf(out, "Subject: Undelivered mail: %s\n",
	    n->expired ? "given up after too long in the queue" :
			 "refused by the server");
	/* RFC 3834 5: an automatic reply, never to be answered by one. */
	fputs("Auto-Submitted: auto-replied\n", out);
	fputs("MIME-Version: 1.0\n", out);
	fprintf(out,
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n\n",
	    b);
	fprintf(out, "--%s\nContent-Type: text/plain; charset=utf-8\n\n", b);
	fprintf(out, "This is outbox on %s.  A message you sent on ", n->host);
	{
		char s[64];
		struct tm tm;

		if (localtime_r(&e->created, &tm) != NULL &&
		    strftime(s, sizeof(s), "%Y-%m-%d at %H:%M", &tm) > 0)
			fputs(s, out);
	}
	fprintf(out, " (queue ID %s)\ncould not be delivered to:\n\n", e->id);
	for (k = 0; k < e->nrcpt; k++)
		if (e->state[k] != QUEUE_SENT)
			fprintf(out, "  <%s>\n", e->rcpt[k]);
	fprintf(out, "\n%s\n", n->reason);
	if (n->reply != NULL && *n->reply != '\0') {
		fputs("\nThe server's last reply:\n", out);
		put_lines(out, "  ", n->reply);
	}
	fputs("\nThe message's header follows; the message was kept in the "
	      "queue's failed/\ndirectory.\n\n",
	    out);
	/* RFC 3464 2.2 and 2.3: per message, then per recipient. */
	fprintf(out, "--%s\nContent-Type: message/delivery-status\n\n", b);
	fprintf(out, "Reporting-MTA: dns; %s\n", n->host);
	put_time(out, "Arrival-Date", e->created);
	for (k = 0; k < e->nrcpt; k++) {
		if (e->state[k] == QUEUE_SENT)
			continue;
		listed++;
		fprintf(out, "\nFinal-Recipient: rfc822; %s\n", e->rcpt[k]);
		fputs("Action: failed\n", out);
		fprintf(out, "Status: %s\n", status);
		if (n->server != NULL)
			fprintf(out, "Remote-MTA: dns; %s\n", n->server);
		if (n->code != 0 && n->reply != NULL) {
			fputs("Diagnostic-Code: smtp; ", out);
			/* One line: the reply's lines joined. */
			for (const char *p = n->reply; *p != '\0'; p++)
				fputc(*p == '\n' ? ' ' : *p, out);
			fputc('\n', out);
		}
		put_time(out, "Last-Attempt-Date", n->now);
	}
	if (listed == 0)
		return error_set(err, ERR_SOFTWARE,
		    "a notice for %s, which reached every recipient", e->id);
	fprintf(out, "\n--%s\nContent-Type: text/rfc822-headers\n\n", b);
	put_header(out, content_fd);
	fprintf(out, "\n--%s--\n", b);
	if (fflush(out) == EOF || ferror(out))
		return error_set(err, ERR_IO, "cannot write a notice");
	return 0;
}

int
notice_queue(const struct request *base, const struct queue_entry *e,
    const struct error *why, const char *reason, int expired,
    const char *server, struct error *err)
{
	struct notice n;
	struct prepared p;
	struct request q;
	struct queue_entry *ne;
	char host[256], *rcpt[1];
	FILE *tmp;
	int fd, r = -1;

	/* RFC 3464 2 and RFC 5321 6.1: never a notice about a notice. */
	if (e->from == NULL || *e->from == '\0')
		return 0;
	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	memset(&n, 0, sizeof(n));
	n.e = e;
	n.reason = reason;
	n.code = why->code;
	n.reply = why->code != 0 ? why->reply : NULL;
	n.expired = expired;
	n.host = host;
	n.server = server;
	n.from = e->from;
	n.now = time(NULL);
	if ((tmp = tmpfile()) == NULL)
		return error_set(err, ERR_IO, "cannot make a notice");
	fd = e->fd >= 0 ? e->fd : -1;
	if (notice_write(tmp, &n, fd, err) == -1 || fseek(tmp, 0, SEEK_SET))
		goto out;
	memset(&p, 0, sizeof(p));
	q = *base;
	q.from = "<>";
	rcpt[0] = e->from;
	q.rcpt = rcpt;
	q.nrcpt = 1;
	q.read_recipients = 0;
	q.read_envelope_from = 0;
	q.envid = NULL;
	q.msg_fd = fileno(tmp);
	if (prepare(&p, &q, err) == 0) {
		if (!account_on(p.acc, AF_QUEUE_NOTIFY))
			r = 0;
		else if ((ne = flush_enqueue(&p, &q, err)) != NULL) {
			log_info("notice to %s about %s queued as %s", e->from,
			    e->id, ne->id);
			queue_entry_free(ne);
			r = 0;
		}
	}
	prepare_free(&p);
out:
	fclose(tmp);
	return r;
}
