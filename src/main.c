/*
 * outbox: a sendmail-compatible mail submission client.
 * main.c: command line -> configuration -> account -> message -> submit,
 * and the one place that turns the outcome into a message and exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "addr.h"
#include "aliases.h"
#include "bsmtp.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "configure.h"
#include "error.h"
#include "header.h"
#include "idn.h"
#include "lineio.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "record.h"
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
	char *header_from;		 /* the From field's address */
	char *from;			 /* the envelope sender */
	struct addrlist rcpt;		 /* the envelope recipients */
	char *password;
	char *host;	/* in A-labels */
	char *tls_host; /* tls_host_override in A-labels */
	char *helo;	/* domain, substituted, in A-labels */
	int msg_fd;	/* where the message is read: stdin, or -bs's spool */
	struct msg *msg;
	char *ov_text[CLI_OVERRIDES_MAX]; /* a queued entry's settings */
	char queued[QUEUE_ID_LEN + 1];	  /* the message stays queued as */
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

/* The user's file: outbox's own name first, then the older names. */
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

/* Whether account a's from (expanded) matches the address. */
static int
from_matches(const char *pattern, const char *addr)
{
	const char *plus, *at;
	char *plain;
	int r;

	if (strcasecmp(pattern, addr) == 0 ||
	    fnmatch(pattern, addr, FNM_CASEFOLD) == 0)
		return 1;
	/* user+detail@domain is user@domain's. */
	if ((plus = strchr(addr, '+')) == NULL ||
	    (at = strchr(plus, '@')) == NULL ||
	    asprintf(&plain, "%.*s%s", (int)(plus - addr), addr, at) == -1)
		return 0;
	r = strcasecmp(pattern, plain) == 0 ||
	    fnmatch(pattern, plain, FNM_CASEFOLD) == 0;
	free(plain);
	return r;
}

static int
is_pattern(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static char *
first_line_of(const char *path)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (fp == NULL)
		return NULL;
	n = getline(&line, &cap, fp);
	fclose(fp);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* The user's name: $USER, else $LOGNAME, else the login name. */
static const char *
user_name(void)
{
	const char *v = getenv("USER");
	struct passwd *pw;

	if (v == NULL || *v == '\0')
		v = getenv("LOGNAME");
	if ((v == NULL || *v == '\0') && (pw = getpwuid(geteuid())) != NULL)
		v = pw->pw_name;
	return v != NULL ? v : "unknown";
}

/*
 * from's substitutions: %U the user, %H the host name, %C its canonical
 * name, %M the mail name of the system, %F the From header's address.
 */
static char *
expand_from(const char *from, const char *header_from, struct error *err)
{
	struct buf b;
	struct addrinfo hints, *ai;
	char host[256], *mailname = NULL, *out = NULL;
	const char *p, *v;

	buf_init(&b, 64 * 1024);
	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	for (p = from; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			buf_add(&b, p, 1);
			continue;
		}
		v = NULL;
		ai = NULL;
		switch (*++p) {
		case 'U':
			v = user_name();
			break;
		case 'H':
			v = getenv("HOSTNAME") && *getenv("HOSTNAME") ?
			    getenv("HOSTNAME") :
			    host;
			break;
		case 'C':
			memset(&hints, 0, sizeof(hints));
			hints.ai_flags = AI_CANONNAME;
			v = getaddrinfo(host, NULL, &hints, &ai) == 0 &&
				ai->ai_canonname ?
			    ai->ai_canonname :
			    host;
			break;
		case 'M':
			free(mailname);
			if ((mailname = first_line_of(
				 OUTBOX_SYSCONFDIR "/mailname")) == NULL) {
				error_set(err, ERR_CONFIG,
				    "from uses %%M, but "
				    "%s/mailname cannot be read",
				    OUTBOX_SYSCONFDIR);
				goto out;
			}
			v = mailname;
			break;
		case 'F':
			v = header_from;
			if (v == NULL) {
				error_set(err, ERR_DATA,
				    "from uses %%F, but "
				    "the message has no From header field");
				goto out;
			}
			break;
		case '%':
			v = "%";
			break;
		default:
			buf_add(&b, p - 1, 2);
			break;
		}
		if (v != NULL)
			buf_addstr(&b, v);
		if (ai != NULL)
			freeaddrinfo(ai);
	}
	if (buf_add(&b, "", 1) == -1)
		error_set(err, ERR_OSERR, "out of memory");
	else {
		out = b.data;
		b.data = NULL;
	}
out:
	free(mailname);
	buf_free(&b);
	return out;
}

static int
apply_overrides(struct run *r, struct error *err)
{
	char where[128];
	int i;

	for (i = 0; i < r->cli.nov; i++) {
		snprintf(where, sizeof(where), "option %s%s",
		    r->cli.ov[i].option[0] == '-' ? "" : "--",
		    r->cli.ov[i].option);
		if (conf_set_option(r->acc, r->cli.ov[i].name,
			r->cli.ov[i].value, where, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * The account: -a's, the command line's (--host), the first whose from
 * matches the envelope sender, or "default".
 */
static int
choose_account(struct run *r, const char *sender, struct error *err)
{
	const char *name = r->cli.account ? r->cli.account : "default";
	struct account *a;
	char *f;

	if (r->cli.host_given) {
		/* -bs: made for the first message, kept for the next. */
		if ((r->acc = account_find(r->accounts, "(command line)")) !=
		    NULL)
			return 0;
		if ((r->acc = conf_account_new("(command line)", "", 0,
			 NULL)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		r->acc->next = r->accounts;
		r->accounts = r->acc;
		return apply_overrides(r, err);
	}
	if (r->cli.account == NULL && sender != NULL)
		for (a = r->accounts; a != NULL && r->acc == NULL;
		     a = a->next) {
			if (account_str(a, AF_FROM) == NULL)
				continue;
			f = expand_from(account_str(a, AF_FROM), r->header_from,
			    err);
			error_clear(err);
			if (f != NULL && from_matches(f, sender))
				r->acc = a;
			free(f);
		}
	if (r->acc == NULL &&
	    (r->acc = account_find(r->accounts, name)) == NULL) {
		if (r->conf_files == NULL)
			return error_set(err, ERR_CONFIG,
			    "no configuration file found: use -C FILE, or "
			    "create ~/.config/outbox/config%s",
			    r->skipped);
		return error_set(err, ERR_CONFIG,
		    "account %s not found in %s%s", name, r->conf_files,
		    r->skipped);
	}
	return apply_overrides(r, err);
}

/* The envelope sender (RFC 5321 4.1.1.2), "" for the null sender. */
static int
envelope_from(struct run *r, const char *given, struct error *err)
{
	const struct account *a = r->acc;
	const char *conf = account_str(a, AF_FROM), *dom;
	char *f = NULL;
	int override = account_on(a, AF_ALLOW_FROM_OVERRIDE);

	if (given != NULL && (override || conf == NULL)) {
		if (strcmp(given, "<>") == 0 || *given == '\0')
			return (r->from = strdup("")) ?
			    0 :
			    error_set(err, ERR_OSERR, "out of memory");
		r->from = addr_parse_one(given, "the envelope-from address",
		    r->cli.from ? ERR_USAGE : ERR_DATA, err);
		if (r->from == NULL)
			return -1;
		/* A bare name (-f root, as cron gives it) gets maildomain. */
		dom = account_str(a, AF_MAILDOMAIN);
		if (strchr(r->from, '@') == NULL && dom != NULL) {
			if (asprintf(&f, "%s@%s", r->from, dom) == -1)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			free(r->from);
			r->from = f;
		}
		return 0;
	}
	if (account_on(a, AF_AUTO_FROM)) {
		/* The old auto_from: the user at maildomain, or the user. */
		dom = account_str(a, AF_MAILDOMAIN);
		if (asprintf(&f, "%s%s%s", user_name(), dom ? "@" : "",
			dom ? dom : "") == -1)
			return error_set(err, ERR_OSERR, "out of memory");
	} else if (conf != NULL) {
		if ((f = expand_from(conf, r->header_from, err)) == NULL)
			return -1;
		if (is_pattern(f)) {
			free(f);
			return error_set(err, ERR_CONFIG,
			    "from is a pattern (account %s): give the "
			    "envelope-from address with -f",
			    a->name);
		}
	} else
		return error_set(err, ERR_CONFIG,
		    "no envelope-from address: set from in the account or "
		    "use -f ADDRESS");
	r->from = addr_parse_one(f, "the envelope-from address", ERR_CONFIG,
	    err);
	free(f);
	return r->from ? 0 : -1;
}

/*
 * The recipients: the arguments (each read as a To: field would be),
 * with -t those in the header, then the aliases.
 */
static int
envelope_rcpt(struct run *r, struct error *err)
{
	struct addrlist l;
	const char *aliases = account_str(r->acc, AF_ALIASES), *dom;
	char **ex = NULL, *q;
	size_t nex = 0, i;
	int lmtp, ret = -1;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < (size_t)r->cli.nrcpt; i++)
		if (addr_list_parse(r->cli.rcpt[i], strlen(r->cli.rcpt[i]), &l,
			"a recipient argument", ERR_USAGE, err) == -1)
			goto out;
	/*
	 * With no recipient argument the header names them, as -t would:
	 * programs that call sendmail without arguments expect that.
	 */
	if ((r->cli.read_recipients || r->cli.nrcpt == 0) &&
	    header_recipients(r->msg, &l, err) == -1)
		goto out;
	if (l.n == 0) {
		error_set(err, ERR_USAGE,
		    "no recipients found (looked at the command line and the "
		    "To, Cc and Bcc header fields)");
		goto out;
	}
	if (aliases != NULL) {
		if (aliases_expand(aliases, l.v, l.n, &ex, &nex, err) == -1)
			goto out;
		addrlist_free(&l);
		for (i = 0; i < nex; i++)
			if (addrlist_add(&l, ex[i], strlen(ex[i])) == -1) {
				error_set(err, ERR_OSERR, "out of memory");
				goto out;
			}
	}
	/*
	 * A bare name with nothing to expand it is not sent to a guessed
	 * domain: maildomain qualifies it, or it is an error.  LMTP servers
	 * deliver to local names themselves.
	 */
	lmtp = account_lmtp(r->acc);
	dom = account_str(r->acc, AF_MAILDOMAIN);
	for (i = 0; i < l.n && !lmtp; i++) {
		if (strchr(l.v[i], '@') != NULL)
			continue;
		if (dom == NULL) {
			error_set(err, ERR_CONFIG,
			    "recipient %s has no domain: "
			    "give it one, list it in an aliases file, or set "
			    "maildomain",
			    l.v[i]);
			goto out;
		}
		if (asprintf(&q, "%s@%s", l.v[i], dom) == -1) {
			error_set(err, ERR_OSERR, "out of memory");
			goto out;
		}
		free(l.v[i]);
		l.v[i] = q;
	}
	r->rcpt = l;
	memset(&l, 0, sizeof(l));
	ret = 0;
out:
	aliases_free(ex, nex);
	addrlist_free(&l);
	return ret;
}

static enum header_set
header_setting(const struct account *a, enum acc_field f)
{
	switch (account_num(a, f)) {
	case ACC_AUTO:
		return HEADER_AUTO;
	case ACC_ON:
		return HEADER_ON;
	default:
		return HEADER_OFF;
	}
}

static int
edit_header(struct run *r, struct error *err)
{
	const struct account *a = r->acc;
	struct header_policy p;
	long to = account_num(a, AF_SET_TO_HEADER);
	const char *dom, *at;

	memset(&p, 0, sizeof(p));
	p.remove_bcc = account_on(a, AF_REMOVE_BCC_HEADERS);
	p.from = header_setting(a, AF_SET_FROM_HEADER);
	p.date = header_setting(a, AF_SET_DATE_HEADER);
	p.msgid = header_setting(a, AF_SET_MSGID_HEADER);
	p.to = to == ACC_ON	  ? HEADER_TO_ON :
	    to == ACC_UNDISCLOSED ? HEADER_TO_UNDISCLOSED :
				    HEADER_TO_OFF;
	p.from_addr = r->from;
	p.full_name = account_str(a, AF_FROM_FULL_NAME);
	p.rcpt = (const char *const *)r->rcpt.v;
	p.nrcpt = r->rcpt.n;
	p.now = time(NULL);
	/* The Message-ID's right side: domain, the sender's, the server. */
	dom = r->helo;
	if (dom == NULL || strcmp(dom, "localhost") == 0)
		dom = (at = strrchr(r->from, '@')) != NULL ? at + 1 :
		    account_str(a, AF_HOST) ? account_str(a, AF_HOST) :
					      "localhost";
	p.msgid_domain = dom;
	return header_apply(r->msg, &p, err);
}

/* A setting whose text is sent (a mechanism, a DSN keyword), or NULL. */
static const char *
unless_off(const struct account *a, enum acc_field f)
{
	return account_num(a, f) == ACC_OFF ? NULL : account_str(a, f);
}

static int
prepare(struct run *r, struct submit_conf *sc, struct error *err)
{
	const struct account *a = r->acc;
	const char *tlshost;

	memset(sc, 0, sizeof(*sc));
	/* With a socket, host only names the server for TLS. */
	if ((r->host = idn_host_ascii(account_str(a, AF_HOST) ?
		     account_str(a, AF_HOST) :
		     "localhost",
		 err)) == NULL)
		return -1;
	sc->host = r->host;
	sc->port = account_port(a);
	sc->source_ip = account_str(a, AF_SOURCE_IP);
	sc->socket_path = account_str(a, AF_SOCKET);
	sc->proxy_host = account_str(a, AF_PROXY_HOST);
	sc->proxy_port = (int)account_num(a, AF_PROXY_PORT);
	sc->timeout = (int)account_num(a, AF_TIMEOUT);
	sc->tls = account_on(a, AF_TLS);
	sc->starttls = account_on(a, AF_TLS_STARTTLS);
	/* The certificate names the server in A-labels (RFC 6125 6.4.2). */
	if ((tlshost = account_str(a, AF_TLS_HOST_OVERRIDE)) != NULL &&
	    (r->tls_host = idn_host_ascii(tlshost, err)) == NULL)
		return -1;
	sc->tls_conf.host = r->tls_host ? r->tls_host : sc->host;
	sc->tls_conf.trust_file = a->v[AF_TLS_TRUST_FILE];
	sc->tls_conf.crl_file = account_str(a, AF_TLS_CRL_FILE);
	sc->tls_conf.cert_file = account_str(a, AF_TLS_CERT_FILE);
	sc->tls_conf.key_file = account_str(a, AF_TLS_KEY_FILE);
	sc->tls_conf.fingerprint = account_str(a, AF_TLS_FINGERPRINT);
	sc->tls_conf.priorities = account_str(a, AF_TLS_PRIORITIES);
	sc->tls_conf.certcheck = account_on(a, AF_TLS_CERTCHECK);
	sc->tls_conf.min_dh_bits = (int)account_num(a,
	    AF_TLS_MIN_DH_PRIME_BITS);
	if (sc->tls && tls_check_conf(&sc->tls_conf, err) == -1)
		return -1;

	sc->smtp.helo = r->helo;
	sc->smtp.starttls = sc->tls && sc->starttls;
	sc->smtp.tls = sc->tls && !sc->starttls;
	sc->smtp.from = r->from;
	sc->smtp.rcpt = (const char *const *)r->rcpt.v;
	sc->smtp.nrcpt = r->rcpt.n;
	sc->smtp.timeout = sc->timeout;
	sc->smtp.lmtp = account_lmtp(a);
	sc->smtp.dsn_notify = unless_off(a, AF_DSN_NOTIFY);
	sc->smtp.dsn_return = unless_off(a, AF_DSN_RETURN);
	sc->smtp.envid = r->cli.envid;
	/* -S looks, it does not log in; --rmqs does, to ask for ETRN. */
	sc->smtp.info_only = r->cli.mode == CLI_SERVERINFO;
	sc->smtp.etrn = r->cli.mode == CLI_RMQS ? r->cli.rmqs : NULL;
	sc->smtp.auth = sc->smtp.info_only ? NULL : unless_off(a, AF_AUTH);
	if (sc->smtp.auth != NULL) {
		sc->smtp.user = account_str(a, AF_USER);
		if (secret_password(a, &r->password, err) == -1)
			return -1;
		sc->smtp.password = r->password;
		sc->smtp.realm = account_str(a, AF_NTLMDOMAIN);
		if (strcasecmp(sc->smtp.auth, "external") != 0 &&
		    (sc->smtp.user == NULL || r->password == NULL))
			return error_set(err, ERR_CONFIG,
			    "auth is on but %s is not set (account %s)",
			    sc->smtp.user == NULL ?
				"user" :
				"password (or passwordeval)",
			    a->name);
	}
	return 0;
}

/*
 * -P: every setting of the account in use, secrets masked, each with the
 * value in force: what the file or the command line set, else the default.
 */
static void
pretend(const struct run *r)
{
	const struct account *a = r->acc;
	const char *v, *dflt;
	char *qdir;
	int i, is_default;

	printf("account = %s\n", a->name);
	printf("configuration files = %s\n",
	    r->conf_files ? r->conf_files : "(none)");
	for (i = 0; i < AF_N; i++) {
		v = a->v[i];
		is_default = !account_is_set(a, (enum acc_field)i);
		qdir = NULL;
		if (i == AF_PORT)
			printf("port = %d%s\n", account_port(a),
			    is_default ? " (default)" : "");
		else if (i == AF_QUEUE_DIR && v == NULL)
			printf("queue_dir = %s (default)\n",
			    (qdir = queue_default_dir()) ? qdir : "(no HOME)");
		else if (i == AF_TIMEOUT && account_num(a, AF_TIMEOUT) == 0)
			printf("timeout = off (RFC 5321's limit for each "
			       "step)%s\n",
			    is_default ? " (default)" : "");
		else if (v == NULL)
			printf("%s = (not set)\n",
			    account_field_name((enum acc_field)i));
		else
			printf("%s = %s%s\n",
			    account_field_name((enum acc_field)i),
			    *v == '\0'		 ? "(empty)" :
				i == AF_PASSWORD ? "*" :
						   v,
			    is_default &&
				    conf_default_of((enum acc_field)i, &dflt) ?
				" (default)" :
				"");
		free(qdir);
	}
}

/*
 * The log record of a send attempt (logfile, syslog).  A failure to log
 * is said on stderr with the record itself, and changes no exit code.
 */
/* What one log record is about. */
struct attempt {
	const char *from;
	const char *const *rcpt;
	size_t nrcpt;
	long long size; /* -1: unknown */
	const char *queue;
};

static void
log_attempt(const struct run *r, const struct submit_conf *sc,
    const struct attempt *at, const struct error *err)
{
	const struct account *a = r->acc;
	const char *logfile = account_str(a, AF_LOGFILE);
	int facility = (int)account_num(a, AF_SYSLOG);
	struct record rec;
	struct error e;
	char *line;

	if (logfile == NULL && facility == ACC_OFF)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.host = sc->socket_path ? NULL : sc->host;
	rec.socket = sc->socket_path;
	rec.tls = sc->tls;
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
			record_syslog(r->cli.prog, facility,
			    err->kind != ERR_NONE, line);
		free(line);
	}
}

/* The record of a message sent straight from standard input. */
static void
log_run(const struct run *r, const struct submit_conf *sc, const char *queue,
    const struct error *err)
{
	struct attempt at;

	at.from = r->from;
	at.rcpt = (const char *const *)r->rcpt.v;
	at.nrcpt = r->rcpt.n;
	at.size = (long long)msg_size_lf(r->msg);
	at.queue = queue;
	log_attempt(r, sc, &at, err);
}

/* -S: what the server says about itself, and its certificates. */
static void
serverinfo(struct run *r, struct submit_conf *sc, struct error *err)
{
	struct submit_info info;

	memset(&info, 0, sizeof(info));
	sc->info = &info;
	if (submit(sc, NULL, err) == -1) {
		log_error(err);
		submit_info_free(&info);
		return;
	}
	printf("%s server at %s", sc->smtp.lmtp ? "LMTP" : "SMTP",
	    sc->socket_path ? sc->socket_path : sc->host);
	if (sc->socket_path == NULL)
		printf(" port %d", sc->port);
	printf("\ngreeting:\n  %s\n", info.greeting);
	if (info.tls != NULL)
		printf("TLS:\n%s", info.tls);
	printf("capabilities:\n");
	fputs("  ", stdout);
	for (const char *p = info.ehlo; *p != '\0'; p++) {
		putchar(*p == '\n' ? '\n' : *p);
		if (*p == '\n')
			fputs("  ", stdout);
	}
	putchar('\n');
	if (info.size_limit > 0)
		printf("maximum message size: %llu bytes (%.1f MiB)\n",
		    info.size_limit, info.size_limit / 1048576.0);
	submit_info_free(&info);
}

/* What one message needed; the configuration stays. */
static void
run_message_free(struct run *r)
{
	addrlist_free(&r->rcpt);
	free(r->from);
	free(r->header_from);
	free(r->host);
	free(r->tls_host);
	free(r->helo);
	secret_free(r->password);
	msg_free(r->msg);
	r->from = r->header_from = r->host = r->tls_host = r->helo = NULL;
	r->password = NULL;
	r->msg = NULL;
	r->acc = NULL;
}

static void
run_free(struct run *r)
{
	run_message_free(r);
	free(r->conf_files);
	account_free_list(r->accounts);
	free(r->cli.rcpt);
	for (int i = 0; i < CLI_OVERRIDES_MAX; i++)
		free(r->ov_text[i]);
}

/* --- the queue --- */

enum queue_mode {
	QM_OFF,
	QM_ON_FAILURE,
	QM_ALWAYS
};

static enum queue_mode
queue_mode(const struct account *a)
{
	switch (account_num(a, AF_QUEUE)) {
	case ACC_ALWAYS:
		return QM_ALWAYS;
	case ACC_ON_FAILURE:
		return QM_ON_FAILURE;
	default:
		return QM_OFF;
	}
}

static char *
queue_dir_of(const struct account *a)
{
	const char *d = account_str(a, AF_QUEUE_DIR);

	return d != NULL ? strdup(d) : queue_default_dir();
}

/* How a queued message's outcome is taken. */
enum fate {
	FATE_SENT,
	FATE_RETRY,
	FATE_FAILED
};

/*
 * The server refused this message for good (5xx): it goes to failed/.
 * Anything else (a refused or missing login, a certificate, a broken
 * configuration, the network) is no fault of the message: it is tried
 * again.
 */
static enum fate
fate_of(const struct error *err)
{
	if (err->kind == ERR_NONE)
		return FATE_SENT;
	/* RFC 4954 6: 530 asks for authentication first. */
	if (err->code >= 500 && err->code < 600 && err->code != 530 &&
	    err->kind != ERR_AUTH)
		return FATE_FAILED;
	return FATE_RETRY;
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

/*
 * Store the prepared message: the content as it will be sent, and what
 * is needed to send it again from this configuration.  The entry stays
 * locked by this process.
 */
static struct queue_entry *
enqueue(struct run *r, struct error *err)
{
	struct queue_entry *e;
	struct buf b;
	char *dir = queue_dir_of(r->acc), *abs = NULL;
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
	if ((e->account = strdup(r->acc->name)) == NULL ||
	    (e->from = strdup(r->from)) == NULL)
		goto oom;
	if (r->cli.conffile != NULL &&
	    (abs = realpath(r->cli.conffile, NULL)) == NULL &&
	    (abs = strdup(r->cli.conffile)) == NULL)
		goto oom;
	e->conffile = abs;
	e->host_given = r->cli.host_given;
	for (i = 0; i < (size_t)r->cli.nov; i++)
		if (queue_add_set(e, r->cli.ov[i].name, r->cli.ov[i].value,
			err) == -1)
			goto bad;
	for (i = 0; i < r->rcpt.n; i++)
		if (queue_add_rcpt(e, r->rcpt.v[i], err) == -1)
			goto bad;
	buf_init(&b, 2 * LINEIO_FLUSH_AT + 64);
	msg_raw(r->msg);
	while (more) {
		b.len = 0;
		if ((more = msg_pump(r->msg, &b, LINEIO_FLUSH_AT, err)) == -1)
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

/* Sending one account's entries over one connection. */
struct flush {
	struct run *r;
	const struct submit_conf *sc;
	struct queue_entry **v;
	size_t n, i;
	int locked; /* the entries are locked already (a direct send) */
	long rmin, rmax, max_age;
	const char **rcpt; /* the current entry's pending recipients */
	size_t *rcpt_of;   /* their indexes in the entry */
	int content_fd;
	/* What happened, for the exit status and the caller. */
	int sent, retried, failed;
	struct error worst;
	char last_id[QUEUE_ID_LEN + 1];
	enum fate last_fate;
};

static void
flush_release(struct flush *f, struct submit_job *job)
{
	msg_free(job->msg);
	job->msg = NULL;
	if (f->content_fd != -1)
		close(f->content_fd);
	f->content_fd = -1;
	free(f->rcpt);
	free(f->rcpt_of);
	f->rcpt = NULL;
	f->rcpt_of = NULL;
}

static int
flush_next(void *ctx, struct submit_job *job)
{
	struct flush *f = ctx;
	struct queue_entry *e;
	struct error err;
	size_t k, np;

	while (f->i < f->n) {
		e = f->v[f->i++];
		error_clear(&err);
		if (!f->locked && queue_lock(e, &err) != 1) {
			if (err.kind != ERR_NONE)
				log_error(&err);
			continue;
		}
		f->rcpt = calloc(e->nrcpt + 1, sizeof(char *));
		f->rcpt_of = calloc(e->nrcpt + 1, sizeof(size_t));
		if (f->rcpt == NULL || f->rcpt_of == NULL) {
			flush_release(f, job);
			return 0;
		}
		for (k = np = 0; k < e->nrcpt; k++)
			if (e->state[k] == QUEUE_PENDING) {
				f->rcpt_of[np] = k;
				f->rcpt[np++] = e->rcpt[k];
			}
		if (np == 0) {
			/* Nobody left to try: done, or failed for some. */
			for (k = 0; k < e->nrcpt; k++)
				if (e->state[k] == QUEUE_FAILED)
					break;
			if (k < e->nrcpt)
				queue_fail(e, e->error ? e->error : "refused",
				    &err);
			else
				queue_remove(e, &err);
			flush_release(f, job);
			if (!f->locked)
				queue_unlock(e);
			continue;
		}
		if ((f->content_fd = queue_content(e, &err)) == -1 ||
		    (job->msg = msg_new(f->content_fd)) == NULL ||
		    msg_prefetch(job->msg, &err) == -1) {
			if (err.kind == ERR_NONE)
				error_set(&err, ERR_OSERR, "out of memory");
			log_error(&err);
			flush_release(f, job);
			continue;
		}
		job->smtp = f->sc->smtp;
		job->smtp.from = e->from;
		job->smtp.rcpt = f->rcpt;
		job->smtp.nrcpt = np;
		job->smtp.eightbit = e->eightbit;
		job->smtp.whole = msg_whole(job->msg);
		/* Stored with CRLF and not dot-stuffed: the exact size. */
		job->smtp.size = e->size;
		job->smtp.more = f->i < f->n;
		job->tag = e;
		log_info("sending queued message %s", e->id);
		return 1;
	}
	return 0;
}

/* Keep the worse outcome: a permanent failure over a temporary one. */
static void
note_worst(struct flush *f, const struct error *err, enum fate fate)
{
	if (fate == FATE_SENT)
		return;
	if (f->worst.kind == ERR_NONE ||
	    (fate == FATE_FAILED && f->worst.kind == ERR_TEMP))
		f->worst = *err;
}

/* Record an attempt that did not deliver: retry later, or failed/. */
static enum fate
settle(struct flush *f, struct queue_entry *e, const struct error *err,
    enum fate fate)
{
	time_t now = time(NULL);
	struct error e2;
	char *line = error_line(err), *reason = NULL;

	error_clear(&e2);
	free(e->error);
	e->error = line;
	e->attempts++;
	if (fate == FATE_RETRY && f->max_age > 0 &&
	    now - e->created >= f->max_age) {
		fate = FATE_FAILED;
		if (asprintf(&reason,
			"expired after %lld seconds in the queue; "
			"last error: %s",
			(long long)(now - e->created), line ? line : "?") < 0)
			reason = NULL;
	}
	if (fate == FATE_FAILED) {
		if (queue_fail(e,
			reason	 ? reason :
			    line ? line :
				   "refused",
			&e2) == -1)
			log_error(&e2);
		else
			log_warn("message %s failed for good and was moved to "
				 "%s/failed/: %s",
			    e->id, e->dir,
			    reason   ? reason :
				line ? line :
				       "");
	} else {
		e->next = queue_backoff(now, e->attempts, f->rmin, f->rmax);
		if (queue_save(e, &e2) == -1)
			log_error(&e2);
	}
	free(reason);
	return fate;
}

static void
flush_done(void *ctx, const struct submit_job *job, const struct error *err,
    const struct smtp *s)
{
	struct flush *f = ctx;
	struct queue_entry *e = job->tag;
	enum fate fate = fate_of(err);
	struct attempt at;
	struct error e2;
	char note[64];
	size_t k;

	if (e == NULL)
		return;
	error_clear(&e2);
	/*
	 * Whoever got it is never sent it again; whoever was refused for
	 * good (5xx) is marked so, and never tried again either.
	 */
	for (k = 0; s != NULL && k < job->smtp.nrcpt; k++)
		if (smtp_rcpt_delivered(s, k))
			e->state[f->rcpt_of[k]] = QUEUE_SENT;
		else if (smtp_rcpt_code(s, k) / 100 == 5)
			e->state[f->rcpt_of[k]] = QUEUE_FAILED;
	if (fate == FATE_SENT) {
		if (queue_remove(e, &e2) == -1)
			log_error(&e2);
		f->sent++;
	} else if (f->locked && fate == FATE_RETRY && err->kind != ERR_TEMP) {
		/*
		 * The caller is waiting and hears of a fault that waiting will
		 * not mend (a refused login, a certificate): the message stays
		 * the caller's, as without a queue.
		 */
		if (queue_remove(e, &e2) == -1)
			log_error(&e2);
		fate = FATE_RETRY;
		f->retried++;
	} else {
		fate = settle(f, e, err, fate);
		if (fate == FATE_FAILED)
			f->failed++;
		else
			f->retried++;
	}
	note_worst(f, err, fate);
	snprintf(note, sizeof(note), "%s %s",
	    fate == FATE_SENT			   ? "sent" :
		fate == FATE_FAILED		   ? "failed" :
		f->locked && err->kind != ERR_TEMP ? "not queued" :
						     "queued",
	    e->id);
	memcpy(f->last_id, e->id, sizeof(f->last_id));
	f->last_fate = fate;
	at.from = e->from;
	at.rcpt = f->rcpt;
	at.nrcpt = job->smtp.nrcpt;
	at.size = (long long)msg_size_lf(job->msg);
	at.queue = note;
	log_attempt(f->r, f->sc, &at, err);
	if (!f->locked)
		queue_unlock(e);
	flush_release(f, (struct submit_job *)job);
}

/*
 * Send entries of one account, reconnecting after a message that broke
 * the session for itself alone; when the server cannot be reached, the
 * rest wait for the next run like the first.
 */
static void
flush_entries(struct flush *f)
{
	struct submit_job none;
	struct error err;
	size_t before;

	f->content_fd = -1;
	while (f->i < f->n) {
		error_clear(&err);
		before = f->i;
		if (submit_session(f->sc, flush_next, flush_done, f, &err) == 0)
			continue;
		if (err.kind == ERR_TEMP || err.kind == ERR_NOHOST ||
		    f->i == before)
			break;
	}
	memset(&none, 0, sizeof(none));
	flush_release(f, &none);
	/* Not even tried: each counts the failed attempt all the same. */
	while (err.kind != ERR_NONE && f->i < f->n) {
		struct queue_entry *e = f->v[f->i++];
		struct error e2;

		error_clear(&e2);
		if (!f->locked && queue_lock(e, &e2) != 1)
			continue;
		settle(f, e, &err, FATE_RETRY);
		f->retried++;
		note_worst(f, &err, FATE_RETRY);
		if (!f->locked)
			queue_unlock(e);
	}
}

static void
queue_policy(struct flush *f, const struct account *a)
{
	f->rmin = account_num(a, AF_QUEUE_RETRY);
	f->rmax = account_num2(a, AF_QUEUE_RETRY);
	f->max_age = account_num(a, AF_QUEUE_MAX_AGE);
}

/*
 * After a success, or with "queue always": a detached process sends what
 * is due, so that the caller does not wait for it.
 */
static int queue_run(struct run *base, struct error *err);

static void
spawn_flush(const struct run *r)
{
	struct run fr;
	struct error err;
	pid_t pid;
	int fd;

	if (!account_on(r->acc, AF_QUEUE_BACKGROUND))
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
	memset(&fr, 0, sizeof(fr));
	fr.cli = r->cli;
	fr.cli.mode = CLI_QUEUE_RUN;
	fr.cli.queue_by = 0;
	fr.cli.rcpt = NULL;
	fr.cli.nrcpt = 0;
	log_init(r->cli.prog, 0);
	error_clear(&err);
	queue_run(&fr, &err);
	_exit(0);
}

/* -q and "queue on-failure": the message as it would go now, or kept. */
static int
send_queued(struct run *r, struct submit_conf *sc, struct error *err)
{
	struct queue_entry *e;
	struct flush f;
	char note[64];
	int ret = -1;

	if ((e = enqueue(r, err)) == NULL) {
		log_warn("the message could not be queued");
		return -1;
	}
	if (queue_mode(r->acc) == QM_ALWAYS) {
		snprintf(note, sizeof(note), "queued %s", e->id);
		memcpy(r->queued, e->id, sizeof(r->queued));
		log_info("queued as %s in %s", e->id, e->dir);
		log_run(r, sc, note, err);
		queue_entry_free(e); /* unlocked: the flush may take it */
		spawn_flush(r);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.r = r;
	f.sc = sc;
	f.v = &e;
	f.n = 1;
	f.locked = 1;
	queue_policy(&f, r->acc);
	flush_entries(&f);
	switch (f.last_fate) {
	case FATE_SENT:
		ret = 0;
		error_clear(err);
		break;
	case FATE_RETRY:
		*err = f.worst;
		if (f.worst.kind == ERR_TEMP) {
			memcpy(r->queued, e->id, sizeof(r->queued));
			/*
			 * Only a terminal hears of it: callers may take any
			 * output on stderr for a failure (with -bs, the
			 * reply says it).
			 */
			if (isatty(2) && r->cli.mode != CLI_BSMTP)
				fprintf(stderr,
				    "%s: %s; the message is queued as %s and "
				    "will be sent later\n",
				    r->cli.prog, f.worst.msg, e->id);
			error_clear(err);
			ret = 0;
		}
		break;
	case FATE_FAILED:
		*err = f.worst;
		break;
	}
	queue_entry_free(e);
	if (ret == 0)
		spawn_flush(r);
	return ret;
}

/* Every queue directory the configuration names, and the default one. */
static int
queue_dirs(struct run *r, char ***dirs, size_t *n, struct error *err)
{
	const struct account *a;
	char *d;
	size_t i;
	int dup;

	*dirs = NULL;
	*n = 0;
	if (!r->cli.host_given && load_config(r, err) == -1)
		return -1;
	for (a = r->accounts;; a = a->next) {
		d = a != NULL ? queue_dir_of(a) : queue_default_dir();
		for (i = 0, dup = 0; d != NULL && i < *n; i++)
			dup |= strcmp((*dirs)[i], d) == 0;
		if (d != NULL && !dup) {
			char **v = realloc(*dirs, (*n + 1) * sizeof(char *));
			if (v == NULL) {
				free(d);
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
	return 0;
}

static void
free_dirs(char **dirs, size_t n)
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
		return e->next <= now;
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

/* The account an entry names, as it is configured now. */
static int
group_ready(struct run *g, const struct run *base, const struct queue_entry *e,
    struct submit_conf *sc, struct error *err)
{
	size_t k;
	char *sp;

	g->cli = base->cli;
	g->cli.mode = CLI_SEND;
	g->cli.rcpt = NULL;
	g->cli.nrcpt = 0;
	g->cli.from = NULL;
	g->cli.conffile = e->conffile;
	g->cli.host_given = e->host_given;
	g->cli.account = e->host_given ? NULL : e->account;
	g->cli.nov = 0;
	for (k = 0; k < e->nset && k < CLI_OVERRIDES_MAX; k++) {
		if ((g->ov_text[k] = strdup(e->set[k])) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		if ((sp = strchr(g->ov_text[k], ' ')) == NULL)
			continue;
		*sp = '\0';
		g->cli.ov[g->cli.nov].option = g->ov_text[k];
		g->cli.ov[g->cli.nov].name = g->ov_text[k];
		g->cli.ov[g->cli.nov++].value = sp + 1;
	}
	if (!g->cli.host_given && load_config(g, err) == -1)
		return -1;
	if (choose_account(g, NULL, err) == -1 ||
	    account_check(g->acc, err) == -1)
		return -1;
	if ((g->helo = expand_from(account_str(g->acc, AF_DOMAIN), NULL,
		 err)) == NULL)
		return -1;
	return prepare(g, sc, err);
}

static int
by_group(const void *pa, const void *pb)
{
	const struct queue_entry *a = *(struct queue_entry *const *)pa,
				 *b = *(struct queue_entry *const *)pb;
	int c = group_cmp(a, b);

	return c != 0 ? c : strcmp(a->id, b->id);
}

/* -q: everything due (or selected), one connection per account. */
static int
queue_run(struct run *base, struct error *err)
{
	struct queue_entry **all = NULL, **v;
	char **dirs;
	size_t ndirs, nall = 0, n, i, j, k;
	time_t now = time(NULL);
	int sent = 0, retried = 0, failed = 0;
	struct error worst;

	error_clear(&worst);
	if (queue_dirs(base, &dirs, &ndirs, err) == -1)
		return -1;
	for (i = 0; i < ndirs; i++) {
		if (queue_list(dirs[i], 0, &v, &n, err) == -1) {
			log_error(err);
			error_clear(err);
			continue;
		}
		for (j = 0; j < n; j++) {
			struct queue_entry **grown;

			if (!selected(&base->cli, v[j], now) ||
			    (grown = realloc(all, (nall + 1) * sizeof(*all))) ==
				NULL) {
				queue_entry_free(v[j]);
				continue;
			}
			all = grown;
			all[nall++] = v[j];
		}
		free(v);
	}
	free_dirs(dirs, ndirs);
	if (nall > 1)
		qsort(all, nall, sizeof(*all), by_group);
	for (i = 0; i < nall; i = j) {
		struct run g;
		struct submit_conf sc;
		struct flush f;
		struct error gerr;

		for (j = i + 1; j < nall && group_cmp(all[i], all[j]) == 0; j++)
			;
		memset(&g, 0, sizeof(g));
		memset(&f, 0, sizeof(f));
		error_clear(&gerr);
		f.r = &g;
		f.sc = &sc;
		f.v = all + i;
		f.n = j - i;
		if (group_ready(&g, base, all[i], &sc, &gerr) == -1) {
			/*
			 * Nothing can go until the configuration is mended.
			 * The last such error is the run's, said at its end.
			 */
			if (worst.kind != ERR_NONE)
				log_error(&worst);
			if (g.acc == NULL) {
				worst = gerr;
				retried += (int)(j - i);
				run_free(&g);
				continue;
			}
			queue_policy(&f, g.acc);
			for (k = i; k < j; k++) {
				struct error e2;

				error_clear(&e2);
				if (queue_lock(all[k], &e2) != 1)
					continue;
				settle(&f, all[k], &gerr, FATE_RETRY);
				retried++;
				queue_unlock(all[k]);
			}
			worst = gerr;
			run_free(&g);
			continue;
		}
		queue_policy(&f, g.acc);
		flush_entries(&f);
		sent += f.sent;
		retried += f.retried;
		failed += f.failed;
		if (f.worst.kind != ERR_NONE &&
		    (worst.kind == ERR_NONE ||
			(fate_of(&f.worst) == FATE_FAILED &&
			    fate_of(&worst) != FATE_FAILED)))
			worst = f.worst;
		run_free(&g);
	}
	queue_list_free(all, nall);
	log_info("queue run: %d sent, %d kept for later, %d failed", sent,
	    retried, failed);
	if (worst.kind != ERR_NONE) {
		*err = worst;
		return -1;
	}
	return 0;
}

static void
print_time(time_t t)
{
	char s[32];
	struct tm tm;

	if (localtime_r(&t, &tm) != NULL &&
	    strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm) > 0)
		fputs(s, stdout);
	else
		printf("%lld", (long long)t);
}

static const char *const rcpt_state_name[] = { "pending", "sent", "failed" };

/* -bp, mailq: what waits, and why. */
static int
queue_show(struct run *r, struct error *err)
{
	struct queue_entry **v;
	char **dirs;
	size_t ndirs, n, nf, i, j, k, shown = 0;
	time_t now = time(NULL);

	if (queue_dirs(r, &dirs, &ndirs, err) == -1)
		return -1;
	for (i = 0; i < ndirs; i++) {
		if (queue_list(dirs[i], 1, &v, &nf, err) == -1)
			break;
		queue_list_free(v, nf);
		if (queue_list(dirs[i], 0, &v, &n, err) == -1)
			break;
		if (n == 0 && nf == 0) {
			/* The default directory speaks for an empty queue. */
			if (i + 1 == ndirs && shown == 0)
				printf("%s: 0 messages queued\n", dirs[i]);
			continue;
		}
		shown++;
		printf("%s: %zu message%s queued", dirs[i], n,
		    n == 1 ? "" : "s");
		if (nf > 0)
			printf(", %zu in failed/", nf);
		putchar('\n');
		for (j = 0; j < n; j++) {
			const struct queue_entry *e = v[j];

			printf("%s  %llu bytes  queued ", e->id, e->size);
			print_time(e->created);
			printf("  attempts %d  next ", e->attempts);
			if (e->next <= now)
				fputs("now", stdout);
			else
				print_time(e->next);
			printf("\n  account %s  from <%s>\n", e->account,
			    e->from);
			for (k = 0; k < e->nrcpt; k++)
				printf("  to <%s> (%s)\n", e->rcpt[k],
				    rcpt_state_name[e->state[k]]);
			if (e->error != NULL)
				printf("  last error: %s\n", e->error);
		}
		queue_list_free(v, n);
	}
	free_dirs(dirs, ndirs);
	return err->kind == ERR_NONE ? 0 : -1;
}

/* --queue-drop=ID */
static int
queue_delete(struct run *r, struct error *err)
{
	char **dirs;
	size_t ndirs, i;
	int ret = -1;

	if (queue_dirs(r, &dirs, &ndirs, err) == -1)
		return -1;
	for (i = 0; i < ndirs && ret == -1; i++) {
		error_clear(err);
		if (queue_drop(dirs[i], r->cli.queue_match, err) == 0) {
			log_info("deleted %s from %s", r->cli.queue_match,
			    dirs[i]);
			ret = 0;
		} else if (err->kind != ERR_NOINPUT)
			break;
	}
	if (ret == -1 && err->kind == ERR_NOINPUT)
		error_set(err, ERR_NOINPUT, "no queued message %s",
		    r->cli.queue_match);
	free_dirs(dirs, ndirs);
	return ret;
}

/*
 * Everything between the configuration and the connection: the message's
 * header, the account, the envelope, the header edits.
 */
static int
get_message_ready(struct run *r, struct submit_conf *sc, struct error *err)
{
	const char *sender;
	char *helo;
	int sending = r->cli.mode == CLI_SEND || r->cli.mode == CLI_BSMTP;

	if (sending) {
		if ((r->msg = msg_new(r->msg_fd)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		if (msg_prefetch(r->msg, err) == -1)
			return -1;
		r->header_from = header_sender(r->msg, err);
		error_clear(err);
	}
	sender = r->cli.read_envelope_from ? r->header_from : r->cli.from;
	if (r->cli.read_envelope_from && sender == NULL)
		return error_set(err, ERR_USAGE,
		    "--read-envelope-from: the "
		    "message has no From header field");
	if (choose_account(r, sender, err) == -1)
		return -1;
	if (r->cli.mode == CLI_PRETEND)
		return 0;
	if (account_check(r->acc, err) == -1)
		return -1;
	/* domain takes %H, %C and %M like from; EHLO takes it in A-labels. */
	if ((helo = expand_from(account_str(r->acc, AF_DOMAIN), r->header_from,
		 err)) == NULL)
		return -1;
	r->helo = idn_host_ascii(helo, err);
	free(helo);
	if (r->helo == NULL)
		return -1;
	if (sending &&
	    (envelope_from(r, sender, err) == -1 ||
		envelope_rcpt(r, err) == -1 || edit_header(r, err) == -1))
		return -1;
	return prepare(r, sc, err);
}

/* The configuration, then get_message_ready. */
static int
get_ready(struct run *r, struct submit_conf *sc, struct error *err)
{
	if (!r->cli.host_given && load_config(r, err) == -1)
		return -1;
	return get_message_ready(r, sc, err);
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
	struct run *r = ctx;
	struct submit_conf sc;
	char **args = r->cli.rcpt;
	int nargs = r->cli.nrcpt, ret;

	run_message_free(r);
	r->msg_fd = fd;
	r->cli.from = *env->from != '\0' ? env->from : "<>";
	r->cli.rcpt = (char **)env->rcpt;
	r->cli.nrcpt = (int)env->nrcpt;
	ret = get_message_ready(r, &sc, err);
	r->cli.rcpt = args;
	r->cli.nrcpt = nargs;
	if (ret == -1)
		return -1;
	/* Submitted, or queued, as without -bs. */
	if (queue_mode(r->acc) != QM_OFF) {
		r->queued[0] = '\0';
		if ((ret = send_queued(r, &sc, err)) == 0 &&
		    r->queued[0] != '\0')
			snprintf(err->msg, sizeof(err->msg), "queued as %s",
			    r->queued);
		return ret;
	}
	sc.smtp.eightbit = msg_eightbit(r->msg);
	sc.smtp.whole = msg_whole(r->msg);
	sc.smtp.size = msg_content_size(r->msg);
	ret = submit(&sc, r->msg, err);
	log_run(r, &sc, NULL, err);
	return ret;
}

/* -bs: the configuration once, then the dialogue; see bsmtp.h. */
static void
serve_bs(struct run *r, struct error *err)
{
	char name[256];

	if (!r->cli.host_given && load_config(r, err) == -1) {
		log_error(err);
		return;
	}
	if (gethostname(name, sizeof(name)) == -1)
		strcpy(name, "localhost");
	name[sizeof(name) - 1] = '\0';
	/* The recipients come with RCPT, never from the header. */
	r->cli.read_recipients = 0;
	if (bsmtp_serve(0, stdout, name, bs_deliver, r, err) == -1)
		log_error(err);
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
	/*
	 * A server that goes away mid-write is an error to report, not a
	 * signal to die of without a word or an exit code.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit is an error to report, like a full disk. */
	signal(SIGXFSZ, SIG_IGN);
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
	if (r.cli.mode == CLI_NEWALIASES) {
		/* Installed as newaliases: package scripts run it. */
		puts("outbox has no alias database: aliases are read from the "
		     "file named by the aliases setting");
		goto done;
	}
	if (r.cli.mode == CLI_CONFIGURE) {
		if (configure_print(r.cli.configure, stdout, &err) == -1)
			log_error(&err);
		goto done;
	}
	if (r.cli.mode == CLI_BSMTP) {
		serve_bs(&r, &err);
		goto done;
	}
	if (r.cli.mode == CLI_QUEUE_RUN || r.cli.mode == CLI_QUEUE_LIST ||
	    r.cli.mode == CLI_QUEUE_DROP) {
		if ((r.cli.mode == CLI_QUEUE_RUN ?
			    queue_run(&r, &err) :
			    r.cli.mode == CLI_QUEUE_LIST ?
			    queue_show(&r, &err) :
			    queue_delete(&r, &err)) == -1)
			log_error(&err);
		goto done;
	}
	if (get_ready(&r, &sc, &err) == -1) {
		log_error(&err);
		goto done;
	}
	if (r.cli.mode == CLI_PRETEND) {
		pretend(&r);
		goto done;
	}
	if (r.cli.mode == CLI_SERVERINFO) {
		serverinfo(&r, &sc, &err);
		goto done;
	}
	if (r.cli.mode == CLI_RMQS) {
		if (submit(&sc, NULL, &err) == -1)
			log_error(&err);
		goto done;
	}
	if (queue_mode(r.acc) != QM_OFF) {
		if (send_queued(&r, &sc, &err) == -1) {
			log_error(&err);
			log_warn("could not send mail (account %s from %s)",
			    r.acc->name,
			    r.conf_files ? r.conf_files : "the command line");
		}
		goto done;
	}
	sc.smtp.eightbit = msg_eightbit(r.msg);
	sc.smtp.whole = msg_whole(r.msg);
	sc.smtp.size = msg_content_size(r.msg);
	if (submit(&sc, r.msg, &err) == -1) {
		log_error(&err);
		log_warn("could not send mail (account %s from %s)",
		    r.acc->name,
		    r.conf_files ? r.conf_files : "the command line");
	}
	log_run(&r, &sc, NULL, &err);
done:
	code = error_exit_code(err.kind);
	run_free(&r);
	return code;
}
