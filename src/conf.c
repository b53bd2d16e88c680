/* conf.c: the configuration language, driven by one keyword table. */
#include "conf.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "record.h"
#include "sasl.h"
#include "secret.h"
#include "userdir.h"

enum kw_type {
	T_STR,	      /* any text; empty unsets */
	T_FILE,	      /* a file name; a leading ~ is the home directory */
	T_BOOL,	      /* on | off; empty means on */
	T_PORT,	      /* 1 to 65535 */
	T_NUM,	      /* a whole number, 0 or more */
	T_TIMEOUT,    /* off | seconds */
	T_AUTH,	      /* on | off | a mechanism; empty means on */
	T_ENUM,	      /* one of `values' */
	T_MAP,	      /* on | off, stored as `on' / `off' values instead */
	T_DSN_NOTIFY, /* off | never | a list of failure, delay, success */
	T_SYSLOG,     /* on | off | LOG_USER | LOG_MAIL | LOG_LOCAL0..7 */
	T_DURATION,   /* seconds, or with a unit: 30s, 5m, 4h, 5d */
	T_RETRY,      /* two durations: the first retry, the longest wait */
	T_SET_OFF,    /* an old spelling that takes no value: sets off */
	T_IGNORED,    /* accepted for old files, does nothing */
	T_HTTPS,      /* an https:// URL; empty unsets */
};

/*
 * Sorted by name; a unit test checks the order.  Old spellings map onto
 * the settings that replaced them.
 */
static const struct keyword {
	const char *name;
	enum kw_type type;
	enum acc_field field;
	const char *values; /* T_ENUM: "a|b|c"; T_MAP: "ON|OFF" */
} keywords[] = {
	{ "add_missing_date_header", T_MAP, AF_SET_DATE_HEADER, "auto|off" },
	{ "add_missing_from_header", T_MAP, AF_SET_FROM_HEADER, "auto|off" },
	{ "aliases", T_FILE, AF_ALIASES, NULL },
	{ "allow_from_override", T_BOOL, AF_ALLOW_FROM_OVERRIDE, NULL },
	{ "auth", T_AUTH, AF_AUTH, NULL },
	{ "auto_from", T_BOOL, AF_AUTO_FROM, NULL },
	{ "connect_timeout", T_TIMEOUT, AF_TIMEOUT, NULL },
	{ "domain", T_STR, AF_DOMAIN, NULL },
	{ "drop_senders", T_FILE, AF_DROP_SENDERS, NULL },
	{ "dsn_notify", T_DSN_NOTIFY, AF_DSN_NOTIFY, NULL },
	{ "dsn_return", T_ENUM, AF_DSN_RETURN, "off|headers|full" },
	{ "from", T_STR, AF_FROM, NULL },
	{ "from_full_name", T_STR, AF_FROM_FULL_NAME, NULL },
	{ "host", T_STR, AF_HOST, NULL },
	{ "keepbcc", T_MAP, AF_REMOVE_BCC_HEADERS, "off|on" },
	{ "logfile", T_FILE, AF_LOGFILE, NULL },
	{ "logfile_time_format", T_STR, AF_LOGFILE_TIME_FORMAT, NULL },
	{ "maildomain", T_STR, AF_MAILDOMAIN, NULL },
	{ "ntlmdomain", T_STR, AF_NTLMDOMAIN, NULL },
	{ "oauth2_auth_endpoint", T_HTTPS, AF_OAUTH2_AUTH_ENDPOINT, NULL },
	{ "oauth2_client_id", T_STR, AF_OAUTH2_CLIENT_ID, NULL },
	{ "oauth2_client_secret", T_STR, AF_OAUTH2_CLIENT_SECRET, NULL },
	{ "oauth2_device_endpoint", T_HTTPS, AF_OAUTH2_DEVICE_ENDPOINT, NULL },
	{ "oauth2_issuer", T_HTTPS, AF_OAUTH2_ISSUER, NULL },
	{ "oauth2_keepalive", T_DURATION, AF_OAUTH2_KEEPALIVE, NULL },
	{ "oauth2_keyring", T_BOOL, AF_OAUTH2_KEYRING, NULL },
	{ "oauth2_provider", T_ENUM, AF_OAUTH2_PROVIDER,
	    "google|microsoft|discover" },
	{ "oauth2_scope", T_STR, AF_OAUTH2_SCOPE, NULL },
	{ "oauth2_token_endpoint", T_HTTPS, AF_OAUTH2_TOKEN_ENDPOINT, NULL },
	{ "oauth2_token_file", T_FILE, AF_OAUTH2_TOKEN_FILE, NULL },
	{ "oauth2_trust_file", T_FILE, AF_OAUTH2_TRUST_FILE, NULL },
	{ "password", T_STR, AF_PASSWORD, NULL },
	{ "passwordeval", T_STR, AF_PASSWORDEVAL, NULL },
	{ "port", T_PORT, AF_PORT, NULL },
	{ "protocol", T_ENUM, AF_PROTOCOL, "smtp|lmtp" },
	{ "proxy_host", T_STR, AF_PROXY_HOST, NULL },
	{ "proxy_password", T_STR, AF_PROXY_PASSWORD, NULL },
	{ "proxy_passwordeval", T_STR, AF_PROXY_PASSWORDEVAL, NULL },
	{ "proxy_port", T_PORT, AF_PROXY_PORT, NULL },
	{ "proxy_user", T_STR, AF_PROXY_USER, NULL },
	{ "queue", T_ENUM, AF_QUEUE, "off|on-failure|always" },
	{ "queue_background", T_BOOL, AF_QUEUE_BACKGROUND, NULL },
	{ "queue_dir", T_FILE, AF_QUEUE_DIR, NULL },
	{ "queue_max_age", T_DURATION, AF_QUEUE_MAX_AGE, NULL },
	{ "queue_notify", T_BOOL, AF_QUEUE_NOTIFY, NULL },
	{ "queue_retry", T_RETRY, AF_QUEUE_RETRY, NULL },
	{ "remove_bcc_headers", T_BOOL, AF_REMOVE_BCC_HEADERS, NULL },
	{ "requiretls", T_BOOL, AF_REQUIRETLS, NULL },
	{ "set_date_header", T_ENUM, AF_SET_DATE_HEADER, "auto|off" },
	{ "set_from_header", T_ENUM, AF_SET_FROM_HEADER, "auto|on|off" },
	{ "set_msgid_header", T_ENUM, AF_SET_MSGID_HEADER, "auto|off" },
	{ "set_to_header", T_ENUM, AF_SET_TO_HEADER,
	    "on|off|undisclosed_recipients" },
	{ "socket", T_FILE, AF_SOCKET, NULL },
	{ "source_ip", T_STR, AF_SOURCE_IP, NULL },
	{ "syslog", T_SYSLOG, AF_SYSLOG, NULL },
	{ "timeout", T_TIMEOUT, AF_TIMEOUT, NULL },
	{ "tls", T_BOOL, AF_TLS, NULL },
	{ "tls_cert_file", T_FILE, AF_TLS_CERT_FILE, NULL },
	{ "tls_certcheck", T_BOOL, AF_TLS_CERTCHECK, NULL },
	{ "tls_crl_file", T_FILE, AF_TLS_CRL_FILE, NULL },
	{ "tls_fingerprint", T_STR, AF_TLS_FINGERPRINT, NULL },
	{ "tls_force_sslv3", T_IGNORED, 0, NULL },
	{ "tls_host_override", T_STR, AF_TLS_HOST_OVERRIDE, NULL },
	{ "tls_key_file", T_FILE, AF_TLS_KEY_FILE, NULL },
	{ "tls_min_dh_prime_bits", T_NUM, AF_TLS_MIN_DH_PRIME_BITS, NULL },
	{ "tls_nocertcheck", T_SET_OFF, AF_TLS_CERTCHECK, NULL },
	{ "tls_nostarttls", T_SET_OFF, AF_TLS_STARTTLS, NULL },
	{ "tls_priorities", T_STR, AF_TLS_PRIORITIES, NULL },
	{ "tls_starttls", T_ENUM, AF_TLS_STARTTLS, "on|off|auto" },
	{ "tls_trust_file", T_FILE, AF_TLS_TRUST_FILE, NULL },
	{ "undisclosed_recipients", T_MAP, AF_SET_TO_HEADER,
	    "undisclosed_recipients|off" },
	{ "user", T_STR, AF_USER, NULL },
};
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* The words settings take, as the typed values of account.h. */
static const char *const word_names[ACC_WORD_N] = {
	[ACC_OFF] = "off",
	[ACC_ON] = "on",
	[ACC_AUTO] = "auto",
	[ACC_UNDISCLOSED] = "undisclosed_recipients",
	[ACC_ON_FAILURE] = "on-failure",
	[ACC_ALWAYS] = "always",
	[ACC_HEADERS] = "headers",
	[ACC_FULL] = "full",
	[ACC_SMTP] = "smtp",
	[ACC_LMTP] = "lmtp",
	[ACC_MECHANISM] = NULL,
	[ACC_LIST] = NULL,
	[ACC_NEVER] = "never",
};

/*
 * Every default, once, as the file would say it: an account starts with
 * these (conf_account_new), so nothing else needs to know them.  Settings
 * missing here have none (host, user, from, ...) or one that depends on
 * others, computed where it is read: port (account_port), queue_dir
 * (queue_default_dir).
 */
static const struct setting_default {
	enum acc_field field;
	const char *value;
} setting_defaults[] = {
	{ AF_ALLOW_FROM_OVERRIDE, "on" },
	{ AF_AUTH, "off" },
	{ AF_AUTO_FROM, "off" },
	{ AF_DOMAIN, "localhost" },
	{ AF_DSN_NOTIFY, "off" },
	{ AF_DSN_RETURN, "off" },
	{ AF_LOGFILE_TIME_FORMAT, RECORD_TIME_DEFAULT },
	{ AF_OAUTH2_KEEPALIVE, "30d" },
	{ AF_OAUTH2_KEYRING, "off" },
	{ AF_PROTOCOL, "smtp" },
	{ AF_PROXY_PORT, "1080" },
	{ AF_QUEUE, "off" },
	{ AF_QUEUE_BACKGROUND, "on" },
	{ AF_QUEUE_MAX_AGE, "5d" },
	{ AF_QUEUE_NOTIFY, "on" },
	{ AF_QUEUE_RETRY, "5m 4h" },
	{ AF_REMOVE_BCC_HEADERS, "on" },
	{ AF_REQUIRETLS, "off" },
	{ AF_SET_DATE_HEADER, "auto" },
	{ AF_SET_FROM_HEADER, "auto" },
	{ AF_SET_MSGID_HEADER, "auto" },
	{ AF_SET_TO_HEADER, "off" },
	{ AF_SYSLOG, "off" },
	{ AF_TIMEOUT, "off" },
	{ AF_TLS, "off" },
	{ AF_TLS_CERTCHECK, "on" },
	{ AF_TLS_MIN_DH_PRIME_BITS, "0" },
	{ AF_TLS_STARTTLS, "on" },
	{ AF_TLS_TRUST_FILE, "system" },
};

int
conf_table_sorted(void)
{
	size_t i;

	for (i = 1; i < NKEYWORDS; i++)
		if (strcmp(keywords[i - 1].name, keywords[i].name) >= 0)
			return 0;
	return 1;
}

static int
keyword_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct keyword *)elem)->name);
}

static const struct keyword *
lookup(const char *name)
{
	return bsearch(name, keywords, NKEYWORDS, sizeof(keywords[0]),
	    keyword_cmp);
}

/* Edit distance, for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp, best;
	size_t row[64];

	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *
conf_suggest(const char *name)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1;
	static const char *const extra[] = { "account", "defaults" };

	for (i = 0; i < NKEYWORDS + 2; i++) {
		const char *k = i < NKEYWORDS ? keywords[i].name :
						extra[i - NKEYWORDS];

		d = distance(name, k);
		if (d < bestd) {
			bestd = d;
			best = k;
		}
	}
	/* Only a near miss is worth suggesting. */
	return bestd <= 2 || (bestd <= 3 && strlen(name) >= 8) ? best : NULL;
}

const char *
conf_suggest_account(const struct account *list, const char *name)
{
	const char *best = NULL;
	size_t d, bestd = (size_t)-1;

	for (; list != NULL; list = list->next) {
		d = distance(name, list->name);
		if (d > 0 && d < bestd) {
			bestd = d;
			best = list->name;
		}
	}
	/* As for commands: only a near miss. */
	return bestd <= 2 || (bestd <= 3 && strlen(name) >= 8) ? best : NULL;
}

static char *
expand_tilde(const char *v)
{
	char *home, *out;

	if (v[0] != '~' || (v[1] != '/' && v[1] != '\0'))
		return strdup(v);
	/* No home: the ~ stays (a name that is looked for and not found). */
	if ((home = userdir_home()) == NULL)
		return strdup(v);
	if ((out = malloc(strlen(home) + strlen(v))) == NULL) {
		free(home);
		return NULL;
	}
	strcpy(out, home);
	strcat(out, v + 1);
	free(home);
	return out;
}

static int
parse_uint(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Whether v is one of the |-separated words. */
static int
one_of(const char *v, const char *words)
{
	size_t n = strlen(v);
	const char *p = words, *bar;

	for (;;) {
		bar = strchr(p, '|');
		if ((bar ? (size_t)(bar - p) : strlen(p)) == n &&
		    strncmp(p, v, n) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

/* Word i of a |-separated list, malloc'd. */
static char *
pick(const char *words, int i)
{
	const char *bar = strchr(words, '|');

	return i == 0 ? strndup(words, (size_t)(bar - words)) : strdup(bar + 1);
}

/* RFC 3461 4.1: NEVER alone, or some of SUCCESS, FAILURE, DELAY. */
static int
dsn_notify_ok(const char *v)
{
	char *copy, *w, *save;
	int ok = 1, n = 0;

	if (strcmp(v, "off") == 0 || strcmp(v, "never") == 0)
		return 1;
	if ((copy = strdup(v)) == NULL)
		return 0;
	for (w = strtok_r(copy, ",", &save); w != NULL;
	     w = strtok_r(NULL, ",", &save), n++)
		if (!one_of(w, "failure|delay|success"))
			ok = 0;
	free(copy);
	return ok && n > 0;
}

/*
 * Check v for keyword k and store it.  Messages read "WHERE LABEL: ...";
 * `kind' says whose mistake it is (the file's or the command line's).
 */
/* The typed value of a word; a word outside the table is a name or list. */
static long
word_value(const struct keyword *k, const char *v)
{
	long i;

	for (i = 0; i < ACC_WORD_N; i++)
		if (word_names[i] != NULL && strcmp(word_names[i], v) == 0)
			return i;
	return k->type == T_AUTH ? ACC_MECHANISM : ACC_LIST;
}

static int
takes_words(enum kw_type t)
{
	return t == T_BOOL || t == T_AUTH || t == T_ENUM || t == T_MAP ||
	    t == T_DSN_NOTIFY || t == T_SET_OFF;
}

static int
set_keyword(struct account *a, const struct keyword *k, const char *v,
    const char *where, const char *label, enum error_kind kind,
    struct error *err)
{
	const char *name = label, *p;
	char *val = NULL, num[24], *empty = NULL;
	long n = 0, n2 = 0;
	int r;

	/* A control character would end up on the wire or in a file name. */
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return error_set(err, kind,
			    "%s%s: the value contains a control character",
			    where, name);
	switch (k->type) {
	case T_STR:
		/* Empty unsets: the default, where there is one, holds again. */
		if (*v == '\0' && conf_default_of(k->field, &p))
			v = p;
		val = strdup(v);
		break;
	case T_FILE:
		val = expand_tilde(v);
		break;
	case T_SYSLOG:
		if (*v == '\0')
			v = "on";
		if (strcmp(v, "off") == 0)
			n = ACC_OFF;
		else if (record_facility(v, &r, err) == -1)
			return error_set(err, kind,
			    "%s%s: expected on, off or a facility such as "
			    "LOG_MAIL, not \"%s\"",
			    where, name, v);
		else
			n = r;
		val = strdup(v);
		break;
	case T_BOOL:
		if (*v == '\0')
			v = "on";
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			return error_set(err, kind,
			    "%s%s: expected on or off, not \"%s\"", where, name,
			    v);
		val = strdup(v);
		break;
	case T_PORT:
		if (parse_uint(v, 1, 65535, &n) == -1)
			return error_set(err, kind,
			    "%s%s: \"%s\" is not a port number (1-65535)",
			    where, name, v);
		val = strdup(v);
		break;
	case T_TIMEOUT:
		if (strcmp(v, "off") == 0)
			n = 0;
		else if (parse_uint(v, 1, 86400, &n) == -1)
			return error_set(err, kind,
			    "%s%s: \"%s\" is not off or a number of seconds "
			    "(1-86400)",
			    where, name, v);
		snprintf(num, sizeof(num), "%ld", n);
		val = strdup(num);
		break;
	case T_DURATION:
		if ((n = queue_duration(v)) <= 0)
			return error_set(err, kind,
			    "%s%s: \"%s\" is not a duration (seconds, or a "
			    "number with s, m, h or d)",
			    where, name, v);
		snprintf(num, sizeof(num), "%ld", n);
		val = strdup(num);
		break;
	case T_RETRY:
		if (queue_parse_retry(v, &n, &n2) == -1)
			return error_set(err, kind,
			    "%s%s: \"%s\" is not two durations, the first "
			    "retry and the longest wait (e.g. 5m 4h)",
			    where, name, v);
		val = strdup(v);
		break;
	case T_AUTH:
		if (*v == '\0')
			v = "on";
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0 &&
		    !sasl_known(v))
			return error_set(err, kind,
			    "%s%s: unknown authentication method \"%s\"", where,
			    name, v);
		val = strdup(v);
		break;
	case T_NUM:
		if (parse_uint(v, 0, 1000000, &n) == -1)
			return error_set(err, kind,
			    "%s%s: \"%s\" is not a number", where, name, v);
		val = strdup(v);
		break;
	case T_ENUM:
		/* No value: "on" where that is a choice, else the first. */
		if (*v == '\0' && one_of("on", k->values))
			v = "on";
		else if (*v == '\0') {
			if ((empty = pick(k->values, 0)) == NULL)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			v = empty;
		}
		if (!one_of(v, k->values))
			return error_set(err, kind,
			    "%s%s: expected %s, not \"%s\"", where, name,
			    k->values, v);
		val = strdup(v);
		free(empty);
		break;
	case T_MAP:
		if (*v == '\0')
			v = "on";
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			return error_set(err, kind,
			    "%s%s: expected on or off, not \"%s\"", where, name,
			    v);
		val = pick(k->values, strcmp(v, "on") == 0 ? 0 : 1);
		break;
	case T_DSN_NOTIFY:
		if (!dsn_notify_ok(v))
			return error_set(err, kind,
			    "%s%s: expected off, never, or a list of failure, "
			    "delay and success, not \"%s\"",
			    where, name, v);
		val = strdup(v);
		break;
	case T_SET_OFF:
		val = strdup("off");
		break;
	case T_IGNORED:
		return 0;
	case T_HTTPS:
		/* Tokens travel to these: never in the clear. */
		if (*v != '\0' &&
		    (strncasecmp(v, "https://", 8) != 0 || v[8] == '\0' ||
			strchr(v, ' ') != NULL))
			return error_set(err, kind,
			    "%s%s: \"%s\" is not an https:// URL", where, name,
			    v);
		val = strdup(v);
		break;
	}
	if (val == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	if (takes_words(k->type))
		n = word_value(k, val);
	r = account_set(a, k->field, val, n, n2);
	explicit_bzero(val, strlen(val));
	free(val);
	if (r == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

int
conf_set(struct account *a, const char *name, const char *v, const char *where,
    struct error *err)
{
	const struct keyword *k = lookup(name);
	const char *hint;

	if (k == NULL) {
		hint = conf_suggest(name);
		if (hint != NULL)
			return error_set(err, ERR_CONFIG,
			    "%sunknown command %s (did you mean %s?)", where,
			    name, hint);
		return error_set(err, ERR_CONFIG, "%sunknown command %s", where,
		    name);
	}
	return set_keyword(a, k, v, where, name, ERR_CONFIG, err);
}

int
conf_set_option(struct account *a, const char *name, const char *v,
    const char *option, struct error *err)
{
	const struct keyword *k = lookup(name);

	if (k == NULL)
		return error_set(err, ERR_SOFTWARE, "no setting %s", name);
	return set_keyword(a, k, v, "", option, ERR_USAGE, err);
}

struct account *
conf_account_new(const char *name, const char *file, unsigned line,
    const struct account *base)
{
	struct account *a = account_new(name, file, line);
	const struct keyword *k;
	struct error err;
	size_t i;

	for (i = 0; a != NULL &&
	     i < sizeof(setting_defaults) / sizeof(setting_defaults[0]);
	     i++) {
		k = lookup(account_field_name(setting_defaults[i].field));
		if (k == NULL ||
		    set_keyword(a, k, setting_defaults[i].value, "", k->name,
			ERR_SOFTWARE, &err) == -1) {
			account_free(a);
			return NULL;
		}
		account_mark_default(a, setting_defaults[i].field);
	}
	if (a != NULL && base != NULL && account_inherit(a, base) == -1) {
		account_free(a);
		return NULL;
	}
	return a;
}

int
conf_default_of(enum acc_field f, const char **value)
{
	size_t i;

	for (i = 0; i < sizeof(setting_defaults) / sizeof(setting_defaults[0]);
	     i++)
		if (setting_defaults[i].field == f) {
			*value = setting_defaults[i].value;
			return 1;
		}
	return 0;
}

/* Split "cmd arg" with the argument trimmed and one pair of quotes off. */
static void
split(char *line, char **cmd, char **arg)
{
	char *p = line, *end;
	size_t n;

	p += strspn(p, " \t");
	*cmd = p;
	p += strcspn(p, " \t");
	if (*p != '\0')
		*p++ = '\0';
	p += strspn(p, " \t");
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	n = (size_t)(end - p);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p[n - 1] = '\0';
		p++;
	}
	*arg = p;
}

static char *
trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* "account NAME [: BASE[, BASE...]]" */
static struct account *
start_account(char *arg, const struct account *defaults, struct account *local,
    const char *where, const char *path, unsigned lineno, struct error *err)
{
	char *colon = strchr(arg, ':'), *name, *bases = NULL, *b, *save;
	struct account *a, *base;

	if (colon != NULL) {
		*colon = '\0';
		bases = colon + 1;
	}
	name = trim(arg);
	if (*name == '\0' || strchr(name, ',') != NULL) {
		error_set(err, ERR_CONFIG,
		    "%saccount needs a name without "
		    "\",\" or \":\"",
		    where);
		return NULL;
	}
	if (account_find(local, name) != NULL) {
		error_set(err, ERR_CONFIG, "%saccount %s was already defined%s",
		    where, name,
		    strcmp(name, "default") == 0 ?
			" (settings before the first account line make an "
			"account named default)" :
			"");
		return NULL;
	}
	if ((a = conf_account_new(name, path, lineno, defaults)) == NULL) {
		error_set(err, ERR_OSERR, "out of memory");
		return NULL;
	}
	for (b = bases ? strtok_r(bases, ",", &save) : NULL; b != NULL;
	     b = strtok_r(NULL, ",", &save)) {
		b = trim(b);
		if ((base = account_find(local, b)) == NULL) {
			error_set(err, ERR_CONFIG,
			    "%saccount %s: no account "
			    "named %s defined above",
			    where, name, b);
			account_free(a);
			return NULL;
		}
		if (account_inherit(a, base) == -1) {
			error_set(err, ERR_OSERR, "out of memory");
			account_free(a);
			return NULL;
		}
	}
	return a;
}

static void
append(struct account **list, struct account *a)
{
	while (*list != NULL)
		list = &(*list)->next;
	*list = a;
}

static int
check_private(FILE *fp, const char *path, struct error *err)
{
	struct stat st;

	if (fstat(fileno(fp), &st) == -1)
		return error_set(err, ERR_IO, "cannot stat %s: %s", path,
		    strerror(errno));
	if (geteuid() != 0 && st.st_uid != geteuid())
		return error_set(err, ERR_CONFIG,
		    "%s contains a password and "
		    "therefore must be owned by you",
		    path);
	if (st.st_mode & 0177)
		return error_set(err, ERR_CONFIG,
		    "%s contains a password and "
		    "therefore must not be readable by others: "
		    "run chmod 600 %s",
		    path, path);
	return 0;
}

int
conf_parse(FILE *fp, const char *path, int user_file, struct account **list,
    struct error *err)
{
	struct account *defaults, *local = NULL, *cur = NULL, *a;
	char *line = NULL, *cmd, *arg, where[512], *evaled = NULL;
	size_t cap = 0, len;
	ssize_t n;
	unsigned lineno = 0;
	int secret = 0, from_eval, r = -1;

	if ((defaults = conf_account_new("defaults", path, 0, NULL)) == NULL)
		return error_set(err, ERR_OSERR, "out of memory");
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		len = (size_t)n;
		snprintf(where, sizeof(where), "%s:%u: ", path, lineno);
		if (strlen(line) != len) {
			error_set(err, ERR_CONFIG, "%sa NUL byte", where);
			goto out;
		}
		while (
		    len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		split(line, &cmd, &arg);
		from_eval = 0;
		if (*cmd == '\0' || *cmd == '#')
			continue;
		if (strcmp(cmd, "password") == 0 ||
		    strcmp(cmd, "proxy_password") == 0)
			secret = 1;
		if (strcmp(cmd, "eval") == 0) {
			/* The command's first line stands in for this one. */
			secret_free(evaled);
			evaled = NULL;
			if (secret_run(arg, &evaled, err) == -1) {
				snprintf(err->msg + strlen(err->msg),
				    sizeof(err->msg) - strlen(err->msg),
				    " (%s:%u: eval)", path, lineno);
				goto out;
			}
			split(evaled, &cmd, &arg);
			from_eval = 1;
			if (*cmd == '\0' || *cmd == '#')
				continue;
			if (strcmp(cmd, "eval") == 0) {
				error_set(err, ERR_CONFIG,
				    "%seval printed "
				    "another eval",
				    where);
				goto out;
			}
		}
		if (strcmp(cmd, "defaults") == 0) {
			if (*arg != '\0') {
				error_set(err, ERR_CONFIG,
				    "%sdefaults takes no argument", where);
				goto out;
			}
			cur = defaults;
			continue;
		}
		if (strcmp(cmd, "account") == 0) {
			if ((a = start_account(arg, defaults, local, where,
				 path, lineno, err)) == NULL)
				goto out;
			append(&local, a);
			cur = a;
			continue;
		}
		if (cur == NULL) {
			/* Settings before any account make one named default. */
			if ((cur = conf_account_new("default", path, lineno,
				 defaults)) == NULL) {
				error_set(err, ERR_OSERR, "out of memory");
				goto out;
			}
			append(&local, cur);
		}
		if (conf_set(cur, cmd, arg, where, err) == -1) {
			/*
			 * What eval printed may be a secret (a password line
			 * with a typo): said by its line number alone.
			 */
			if (from_eval && err->kind != ERR_OSERR)
				error_set(err, ERR_CONFIG,
				    "%sthe line printed by eval is not a valid "
				    "setting (not shown: it may hold a secret)",
				    where);
			goto out;
		}
	}
	if (ferror(fp)) {
		error_set(err, ERR_IO, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (user_file && secret && check_private(fp, path, err) == -1)
		goto out;
	append(list, local);
	local = NULL;
	r = 0;
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	secret_free(evaled);
	account_free_list(local);
	account_free(defaults);
	return r;
}

int
conf_load(const char *path, int user_file, struct account **list,
    struct error *err)
{
	FILE *fp;
	int r;

	if ((fp = fopen(path, "re")) == NULL)
		return error_set(err, errno == ENOENT ? ERR_NOINPUT : ERR_IO,
		    "cannot open %s: %s", path, strerror(errno));
	r = conf_parse(fp, path, user_file, list, err);
	fclose(fp);
	return r;
}
