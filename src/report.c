/*
 * report.c: what is printed on request, to the stream handed in: the
 * settings in force (-P), the server's description (-S), the queue (-bp).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clean.h"
#include "conf.h"
#include "oauth.h"
#include "queue.h"

static void print_time(FILE *out, time_t t);

/* The token state, as outbox-auth status tells it: never a token. */
void
report_oauth(FILE *out, const struct account *a)
{
	struct oauth_reply r;
	struct error e;
	char *file = oauth_token_file(a), *v;
	const char *flds[] = { "expires", "refresh_obtained", "last_used" };
	const char *labels[] = { "access token expires",
		"refresh token obtained", "last refreshed" };
	size_t i;

	fprintf(out, "oauth2 token file = %s%s\n", file ? file : "(no HOME)",
	    account_is_set(a, AF_OAUTH2_TOKEN_FILE) ? "" : " (default)");
	free(file);
	error_clear(&e);
	if (oauth_run(a, "status", NULL, &r, &e) == -1) {
		fprintf(out, "oauth2 token = unknown (%s)\n", e.msg);
		return;
	}
	v = oauth_value_dup(&r, "present");
	fprintf(out, "oauth2 token = %s\n",
	    v != NULL && strcmp(v, "yes") == 0 ?
		"present" :
		"none: run outbox --authorize");
	free(v);
	for (i = 0; i < sizeof(flds) / sizeof(flds[0]); i++) {
		if ((v = oauth_value_dup(&r, flds[i])) == NULL)
			continue;
		fprintf(out, "oauth2 %s = ", labels[i]);
		print_time(out, (time_t)strtoll(v, NULL, 10));
		if (i > 0)
			fprintf(out, " (%lld days ago)",
			    ((long long)time(NULL) - strtoll(v, NULL, 10)) /
				86400);
		fputc('\n', out);
		free(v);
	}
	if ((v = oauth_value_dup(&r, "storage")) != NULL)
		fprintf(out, "oauth2 refresh token storage = %s\n", v);
	free(v);
	oauth_reply_free(&r);
}

/*
 * -P: every setting of the account in use, secrets masked, each with the
 * value in force: what the file or the command line set, else the default.
 */
void
report_settings(FILE *out, const struct prepared *p)
{
	const struct account *a = p->acc;
	const char *v, *dflt, *env;
	char *qdir;
	int i, is_default;

	fprintf(out, "account = %s\n", a->name);
	fprintf(out, "configuration files = %s\n",
	    p->conf_files ? p->conf_files : "(none)");
	for (i = 0; i < AF_N; i++) {
		v = a->v[i];
		is_default = !account_is_set(a, (enum acc_field)i);
		qdir = NULL;
		if (i == AF_PORT)
			fprintf(out, "port = %d%s\n", account_port(a),
			    is_default ? " (default)" : "");
		else if (i == AF_QUEUE_DIR && v == NULL)
			fprintf(out, "queue_dir = %s (default)\n",
			    (qdir = queue_default_dir()) ? qdir : "(no HOME)");
		else if (i == AF_TIMEOUT && account_num(a, AF_TIMEOUT) == 0)
			fprintf(out,
			    "timeout = off (RFC 5321's limit for each "
			    "step)%s\n",
			    is_default ? " (default)" : "");
		else if (v == NULL)
			fprintf(out, "%s = (not set)\n",
			    account_field_name((enum acc_field)i));
		else if ((env = conf_environment_source(a,
			      (enum acc_field)i)) != NULL)
			fprintf(out, "%s = %s (from %s)\n",
			    account_field_name((enum acc_field)i), v, env);
		else
			fprintf(out, "%s = %s%s\n",
			    account_field_name((enum acc_field)i),
			    *v == '\0' ? "(empty)" :
				account_field_secret((enum acc_field)i) ? "*" :
									  v,
			    is_default &&
				    conf_default_of((enum acc_field)i, &dflt) ?
				" (default)" :
				"");
		free(qdir);
	}
	if (account_oauth(a))
		report_oauth(out, a);
}

/* Text from a server or a stored entry, through the one cleaning rule. */
static void
put_text(FILE *out, const char *s, int flags)
{
	char *c = clean_text(s, strlen(s), flags);

	fputs(c != NULL ? c : "?", out);
	free(c);
}

/* -S: what the server says about itself, and its certificates. */
void
report_server(FILE *out, const struct submit_conf *sc,
    const struct submit_info *info)
{
	fprintf(out, "%s server at %s", sc->smtp.lmtp ? "LMTP" : "SMTP",
	    sc->socket_path ? sc->socket_path : sc->host);
	if (sc->socket_path == NULL)
		fprintf(out, " port %d", sc->port);
	fputs("\ngreeting:\n  ", out);
	put_text(out, info->greeting, 0);
	fputc('\n', out);
	if (info->tls != NULL) {
		/* Names from the server's certificate are the server's text. */
		fputs("TLS:\n", out);
		put_text(out, info->tls, CLEAN_LINES);
	}
	fprintf(out, "capabilities:\n");
	fputs("  ", out);
	{
		char *c = clean_text(info->ehlo, strlen(info->ehlo),
		    CLEAN_LINES);

		for (const char *p = c != NULL ? c : "?"; *p != '\0'; p++) {
			fputc(*p, out);
			if (*p == '\n')
				fputs("  ", out);
		}
		free(c);
	}
	fputc('\n', out);
	if (info->size_limit > 0)
		fprintf(out, "maximum message size: %llu bytes (%.1f MiB)\n",
		    info->size_limit, info->size_limit / 1048576.0);
}

static void
print_time(FILE *out, time_t t)
{
	char s[32];
	struct tm tm;

	if (localtime_r(&t, &tm) != NULL &&
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) > 0)
		fputs(s, out);
	else
		fprintf(out, "%lld", (long long)t);
}

static const char *const rcpt_state_name[] = { "pending", "sent", "failed" };

static int
by_damage_id(const void *a, const void *b)
{
	return strcmp(((const struct queue_damage *)a)->id,
	    ((const struct queue_damage *)b)->id);
}

/*
 * A count of DIR's entries (failed/ ones with `failed') in bounded
 * batches, and with DMG those skipped as damaged, sorted by ID (few:
 * each is kept).
 */
static int
count_dir(const char *dir, int failed, size_t *n, struct queue_damage **dmg,
    size_t *ndmg, struct error *err)
{
	struct queue_cursor cur;
	struct queue_entry **v;
	struct queue_damage *d, *grown;
	size_t k, nd;
	int ret = 0;

	memset(&cur, 0, sizeof(cur));
	*n = 0;
	if (dmg != NULL) {
		*dmg = NULL;
		*ndmg = 0;
	}
	while (!cur.done) {
		if (queue_list_next(dir, failed, &cur, &v, &k,
			dmg != NULL ? &d : NULL, &nd, err) == -1) {
			ret = -1;
			break;
		}
		*n += k;
		queue_list_free(v, k);
		if (dmg == NULL || nd == 0)
			continue;
		if ((grown = realloc(*dmg, (*ndmg + nd) * sizeof(*d))) ==
		    NULL) {
			queue_damage_free(d, nd);
			ret = error_set(err, ERR_OSERR, "out of memory");
			break;
		}
		*dmg = grown;
		memcpy(*dmg + *ndmg, d, nd * sizeof(*d));
		*ndmg += nd;
		free(d);
	}
	queue_cursor_free(&cur);
	if (ret == -1 && dmg != NULL) {
		queue_damage_free(*dmg, *ndmg);
		*dmg = NULL;
		*ndmg = 0;
	}
	if (dmg != NULL && *ndmg > 1)
		qsort(*dmg, *ndmg, sizeof(**dmg), by_damage_id);
	return ret;
}

static void
print_entry(FILE *out, const struct queue_entry *e, time_t now)
{
	size_t k;

	fprintf(out, "%s  %llu bytes  queued ", e->id, e->size);
	print_time(out, e->created);
	fprintf(out, "  attempts %d  next ", e->attempts);
	if (e->held != NULL)
		fputs("held (sent by -q)", out);
	else if (e->next <= now)
		fputs("now", out);
	else
		print_time(out, e->next);
	fputs("\n  account ", out);
	put_text(out, e->account, 0);
	fputs("  from <", out);
	put_text(out, e->from, 0);
	fputs(">\n", out);
	for (k = 0; k < e->nrcpt; k++) {
		fputs("  to <", out);
		put_text(out, e->rcpt[k], 0);
		fprintf(out, "> (%s)\n", rcpt_state_name[e->state[k]]);
	}
	if (e->attempting != 0) {
		fputs("  an attempt began ", out);
		print_time(out, e->attempting);
		fputs(" with no outcome recorded yet\n", out);
	}
	/* A server's reply, stored: never raw. */
	if (e->held != NULL) {
		fputs("  held: ", out);
		put_text(out, e->held, 0);
		fputc('\n', out);
	} else if (e->error != NULL) {
		fputs("  last error: ", out);
		put_text(out, e->error, 0);
		fputc('\n', out);
	}
}

/*
 * -bp, mailq: what waits, and why.  The entries are counted, then listed,
 * QUEUE_BATCH at a time: a queue of any size needs no more memory than a
 * batch (and its damaged entries).
 */
int
report_queue(FILE *out, char *const *dirs, size_t ndirs, struct error *err)
{
	struct queue_cursor cur;
	struct queue_entry **v;
	struct queue_damage *dmg;
	size_t n, nf, ndmg, i, j, k, shown = 0;
	time_t now = time(NULL);

	for (i = 0; i < ndirs; i++) {
		if (count_dir(dirs[i], 1, &nf, NULL, NULL, err) == -1 ||
		    count_dir(dirs[i], 0, &n, &dmg, &ndmg, err) == -1)
			break;
		if (ndmg > 0) {
			/* Skipped by every run until someone looks. */
			fprintf(out, "%s: %zu damaged entr%s, not sent:\n",
			    dirs[i], ndmg, ndmg == 1 ? "y" : "ies");
			for (j = 0; j < ndmg; j++) {
				fprintf(out, "%s  damaged  ", dmg[j].id);
				put_text(out, dmg[j].why, 0);
				fputc('\n', out);
			}
			shown++;
		}
		queue_damage_free(dmg, ndmg);
		if (n == 0 && nf == 0) {
			/* The default directory speaks for an empty queue. */
			if (i + 1 == ndirs && shown == 0)
				fprintf(out, "%s: 0 messages queued\n",
				    dirs[i]);
			continue;
		}
		shown++;
		fprintf(out, "%s: %zu message%s queued", dirs[i], n,
		    n == 1 ? "" : "s");
		if (nf > 0)
			fprintf(out, ", %zu in failed/", nf);
		fputc('\n', out);
		/* What came or went since the count is listed as it is. */
		memset(&cur, 0, sizeof(cur));
		while (!cur.done) {
			if (queue_list_next(dirs[i], 0, &cur, &v, &k, NULL,
				NULL, err) == -1)
				break;
			for (j = 0; j < k; j++)
				print_entry(out, v[j], now);
			queue_list_free(v, k);
		}
		queue_cursor_free(&cur);
		if (err->kind != ERR_NONE)
			break;
	}
	return err->kind == ERR_NONE ? 0 : -1;
}
