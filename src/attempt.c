/*
 * attempt.c: the log record of one send attempt, and notes about an
 * account (logfile, syslog).
 */
#include "attempt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "record.h"

void
attempt_log(const char *prog, const struct account *a,
    const struct submit_conf *sc, const struct attempt *at,
    const struct error *err)
{
	const char *logfile = account_str(a, AF_LOGFILE);
	int facility = (int)account_num(a, AF_SYSLOG);
	struct record rec;
	struct error e;
	char *line;

	if (logfile == NULL && facility == ACC_OFF)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.host = sc->socket_path		    ? NULL :
	    sc->host_used != NULL && *sc->host_used ? *sc->host_used :
						      sc->host;
	rec.socket = sc->socket_path;
	rec.tls = sc->tls && !(sc->plain_used != NULL && *sc->plain_used);
	rec.auth = sc->smtp.auth != NULL;
	rec.user = sc->smtp.user;
	rec.from = at->from;
	rec.rcpt = at->rcpt;
	rec.nrcpt = at->nrcpt;
	rec.mailsize = err->kind == ERR_NONE ? at->size : -1;
	rec.queue = at->queue;
	rec.smtpstatus = err->code;
	rec.smtpmsg = err->code ? err->reply : NULL;
	rec.errormsg = err->kind == ERR_NONE ? NULL : err->msg;
	rec.exitcode = error_exit_name(err->kind);
	error_clear(&e);
	if (logfile != NULL) {
		line = record_format(&rec,
		    account_str(a, AF_LOGFILE_TIME_FORMAT), time(NULL), &e);
		if (line == NULL) {
			/* The record still shows, without its time. */
			log_warn("cannot log to %s: %s", logfile, e.msg);
			line = record_format(&rec, "none", time(NULL), &e);
			if (line != NULL)
				log_warn("log info was: %s", line);
		} else if (record_append(logfile, line, &e) == -1) {
			log_warn("%s", e.msg);
			log_warn("log info was: %s", line);
		}
		free(line);
	}
	if (facility != ACC_OFF) {
		if ((line = record_format(&rec, "none", time(NULL), &e)) !=
		    NULL)
			record_syslog(prog, facility, err->kind != ERR_NONE,
			    line);
		free(line);
	}
}

void
attempt_note(const char *prog, const struct account *a, const char *text)
{
	const char *logfile = account_str(a, AF_LOGFILE);
	int facility = (int)account_num(a, AF_SYSLOG);
	char *what, *line;
	struct error e;

	if ((logfile == NULL && facility == ACC_OFF) ||
	    asprintf(&what, "account=%s %s", a->name, text) == -1)
		return;
	error_clear(&e);
	if (logfile != NULL) {
		line = record_note(what, account_str(a, AF_LOGFILE_TIME_FORMAT),
		    time(NULL), &e);
		if (line == NULL || record_append(logfile, line, &e) == -1)
			log_warn("%s", e.msg);
		free(line);
	}
	if (facility != ACC_OFF)
		record_syslog(prog, facility, 0, what);
	free(what);
}
