/*
 * prepare.c: one request -> the configuration files found and merged ->
 * the account chosen -> envelope, header policy, password -> a ready
 * struct submit_conf.  See prepare.h.
 */
#include "prepare.h"

#include <fnmatch.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"
#include "clean.h"
#include "conf.h"
#include "harden.h"
#include "header.h"
#include "idn.h"
#include "oauth.h"
#include "secret.h"
#include "tls.h"
#include "userdir.h"

void
prepare_request_from_cli(struct request *q, const struct cli *c)
{
	memset(q, 0, sizeof(*q));
	q->conffile = c->conffile;
	q->account = c->account;
	q->host_given = c->host_given;
	q->ov = c->ov;
	q->nov = c->nov;
	q->from = c->from;
	q->read_envelope_from = c->read_envelope_from;
	q->rcpt = c->rcpt;
	q->nrcpt = (size_t)c->nrcpt;
	q->read_recipients = c->read_recipients;
	q->envid = c->envid;
	q->msg_fd = c->mode == CLI_SEND ? 0 : -1;
	q->account_only = c->mode == CLI_PRETEND || c->mode == CLI_AUTHORIZE;
	q->info_only = c->mode == CLI_SERVERINFO;
	q->etrn = c->mode == CLI_RMQS ? c->rmqs : NULL;
	q->check_only = c->mode == CLI_CHECK;
}

static void
note_file(struct prepared *p, const char *path)
{
	size_t have = p->conf_files ? strlen(p->conf_files) : 0;
	char *s = realloc(p->conf_files, have + strlen(path) + 3);

	if (s == NULL)
		return;
	if (have == 0)
		strcpy(s, path);
	else {
		strcpy(s + have, ", ");
		strcpy(s + have + 2, path);
	}
	p->conf_files = s;
}

/*
 * The user's file: outbox's own name first, then the older names.  The
 * home directory and XDG_CONFIG_HOME count only when absolute (userdir.h);
 * with no home at all the name is "", which names no file.
 */
static char *
conf_path(int which)
{
	char *home = userdir_home(),
	     *cfg = userdir_xdg("XDG_CONFIG_HOME", ".config"), *p = NULL;
	int n = -1;

	if (home == NULL || cfg == NULL) {
		free(home);
		free(cfg);
		return strdup("");
	}
	switch (which) {
	case 0:
		n = asprintf(&p, "%s/outbox/config", cfg);
		break;
	case 1:
		n = asprintf(&p, "%s/.msmtprc", home);
		break;
	case 2:
		n = asprintf(&p, "%s/msmtp/config", cfg);
		break;
	}
	free(home);
	free(cfg);
	return n < 0 ? NULL : p;
}

char *
prepare_user_conf_path(void)
{
	return conf_path(0);
}

int
prepare_has_user_file(void)
{
	char *path;
	int i, found = 0;

	for (i = 0; i < 3 && !found; i++) {
		if ((path = conf_path(i)) == NULL)
			return 1;
		found = access(path, F_OK) == 0;
		free(path);
	}
	return found;
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
load_config(struct prepared *p, const struct request *req, struct error *err)
{
	struct account *sys = NULL;
	char *path;
	int i;

	if (req->conffile != NULL) {
		if (conf_load(req->conffile, 1, &p->accounts, err) == -1) {
			if (err->kind == ERR_NOINPUT)
				err->kind = ERR_IO;
			return -1;
		}
		note_file(p, req->conffile);
	} else {
		for (i = 0; i < 3; i++) {
			if ((path = conf_path(i)) == NULL)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			if (*path == '\0') {
				free(path); /* no home directory */
				continue;
			}
			if (conf_load(path, 1, &p->accounts, err) == 0) {
				note_file(p, path);
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
		path = i == 0 ? PREPARE_SYSTEM_CONF : PREPARE_SYSTEM_CONF_MSMTP;
		if (conf_load(path, 0, &sys, err) == 0) {
			note_file(p, path);
			break;
		}
		if (err->kind == ERR_IO) {
			snprintf(p->skipped, sizeof(p->skipped), " (%s)",
			    err->msg);
			break;
		}
		if (err->kind != ERR_NOINPUT)
			return -1;
	}
	error_clear(err);
	merge(&p->accounts, sys);
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
char *
prepare_expand(const char *from, const char *header_from, struct error *err)
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
		/*
		 * A host name from the system is checked like the setting it
		 * fills: CR or LF in $HOSTNAME would end EHLO or split the
		 * Message-ID.
		 */
		if (v != NULL && strchr("HCM", *p) != NULL &&
		    addr_check_domain(v,
			*p == 'H' ? "the host name for %H ($HOSTNAME or "
				    "gethostname)" :
			    *p == 'C' ?
				    "the canonical host name for %C" :
				    "the mail name for %M (" OUTBOX_SYSCONFDIR
				    "/mailname)",
			err) == -1) {
			if (ai != NULL)
				freeaddrinfo(ai);
			goto out;
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
apply_overrides(struct prepared *p, const struct request *req,
    struct error *err)
{
	char where[128];
	int i;

	for (i = 0; i < req->nov; i++) {
		snprintf(where, sizeof(where), "option %s%s",
		    req->ov[i].option[0] == '-' ? "" : "--", req->ov[i].option);
		if (conf_set_option(p->acc, req->ov[i].name, req->ov[i].value,
			where, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * After "account NAME not found": the nearest name when it looks like a
 * typo, else the accounts there are, and how to choose one.
 */
static void
account_hint(const struct account *list, const char *name, int named,
    struct error *err)
{
	const char *near = conf_suggest_account(list, name);
	const struct account *a;
	size_t len, n = 0;
	int w;

	if (near != NULL) {
		snprintf(err->hint, sizeof(err->hint), "did you mean %s%s?",
		    named ? "-a " : "account ", near);
		return;
	}
	len = (size_t)snprintf(err->hint, sizeof(err->hint), "the accounts: ");
	for (a = list; a != NULL && len < sizeof(err->hint); a = a->next) {
		w = snprintf(err->hint + len, sizeof(err->hint) - len, "%s%s",
		    n++ > 0 ? ", " : "", a->name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	if (n == 0) {
		snprintf(err->hint, sizeof(err->hint),
		    "the file defines no account: commands before any account "
		    "line make the account default");
		return;
	}
	if (len < sizeof(err->hint))
		snprintf(err->hint + len, sizeof(err->hint) - len,
		    named ? "" :
			    "; choose one with -a, or make one the default "
			    "with \"account default : NAME\"");
}

/*
 * The account: -a's, the command line's (--host), the first whose from
 * matches the envelope sender, or "default".
 */
static int
choose_account(struct prepared *p, const struct request *req,
    const char *sender, struct error *err)
{
	const char *name = req->account ? req->account : "default";
	struct account *a;
	char *f;

	if (req->host_given) {
		/* -bs: made for the first message, kept for the next. */
		if ((p->acc = account_find(p->accounts, "(command line)")) !=
		    NULL)
			return 0;
		if ((p->acc = conf_account_new("(command line)", "", 0,
			 NULL)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		p->acc->next = p->accounts;
		p->accounts = p->acc;
		return apply_overrides(p, req, err);
	}
	if (req->account == NULL && sender != NULL)
		for (a = p->accounts; a != NULL && p->acc == NULL;
		     a = a->next) {
			if (account_str(a, AF_FROM) == NULL)
				continue;
			f = prepare_expand(account_str(a, AF_FROM),
			    p->header_from, err);
			error_clear(err);
			if (f != NULL && from_matches(f, sender))
				p->acc = a;
			free(f);
		}
	if (p->acc == NULL &&
	    (p->acc = account_find(p->accounts, name)) == NULL &&
	    req->account == NULL) {
		/*
		 * Neither chosen nor named default: SMTPSERVER and EMAIL may
		 * describe one, as for scripts and containers without a file.
		 */
		if (conf_from_environment(getenv("SMTPSERVER"), getenv("EMAIL"),
			sender != NULL, &a, err) == -1)
			return -1;
		if ((p->acc = a) != NULL) {
			a->next = p->accounts;
			p->accounts = a;
		}
	}
	if (p->acc == NULL && req->account == NULL && getenv("SMTPSERVER") &&
	    *getenv("SMTPSERVER") != '\0')
		return error_set(err, ERR_CONFIG,
		    "SMTPSERVER is set but there is no sender: set EMAIL or "
		    "give -f");
	if (p->acc == NULL) {
		if (p->conf_files == NULL)
			return error_set(err, ERR_CONFIG,
			    "no configuration file found: use -C FILE, or "
			    "create ~/.config/outbox/config%s",
			    p->skipped);
		error_set(err, ERR_CONFIG, "account %s not found in %s%s", name,
		    p->conf_files, p->skipped);
		account_hint(p->accounts, name, req->account != NULL, err);
		return -1;
	}
	return apply_overrides(p, req, err);
}

/* The envelope sender (RFC 5321 4.1.1.2), "" for the null sender. */
static int
envelope_from(struct prepared *p, const struct request *req, const char *given,
    struct error *err)
{
	const struct account *a = p->acc;
	const char *conf = account_str(a, AF_FROM), *dom;
	char *f = NULL;
	int override = account_on(a, AF_ALLOW_FROM_OVERRIDE);

	if (given != NULL && (override || conf == NULL)) {
		if (strcmp(given, "<>") == 0 || *given == '\0')
			return (p->from = strdup("")) ?
			    0 :
			    error_set(err, ERR_OSERR, "out of memory");
		p->from = addr_parse_one(given, "the envelope-from address",
		    req->from ? ERR_USAGE : ERR_DATA, err);
		if (p->from == NULL)
			return -1;
		/* A bare name (-f root, as cron gives it) gets maildomain. */
		dom = account_str(a, AF_MAILDOMAIN);
		if (strchr(p->from, '@') == NULL && dom != NULL) {
			if (asprintf(&f, "%s@%s", p->from, dom) == -1)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			free(p->from);
			p->from = f;
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
		if ((f = prepare_expand(conf, p->header_from, err)) == NULL)
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
	p->from = addr_parse_one(f, "the envelope-from address", ERR_CONFIG,
	    err);
	free(f);
	return p->from ? 0 : -1;
}

/*
 * The recipients: the arguments (each read as a To: field would be),
 * with -t those in the header, then the aliases.
 */
static int
envelope_rcpt(struct prepared *p, const struct request *req, struct error *err)
{
	struct addrlist l;
	const char *aliases = account_str(p->acc, AF_ALIASES), *dom;
	char **ex = NULL, *q;
	size_t nex = 0, i;
	int lmtp, ret = -1;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < req->nrcpt; i++) {
		/* The message quotes the argument, shown safely and cut short. */
		char what[160], *shown;

		shown = clean_text(req->rcpt[i], strlen(req->rcpt[i]), 0);
		snprintf(what, sizeof(what),
		    "the recipient argument \"%.100s%s\"", shown ? shown : "?",
		    shown && strlen(shown) > 100 ? "..." : "");
		free(shown);
		if (addr_list_parse(req->rcpt[i], strlen(req->rcpt[i]), &l,
			what, ERR_USAGE, err) == -1)
			goto out;
	}
	/*
	 * With no recipient argument the header names them, as -t would:
	 * programs that call sendmail without arguments expect that.
	 */
	if ((req->read_recipients || req->nrcpt == 0) &&
	    header_recipients(p->msg, &l, err) == -1)
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
	lmtp = account_lmtp(p->acc);
	dom = account_str(p->acc, AF_MAILDOMAIN);
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
	p->rcpt = l;
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
edit_header(struct prepared *p, struct error *err)
{
	const struct account *a = p->acc;
	struct header_policy hp;
	long to = account_num(a, AF_SET_TO_HEADER);
	const char *dom, *at;

	memset(&hp, 0, sizeof(hp));
	hp.remove_bcc = account_on(a, AF_REMOVE_BCC_HEADERS);
	hp.from = header_setting(a, AF_SET_FROM_HEADER);
	hp.date = header_setting(a, AF_SET_DATE_HEADER);
	hp.msgid = header_setting(a, AF_SET_MSGID_HEADER);
	hp.to = to == ACC_ON	  ? HEADER_TO_ON :
	    to == ACC_UNDISCLOSED ? HEADER_TO_UNDISCLOSED :
				    HEADER_TO_OFF;
	hp.from_addr = p->from;
	hp.full_name = account_str(a, AF_FROM_FULL_NAME);
	hp.rcpt = (const char *const *)p->rcpt.v;
	hp.nrcpt = p->rcpt.n;
	hp.now = time(NULL);
	/* The Message-ID's right side: domain, the sender's, the server. */
	dom = p->helo;
	if (dom == NULL || strcmp(dom, "localhost") == 0)
		dom = (at = strrchr(p->from, '@')) != NULL ? at + 1 :
		    account_str(a, AF_HOST) ? account_str(a, AF_HOST) :
					      "localhost";
	hp.msgid_domain = dom;
	return header_apply(p->msg, &hp, err);
}

/* A setting whose text is sent (a mechanism, a DSN keyword), or NULL. */
static const char *
unless_off(const struct account *a, enum acc_field f)
{
	return account_num(a, f) == ACC_OFF ? NULL : account_str(a, f);
}

/* The account's OAuth token: the cached one, or (force) a fresh one. */
static int
fresh_token(void *arg, int force, const char **token, const char **mechs,
    struct error *err)
{
	struct prepared *p = arg;
	char *t, *m = NULL;

	if (oauth_token(p->acc, force, &t, &m, err) == -1)
		return -1;
	secret_free(p->password);
	p->password = t;
	*token = t;
	if (m != NULL) {
		free(p->oauth_mechs);
		p->oauth_mechs = m;
	}
	*mechs = p->oauth_mechs;
	return 0;
}

static void
free_hosts(struct prepared *p)
{
	size_t i;

	for (i = 0; i < p->nhosts; i++)
		free(p->hosts[i]);
	free(p->hosts);
	p->hosts = NULL;
	p->nhosts = 0;
	p->host = NULL;
}

/*
 * The host setting: one server, as msmtp has it, or several separated by
 * commas or blanks, tried in order ("if this one is unavailable").  Each
 * in A-labels; p->host is the first.
 */
static int
host_list(struct prepared *p, const char *value, struct error *err)
{
	const char *s = value, *e;
	char **grown, *name, *ascii;

	while (*s != '\0') {
		s += strspn(s, ", \t");
		if (*s == '\0')
			break;
		e = s + strcspn(s, ", \t");
		if ((name = strndup(s, (size_t)(e - s))) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		ascii = idn_host_ascii(name, err);
		free(name);
		if (ascii == NULL)
			return -1;
		grown = realloc(p->hosts, (p->nhosts + 1) * sizeof(*p->hosts));
		if (grown == NULL) {
			free(ascii);
			return error_set(err, ERR_OSERR, "out of memory");
		}
		p->hosts = grown;
		p->hosts[p->nhosts++] = ascii;
		s = e;
	}
	if (p->nhosts == 0)
		return error_set(err, ERR_CONFIG,
		    "host names no server: \"%s\"", value);
	p->host = p->hosts[0];
	return 0;
}

static int
submit_conf(struct prepared *p, const struct request *req, struct error *err)
{
	struct submit_conf *sc = &p->sc;
	const struct account *a = p->acc;
	const char *tlshost;

	memset(sc, 0, sizeof(*sc));
	/* With a socket, host only names the server for TLS. */
	if (host_list(p,
		account_str(a, AF_HOST) ? account_str(a, AF_HOST) : "localhost",
		err) == -1)
		return -1;
	sc->host = p->host;
	sc->hosts = (const char *const *)p->hosts;
	sc->nhosts = p->nhosts;
	sc->host_used = &p->host_used;
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
	    (p->tls_host = idn_host_ascii(tlshost, err)) == NULL)
		return -1;
	sc->tls_conf.host = p->tls_host ? p->tls_host : sc->host;
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
	/* A token's PIN is the account's password (RFC 7512 URIs). */
	if (sc->tls && tls_uses_token(&sc->tls_conf)) {
		if (secret_password(a, &p->password, err) == -1)
			return -1;
		sc->tls_conf.pin = p->password;
	}
	sc->proxy_user = account_str(a, AF_PROXY_USER);
	if (sc->proxy_host != NULL && sc->proxy_user != NULL) {
		if (secret_proxy_password(a, &p->proxy_password, err) == -1)
			return -1;
		if (p->proxy_password == NULL)
			return error_set(err, ERR_CONFIG,
			    "proxy_user is set but proxy_password (or "
			    "proxy_passwordeval) is not (account %s)",
			    a->name);
		sc->proxy_password = p->proxy_password;
	}

	sc->smtp.helo = p->helo;
	sc->smtp.starttls = sc->tls && sc->starttls;
	sc->plain_used = &p->plain_used;
	sc->smtp.starttls_auto = sc->smtp.starttls &&
	    account_num(a, AF_TLS_STARTTLS) == ACC_AUTO;
	sc->smtp.tls = sc->tls && !sc->starttls;
	sc->smtp.from = p->from;
	sc->smtp.rcpt = (const char *const *)p->rcpt.v;
	sc->smtp.nrcpt = p->rcpt.n;
	sc->smtp.timeout = sc->timeout;
	sc->smtp.lmtp = account_lmtp(a);
	sc->smtp.dsn_notify = unless_off(a, AF_DSN_NOTIFY);
	sc->smtp.dsn_return = unless_off(a, AF_DSN_RETURN);
	sc->smtp.envid = req->envid;
	/* RFC 8689: asked for by the account, or by a -bs caller's MAIL. */
	sc->smtp.requiretls = account_on(a, AF_REQUIRETLS) || req->requiretls;
	if (sc->smtp.requiretls && (!sc->tls || !sc->tls_conf.certcheck))
		return error_set(err, ERR_CONFIG,
		    "requiretls needs tls on and tls_certcheck on (account "
		    "%s): the message was not sent",
		    a->name);
	/* -S looks, it does not log in; --rmqs does, to ask for ETRN. */
	sc->smtp.info_only = req->info_only;
	sc->smtp.etrn = req->etrn;
	sc->smtp.check_only = req->check_only;
	sc->smtp.auth = sc->smtp.info_only ? NULL : unless_off(a, AF_AUTH);
	if (sc->smtp.auth != NULL) {
		sc->smtp.user = account_str(a, AF_USER);
		/*
		 * The token is fetched when the connection is about to be
		 * made, so that a dead refresh token fails the submission
		 * (queued or held like a refused login), not the preparation.
		 */
		if (p->password == NULL && oauth_applies(a, sc->smtp.auth)) {
			sc->smtp.token_retry = 1;
			sc->fresh_token = fresh_token;
			sc->token_arg = p;
		} else if (p->password == NULL &&
		    secret_password(a, &p->password, err) == -1)
			return -1;
		sc->smtp.password = p->password;
		sc->smtp.realm = account_str(a, AF_NTLMDOMAIN);
		if (strcasecmp(sc->smtp.auth, "external") != 0 &&
		    (sc->smtp.user == NULL ||
			(p->password == NULL && !sc->smtp.token_retry)))
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
 * Everything between the configuration and the connection: the message's
 * header, the account, the envelope, the header edits, the submission.
 */
int
prepare(struct prepared *p, const struct request *req, struct error *err)
{
	const char *sender;
	char *helo;

	if (prepare_config(p, req, err) == -1)
		return -1;
	if (req->msg_fd >= 0) {
		if ((p->msg = msg_new(req->msg_fd)) == NULL)
			return error_set(err, ERR_OSERR, "out of memory");
		if (msg_prefetch(p->msg, err) == -1)
			return -1;
		p->header_from = header_sender(p->msg, err);
		error_clear(err);
	}
	sender = req->read_envelope_from ? p->header_from : req->from;
	if (req->read_envelope_from && sender == NULL)
		return error_set(err, ERR_USAGE,
		    "--read-envelope-from: the "
		    "message has no From header field");
	if (choose_account(p, req, sender, err) == -1)
		return -1;
	if (req->account_only)
		return 0;
	if (account_check(p->acc, err) == -1)
		return -1;
	/* domain takes %H, %C and %M like from; EHLO takes it in A-labels. */
	if ((helo = prepare_expand(account_str(p->acc, AF_DOMAIN),
		 p->header_from, err)) == NULL)
		return -1;
	p->helo = idn_host_ascii(helo, err);
	free(helo);
	if (p->helo == NULL)
		return -1;
	/*
	 * What the system filled in was checked as a host name on the way
	 * (%H, %C, %M), and the setting's own text holds no control
	 * character (conf.c); the rest goes as written, as msmtp sends it.
	 * Only a space, which would split EHLO's argument, is refused.
	 */
	if (strchr(p->helo, ' ') != NULL)
		return error_set(err, ERR_CONFIG,
		    "domain (the EHLO name) \"%s\" contains a space", p->helo);
	if (p->msg != NULL &&
	    (envelope_from(p, req, sender, err) == -1 ||
		envelope_rcpt(p, req, err) == -1 || edit_header(p, err) == -1))
		return -1;
	return submit_conf(p, req, err);
}

int
prepare_config(struct prepared *p, const struct request *req, struct error *err)
{
	if (p->configured)
		return 0;
	if (!req->host_given && load_config(p, req, err) == -1)
		return -1;
	p->configured = 1;
	return 0;
}

void
prepare_message_free(struct prepared *p)
{
	addrlist_free(&p->rcpt);
	free(p->from);
	free(p->header_from);
	free_hosts(p);
	free(p->tls_host);
	free(p->helo);
	secret_free(p->password);
	free(p->oauth_mechs);
	secret_free(p->proxy_password);
	msg_free(p->msg);
	memset(&p->sc, 0, sizeof(p->sc));
	p->from = p->header_from = p->host = p->tls_host = p->helo = NULL;
	p->password = p->proxy_password = p->oauth_mechs = NULL;
	p->msg = NULL;
	p->acc = NULL;
}

void
prepare_free(struct prepared *p)
{
	prepare_message_free(p);
	free(p->conf_files);
	account_free_list(p->accounts);
	memset(p, 0, sizeof(*p));
}
