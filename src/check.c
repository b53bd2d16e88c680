/*
 * check.c: --check.  One session through everything a send does but the
 * message: the engine logs in, then sends RSET and QUIT instead of MAIL.
 * A failure is the error (with its hint) that a send would have met.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "log.h"
#include "prepare.h"
#include "report.h"
#include "submit.h"

#define DAY_SECONDS 86400

static void
put_capabilities(FILE *out, const char *ehlo)
{
	const char *p = ehlo ? strchr(ehlo, '\n') : NULL, *nl;
	int n = 0;

	fputs("capabilities:", out);
	while (p != NULL && *++p != '\0') {
		nl = strchr(p, '\n');
		/* The lines after the first carry their "250-" or "250 ". */
		if (strlen(p) >= 4 && p[0] >= '0' && p[0] <= '9' &&
		    (p[3] == '-' || p[3] == ' '))
			p += 4;
		fprintf(out, " %.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
		n++;
		p = nl;
	}
	fputs(n ? "\n" : " none\n", out);
}

static int
report(const struct cli *c, const struct prepared *p,
    const struct submit_info *i, FILE *out, struct error *err)
{
	const struct submit_conf *sc = &p->sc;
	long long days = 0;
	char when[64];
	struct tm tm;
	time_t t;

	fprintf(out, "connect: %s port %d: ok\n",
	    sc->socket_path ? sc->socket_path : sc->host, sc->port);
	if (i->tls != NULL) {
		t = (time_t)i->cert_expires;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		days = (i->cert_expires - (long long)time(NULL)) / DAY_SECONDS;
		fprintf(out,
		    "TLS: %s, certificate chain and name ok, expires %s "
		    "(in %lld day%s)\n",
		    sc->starttls ? "STARTTLS" : "implicit", when, days,
		    days == 1 ? "" : "s");
	} else
		fputs("TLS: none (tls off)\n", out);
	put_capabilities(out, i->ehlo);
	if (i->auth_mech != NULL)
		fprintf(out, "AUTH: %s accepted\n", i->auth_mech);
	else
		fputs("AUTH: not used (auth off)\n", out);
	if (account_oauth(p->acc))
		report_oauth(out, p->acc);
	fputs("RSET, QUIT: ok\n", out);
	if (i->tls != NULL && c->warn_days > 0 && days < c->warn_days)
		return error_set(err, ERR_UNAVAILABLE,
		    "the server's certificate expires in %lld day%s, within "
		    "the %d days of --warn-days",
		    days, days == 1 ? "" : "s", c->warn_days);
	fputs("ok: a message sent with this account would get past AUTH\n",
	    out);
	return 0;
}

int
check_run(const struct cli *c, FILE *out, struct error *err)
{
	struct prepared p;
	struct request req;
	struct submit_info info;
	int ret;

	memset(&p, 0, sizeof(p));
	memset(&info, 0, sizeof(info));
	prepare_request_from_cli(&req, c);
	if ((ret = prepare(&p, &req, err)) == 0) {
		fprintf(out, "account %s from %s\n", p.acc->name,
		    p.conf_files ? p.conf_files : "the command line");
		fflush(out);
		p.sc.info = &info;
		if ((ret = submit(&p.sc, NULL, err)) == 0)
			ret = report(c, &p, &info, out, err);
		p.sc.info = NULL;
	}
	submit_info_free(&info);
	prepare_free(&p);
	return ret;
}
