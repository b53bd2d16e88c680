/*
 * outbox: a sendmail-compatible mail submission client.
 * main.c: command line -> configuration -> account -> message -> submit,
 * and the one place that turns the outcome into a message and exit code.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "addr.h"
#include "cli.h"
#include "conf.h"
#include "error.h"
#include "idn.h"
#include "log.h"
#include "msg.h"
#include "sasl.h"
#include "secret.h"
#include "submit.h"
#include "tls.h"

#define SYSTEM_CONF OUTBOX_SYSCONFDIR "/outbox.conf"
#define SYSTEM_CONF_MSMTP OUTBOX_SYSCONFDIR "/msmtprc"

struct run {
	struct cli cli;
	struct account *accounts;
	struct account *acc;
	char *conf_files;		 /* the files read, for messages */
	char skipped[ERROR_MSG_MAX + 8]; /* a system file not read */
	char *from;
	char **rcpt;
	int nrcpt;
	char *password;
	char *host;
	struct msg *msg;
};

static void
note_file(struct run *r, const char *path)
{
	size_t have = r->conf_files ? strlen(r->conf_files) : 0;
	char *p = realloc(r->conf_files, have + strlen(path) + 3);

	if (p == NULL)
		return;
	if (have == 0)
		strcpy(p, path);
	else {
		strcpy(p + have, ", ");
		strcpy(p + have + 2, path);
	}
	r->conf_files = p;
}

/* The user's file: outbox's own name first, then the msmtp names. */
static char *
user_conf_path(int which)
{
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char *p = NULL;
	int n = -1;

	if (home == NULL)
		home = "";
	switch (which) {
	case 0:
		n = xdg && *xdg ?
		    asprintf(&p, "%s/outbox/config", xdg) :
		    asprintf(&p, "%s/.config/outbox/config", home);
		break;
	case 1:
		n = asprintf(&p, "%s/.msmtprc", home);
		break;
	case 2:
		n = xdg && *xdg ? asprintf(&p, "%s/msmtp/config", xdg) :
				  asprintf(&p, "%s/.config/msmtp/config", home);
		break;
	}
	return n < 0 ? NULL : p;
}

/* User accounts come first; system accounts fill in the names left. */
static void
merge(struct account **list, struct account *sys)
{
	struct account *a, *next, **tail = list;

	while (*tail != NULL)
		tail = &(*tail)->next;
	for (a = sys; a != NULL; a = next) {
		next = a->next;
		a->next = NULL;
		if (account_find(*list, a->name) != NULL) {
			account_free(a);
			continue;
		}
		*tail = a;
		tail = &a->next;
	}
}

static int
load_config(struct run *r, struct error *err)
{
	struct account *sys = NULL;
	char *path;
	int i;

	if (r->cli.conffile != NULL) {
		if (conf_load(r->cli.conffile, 1, &r->accounts, err) == -1) {
			if (err->kind == ERR_NOINPUT)
				err->kind = ERR_IO;
			return -1;
		}
		note_file(r, r->cli.conffile);
	} else {
		for (i = 0; i < 3; i++) {
			if ((path = user_conf_path(i)) == NULL)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			if (conf_load(path, 1, &r->accounts, err) == 0) {
				note_file(r, path);
				free(path);
				break;
			}
			free(path);
			if (err->kind != ERR_NOINPUT)
				return -1;
			error_clear(err);
		}
	}
	/*
	 * The system file is optional; one this user may not read (it holds
	 * a password for root's use, say) is skipped, and said so only if
	 * no account is found.
	 */
	for (i = 0; i < 2; i++) {
		path = i == 0 ? SYSTEM_CONF : SYSTEM_CONF_MSMTP;
		if (conf_load(path, 0, &sys, err) == 0) {
			note_file(r, path);
			break;
		}
		if (err->kind == ERR_IO) {
			snprintf(r->skipped, sizeof(r->skipped), " (%s)",
			    err->msg);
			break;
		}
		if (err->kind != ERR_NOINPUT)
			return -1;
	}
	error_clear(err);
	merge(&r->accounts, sys);
	return 0;
}

static int
choose_account(struct run *r, struct error *err)
{
	const char *name = r->cli.account ? r->cli.account : "default";
	char where[128];
	int i;

	if (r->cli.host_given) {
		if ((r->acc = account_new("(command line)", "", 0)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		r->acc->next = r->accounts;
		r->accounts = r->acc;
	} else if ((r->acc = account_find(r->accounts, name)) == NULL) {
		if (r->conf_files == NULL)
			return error_set(err, ERR_CONFIG,
			    "no configuration file found: use -C FILE, or "
			    "create ~/.config/outbox/config%s",
			    r->skipped);
		return error_set(err, ERR_CONFIG,
		    "account %s not found in %s%s", name, r->conf_files,
		    r->skipped);
	}
	for (i = 0; i < r->cli.nov; i++) {
		snprintf(where, sizeof(where), "option --%s",
		    r->cli.ov[i].option);
		if (conf_set_option(r->acc, r->cli.ov[i].name,
			r->cli.ov[i].value, where, err) == -1)
			return -1;
	}
	return account_check(r->acc, err);
}

static int
envelope(struct run *r, struct error *err)
{
	const char *f = r->cli.from ? r->cli.from :
				      account_str(r->acc, AF_FROM);
	int i;

	if (f == NULL)
		return error_set(err, ERR_CONFIG,
		    "no envelope-from address: "
		    "set from in the account or use -f ADDRESS");
	if (strcmp(f, "<>") == 0)
		r->from = strdup("");
	else
		r->from = addr_parse_one(f, "the envelope-from address",
		    r->cli.from ? ERR_USAGE : ERR_CONFIG, err);
	if (r->from == NULL)
		return err->kind ? -1 :
				   error_set(err, ERR_OSERR, "out of memory");
	if (r->cli.nrcpt == 0)
		return error_set(err, ERR_USAGE, "no recipients given");
	if ((r->rcpt = calloc((size_t)r->cli.nrcpt, sizeof(char *))) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	for (i = 0; i < r->cli.nrcpt; i++) {
		r->rcpt[i] = addr_parse_one(r->cli.rcpt[i],
		    "a recipient address", ERR_USAGE, err);
		if (r->rcpt[i] == NULL)
			return -1;
		if (*r->rcpt[i] == '\0')
			return error_set(err, ERR_USAGE,
			    "an empty recipient address");
		r->nrcpt++;
	}
	return 0;
}

static const char *
auth_setting(const struct account *a)
{
	const char *v = account_str(a, AF_AUTH);

	return v == NULL || strcmp(v, "off") == 0 ? NULL : v;
}

static int
prepare(struct run *r, struct submit_conf *sc, struct error *err)
{
	const struct account *a = r->acc;
	const char *tlshost;

	memset(sc, 0, sizeof(*sc));
	if ((r->host = idn_host_ascii(account_str(a, AF_HOST), err)) == NULL)
		return -1;
	sc->host = r->host;
	sc->port = account_port(a);
	sc->source_ip = account_str(a, AF_SOURCE_IP);
	sc->timeout = (int)account_num(a, AF_TIMEOUT, 0);
	sc->tls = account_on(a, AF_TLS, 0);
	sc->starttls = account_on(a, AF_TLS_STARTTLS, 1);
	tlshost = account_str(a, AF_TLS_HOST_OVERRIDE);
	sc->tls_conf.host = tlshost ? tlshost : sc->host;
	sc->tls_conf.trust_file = a->v[AF_TLS_TRUST_FILE];
	sc->tls_conf.crl_file = account_str(a, AF_TLS_CRL_FILE);
	sc->tls_conf.cert_file = account_str(a, AF_TLS_CERT_FILE);
	sc->tls_conf.key_file = account_str(a, AF_TLS_KEY_FILE);
	sc->tls_conf.fingerprint = account_str(a, AF_TLS_FINGERPRINT);
	sc->tls_conf.priorities = account_str(a, AF_TLS_PRIORITIES);
	sc->tls_conf.certcheck = account_on(a, AF_TLS_CERTCHECK, 1);
	if (sc->tls && tls_check_conf(&sc->tls_conf, err) == -1)
		return -1;

	sc->smtp.helo = account_str(a, AF_DOMAIN) ? account_str(a, AF_DOMAIN) :
						    "localhost";
	sc->smtp.starttls = sc->tls && sc->starttls;
	sc->smtp.tls = sc->tls && !sc->starttls;
	sc->smtp.from = r->from;
	sc->smtp.rcpt = (const char *const *)r->rcpt;
	sc->smtp.nrcpt = (size_t)r->nrcpt;
	sc->smtp.timeout = sc->timeout;
	sc->smtp.auth = auth_setting(a);
	if (sc->smtp.auth != NULL) {
		sc->smtp.user = account_str(a, AF_USER);
		if (secret_password(a, &r->password, err) == -1)
			return -1;
		sc->smtp.password = r->password;
		if (strcasecmp(sc->smtp.auth, "external") != 0 &&
		    (sc->smtp.user == NULL || r->password == NULL))
			return error_set(err, ERR_CONFIG,
			    "auth is on but %s "
			    "is not set (account %s)",
			    sc->smtp.user == NULL ?
				"user" :
				"password (or passwordeval)",
			    a->name);
	}
	return 0;
}

static void
run_free(struct run *r)
{
	int i;

	for (i = 0; i < r->nrcpt; i++)
		free(r->rcpt[i]);
	free(r->rcpt);
	free(r->from);
	free(r->host);
	free(r->conf_files);
	secret_free(r->password);
	msg_free(r->msg);
	account_free_list(r->accounts);
	free(r->cli.rcpt);
}

static void
version(void)
{
	char *user = user_conf_path(0);

	printf("outbox %s\n", OUTBOX_VERSION);
	printf("TLS: GnuTLS %s; SASL: GNU SASL %s; IDN: libidn2 %s\n",
	    tls_version(), sasl_version(), idn_version());
	printf("System configuration file: %s (else %s)\n", SYSTEM_CONF,
	    SYSTEM_CONF_MSMTP);
	printf("User configuration file: %s (else ~/.msmtprc, "
	       "$XDG_CONFIG_HOME/msmtp/config)\n",
	    user ? user : "?");
	printf("Copyright (C) 2026 the outbox developers. License GPLv3+: "
	       "GNU GPL version 3 or later.\n");
	free(user);
}

int
main(int argc, char **argv)
{
	struct run r;
	struct submit_conf sc;
	struct error err;
	int code;

	memset(&r, 0, sizeof(r));
	error_clear(&err);
	/* A server that goes away mid-write is an error to report, not a
	 * signal to die of without a word or an exit code. */
	signal(SIGPIPE, SIG_IGN);
	if (cli_parse(&r.cli, argc, argv, &err) == -1) {
		log_init(r.cli.prog ? r.cli.prog : "outbox", 0);
		log_error(&err);
		fprintf(stderr, "Try '%s --help' for more information.\n",
		    r.cli.prog ? r.cli.prog : "outbox");
		goto done;
	}
	log_init(r.cli.prog, r.cli.verbose);
	if (r.cli.mode == CLI_HELP) {
		cli_usage(stdout, r.cli.prog);
		goto done;
	}
	if (r.cli.mode == CLI_VERSION) {
		version();
		goto done;
	}
	if ((!r.cli.host_given && load_config(&r, &err) == -1) ||
	    choose_account(&r, &err) == -1 || envelope(&r, &err) == -1 ||
	    prepare(&r, &sc, &err) == -1) {
		log_error(&err);
		goto done;
	}
	if ((r.msg = msg_new(0)) == NULL) {
		error_set(&err, ERR_OSERR, "out of memory");
		log_error(&err);
		goto done;
	}
	sc.smtp.eightbit = 0;
	if (msg_prefetch(r.msg, &err) == -1) {
		log_error(&err);
		goto done;
	}
	sc.smtp.eightbit = msg_eightbit(r.msg);
	if (submit(&sc, r.msg, &err) == -1) {
		log_error(&err);
		log_warn("could not send mail (account %s from %s)",
		    r.acc->name,
		    r.conf_files ? r.conf_files : "the command line");
	}
done:
	code = error_exit_code(err.kind);
	run_free(&r);
	return code;
}
