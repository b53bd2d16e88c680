/*
 * outbox: a sendmail-compatible mail submission client.
 * main.c: command line -> configuration -> account -> message -> submit,
 * and the one place that turns the outcome into a message and exit code.
 */
#include <errno.h>
#include <fnmatch.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#include "log.h"
#include "msg.h"
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
		if ((r->acc = account_new("(command line)", "", 0)) == NULL)
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
	int override = account_on(a, AF_ALLOW_FROM_OVERRIDE, 1);

	if (given != NULL && (override || conf == NULL)) {
		if (strcmp(given, "<>") == 0 || *given == '\0')
			return (r->from = strdup("")) ?
			    0 :
			    error_set(err, ERR_OSERR, "out of memory");
		r->from = addr_parse_one(given, "the envelope-from address",
		    r->cli.from ? ERR_USAGE : ERR_DATA, err);
		return r->from ? 0 : -1;
	}
	if (account_on(a, AF_AUTO_FROM, 0)) {
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
	if (r->cli.read_recipients && header_recipients(r->msg, &l, err) == -1)
		goto out;
	if (l.n == 0) {
		error_set(err, ERR_USAGE,
		    "no recipients found (looked at the "
		    "command line%s)",
		    r->cli.read_recipients ?
			" and the To, Cc and Bcc header fields" :
			"; use -t to "
			"read them from the header");
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
	const char *v = account_str(a, f);

	if (v == NULL || strcmp(v, "auto") == 0)
		return HEADER_AUTO;
	return strcmp(v, "on") == 0 ? HEADER_ON : HEADER_OFF;
}

static int
edit_header(struct run *r, struct error *err)
{
	const struct account *a = r->acc;
	struct header_policy p;
	const char *to = account_str(a, AF_SET_TO_HEADER), *dom, *at;

	memset(&p, 0, sizeof(p));
	p.remove_bcc = account_on(a, AF_REMOVE_BCC_HEADERS, 1);
	p.from = header_setting(a, AF_SET_FROM_HEADER);
	p.date = header_setting(a, AF_SET_DATE_HEADER);
	p.msgid = header_setting(a, AF_SET_MSGID_HEADER);
	p.to = to == NULL || strcmp(to, "off") == 0 ? HEADER_TO_OFF :
	    strcmp(to, "on") == 0		    ? HEADER_TO_ON :
						      HEADER_TO_UNDISCLOSED;
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

static const char *
off_is_null(const char *v)
{
	return v == NULL || strcmp(v, "off") == 0 ? NULL : v;
}

static const char *
auth_setting(const struct account *a)
{
	return off_is_null(account_str(a, AF_AUTH));
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
	sc->proxy_port = (int)account_num(a, AF_PROXY_PORT, 1080);
	sc->timeout = (int)account_num(a, AF_TIMEOUT, 0);
	sc->tls = account_on(a, AF_TLS, 0);
	sc->starttls = account_on(a, AF_TLS_STARTTLS, 1);
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
	sc->tls_conf.certcheck = account_on(a, AF_TLS_CERTCHECK, 1);
	sc->tls_conf.min_dh_bits = (int)account_num(a, AF_TLS_MIN_DH_PRIME_BITS,
	    0);
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
	sc->smtp.dsn_notify = off_is_null(account_str(a, AF_DSN_NOTIFY));
	sc->smtp.dsn_return = off_is_null(account_str(a, AF_DSN_RETURN));
	sc->smtp.envid = r->cli.envid;
	/* -S looks, it does not log in; --rmqs does, to ask for ETRN. */
	sc->smtp.info_only = r->cli.mode == CLI_SERVERINFO;
	sc->smtp.etrn = r->cli.mode == CLI_RMQS ? r->cli.rmqs : NULL;
	sc->smtp.auth = sc->smtp.info_only ? NULL : auth_setting(a);
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

/* -P: every setting of the account in use, secrets masked. */
static void
pretend(const struct run *r)
{
	const struct account *a = r->acc;
	const char *v;
	int i;

	printf("account = %s\n", a->name);
	printf("configuration files = %s\n",
	    r->conf_files ? r->conf_files : "(none)");
	for (i = 0; i < AF_N; i++) {
		v = a->v[i];
		if (i == AF_PORT) {
			printf("port = %d\n", account_port(a));
			continue;
		}
		if (v != NULL && *v != '\0' && i == AF_PASSWORD)
			v = "*";
		printf("%s = %s\n", account_field_name((enum acc_field)i),
		    v == NULL	   ? "(not set)" :
			*v == '\0' ? "(empty)" :
				     v);
	}
}

/*
 * The log record of a send attempt (logfile, syslog).  A failure to log
 * is said on stderr with the record itself, and changes no exit code.
 */
static void
log_attempt(const struct run *r, const struct submit_conf *sc,
    const struct error *err)
{
	const struct account *a = r->acc;
	const char *logfile = account_str(a, AF_LOGFILE);
	const char *sys = account_str(a, AF_SYSLOG);
	struct record rec;
	struct error e;
	char *line;
	int facility;

	if (logfile == NULL && (sys == NULL || strcmp(sys, "off") == 0))
		return;
	memset(&rec, 0, sizeof(rec));
	rec.host = sc->socket_path ? NULL : sc->host;
	rec.socket = sc->socket_path;
	rec.tls = sc->tls;
	rec.auth = sc->smtp.auth != NULL;
	rec.user = sc->smtp.user;
	rec.from = r->from;
	rec.rcpt = (const char *const *)r->rcpt.v;
	rec.nrcpt = r->rcpt.n;
	rec.mailsize = err->kind == ERR_NONE ? (long long)msg_size_lf(r->msg) :
					       -1;
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
	if (sys != NULL && strcmp(sys, "off") != 0) {
		if (record_facility(sys, &facility, &e) == -1) {
			log_warn("%s", e.msg);
			return;
		}
		if ((line = record_format(&rec, "none", time(NULL), &e)) !=
		    NULL)
			record_syslog(r->cli.prog, facility,
			    err->kind != ERR_NONE, line);
		free(line);
	}
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
	if ((helo = expand_from(account_str(r->acc, AF_DOMAIN) ?
		     account_str(r->acc, AF_DOMAIN) :
		     "localhost",
		 r->header_from, err)) == NULL)
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
	sc.smtp.eightbit = msg_eightbit(r->msg);
	sc.smtp.whole = msg_whole(r->msg);
	sc.smtp.size = msg_content_size(r->msg);
	ret = submit(&sc, r->msg, err);
	log_attempt(r, &sc, err);
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
	if (r.cli.mode == CLI_CONFIGURE) {
		if (configure_print(r.cli.configure, stdout, &err) == -1)
			log_error(&err);
		goto done;
	}
	if (r.cli.mode == CLI_BSMTP) {
		serve_bs(&r, &err);
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
	sc.smtp.eightbit = msg_eightbit(r.msg);
	sc.smtp.whole = msg_whole(r.msg);
	sc.smtp.size = msg_content_size(r.msg);
	if (submit(&sc, r.msg, &err) == -1) {
		log_error(&err);
		log_warn("could not send mail (account %s from %s)",
		    r.acc->name,
		    r.conf_files ? r.conf_files : "the command line");
	}
	log_attempt(&r, &sc, &err);
done:
	code = error_exit_code(err.kind);
	run_free(&r);
	return code;
}
