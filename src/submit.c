/* submit.c: where the engine meets the network; nothing else does. */
#include "submit.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hint.h"
#include "lineio.h"
#include "log.h"
#include "net.h"
#include "reply.h"
#include "transport.h"

/* Connecting and the TLS handshake, when no timeout is configured. */
#define CONNECT_SECONDS 60
#define HANDSHAKE_SECONDS 60
/* A silent server is told of after this long (the greeting wait goes on). */
#define QUIET_SECONDS 10
/* A failed session's QUIT is a courtesy: do not wait long for it. */
#define GOODBYE_SECONDS 5
/*
 * BDAT carries only content read in full before connecting: at most the
 * header limit and one read, doubled by line-ending conversion.
 */
#define BDAT_MAX (8 * 1024 * 1024)
/*
 * What the transactions sent ahead gather before they are written: a
 * window of small messages goes in one write (a smaller one splits the
 * flight the server reads), larger content as it grows.
 */
#define AHEAD_FLUSH_AT (128 * 1024)

static void
trace(void *ctx, enum smtp_trace kind, const char *text)
{
	if (kind == SMTP_TRACE_SEND)
		log_sent(text);
	else
		log_debug("state %s", text);
}

static struct transport *
start_tls(struct transport *t, const struct submit_conf *c, struct error *err)
{
	struct transport *tt;
	struct tls_conf tc = c->tls_conf;
	char *desc;

	tc.implicit = !c->starttls;
	tt = tls_start(t, &tc,
	    transport_deadline_in(c->timeout ? c->timeout : HANDSHAKE_SECONDS),
	    err);
	if (tt != NULL && log_verbose() && (desc = tls_describe(tt)) != NULL) {
		log_info("TLS session: %s", desc);
		free(desc);
	}
	return tt;
}

static enum smtp_action
tls_started(struct smtp *s, struct transport *t)
{
	const char *type;
	unsigned char *cb = NULL;
	size_t len = 0;
	enum smtp_action act;

	if (tls_channel_binding(t, &type, &cb, &len) == -1)
		type = NULL;
	act = smtp_tls_started(s, type, cb, len);
	free(cb);
	return act;
}

void
submit_info_free(struct submit_info *i)
{
	free(i->greeting);
	free(i->ehlo);
	free(i->tls);
	memset(i, 0, sizeof(*i));
}

static void
fill_info(struct submit_info *i, const struct smtp *s, struct transport *t)
{
	char *desc, *certs;

	i->greeting = strdup(smtp_greeting(s));
	i->ehlo = strdup(smtp_ehlo_reply(s));
	i->size_limit = smtp_size_limit(s);
	i->auth_mech = smtp_auth_mech(s);
	if (!tls_is(t))
		return;
	i->cert_expires = tls_peer_expires(t);
	desc = tls_describe(t);
	certs = tls_peer_info(t);
	if (asprintf(&i->tls, "  session: %s\n%s", desc ? desc : "?",
		certs ? certs : "") == -1)
		i->tls = NULL;
	free(desc);
	free(certs);
}

/* Read one whole reply and hand it to the engine. */
static int
read_reply(struct lineio *l, struct reply *r, int64_t deadline,
    struct error *err)
{
	const char *line;
	size_t len;
	int done;

	do {
		if (lineio_getline(l, deadline, &line, &len, err) == -1)
			return -1;
		log_received(line, len);
		if ((done = reply_feed(r, line, len, err)) == -1)
			return -1;
	} while (!done);
	return 0;
}

/*
 * Before a plain greeting: a server that sends not one byte is most often
 * waiting for a TLS handshake.  Say so after a short wait.  On port 465,
 * where implicit TLS is usual, that is a mistake in the configuration
 * rather than a reason to retry: give up then, with EX_CONFIG.
 */
static int
await_greeting(int fd, const struct submit_conf *c, int wait, struct error *err)
{
	int quiet = wait < QUIET_SECONDS ? wait : QUIET_SECONDS;

	if (transport_fd_wait(fd, POLLIN, transport_deadline_in(quiet),
		"waiting for the greeting", err) == 0)
		return 0;
	if (err->kind != ERR_TEMP)
		return -1;
	error_clear(err);
	if (c->port != 465 && quiet < wait) {
		log_warn("the server has sent nothing in %d seconds; is it "
			 "waiting for TLS (tls_starttls off)?",
		    quiet);
		if (transport_fd_wait(fd, POLLIN,
			transport_deadline_in(wait - quiet),
			"waiting for the greeting", err) == 0)
			return 0;
		if (err->kind != ERR_TEMP)
			return -1;
		/*
		 * Elsewhere silence can be a server in trouble: temporary,
		 * as before, and the hint says what else it may be.
		 */
		return error_set(err, ERR_TEMP,
		    "the server sent nothing in %d seconds: no greeting", wait);
	}
	return error_set(err, c->port == 465 ? ERR_CONFIG : ERR_TEMP,
	    "the server sent nothing in %d seconds: no greeting", quiet);
}

static void
add_hint(const struct submit_conf *c, struct error *err)
{
	struct hint_ctx x;

	if (err->whole)
		return;
	x.port = c->port;
	x.tls = c->tls;
	x.starttls = c->starttls;
	x.auth = c->smtp.auth != NULL;
	hint_apply(&x, err);
}

/*
 * RFC 3207 5 and the STARTTLS command injection attacks: whatever arrived
 * after the 220 came from before the handshake and cannot be trusted.
 */
static int
check_nothing_after_starttls(struct lineio *l, struct error *err)
{
	char c;

	if (lineio_buffered(l) > 0 ||
	    recv(lineio_transport(l)->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		return error_set(err, ERR_PROTOCOL,
		    "the server sent data "
		    "after its STARTTLS reply (a possible attack); giving up");
	return 0;
}

/*
 * RFC 3030 2: the whole content, known before it is sent, as one chunk:
 * "BDAT n LAST", then n bytes, neither dot-stuffed nor dot-ended.
 */
static int
send_bdat(struct lineio *l, struct msg *m, struct error *err)
{
	struct buf body;
	int r;

	buf_init(&body, BDAT_MAX);
	msg_raw(m);
	r = msg_pump(m, &body, BDAT_MAX / 2, err);
	if (r == 0 &&
	    (buf_printf(lineio_wbuf(l), "BDAT %zu LAST\r\n", body.len) == -1 ||
		buf_add(lineio_wbuf(l), body.data, body.len) == -1))
		r = error_set(err, ERR_OSERR, "out of memory");
	else if (r == 1)
		r = error_set(err, ERR_SOFTWARE, "the content outgrew BDAT");
	buf_free(&body);
	return r;
}

/* Stream the content in flights of LINEIO_FLUSH_AT bytes. */
static int
send_body(struct lineio *l, struct msg *m, struct smtp *s, struct error *err,
    int *io_failed)
{
	struct buf *w = lineio_wbuf(l);
	int r;

	for (;;) {
		r = msg_pump(m, w, LINEIO_FLUSH_AT, err);
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		if (lineio_flush(l, transport_deadline_in(smtp_wait_seconds(s)),
			err)) {
			*io_failed = 1;
			return -1;
		}
	}
}

/* The engine's commands into the write buffer. */
static int
take_output(struct lineio *l, struct smtp *s, struct error *err)
{
	struct buf *o = smtp_output(s);

	if (o->len == 0)
		return 0;
	if (buf_add(lineio_wbuf(l), o->data, o->len) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	if (smtp_output_secret(s)) {
		lineio_secret(l);
		buf_wipe(o);
	}
	o->len = 0;
	return 0;
}

/* The messages of a session whose outcome is still to come, oldest first. */
struct inflight {
	struct submit_job *job; /* grown as the window fills */
	size_t n, cap;
	int exhausted; /* next() said there is no more */
};

static int
inflight_room(struct inflight *q)
{
	size_t cap = q->cap ? 2 * q->cap : 4;
	struct submit_job *v;

	if (q->n < q->cap)
		return 0;
	if (cap > 1 + SMTP_AHEAD_MAX)
		cap = 1 + SMTP_AHEAD_MAX;
	if (cap <= q->cap)
		return -1; /* the engine's window is smaller: never */
	if ((v = realloc(q->job, cap * sizeof(*v))) == NULL)
		return -1;
	memset(v + q->cap, 0, (cap - q->cap) * sizeof(*v));
	q->job = v;
	q->cap = cap;
	return 0;
}

/*
 * Before waiting for replies: the next transactions go out behind the
 * current one (RFC 2920 3.1), with their content where it may join them
 * (RFC 3030 4), as far as the engine's window goes.
 */
static int
send_ahead(struct lineio *l, struct smtp *s, struct inflight *q,
    submit_next_fn *next, submit_done_fn *done, void *ctx, struct error *err)
{
	struct submit_job nj;
	struct error le;
	int r;

	/*
	 * In batches: topped up only once half the window is answered, so
	 * that the server, working through the other half, has the next
	 * batch before it runs out.
	 */
	if (smtp_ahead_count(s) > SMTP_AHEAD_MAX / 2)
		return 0;
	while (!q->exhausted && smtp_ahead_room(s)) {
		if (inflight_room(q) == -1)
			return error_set(err, ERR_OSERR, "out of memory");
		memset(&nj, 0, sizeof(nj));
		if (next(ctx, &nj) != 1) {
			q->exhausted = 1;
			break;
		}
		error_clear(&le);
		if ((r = smtp_ahead(s, &nj.smtp, &le)) == -1) {
			/* Refused before a byte of it went: its own outcome. */
			done(ctx, &nj, &le, NULL);
			continue;
		}
		q->job[q->n++] = nj;
		if (take_output(l, s, err) == -1)
			return -1;
		if (r == 1) {
			if (send_bdat(l, nj.msg, &le) == -1) {
				/* It waits for its turn, and fails then. */
				smtp_ahead_body_lost(s);
				continue;
			}
			smtp_body_done(s, msg_size(nj.msg));
			/* Dozens wait for their replies: keep only the sizes. */
			msg_release(nj.msg);
			if (take_output(l, s, err) == -1)
				return -1;
		}
		/* A long flight goes out as it grows (the server reads on). */
		if (lineio_wbuf(l)->len >= AHEAD_FLUSH_AT &&
		    lineio_flush(l, transport_deadline_in(smtp_wait_seconds(s)),
			err) == -1)
			return -1;
	}
	return 0;
}

/*
 * One connection, one transaction after another: next() hands over each
 * message (job->smtp.more says whether another may follow), done() hears
 * each outcome as soon as the server gave it.
 */
int
submit_session(const struct submit_conf *c0, submit_next_fn *next,
    submit_done_fn *done, submit_back_fn *back, void *ctx, struct error *err)
{
	/* This server of the host list: c0 with its name (and TLS name). */
	struct submit_conf hc = *c0;
	const struct submit_conf *c = &hc;
	size_t hi = 0;
	int nreplies, move_on;
	struct transport *t = NULL, *tt;
	struct lineio *l = NULL;
	struct smtp *s = NULL;
	struct inflight *q;
	struct reply r;
	enum smtp_action act;
	struct net_target nt;
	struct error oe;
	size_t k;
	int fd, ret = -1, io_failed;
	/* The current job went out pipelined, and no reply of its came. */
	int unanswered = 0;

	if ((q = calloc(1, sizeof(*q))) == NULL || inflight_room(q) == -1) {
		free(q);
		return error_set(err, ERR_OSERR, "out of memory");
	}
	if (next(ctx, q->job) != 1) {
		free(q->job);
		free(q);
		return 0;
	}
	q->n = 1;
	reply_init(&r);
next_host:
	if (hi < c0->nhosts) {
		hc.host = c0->hosts[hi];
		if (c0->tls_conf.host == c0->host)
			hc.tls_conf.host = hc.host;
	}
	nreplies = move_on = 0;
	memset(&nt, 0, sizeof(nt));
	nt.host = c->host;
	nt.port = c->port;
	nt.source_ip = c->source_ip;
	nt.socket_path = c->socket_path;
	nt.proxy_host = c->proxy_host;
	nt.proxy_port = c->proxy_port;
	nt.proxy_user = c->proxy_user;
	nt.proxy_password = c->proxy_password;
	/* An OAuth token, from the cache when it is still good. */
	if (hi == 0 && c->fresh_token != NULL && q->job->smtp.token_retry &&
	    q->job->smtp.password == NULL &&
	    c->fresh_token(c->token_arg, 0, &q->job->smtp.password,
		&q->job->smtp.oauth_mechs, err) == -1)
		goto out;
	if (c->socket_path != NULL)
		log_info("connecting to socket %s", c->socket_path);
	else if (c->proxy_host != NULL)
		log_info("connecting to %s port %d through the SOCKS proxy %s",
		    c->host, c->port, c->proxy_host);
	else
		log_info("connecting to %s port %d", c->host, c->port);
	if (net_open(&nt,
		transport_deadline_in(
		    c->timeout ? c->timeout : CONNECT_SECONDS),
		&fd, err) == -1) {
		move_on = 1;
		goto out;
	}
	if ((t = transport_plain(fd)) == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		goto out;
	}
	if (c->tls && !c->starttls) {
		if ((tt = start_tls(t, c, err)) == NULL)
			goto out;
		t = tt;
	}
	if ((l = lineio_new(t, REPLY_LINE_MAX)) == NULL ||
	    (s = smtp_new(&q->job->smtp, trace, NULL)) == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		goto out;
	}
	act = smtp_start(s);
	if (tls_is(t))
		act = tls_started(s, t);
	else if (c->socket_path == NULL &&
	    await_greeting(fd, c, smtp_wait_seconds(s), err) == -1) {
		move_on = err->kind == ERR_TEMP;
		goto out;
	}
	for (;;) {
		if (take_output(l, s, err) == -1)
			goto out;
		switch (act) {
		case SMTP_A_READ:
			/* Only what would otherwise wait for this reply. */
			if (lineio_buffered(l) == 0 &&
			    send_ahead(l, s, q, next, done, ctx, err) == -1)
				goto out;
			if (lineio_flush(l,
				transport_deadline_in(smtp_wait_seconds(s)),
				err) == -1 ||
			    read_reply(l, &r,
				transport_deadline_in(smtp_wait_seconds(s)),
				err) == -1) {
				/* Gone before it greeted: the next server. */
				move_on = nreplies == 0 &&
				    err->kind == ERR_TEMP;
				goto out;
			}
			nreplies++;
			unanswered = 0;
			act = smtp_on_reply(s, &r);
			break;
		case SMTP_A_TLS:
			if (check_nothing_after_starttls(l, err) == -1)
				goto out;
			if ((tt = start_tls(t, c, err)) == NULL)
				goto out;
			t = tt;
			lineio_set_transport(l, t);
			act = tls_started(s, t);
			break;
		case SMTP_A_BODY:
			/* BDAT joins the flight the envelope may be in. */
			if (smtp_bdat(s)) {
				if (send_bdat(l, q->job->msg, err) == -1) {
					act = smtp_abort(s, err);
					break;
				}
				act = smtp_body_done(s, msg_size(q->job->msg));
				break;
			}
			io_failed = 0;
			if (lineio_flush(l,
				transport_deadline_in(smtp_wait_seconds(s)),
				err) == -1)
				goto out;
			if (send_body(l, q->job->msg, s, err, &io_failed) ==
			    -1) {
				if (io_failed)
					goto out;
				act = smtp_abort(s, err);
				break;
			}
			act = smtp_body_done(s, msg_size(q->job->msg));
			break;
		case SMTP_A_TOKEN: {
			const char *token = NULL, *mechs = NULL;
			struct error te;

			error_clear(&te);
			if (c->fresh_token == NULL ||
			    c->fresh_token(c->token_arg, 1, &token, &mechs,
				&te) == -1) {
				if (c->fresh_token == NULL)
					error_set(&te, ERR_AUTH,
					    "the server refused the token");
				act = smtp_abort(s, &te);
				break;
			}
			act = smtp_auth_retry(s, token);
			break;
		}
		case SMTP_A_NEXT:
			oe = *smtp_error(s);
			if (oe.kind != ERR_NONE)
				add_hint(c, &oe);
			done(ctx, q->job, &oe, s);
			memmove(&q->job[0], &q->job[1],
			    (q->n - 1) * sizeof(q->job[0]));
			memset(&q->job[--q->n], 0, sizeof(q->job[0]));
			if (q->n > 0) {
				act = smtp_resume(s);
				unanswered = 1;
			} else if (!q->exhausted && next(ctx, q->job) == 1) {
				q->n = 1;
				act = smtp_next(s, &q->job->smtp);
			} else
				act = smtp_quit(s);
			break;
		case SMTP_A_DONE:
			if (c->info != NULL)
				fill_info(c->info, s, t);
			/* The mail is accepted; a lost QUIT changes nothing. */
			lineio_flush(l, transport_deadline_in(GOODBYE_SECONDS),
			    err);
			/* No error, but the server's last reply, for the log. */
			*err = *smtp_error(s);
			err->kind = ERR_NONE;
			err->msg[0] = '\0';
			if (q->n > 0)
				done(ctx, q->job, err, s);
			q->n = 0;
			ret = 0;
			goto out;
		case SMTP_A_FAIL:
			*err = *smtp_error(s);
			/* A 4xx greeting: this server is not taking mail now. */
			move_on = nreplies == 1 && err->code / 100 == 4;
			if (!smtp_must_drop(s)) {
				struct error ignored;

				lineio_flush(l,
				    transport_deadline_in(GOODBYE_SECONDS),
				    &ignored);
			}
			goto out;
		}
	}
out:
	if (ret == -1 && move_on && c->socket_path == NULL &&
	    hi + 1 < c0->nhosts) {
		log_warn("%s: %s; trying %s", c->host, err->msg,
		    c0->hosts[hi + 1]);
		smtp_free(s);
		lineio_free(l);
		if (t != NULL)
			transport_close(t);
		s = NULL;
		l = NULL;
		t = NULL;
		reply_free(&r);
		reply_init(&r);
		error_clear(err);
		hi++;
		goto next_host;
	}
	if (c0->host_used != NULL)
		*c0->host_used = c->host;
	if (ret == -1)
		add_hint(c, err);
	/* A message in flight when the session broke shares its fate. */
	if (s != NULL && smtp_plain_fallback(s)) {
		log_info("warning: the server does not offer STARTTLS; "
			 "went on without TLS (tls_starttls auto)");
		if (c->plain_used != NULL)
			*c->plain_used = 1;
	}
	for (k = 0; ret == -1 && k < q->n; k++) {
		if ((k > 0 || unanswered) && back != NULL)
			back(ctx, &q->job[k]);
		else
			/* Those ahead: none of theirs was answered. */
			done(ctx, &q->job[k], err, k == 0 ? s : NULL);
	}
	smtp_free(s);
	lineio_free(l);
	if (t != NULL)
		transport_close(t);
	reply_free(&r);
	free(q->job);
	free(q);
	return ret;
}

struct one {
	const struct submit_conf *c;
	struct msg *m;
	int given;
};

static int
one_next(void *ctx, struct submit_job *job)
{
	struct one *o = ctx;

	if (o->given++)
		return 0;
	job->smtp = o->c->smtp;
	job->msg = o->m;
	return 1;
}

static void
one_done(void *ctx, const struct submit_job *job, const struct error *err,
    const struct smtp *s)
{
	(void)ctx;
	(void)job;
	(void)err;
	(void)s;
}

int
submit(const struct submit_conf *c, struct msg *m, struct error *err)
{
	struct one o = { c, m, 0 };

	return submit_session(c, one_next, one_done, NULL, &o, err);
}
