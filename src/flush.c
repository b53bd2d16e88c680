/*
 * flush.c: the queue's policy: store a prepared message, send a group of
 * entries over one connection, and settle each outcome.  See flush.h.
 */
#include "flush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attempt.h"
#include "buf.h"
#include "lineio.h"
#include "log.h"
#include "msg.h"
#include "notice.h"

char *
flush_queue_dir(const struct account *a)
{
	const char *d = account_str(a, AF_QUEUE_DIR);

	return d != NULL ? strdup(d) : queue_default_dir();
}

/*
 * The server refused this message for good (5xx): it goes to failed/.
 * Anything else (a refused or missing login, a certificate, a broken
 * configuration, the network) is no fault of the message: it is tried
 * again.
 */
enum flush_fate
flush_fate(const struct error *err)
{
	if (err->kind == ERR_NONE)
		return FLUSH_SENT;
	/*
	 * RFC 4954 6: 530 asks for authentication first; like a refused
	 * login, a certificate that does not verify or a server that lacks
	 * what the account needs, waiting will not mend it.
	 */
	if (err->code == 530 || err->kind == ERR_AUTH ||
	    err->kind == ERR_CONFIG || err->kind == ERR_NOINPUT ||
	    (err->kind == ERR_UNAVAILABLE && err->code == 0))
		return FLUSH_HELD;
	if (err->code >= 500 && err->code < 600)
		return FLUSH_FAILED;
	return FLUSH_RETRY;
}

const char *
flush_fix(const struct error *err)
{
	/* The hint table's word, where it has one, is the more exact. */
	if (err->hint[0] != '\0')
		return err->hint;
	if (err->code == 530)
		return "the server wants a login first: set auth, user and a "
		       "password source";
	switch (err->kind) {
	case ERR_AUTH:
		return "check user and the password (for OAuth2: outbox "
		       "--authorize)";
	case ERR_UNAVAILABLE:
		return "the server lacks what the account asks for, or its "
		       "certificate is not trusted: check tls, tls_starttls, "
		       "tls_trust_file or tls_fingerprint, auth";
	default:
		return "mend the configuration";
	}
}

/* One line for the entry's record of the last attempt. */
static char *
error_line(const struct error *err)
{
	char *s = NULL, *nl;
	int n;

	if (err->code != 0)
		n = asprintf(&s, "%s (%s)", err->msg, err->reply);
	else
		n = asprintf(&s, "%s", err->msg);
	if (n < 0)
		return NULL;
	while ((nl = strchr(s, '\n')) != NULL)
		*nl = ' ';
	return s;
}

struct queue_entry *
flush_enqueue(const struct prepared *p, const struct request *req,
    struct error *err)
{
	struct queue_entry *e;
	struct buf b;
	char *dir = flush_queue_dir(p->acc), *abs = NULL;
	size_t i, k;
	int more = 1, eight = 0;

	if (dir == NULL) {
		error_set(err, ERR_CONFIG,
		    "no queue directory: set queue_dir (HOME is not set)");
		return NULL;
	}
	e = queue_create(dir, err);
	free(dir);
	if (e == NULL)
		return NULL;
	if ((e->account = strdup(p->acc->name)) == NULL ||
	    (e->from = strdup(p->from)) == NULL)
		goto oom;
	if (req->conffile != NULL &&
	    (abs = realpath(req->conffile, NULL)) == NULL &&
	    (abs = strdup(req->conffile)) == NULL)
		goto oom;
	e->conffile = abs;
	e->host_given = req->host_given;
	for (i = 0; i < (size_t)req->nov; i++)
		if (queue_add_set(e, req->ov[i].name, req->ov[i].value, err) ==
		    -1)
			goto bad;
	/* A -bs caller's REQUIRETLS stays with the queued message. */
	if (req->requiretls && queue_add_set(e, "requiretls", "on", err) == -1)
		goto bad;
	for (i = 0; i < p->rcpt.n; i++)
		if (queue_add_rcpt(e, p->rcpt.v[i], err) == -1)
			goto bad;
	buf_init(&b, 2 * LINEIO_FLUSH_AT + 64);
	msg_raw(p->msg);
	while (more) {
		b.len = 0;
		if ((more = msg_pump(p->msg, &b, LINEIO_FLUSH_AT, err)) == -1)
			break;
		for (k = 0; k < b.len && !eight; k++)
			eight = (unsigned char)b.data[k] >= 0x80;
		if (queue_write(e, b.data, b.len, err) == -1) {
			more = -1;
			break;
		}
	}
	buf_free(&b);
	if (more == -1)
		goto bad;
	e->eightbit = eight;
	if (queue_commit(e, err) == -1)
		goto bad;
	return e;
oom:
	error_set(err, ERR_OSERR, "out of memory");
bad:
	queue_entry_free(e);
	return NULL;
}

/*
 * The queue could not record what happened: that outweighs any outcome
 * of the server's (the exit status is EX_IOERR or EX_CANTCREAT), and each
 * is said as it happens.
 */
static void
note_io(struct flush *f, const struct error *err)
{
	/* The last is said at the end of the run, the others now. */
	if (f->io_failed > 0)
		log_error(&f->worst);
	f->worst = *err;
	f->io_failed++;
}

/*
 * One entry on its way: with pipelining several are at once, each with
 * its own pending recipients and content until its outcome comes.
 */
struct flush_item {
	struct queue_entry *e;
	const char **rcpt; /* the entry's pending recipients */
	size_t *rcpt_of;   /* their indexes in the entry */
	int content_fd;
};

static void
flush_release(struct submit_job *job)
{
	struct flush_item *it = job->tag;

	msg_free(job->msg);
	job->msg = NULL;
	job->tag = NULL;
	if (it == NULL)
		return;
	if (it->content_fd != -1)
		close(it->content_fd);
	free(it->rcpt);
	free(it->rcpt_of);
	free(it);
}

static int
flush_next(void *ctx, struct submit_job *job)
{
	struct flush *f = ctx;
	struct queue_entry *e;
	struct flush_item *it;
	struct error err;
	size_t k, np;

	for (;;) {
		error_clear(&err);
		if (f->nback > 0) {
			/* Locked still, and its attempt on disk. */
			e = f->back[0];
			memmove(f->back, f->back + 1,
			    --f->nback * sizeof(f->back[0]));
		} else if (f->i < f->n) {
			e = f->v[f->i++];
			if (!f->locked && queue_lock(e, &err) != 1) {
				if (err.kind != ERR_NONE)
					log_error(&err);
				continue;
			}
		} else
			break;
		if ((it = calloc(1, sizeof(*it))) == NULL) {
			if (!f->locked)
				queue_unlock(e);
			return 0;
		}
		it->e = e;
		it->content_fd = -1;
		job->tag = it;
		it->rcpt = calloc(e->nrcpt + 1, sizeof(char *));
		it->rcpt_of = calloc(e->nrcpt + 1, sizeof(size_t));
		if (it->rcpt == NULL || it->rcpt_of == NULL) {
			flush_release(job);
			if (!f->locked)
				queue_unlock(e);
			return 0;
		}
		for (k = np = 0; k < e->nrcpt; k++)
			if (e->state[k] == QUEUE_PENDING) {
				it->rcpt_of[np] = k;
				it->rcpt[np++] = e->rcpt[k];
			}
		if (np == 0) {
			/* Nobody left to try: done, or failed for some. */
			for (k = 0; k < e->nrcpt; k++)
				if (e->state[k] == QUEUE_FAILED)
					break;
			if (k < e->nrcpt ?
				queue_fail(e, e->error ? e->error : "refused",
				    &err) == -1 :
				queue_remove(e, &err) == -1)
				note_io(f, &err);
			flush_release(job);
			if (!f->locked)
				queue_unlock(e);
			continue;
		}
		/*
		 * Never send from a queue that cannot be updated: the attempt
		 * is on disk before the message leaves, or the entry waits.
		 * (An entry just stored by this process, f->locked, has just
		 * been written.)
		 */
		if (!f->locked && queue_attempt(e, &err) == -1) {
			note_io(f, &err);
			flush_release(job);
			queue_unlock(e);
			f->retried++;
			continue;
		}
		if ((it->content_fd = queue_content(e, &err)) == -1 ||
		    (job->msg = msg_new(it->content_fd)) == NULL ||
		    msg_prefetch(job->msg, &err) == -1) {
			if (err.kind == ERR_NONE)
				error_set(&err, ERR_OSERR, "out of memory");
			log_error(&err);
			flush_release(job);
			if (!f->locked)
				queue_unlock(e);
			continue;
		}
		job->smtp = f->sc->smtp;
		job->smtp.from = e->from;
		job->smtp.rcpt = it->rcpt;
		job->smtp.nrcpt = np;
		job->smtp.eightbit = e->eightbit;
		job->smtp.whole = msg_whole(job->msg);
		/* Stored with CRLF and not dot-stuffed: the exact size. */
		job->smtp.size = e->size;
		job->smtp.more = f->i < f->n || f->nback > 0;
		log_info("sending queued message %s", e->id);
		return 1;
	}
	return 0;
}

/* Keep the worse outcome: a permanent failure over a temporary one. */
static void
note_worst(struct flush *f, const struct error *err, enum flush_fate fate)
{
	if (fate == FLUSH_SENT)
		return;
	if (f->worst.kind == ERR_NONE ||
	    (fate == FLUSH_FAILED && f->worst.kind == ERR_TEMP))
		f->worst = *err;
}

enum flush_fate
flush_decide(const struct flush_policy *pol, time_t created, int attempts,
    enum flush_fate fate, time_t now, time_t *next)
{
	*next = 0;
	if (fate != FLUSH_RETRY)
		return fate;
	if (pol->max_age > 0 && now - created >= pol->max_age)
		return FLUSH_EXPIRED;
	*next = queue_backoff(now, attempts, pol->rmin, pol->rmax);
	return FLUSH_RETRY;
}

/* Record an attempt that did not deliver: retry later, or failed/. */
static enum flush_fate
settle(struct flush *f, struct queue_entry *e, const struct error *err,
    enum flush_fate fate)
{
	time_t now = time(NULL);
	struct error e2;
	char *line = error_line(err), *reason = NULL;
	int expired = 0;

	error_clear(&e2);
	free(e->error);
	e->error = line;
	e->attempts++;
	fate = flush_decide(&f->pol, e->created, e->attempts, fate, now,
	    &e->next);
	if (fate == FLUSH_EXPIRED) {
		fate = FLUSH_FAILED;
		expired = 1;
		if (asprintf(&reason,
			"expired after %lld seconds in the queue; "
			"last error: %s",
			(long long)(now - e->created), line ? line : "?") < 0)
			reason = NULL;
	}
	if (fate == FLUSH_FAILED) {
		if (queue_fail(e,
			reason	 ? reason :
			    line ? line :
				   "refused",
			&e2) == -1)
			note_io(f, &e2);
		else {
			log_warn("message %s failed for good and was moved to "
				 "%s/failed/: %s",
			    e->id, e->dir,
			    reason   ? reason :
				line ? line :
				       "");
			/*
			 * What to change, where the refusal says it; a caller
			 * waiting for the outcome hears it with the error.
			 */
			if (err->hint[0] != '\0' && !f->locked)
				log_warn("hint: %s", err->hint);
			/* A caller waiting for the outcome hears it itself. */
			if (!f->locked && f->req != NULL &&
			    notice_queue(f->req, e, err,
				reason	 ? reason :
				    line ? line :
					   "refused",
				expired,
				f->sc->socket_path ? NULL :
				    f->sc->host_used != NULL &&
					*f->sc->host_used ?
						     *f->sc->host_used :
						     f->sc->host,
				&e2) == -1)
				log_error(&e2);
		}
	} else {
		/* Held: until the user mends it and runs -q; never retried. */
		free(e->held);
		e->held = NULL;
		if (fate == FLUSH_HELD &&
		    asprintf(&e->held, "%s; %s, then run outbox -q",
			line ? line : "refused", flush_fix(err)) < 0)
			e->held = NULL;
		if (queue_save(e, &e2) == -1) {
			size_t k, got = 0;

			for (k = 0; k < e->nrcpt; k++)
				got += e->state[k] == QUEUE_SENT;
			/* Recipients who have it would be sent it again. */
			if (got > 0)
				snprintf(e2.msg + strlen(e2.msg),
				    sizeof(e2.msg) - strlen(e2.msg),
				    "; message %s reached %zu recipient%s "
				    "already, who may be sent it again",
				    e->id, got, got == 1 ? "" : "s");
			note_io(f, &e2);
		}
	}
	free(reason);
	return fate;
}

static void
flush_done(void *ctx, const struct submit_job *job, const struct error *err,
    const struct smtp *s)
{
	struct flush *f = ctx;
	struct flush_item *it = job->tag;
	struct queue_entry *e;
	enum flush_fate fate = flush_fate(err);
	struct attempt at;
	struct error e2;
	char note[64];
	size_t k;

	if (it == NULL)
		return;
	e = it->e;
	error_clear(&e2);
	/*
	 * Whoever got it is never sent it again; whoever was refused for
	 * good (5xx) is marked so, and never tried again either.
	 */
	for (k = 0; s != NULL && k < job->smtp.nrcpt; k++)
		if (smtp_rcpt_delivered(s, k))
			e->state[it->rcpt_of[k]] = QUEUE_SENT;
		else if (smtp_rcpt_code(s, k) / 100 == 5)
			e->state[it->rcpt_of[k]] = QUEUE_FAILED;
	if (fate == FLUSH_SENT) {
		/* Marked as sent first: no later run sends it again. */
		if (queue_sent(e, &e2) == -1)
			note_io(f, &e2);
		f->sent++;
	} else if (f->locked && fate == FLUSH_RETRY && err->kind != ERR_TEMP) {
		/*
		 * The caller is waiting and hears of a fault that waiting will
		 * not mend (a refused login, a certificate): the message stays
		 * the caller's, as without a queue.
		 */
		if (queue_remove(e, &e2) == -1)
			note_io(f, &e2);
		fate = FLUSH_RETRY;
		f->retried++;
	} else {
		fate = settle(f, e, err, fate);
		if (fate == FLUSH_FAILED)
			f->failed++;
		else if (fate == FLUSH_HELD)
			f->held++;
		else
			f->retried++;
	}
	note_worst(f, err, fate);
	snprintf(note, sizeof(note), "%s %s",
	    fate == FLUSH_SENT			   ? "sent" :
		fate == FLUSH_FAILED		   ? "failed" :
		fate == FLUSH_HELD		   ? "held" :
		f->locked && err->kind != ERR_TEMP ? "not queued" :
						     "queued",
	    e->id);
	f->last_fate = fate;
	at.from = e->from;
	at.rcpt = it->rcpt;
	at.nrcpt = job->smtp.nrcpt;
	at.size = (long long)msg_size_lf(job->msg);
	at.queue = note;
	attempt_log(f->prog, f->acc, f->sc, &at, err);
	if (!f->locked)
		queue_unlock(e);
	flush_release((struct submit_job *)job);
}

static void
flush_back(void *ctx, const struct submit_job *job)
{
	struct flush *f = ctx;
	struct flush_item *it = job->tag;

	if (it == NULL)
		return;
	if (f->nback < SMTP_AHEAD_MAX)
		f->back[f->nback++] = it->e;
	flush_release((struct submit_job *)job);
}

/*
 * Send entries of one account, reconnecting after a message that broke
 * the session for itself alone; when the server cannot be reached, the
 * rest wait for the next run like the first.
 */
void
flush_entries(struct flush *f)
{
	struct error err;
	size_t before;
	int sent;

	error_clear(&err);
	while (f->i < f->n || f->nback > 0) {
		error_clear(&err);
		before = f->i;
		sent = f->sent;
		if (submit_session(f->sc, flush_next, flush_done, flush_back, f,
			&err) == 0)
			continue;
		/*
		 * A server that took messages and then closed (a limit per
		 * connection, say) is asked again; one that took none waits.
		 */
		if (err.kind == ERR_TEMP && f->sent > sent)
			continue;
		if (err.kind == ERR_TEMP || err.kind == ERR_NOHOST ||
		    f->i == before)
			break;
	}
	if (err.kind != ERR_NONE)
		flush_defer(f, &err);
}

void
flush_policy_of(struct flush_policy *pol, const struct account *a)
{
	pol->rmin = account_num(a, AF_QUEUE_RETRY);
	pol->rmax = account_num2(a, AF_QUEUE_RETRY);
	pol->max_age = account_num(a, AF_QUEUE_MAX_AGE);
}

void
flush_init(struct flush *f, const char *prog, const struct account *acc,
    const struct submit_conf *sc, struct queue_entry **v, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->prog = prog;
	f->acc = acc;
	f->sc = sc;
	f->v = v;
	f->n = n;
	error_clear(&f->worst);
	flush_policy_of(&f->pol, acc);
}

/* Not even tried: each counts the failed attempt all the same. */
void
flush_defer(struct flush *f, const struct error *err)
{
	struct queue_entry *e;
	struct error e2;
	enum flush_fate fate;

	while (f->i < f->n || f->nback > 0) {
		error_clear(&e2);
		if (f->nback > 0) {
			e = f->back[0];
			memmove(f->back, f->back + 1,
			    --f->nback * sizeof(f->back[0]));
		} else {
			e = f->v[f->i++];
			if (!f->locked && queue_lock(e, &e2) != 1)
				continue;
		}
		/* Never failed for good without being tried. */
		fate = flush_fate(err) == FLUSH_HELD ? FLUSH_HELD : FLUSH_RETRY;
		f->last_fate = settle(f, e, err, fate);
		if (fate == FLUSH_HELD)
			f->held++;
		else
			f->retried++;
		note_worst(f, err, fate);
		if (!f->locked)
			queue_unlock(e);
	}
}
