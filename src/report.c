/*
 * report.c: what is printed on request, to the stream handed in: the
 * settings in force (-P), the server's description (-S), the queue (-bp).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "queue.h"

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
	fprintf(out, "\ngreeting:\n  %s\n", info->greeting);
	if (info->tls != NULL)
		fprintf(out, "TLS:\n%s", info->tls);
	fprintf(out, "capabilities:\n");
	fputs("  ", out);
	for (const char *p = info->ehlo; *p != '\0'; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fputs("  ", out);
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

/* -bp, mailq: what waits, and why. */
int
report_queue(FILE *out, char *const *dirs, size_t ndirs, struct error *err)
{
	struct queue_entry **v;
	size_t n, nf, i, j, k, shown = 0;
	time_t now = time(NULL);

	for (i = 0; i < ndirs; i++) {
		if (queue_list(dirs[i], 1, &v, &nf, err) == -1)
			break;
		queue_list_free(v, nf);
		if (queue_list(dirs[i], 0, &v, &n, err) == -1)
			break;
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
		for (j = 0; j < n; j++) {
			const struct queue_entry *e = v[j];

			fprintf(out, "%s  %llu bytes  queued ", e->id, e->size);
			print_time(out, e->created);
			fprintf(out, "  attempts %d  next ", e->attempts);
			if (e->held != NULL)
				fputs("held (sent by -q)", out);
			else if (e->next <= now)
				fputs("now", out);
			else
				print_time(out, e->next);
			fprintf(out, "\n  account %s  from <%s>\n", e->account,
			    e->from);
			for (k = 0; k < e->nrcpt; k++)
				fprintf(out, "  to <%s> (%s)\n", e->rcpt[k],
				    rcpt_state_name[e->state[k]]);
			if (e->held != NULL)
				fprintf(out, "  held: %s\n", e->held);
			else if (e->error != NULL)
				fprintf(out, "  last error: %s\n", e->error);
		}
		queue_list_free(v, n);
	}
	return err->kind == ERR_NONE ? 0 : -1;
}
