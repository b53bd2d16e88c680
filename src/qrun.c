/*
 * qrun.c: the queue run (-q, -qI/-qR/-qS), the detached run after a send,
 * --queue-drop, and the queue directories.  See qrun.h.
 */
#include "qrun.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attempt.h"
#include "flush.h"
#include "interrupt.h"
#include "log.h"
#include "oauth.h"
#include "pickup.h"
#include "prepare.h"
#include "queue.h"
#include "report.h"

/* One group's configuration: the request its entries were stored with. */
struct group {
	struct request req;
	struct cli_override ov[CLI_OVERRIDES_MAX];
	char *ov_text[CLI_OVERRIDES_MAX];
	char *conffile, *account; /* the request's own copies */
	struct prepared p;
};

int
qrun_dirs(const struct cli *c, char ***dirs, size_t *n, struct error *err)
{
	struct prepared p;
	struct request q;
	const struct account *a;
	char *d;
	size_t i;
	int dup;

	*dirs = NULL;
	*n = 0;
	memset(&p, 0, sizeof(p));
	prepare_request_from_cli(&q, c);
	if (prepare_config(&p, &q, err) == -1) {
		prepare_free(&p);
		return -1;
	}
	for (a = p.accounts;; a = a->next) {
		d = a != NULL ? flush_queue_dir(a) : queue_default_dir();
		for (i = 0, dup = 0; d != NULL && i < *n; i++)
			dup |= strcmp((*dirs)[i], d) == 0;
		if (d != NULL && !dup) {
			char **v = realloc(*dirs, (*n + 1) * sizeof(char *));
			if (v == NULL) {
				free(d);
				prepare_free(&p);
				return error_set(err, ERR_OSERR,
				    "out of memory");
			}
			*dirs = v;
			(*dirs)[(*n)++] = d;
		} else
			free(d);
		if (a == NULL)
			break;
	}
	prepare_free(&p);
	return 0;
}

void
qrun_free_dirs(char **dirs, size_t n)
{
	while (n > 0)
		free(dirs[--n]);
	free(dirs);
}

static int
selected(const struct cli *c, const struct queue_entry *e, time_t now)
{
	size_t k;

	switch (c->queue_by) {
	case 'I':
		return strcasestr(e->id, c->queue_match) != NULL;
	case 'S':
		return strcasestr(e->from, c->queue_match) != NULL;
	case 'R':
		for (k = 0; k < e->nrcpt; k++)
			if (e->state[k] == QUEUE_PENDING &&
			    strcasestr(e->rcpt[k], c->queue_match) != NULL)
				return 1;
		return 0;
	default:
		/*
		 * -q sends everything now, as sendmail's and Postfix's do:
		 * whoever runs it by hand has mended something.  The timer's
		 * --queue-run and the run after a send keep the schedule.
		 */
		return !c->queue_due_only ||
		    (e->next <= now && e->held == NULL);
	}
}

/*
 * Entries sent together have the same configuration, account and
 * settings: ordered by those, a group is a run of equal ones.
 */
static int
group_cmp(const struct queue_entry *a, const struct queue_entry *b)
{
	int c;
	size_t k;

	if ((c = strcmp(a->conffile ? a->conffile : "",
		 b->conffile ? b->conffile : "")) != 0 ||
	    (c = (a->conffile != NULL) - (b->conffile != NULL)) != 0 ||
	    (c = a->host_given - b->host_given) != 0 ||
	    (c = strcmp(a->account, b->account)) != 0 ||
	    (c = (a->nset > b->nset) - (a->nset < b->nset)) != 0)
		return c;
	for (k = 0; k < a->nset; k++)
		if ((c = strcmp(a->set[k], b->set[k])) != 0)
			return c;
	return 0;
}

/*
 * The account an entry names, as it is configured now: the entry's
 * configuration file, account and settings, and no message.  An entry is
 * data: what it says about configuration counts only when it is the
 * flusher's own file naming the configuration the flusher reads anyway
 * (queue_entry_conf_trusted); otherwise the flusher's own configuration
 * sends it, with the account the entry names.
 */
static int
group_ready(struct group *g, const struct queue_entry *e, const struct cli *c,
    struct error *err)
{
	char *sp, *mine = prepare_user_conf_path();
	int trusted = queue_entry_conf_trusted(e, c->conffile, mine);
	size_t k;

	free(mine);
	memset(g, 0, sizeof(*g));
	/* Copies: settling an entry may change it while the group lives. */
	if ((g->account = strdup(e->account)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (!trusted) {
		prepare_request_from_cli(&g->req, c);
		g->req.from = NULL;
		g->req.read_envelope_from = 0;
		g->req.rcpt = NULL;
		g->req.nrcpt = 0;
		g->req.read_recipients = 0;
		g->req.envid = NULL;
		g->req.msg_fd = -1;
		g->req.account_only = g->req.info_only = 0;
		g->req.etrn = NULL;
		if (!c->host_given && !e->host_given)
			g->req.account = g->account;
		return prepare(&g->p, &g->req, err);
	}
	if (e->conffile != NULL && (g->conffile = strdup(e->conffile)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	g->req.conffile = g->conffile;
	g->req.host_given = e->host_given;
	g->req.account = e->host_given ? NULL : g->account;
	g->req.msg_fd = -1;
	g->req.ov = g->ov;
	for (k = 0; k < e->nset && k < CLI_OVERRIDES_MAX; k++) {
		if ((g->ov_text[k] = strdup(e->set[k])) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		if ((sp = strchr(g->ov_text[k], ' ')) == NULL)
			continue;
		*sp = '\0';
		g->ov[g->req.nov].option = g->ov_text[k];
		g->ov[g->req.nov].name = g->ov_text[k];
		g->ov[g->req.nov++].value = sp + 1;
	}
	return prepare(&g->p, &g->req, err);
}

static void
group_free(struct group *g)
{
	prepare_free(&g->p);
	for (int i = 0; i < CLI_OVERRIDES_MAX; i++)
		free(g->ov_text[i]);
	free(g->conffile);
	free(g->account);
}

static int
by_group(const void *pa, const void *pb)
{
	const struct queue_entry *a = *(struct queue_entry *const *)pa,
				 *b = *(struct queue_entry *const *)pb;
	int c = group_cmp(a, b);

	return c != 0 ? c : strcmp(a->id, b->id);
}

/* outbox-auth's own lines, already worded for the user. */
static void
relay(void *arg, const char *line)
{
	(void)arg;
	log_info("%s", strncmp(line, "outbox: ", 8) == 0 ? line + 8 : line);
}

/*
 * Refresh tokens die unused (about 90 days at some providers): each
 * OAuth account of the configuration renews its own when it has not
 * been used for oauth2_keepalive.  A failure is said, and the run goes
 * on: the mail is not the keepalive's.
 */
static void
keepalive(const struct cli *c)
{
	struct prepared p;
	struct request q;
	struct oauth_opts o;
	struct oauth_reply r;
	struct error e;
	const struct account *a;
	const char *v;
	size_t len;

	memset(&p, 0, sizeof(p));
	error_clear(&e);
	prepare_request_from_cli(&q, c);
	if (prepare_config(&p, &q, &e) == 0)
		for (a = p.accounts; a != NULL; a = a->next) {
			if (!account_oauth(a))
				continue;
			memset(&o, 0, sizeof(o));
			o.on_line = relay;
			o.verbose = c->verbose;
			error_clear(&e);
			if (oauth_run(a, "keepalive", &o, &r, &e) == -1) {
				log_error(&e);
				continue;
			}
			/* The log shows that the token was kept alive. */
			v = oauth_value(&r, "refreshed", &len);
			if (v != NULL && len == 3 && memcmp(v, "yes", 3) == 0)
				attempt_note(c->prog, a,
				    "oauth2 keepalive: refresh token renewed");
			oauth_reply_free(&r);
		}
	prepare_free(&p);
}

/* What a run has done so far. */
struct tally {
	int sent, retried, failed, held;
	size_t seen; /* entries selected */
	struct error worst;
};

/* The worse of two outcomes is the run's; the other is said now. */
static void
tally_worst(struct tally *t, const struct error *err)
{
	if (t->worst.kind != ERR_NONE)
		log_error(&t->worst);
	t->worst = *err;
}

/* One batch's selected entries, one connection per account. */
static void
run_batch(const struct cli *c, struct queue_entry **all, size_t nall,
    struct tally *t)
{
	size_t i, j;

	if (nall > 1)
		qsort(all, nall, sizeof(*all), by_group);
	for (i = 0; i < nall; i = j) {
		struct group g;
		struct flush f;
		struct error gerr;

		for (j = i + 1; j < nall && group_cmp(all[i], all[j]) == 0; j++)
			;
		error_clear(&gerr);
		if (group_ready(&g, all[i], c, &gerr) == -1) {
			/*
			 * Nothing can go until the configuration is mended.
			 * The last such error is the run's, said at its end.
			 */
			tally_worst(t, &gerr);
			if (g.p.acc == NULL)
				t->retried += (int)(j - i);
			else {
				flush_init(&f, c->prog, g.p.acc, &g.p.sc,
				    all + i, j - i);
				flush_defer(&f, &gerr);
				t->retried += f.retried;
				t->held += f.held;
			}
			group_free(&g);
			continue;
		}
		flush_init(&f, c->prog, g.p.acc, &g.p.sc, all + i, j - i);
		f.req = &g.req;
		flush_entries(&f);
		t->sent += f.sent;
		t->retried += f.retried;
		t->failed += f.failed;
		t->held += f.held;
		if (f.worst.kind != ERR_NONE &&
		    (t->worst.kind == ERR_NONE ||
			(flush_fate(&f.worst) == FLUSH_FAILED &&
			    flush_fate(&t->worst) != FLUSH_FAILED)))
			t->worst = f.worst;
		group_free(&g);
	}
}

/*
 * One queue directory, QUEUE_BATCH entries at a time in ID order (oldest
 * first): what the run holds stays the same for ten entries or a
 * hundred thousand.  Each batch is grouped by account.
 */
static void
run_dir(const struct cli *c, const char *dir, time_t now, struct tally *t)
{
	struct queue_cursor cur;
	struct queue_entry **v;
	struct queue_damage *dmg;
	struct error err;
	size_t n, ndmg, j, k;

	memset(&cur, 0, sizeof(cur));
	while (!cur.done) {
		error_clear(&err);
		if (queue_list_next(dir, 0, &cur, &v, &n, &dmg, &ndmg, &err) ==
		    -1) {
			/*
			 * A queue that cannot be trusted or read: the others
			 * still go, and the run says so in its exit status.
			 */
			tally_worst(t, &err);
			break;
		}
		/* Skipped, not removed: a person must look at them. */
		for (j = 0; j < ndmg; j++)
			log_warn("skipped: %s", dmg[j].why);
		queue_damage_free(dmg, ndmg);
		for (j = k = 0; j < n; j++)
			if (selected(c, v[j], now))
				v[k++] = v[j];
			else
				queue_entry_free(v[j]);
		t->seen += k;
		run_batch(c, v, k, t);
		queue_list_free(v, k);
	}
	queue_cursor_free(&cur);
}

/* -q: everything due (or selected), one connection per account. */
int
qrun_run(const struct cli *c, FILE *out, struct error *err)
{
	char **dirs;
	size_t ndirs, i;
	time_t now = time(NULL);
	struct tally t;

	memset(&t, 0, sizeof(t));
	error_clear(&t.worst);
	interrupt_note("the messages not sent yet stay in the queue");
	/* root's run takes what users left for the system queue first. */
	if (pickup_run(c->prog, err) == -1 ||
	    qrun_dirs(c, &dirs, &ndirs, err) == -1)
		return -1;
	for (i = 0; i < ndirs; i++)
		run_dir(c, dirs[i], now, &t);
	qrun_free_dirs(dirs, ndirs);
	keepalive(c);
	/*
	 * -q by hand says what happened, as a user who just mended
	 * something wants to know; the timer's run only with -v.
	 */
	if (!c->queue_due_only && out != NULL && t.seen > 0)
		fprintf(out,
		    "%d sent, %d kept for later, %d held, %d failed%s%s\n",
		    t.sent, t.retried, t.held, t.failed,
		    t.worst.kind != ERR_NONE ? ": " : "",
		    t.worst.kind != ERR_NONE ? t.worst.msg : "");
	log_info("queue run: %d sent, %d kept for later, %d held, %d failed",
	    t.sent, t.retried, t.held, t.failed);
	if (t.worst.kind != ERR_NONE) {
		*err = t.worst;
		return -1;
	}
	return 0;
}

void
qrun_spawn(const struct cli *c, const struct account *acc)
{
	struct cli fc;
	struct error err;
	pid_t pid;
	int fd;

	if (!account_on(acc, AF_QUEUE_BACKGROUND))
		return;
	fflush(NULL);
	if ((pid = fork()) != 0) {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return;
	}
	/* The child: its own session, no terminal, nothing the caller reads. */
	if (fork() != 0)
		_exit(0);
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	fc = *c;
	fc.mode = CLI_QUEUE_RUN;
	fc.queue_by = 0;
	fc.queue_due_only = 1;
	fc.rcpt = NULL;
	fc.nrcpt = 0;
	log_init(c->prog, 0);
	error_clear(&err);
	qrun_run(&fc, NULL, &err);
	_exit(0);
}

/* --queue-drop=ID */
int
qrun_drop(const struct cli *c, FILE *out, struct error *err)
{
	char **dirs;
	size_t ndirs, i;
	int ret = -1;

	if (qrun_dirs(c, &dirs, &ndirs, err) == -1)
		return -1;
	for (i = 0; i < ndirs && ret == -1; i++) {
		error_clear(err);
		if (queue_drop(dirs[i], c->queue_match, err) == 0) {
			log_info("deleted %s from %s", c->queue_match, dirs[i]);
			ret = 0;
		} else if (err->kind != ERR_NOINPUT)
			break;
	}
	if (ret == -1 && err->kind == ERR_NOINPUT)
		error_set(err, ERR_NOINPUT, "no queued message %s",
		    c->queue_match);
	qrun_free_dirs(dirs, ndirs);
	return ret;
}

int
qrun_list(const struct cli *c, FILE *out, struct error *err)
{
	char **dirs;
	size_t ndirs;
	int ret;

	if (pickup_run(c->prog, err) == -1 ||
	    qrun_dirs(c, &dirs, &ndirs, err) == -1)
		return -1;
	ret = report_queue(out, dirs, ndirs, err);
	qrun_free_dirs(dirs, ndirs);
	return ret;
}
