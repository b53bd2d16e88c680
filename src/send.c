/*
 * send.c: the modes that send now: a message on standard input (through
 * the queue when the account has one), -S, --rmqs, -P's preparation, and
 * the -bs dialogue.  See send.h.
 */
#include "send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attempt.h"
#include "bsmtp.h"
#include "flush.h"
#include "handoff.h"
#include "interrupt.h"
#include "log.h"
#include "prepare.h"
#include "qrun.h"
#include "queue.h"
#include "report.h"

/* One message of a -bs session, or the one on standard input. */
struct sending {
	const struct cli *cli;
	struct prepared p;
	char queued[QUEUE_ID_LEN + 1]; /* the message stays queued as */
	int handoff;		       /* -bs: each to the system queue */
};

/* The record of a message sent straight from its input. */
static void
record_sent(const struct sending *s, const char *queue, const struct error *err)
{
	struct attempt at;

	at.from = s->p.from;
	at.rcpt = (const char *const *)s->p.rcpt.v;
	at.nrcpt = s->p.rcpt.n;
	at.size = (long long)msg_size_lf(s->p.msg);
	at.queue = queue;
	attempt_log(s->cli->prog, s->p.acc, &s->p.sc, &at, err);
}

/*
 * "queue on-failure" and "queue always": the message goes into the queue
 * first; then it is sent as it would go now, or kept.
 */
static int
send_queued(struct sending *s, const struct request *req, struct error *err)
{
	struct queue_entry *e;
	struct flush f;
	char note[64], kept[128];
	int ret = -1;

	if ((e = flush_enqueue(&s->p, req, err)) == NULL) {
		log_warn("the message could not be queued");
		return -1;
	}
	if (account_num(s->p.acc, AF_QUEUE) == ACC_ALWAYS) {
		snprintf(note, sizeof(note), "queued %s", e->id);
		memcpy(s->queued, e->id, sizeof(s->queued));
		log_info("queued as %s in %s", e->id, e->dir);
		record_sent(s, note, err);
		queue_entry_free(e); /* unlocked: the flush may take it */
		qrun_spawn(s->cli, s->p.acc);
		return 0;
	}
	snprintf(kept, sizeof(kept),
	    "the message is kept in the queue as %s: outbox -q sends it",
	    e->id);
	interrupt_note(kept);
	flush_init(&f, s->cli->prog, s->p.acc, &s->p.sc, &e, 1);
	f.locked = 1;
	flush_entries(&f);
	/* Sent, or refused for good: the queue no longer holds it. */
	if (f.last_fate == FLUSH_SENT || f.last_fate == FLUSH_FAILED ||
	    f.last_fate == FLUSH_EXPIRED)
		interrupt_note(NULL);
	switch (f.last_fate) {
	case FLUSH_SENT:
		/*
		 * Delivered, but the entry could not be removed: the caller
		 * hears of it (EX_IOERR), the entry says whether its mark as
		 * sent holds.
		 */
		if (f.io_failed) {
			*err = f.worst;
			break;
		}
		ret = 0;
		error_clear(err);
		break;
	case FLUSH_RETRY:
		*err = f.worst;
		if (f.worst.kind == ERR_TEMP) {
			memcpy(s->queued, e->id, sizeof(s->queued));
			/*
			 * Only a terminal hears of it: callers may take any
			 * output on stderr for a failure (with -bs, the
			 * reply says it).
			 */
			if (isatty(2) && s->cli->mode != CLI_BSMTP)
				log_warn("%s; the message is queued as %s and "
					 "will be sent later",
				    f.worst.msg, e->id);
			error_clear(err);
			ret = 0;
		}
		break;
	case FLUSH_HELD:
		/*
		 * Kept for the user to mend (a changed password, a
		 * certificate): the caller's mail is safe, and said so only
		 * to a terminal, as for a temporary failure.
		 */
		memcpy(s->queued, e->id, sizeof(s->queued));
		if (isatty(2) && s->cli->mode != CLI_BSMTP)
			log_warn("%s; the message is held as %s: %s, then run "
				 "outbox -q",
			    f.worst.msg, e->id, flush_fix(&f.worst));
		error_clear(err);
		ret = 0;
		break;
	default:
		*err = f.worst;
		break;
	}
	queue_entry_free(e);
	if (ret == 0)
		qrun_spawn(s->cli, s->p.acc);
	return ret;
}

/* The prepared message, submitted or queued as the account says. */
static int
deliver(struct sending *s, const struct request *req, struct error *err)
{
	struct submit_conf *sc = &s->p.sc;
	int ret;

	if (account_num(s->p.acc, AF_QUEUE) != ACC_OFF)
		return send_queued(s, req, err);
	sc->smtp.eightbit = msg_eightbit(s->p.msg);
	sc->smtp.whole = msg_whole(s->p.msg);
	sc->smtp.size = msg_content_size(s->p.msg);
	interrupt_note("the message was not queued, and the server had not "
		       "confirmed it");
	ret = submit(sc, s->p.msg, err);
	interrupt_note(NULL);
	record_sent(s, NULL, err);
	return ret;
}

/*
 * A person at a terminal hears of what waits for them: held messages (a
 * fix to make) and failed ones.  Nothing for scripts and daemons.
 */
static void
remind(const struct prepared *p)
{
	struct queue_entry **v;
	struct error e;
	size_t n, i, held = 0, failed = 0;
	char *dir;

	if (!isatty(2) || p->acc == NULL ||
	    account_num(p->acc, AF_QUEUE) == ACC_OFF ||
	    (dir = flush_queue_dir(p->acc)) == NULL)
		return;
	error_clear(&e);
	if (queue_list(dir, 0, &v, &n, &e) == 0) {
		for (i = 0; i < n; i++)
			held += v[i]->held != NULL;
		queue_list_free(v, n);
	}
	if (queue_list(dir, 1, &v, &n, &e) == 0) {
		failed = n;
		queue_list_free(v, n);
	}
	free(dir);
	if (held > 0 || failed > 0)
		log_warn("%zu message%s held, %zu failed: outbox -bp", held,
		    held == 1 ? "" : "s", failed);
}

/* A failure to send says which account and files it was sent with. */
static void
say_failure(const struct sending *s, struct error *err)
{
	log_error(err);
	if (err->whole) {
		err->said = 1;
		return;
	}
	log_warn("could not send mail (account %s from %s)", s->p.acc->name,
	    s->p.conf_files ? s->p.conf_files : "the command line");
	err->said = 1;
}

int
send_stdin(const struct cli *c, FILE *out, struct error *err)
{
	struct sending s;
	struct request req;
	int ret;

	if (handoff_wanted(c))
		return handoff(0, c->from, c->rcpt, (size_t)c->nrcpt,
		    c->read_recipients, err);
	memset(&s, 0, sizeof(s));
	s.cli = c;
	interrupt_note("the message was not sent");
	prepare_request_from_cli(&req, c);
	if ((ret = prepare(&s.p, &req, err)) == 0)
		log_info("account %s from %s", s.p.acc->name,
		    s.p.conf_files ? s.p.conf_files : "the command line");
	if (ret == 0 && (ret = deliver(&s, &req, err)) == -1)
		say_failure(&s, err);
	remind(&s.p);
	prepare_free(&s.p);
	return ret;
}

/* What to do with the account once the command line's request is ready. */
typedef int prepared_fn(struct prepared *, FILE *, struct error *);

static int
with_prepared(const struct cli *c, FILE *out, struct error *err,
    prepared_fn *act)
{
	struct prepared p;
	struct request req;
	int ret;

	memset(&p, 0, sizeof(p));
	prepare_request_from_cli(&req, c);
	if ((ret = prepare(&p, &req, err)) == 0)
		ret = act(&p, out, err);
	prepare_free(&p);
	return ret;
}

static int
print_settings(struct prepared *p, FILE *out, struct error *err)
{
	report_settings(out, p);
	return 0;
}

static int
describe_server(struct prepared *p, FILE *out, struct error *err)
{
	struct submit_info info;
	int ret;

	memset(&info, 0, sizeof(info));
	p->sc.info = &info;
	if ((ret = submit(&p->sc, NULL, err)) == 0)
		report_server(out, &p->sc, &info);
	submit_info_free(&info);
	p->sc.info = NULL;
	return ret;
}

static int
ask_for_queue_run(struct prepared *p, FILE *out, struct error *err)
{
	return submit(&p->sc, NULL, err);
}

int
send_pretend(const struct cli *c, FILE *out, struct error *err)
{
	return with_prepared(c, out, err, print_settings);
}

int
send_serverinfo(const struct cli *c, FILE *out, struct error *err)
{
	return with_prepared(c, out, err, describe_server);
}

int
send_rmqs(const struct cli *c, FILE *out, struct error *err)
{
	return with_prepared(c, out, err, ask_for_queue_run);
}

/*
 * -bs: one message of the dialogue, sent as if given with -f and the
 * recipients as arguments (account, aliases, header edits and log line
 * as usual).  Failures go into the SMTP reply, not to stderr: the caller
 * holds our standard output, and stderr may be its screen.
 */
static int
bs_deliver(void *ctx, const struct bsmtp_envelope *env, int fd,
    struct error *err)
{
	struct sending *s = ctx;
	struct request req;
	int ret;

	if (s->handoff)
		return handoff(fd, *env->from != '\0' ? env->from : "<>",
		    (char *const *)env->rcpt, env->nrcpt, 0, err);
	prepare_message_free(&s->p);
	prepare_request_from_cli(&req, s->cli);
	/* RFC 8689 4.1: the message goes on with REQUIRETLS, or not at all. */
	req.requiretls = env->requiretls;
	req.msg_fd = fd;
	req.from = *env->from != '\0' ? env->from : "<>";
	req.rcpt = (char *const *)env->rcpt;
	req.nrcpt = env->nrcpt;
	/* The recipients come with RCPT, never from the header. */
	req.read_recipients = 0;
	if (prepare(&s->p, &req, err) == -1)
		return -1;
	s->queued[0] = '\0';
	if ((ret = deliver(s, &req, err)) == 0 && s->queued[0] != '\0')
		snprintf(err->msg, sizeof(err->msg), "queued as %s", s->queued);
	return ret;
}

int
send_bs(const struct cli *c, FILE *out, struct error *err)
{
	struct sending s;
	struct request req;
	char name[256];
	int ret = 0;

	memset(&s, 0, sizeof(s));
	s.cli = c;
	/* The configuration once, for the whole dialogue. */
	prepare_request_from_cli(&req, c);
	if (!(s.handoff = handoff_wanted(c)) &&
	    prepare_config(&s.p, &req, err) == -1) {
		prepare_free(&s.p);
		return -1;
	}
	if (gethostname(name, sizeof(name)) == -1)
		strcpy(name, "localhost");
	name[sizeof(name) - 1] = '\0';
	if (bsmtp_serve(0, out, name, bs_deliver, &s, err) == -1)
		ret = -1;
	prepare_free(&s.p);
	return ret;
}
