/* test_conf.c: the configuration file parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

#define PATH "test.conf"

/* Parse text (with its length, so NUL bytes can be in it). */
static int
parse_n(const char *text, size_t len, struct account **list, struct error *err)
{
	FILE *fp;
	int r;

	fp = fmemopen((void *)(uintptr_t)text, len, "r");
	assert_non_null(fp);
	error_clear(err);
	r = conf_parse(fp, PATH, 0, list, err);
	fclose(fp);
	return r;
}

static int
parse(const char *text, struct account **list, struct error *err)
{
	return parse_n(text, strlen(text), list, err);
}

/* Parse text that must be accepted. */
static struct account *
parse_ok(const char *text)
{
	struct account *list = NULL;
	struct error err;

	if (parse(text, &list, &err) == -1)
		fail_msg("refused: %s", err.msg);
	return list;
}

/* Parse text that must be refused with a message holding `want'. */
static void
parse_bad(const char *text, const char *want)
{
	struct account *list = NULL;
	struct error err;

	if (parse(text, &list, &err) != -1)
		fail_msg("accepted: \"%s\"", text);
	assert_int_equal(err.kind, ERR_CONFIG);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	assert_null(list);
}

static const char *
get(struct account *list, const char *name, enum acc_field f)
{
	struct account *a = account_find(list, name);

	if (a == NULL)
		fail_msg("no account %s", name);
	return account_str(a, f);
}

static void
setting_is(struct account *list, const char *name, enum acc_field f,
    const char *want)
{
	const char *v = get(list, name, f);

	if (want == NULL && v == NULL)
		return;
	if (want == NULL || v == NULL || strcmp(v, want) != 0)
		fail_msg("account %s field %d: \"%s\", expected \"%s\"", name,
		    (int)f, v ? v : "(unset)", want ? want : "(unset)");
}

static void
test_defaults_and_inheritance(void **state)
{
	struct account *list, *a;

	list = parse_ok("defaults\n"
			"port 587\n"
			"tls on\n"
			"timeout 30\n"
			"\n"
			"account a\n"
			"host a.example\n"
			"from a@example.com\n"
			"user ua\n"
			"port 25\n"
			"\n"
			"account b : a\n"
			"user ub\n"
			"\n"
			"account c\n"
			"host c.example\n"
			"\n"
			"account d : a, c\n");

	/* The order of definition is kept. */
	a = list;
	assert_string_equal(a->name, "a");
	assert_string_equal(a->next->name, "b");
	assert_string_equal(a->next->next->name, "c");
	assert_string_equal(a->next->next->next->name, "d");
	assert_null(a->next->next->next->next);
	assert_null(account_find(list, "defaults"));

	setting_is(list, "a", AF_HOST, "a.example");
	setting_is(list, "a", AF_PORT, "25");
	setting_is(list, "a", AF_TLS, "on");
	setting_is(list, "a", AF_TIMEOUT, "30");

	/* b takes what a set, and its own user. */
	setting_is(list, "b", AF_HOST, "a.example");
	setting_is(list, "b", AF_FROM, "a@example.com");
	setting_is(list, "b", AF_USER, "ub");
	setting_is(list, "b", AF_PORT, "25");
	setting_is(list, "b", AF_TLS, "on");

	/* c has the defaults only. */
	setting_is(list, "c", AF_HOST, "c.example");
	setting_is(list, "c", AF_PORT, "587");
	setting_is(list, "c", AF_USER, NULL);
	setting_is(list, "c", AF_FROM, NULL);

	/* d: a, then c over it. */
	setting_is(list, "d", AF_HOST, "c.example");
	setting_is(list, "d", AF_USER, "ua");
	setting_is(list, "d", AF_FROM, "a@example.com");
	account_free_list(list);
}

static void
test_defaults_apply_to_later_accounts(void **state)
{
	struct account *list;

	list = parse_ok("account a\n"
			"host a.example\n"
			"defaults\n"
			"port 2525\n"
			"account b\n"
			"host b.example\n");
	setting_is(list, "a", AF_PORT, NULL);
	setting_is(list, "b", AF_PORT, "2525");
	account_free_list(list);
}

static void
test_account_default_alias(void **state)
{
	struct account *list;

	list = parse_ok("account provider\n"
			"host smtp.provider.example\n"
			"port 587\n"
			"account default : provider\n");
	setting_is(list, "default", AF_HOST, "smtp.provider.example");
	setting_is(list, "default", AF_PORT, "587");
	account_free_list(list);

	/* Spacing around ":" does not matter. */
	list = parse_ok("account provider\n"
			"host smtp.provider.example\n"
			"account   default:provider  \n");
	setting_is(list, "default", AF_HOST, "smtp.provider.example");
	account_free_list(list);
}

static void
test_implicit_default(void **state)
{
	struct account *list;

	list = parse_ok("host first.example\n"
			"port 465\n"
			"account other\n"
			"host other.example\n");
	assert_string_equal(list->name, "default");
	setting_is(list, "default", AF_HOST, "first.example");
	setting_is(list, "default", AF_PORT, "465");
	setting_is(list, "other", AF_HOST, "other.example");
	/* The implicit account is not a defaults section. */
	setting_is(list, "other", AF_PORT, NULL);
	account_free_list(list);

	/* It takes the defaults given before it. */
	list = parse_ok("defaults\n"
			"port 2525\n"
			"account x\n"
			"host x.example\n");
	setting_is(list, "x", AF_PORT, "2525");
	account_free_list(list);

	/* And it may not be defined again. */
	parse_bad("host first.example\naccount default\nhost x\n", PATH ":2: ");
	parse_bad("host first.example\naccount default\nhost x\n",
	    "before the first account");
}

static void
test_duplicate_account(void **state)
{
	parse_bad("account a\nhost x\n\naccount a\nhost y\n",
	    PATH ":4: account a was already defined");
	parse_bad("account a\naccount b : nosuch\n",
	    PATH ":2: account b: no account named nosuch");
	/* A base must come before. */
	parse_bad("account b : a\naccount a\n", PATH ":1: ");
	parse_bad("account\n", PATH ":1: account needs a name");
	parse_bad("account a,b\n", PATH ":1: account needs a name");
	parse_bad("account : a\n", PATH ":1: account needs a name");
	parse_bad("defaults now\n", PATH ":1: defaults takes no argument");
}

static void
test_unknown_command(void **state)
{
	parse_bad("account a\nhots mail.example\n",
	    PATH ":2: unknown command hots (did you mean host?)");
	parse_bad("account a\ntls_startls on\n",
	    "(did you mean tls_starttls?)");
	parse_bad("# comment\n\naccount a\npasword x\n",
	    PATH ":4: unknown command pasword (did you mean password?)");
	parse_bad("acount a\n", "(did you mean account?)");
	/* Nothing near: no suggestion. */
	parse_bad("account a\nzzzzzzzzzzzz 1\n",
	    PATH ":2: unknown command zzzzzzzzzzzz");
	{
		struct account *list = NULL;
		struct error err;

		assert_int_equal(
		    parse("account a\nzzzzzzzzzzzz 1\n", &list, &err), -1);
		assert_null(strstr(err.msg, "did you mean"));
	}
	/* Commands are case-sensitive. */
	parse_bad("account a\nHOST x\n", "unknown command HOST");

	assert_string_equal(conf_suggest("hots"), "host");
	assert_string_equal(conf_suggest("pot"), "port");
	assert_string_equal(conf_suggest("tls_trustfile"), "tls_trust_file");
	assert_string_equal(conf_suggest("default"), "defaults");
	assert_null(conf_suggest("completely-unrelated-words"));

	/* -a with a misspelt account name. */
	{
		struct account *list = NULL;
		struct error err;

		assert_int_equal(parse("account default\nhost a\n\n"
				       "account work\nhost b\n\n"
				       "account personal\nhost c\n",
				     &list, &err),
		    0);
		assert_string_equal(conf_suggest_account(list, "wrok"), "work");
		assert_string_equal(conf_suggest_account(list, "personnal"),
		    "personal");
		assert_string_equal(conf_suggest_account(list, "defualt"),
		    "default");
		/* The name itself is no suggestion; nothing near, none. */
		assert_null(conf_suggest_account(list, "work"));
		assert_null(conf_suggest_account(list, "gmail-account"));
		assert_null(conf_suggest_account(NULL, "work"));
		account_free_list(list);
	}
}

/* Every command: a good value and how it is stored, a bad one's error. */
static const struct {
	const char *line;
	enum acc_field field;
	const char *stored; /* NULL: the line must be refused */
	const char *error;
} commands[] = {
	{ "add_missing_date_header off", AF_SET_DATE_HEADER, "off", NULL },
	{ "add_missing_date_header on", AF_SET_DATE_HEADER, "auto", NULL },
	{ "add_missing_from_header off", AF_SET_FROM_HEADER, "off", NULL },
	{ "add_missing_from_header", AF_SET_FROM_HEADER, "auto", NULL },
	{ "add_missing_from_header maybe", 0, NULL, "expected on or off" },
	{ "aliases /etc/aliases", AF_ALIASES, "/etc/aliases", NULL },
	{ "allow_from_override off", AF_ALLOW_FROM_OVERRIDE, "off", NULL },
	{ "allow_from_override 1", 0, NULL, "expected on or off" },
	{ "auth scram-sha-256", AF_AUTH, "scram-sha-256", NULL },
	{ "auth", AF_AUTH, "on", NULL },
	{ "auth kerberos", 0, NULL, "unknown authentication method" },
	{ "auto_from on", AF_AUTO_FROM, "on", NULL },
	{ "connect_timeout 7", AF_TIMEOUT, "7", NULL },
	{ "domain client.example", AF_DOMAIN, "client.example", NULL },
	{ "dsn_notify failure,delay", AF_DSN_NOTIFY, "failure,delay", NULL },
	{ "dsn_notify never", AF_DSN_NOTIFY, "never", NULL },
	{ "dsn_notify off", AF_DSN_NOTIFY, "off", NULL },
	{ "dsn_notify failure,sometimes", 0, NULL, "expected off, never" },
	{ "dsn_return headers", AF_DSN_RETURN, "headers", NULL },
	{ "dsn_return full", AF_DSN_RETURN, "full", NULL },
	{ "dsn_return hdrs", 0, NULL, "expected off|headers|full" },
	{ "from a@example.org", AF_FROM, "a@example.org", NULL },
	{ "from_full_name Jane Doe", AF_FROM_FULL_NAME, "Jane Doe", NULL },
	{ "host mail.example", AF_HOST, "mail.example", NULL },
	{ "keepbcc on", AF_REMOVE_BCC_HEADERS, "off", NULL },
	{ "keepbcc off", AF_REMOVE_BCC_HEADERS, "on", NULL },
	{ "logfile /var/log/outbox.log", AF_LOGFILE, "/var/log/outbox.log",
	    NULL },
	{ "logfile -", AF_LOGFILE, "-", NULL },
	{ "logfile_time_format none", AF_LOGFILE_TIME_FORMAT, "none", NULL },
	{ "maildomain example.org", AF_MAILDOMAIN, "example.org", NULL },
	{ "ntlmdomain CORP", AF_NTLMDOMAIN, "CORP", NULL },
	{ "oauth2_provider microsoft", AF_OAUTH2_PROVIDER, "microsoft", NULL },
	{ "oauth2_provider yahoo", 0, NULL,
	    "expected google|microsoft|discover" },
	{ "oauth2_token_endpoint https://a.example/token",
	    AF_OAUTH2_TOKEN_ENDPOINT, "https://a.example/token", NULL },
	{ "oauth2_token_endpoint http://a.example/token", 0, NULL,
	    "is not an https:// URL" },
	{ "oauth2_issuer https://", 0, NULL, "is not an https:// URL" },
	{ "oauth2_auth_endpoint ftp://a.example/", 0, NULL,
	    "is not an https:// URL" },
	{ "oauth2_keepalive 10d", AF_OAUTH2_KEEPALIVE, "864000", NULL },
	{ "oauth2_keepalive soon", 0, NULL, "is not a duration" },
	{ "oauth2_keyring on", AF_OAUTH2_KEYRING, "on", NULL },
	{ "oauth2_client_secret s", AF_OAUTH2_CLIENT_SECRET, "s", NULL },
	{ "password p", AF_PASSWORD, "p", NULL },
	{ "passwordeval echo p", AF_PASSWORDEVAL, "echo p", NULL },
	{ "port 587", AF_PORT, "587", NULL },
	{ "port 0", 0, NULL, "not a port number" },
	{ "protocol lmtp", AF_PROTOCOL, "lmtp", NULL },
	{ "protocol http", 0, NULL, "expected smtp|lmtp" },
	{ "proxy_host 127.0.0.1", AF_PROXY_HOST, "127.0.0.1", NULL },
	{ "proxy_port 9050", AF_PROXY_PORT, "9050", NULL },
	{ "proxy_port x", 0, NULL, "not a port number" },
	{ "remove_bcc_headers off", AF_REMOVE_BCC_HEADERS, "off", NULL },
	{ "set_date_header off", AF_SET_DATE_HEADER, "off", NULL },
	{ "set_date_header on", 0, NULL, "expected auto|off" },
	{ "set_from_header on", AF_SET_FROM_HEADER, "on", NULL },
	{ "set_from_header auto", AF_SET_FROM_HEADER, "auto", NULL },
	{ "set_msgid_header off", AF_SET_MSGID_HEADER, "off", NULL },
	{ "set_to_header undisclosed_recipients", AF_SET_TO_HEADER,
	    "undisclosed_recipients", NULL },
	{ "set_to_header on", AF_SET_TO_HEADER, "on", NULL },
	{ "socket /run/smtp.sock", AF_SOCKET, "/run/smtp.sock", NULL },
	{ "source_ip 127.0.0.2", AF_SOURCE_IP, "127.0.0.2", NULL },
	{ "syslog LOG_MAIL", AF_SYSLOG, "LOG_MAIL", NULL },
	{ "syslog", AF_SYSLOG, "on", NULL },
	{ "syslog LOG_KERN", 0, NULL, "expected on, off or a facility" },
	{ "timeout off", AF_TIMEOUT, "0", NULL },
	{ "tls on", AF_TLS, "on", NULL },
	{ "tls_cert_file /c.pem", AF_TLS_CERT_FILE, "/c.pem", NULL },
	{ "tls_certcheck off", AF_TLS_CERTCHECK, "off", NULL },
	{ "tls_crl_file /crl.pem", AF_TLS_CRL_FILE, "/crl.pem", NULL },
	{ "tls_fingerprint AB:CD", AF_TLS_FINGERPRINT, "AB:CD", NULL },
	{ "tls_host_override mx.example", AF_TLS_HOST_OVERRIDE, "mx.example",
	    NULL },
	{ "tls_key_file /k.pem", AF_TLS_KEY_FILE, "/k.pem", NULL },
	{ "tls_min_dh_prime_bits 2048", AF_TLS_MIN_DH_PRIME_BITS, "2048",
	    NULL },
	{ "tls_min_dh_prime_bits many", 0, NULL, "not a number" },
	{ "tls_nocertcheck", AF_TLS_CERTCHECK, "off", NULL },
	{ "tls_nostarttls", AF_TLS_STARTTLS, "off", NULL },
	{ "tls_priorities NORMAL", AF_TLS_PRIORITIES, "NORMAL", NULL },
	{ "tls_starttls off", AF_TLS_STARTTLS, "off", NULL },
	{ "tls_trust_file system", AF_TLS_TRUST_FILE, "system", NULL },
	{ "undisclosed_recipients on", AF_SET_TO_HEADER,
	    "undisclosed_recipients", NULL },
	{ "undisclosed_recipients off", AF_SET_TO_HEADER, "off", NULL },
	{ "user alice", AF_USER, "alice", NULL },
};

static void
test_every_command(void **state)
{
	struct account *list;
	char text[256], want[128];
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		snprintf(text, sizeof(text), "account a\n%s\n",
		    commands[i].line);
		if (commands[i].stored == NULL) {
			snprintf(want, sizeof(want), PATH ":2: ");
			parse_bad(text, want);
			parse_bad(text, commands[i].error);
			continue;
		}
		list = parse_ok(text);
		setting_is(list, "a", commands[i].field, commands[i].stored);
		account_free_list(list);
	}
}

static void
test_ignored_and_old_spellings(void **state)
{
	struct account *list;

	list = parse_ok("account a\nhost x\ntls_force_sslv3 on\n"
			"tls_nostarttls\ntls_nocertcheck\n");
	setting_is(list, "a", AF_TLS_STARTTLS, "off");
	setting_is(list, "a", AF_TLS_CERTCHECK, "off");
	account_free_list(list);
}

static void
test_eval(void **state)
{
	struct account *list;

	/* The command's first output line stands in for the eval line. */
	list = parse_ok("account a\neval echo host from.eval.example\n"
			"eval printf 'port 2525\\nignored 1\\n'\n");
	setting_is(list, "a", AF_HOST, "from.eval.example");
	setting_is(list, "a", AF_PORT, "2525");
	account_free_list(list);
	parse_bad("account a\neval echo eval echo host x\n",
	    PATH ":2: eval printed another eval");
	parse_bad("account a\neval exit 3\n", "failed");
	/* Neither the command nor what it printed is echoed. */
	parse_bad("account a\neval echo password hunter2; exit 3\n",
	    "the command failed (exit status 3) (" PATH ":2: eval)");
	parse_bad("account a\neval echo pasword hunter2\n",
	    PATH ":2: the line printed by eval is not a valid setting");
	{
		static const char *const leaky[] = {
			"account a\neval echo password hunter2; exit 3\n",
			"account a\neval echo pasword hunter2\n",
			"account a\neval echo port hunter2\n",
			"account a\neval echo hunter2\n",
		};
		struct account *l = NULL;
		struct error err;
		size_t i;

		for (i = 0; i < sizeof(leaky) / sizeof(leaky[0]); i++) {
			assert_int_equal(parse(leaky[i], &l, &err), -1);
			assert_null(strstr(err.msg, "hunter2"));
		}
	}
}

static void
test_quoting_and_spacing(void **state)
{
	struct account *list;

	list = parse_ok("account a\n"
			"from \"a@example.com\"\n"
			"user \"  spaced name  \"\n"
			"password \"has # and \\\" inside\"\n"
			"   host    mail.example   \n"
			"\tdomain\tclient.example\t\n"
			"tls_priorities NORMAL:-VERS-TLS1.0 extra words\n");
	setting_is(list, "a", AF_FROM, "a@example.com");
	setting_is(list, "a", AF_USER, "  spaced name  ");
	setting_is(list, "a", AF_HOST, "mail.example");
	setting_is(list, "a", AF_DOMAIN, "client.example");
	setting_is(list, "a", AF_TLS_PRIORITIES,
	    "NORMAL:-VERS-TLS1.0 extra words");
	assert_non_null(get(list, "a", AF_PASSWORD));
	account_free_list(list);

	/* An empty value unsets. */
	list = parse_ok("defaults\nfrom x@example\naccount a\nfrom\n");
	setting_is(list, "a", AF_FROM, NULL);
	account_free_list(list);
	list = parse_ok("account a\nfrom \"\"\n");
	setting_is(list, "a", AF_FROM, NULL);
	account_free_list(list);
}

static void
test_comments_and_blank_lines(void **state)
{
	struct account *list;
	struct account *l2 = NULL;
	struct error err;

	list = parse_ok("# a comment\n"
			"\n"
			"   # an indented comment\n"
			"\t\n"
			"account a\n"
			"#host commented.example\n"
			"host real.example\n"
			"   \n");
	setting_is(list, "a", AF_HOST, "real.example");
	account_free_list(list);

	/* "#" starts a comment only at the start of a line. */
	list = parse_ok("account a\nuser name # not a comment\n");
	setting_is(list, "a", AF_USER, "name # not a comment");
	account_free_list(list);

	/* Line numbers count the comment and blank lines. */
	assert_int_equal(
	    parse("# one\n\n# three\naccount a\nport x\n", &l2, &err), -1);
	assert_true(strncmp(err.msg, PATH ":5: ", strlen(PATH ":5: ")) == 0);
}

static void
test_crlf(void **state)
{
	struct account *list;

	list = parse_ok("account a\r\nhost crlf.example\r\nport 587\r\n"
			"tls on\r\nfrom \"q@example.com\"\r\n");
	setting_is(list, "a", AF_HOST, "crlf.example");
	setting_is(list, "a", AF_PORT, "587");
	setting_is(list, "a", AF_TLS, "on");
	setting_is(list, "a", AF_FROM, "q@example.com");
	account_free_list(list);

	/* No final newline. */
	list = parse_ok("account a\nhost last.example");
	setting_is(list, "a", AF_HOST, "last.example");
	account_free_list(list);
}

static void
test_long_line(void **state)
{
	struct account *list;
	size_t n = 100000;
	char *text = malloc(n + 64), *p;
	const char *v;

	assert_non_null(text);
	p = text + sprintf(text, "account a\ndomain ");
	memset(p, 'd', n);
	p += n;
	strcpy(p, "\nhost after.example\n");
	list = parse_ok(text);
	v = get(list, "a", AF_DOMAIN);
	assert_non_null(v);
	assert_int_equal(strlen(v), n);
	assert_true(v[0] == 'd' && v[n - 1] == 'd');
	setting_is(list, "a", AF_HOST, "after.example");
	account_free_list(list);
	free(text);
}

static void
test_booleans(void **state)
{
	struct account *list;

	list = parse_ok("account a\ntls\ntls_starttls off\ntls_certcheck on\n");
	setting_is(list, "a", AF_TLS, "on");
	setting_is(list, "a", AF_TLS_STARTTLS, "off");
	setting_is(list, "a", AF_TLS_CERTCHECK, "on");
	account_free_list(list);

	parse_bad("account a\ntls yes\n", PATH ":2: tls: expected on or off");
	parse_bad("account a\ntls ON\n", "expected on or off");
	parse_bad("account a\ntls_starttls 1\n", "expected on|off|auto");
	parse_bad("account a\ntls on off\n", "expected on or off");

	/* tls_starttls auto is a choice, never what an empty value means */
	list = parse_ok("account a\ntls_starttls auto\naccount b\n"
			"tls_starttls\n");
	setting_is(list, "a", AF_TLS_STARTTLS, "auto");
	setting_is(list, "b", AF_TLS_STARTTLS, "on");
	account_free_list(list);
}

static void
test_port(void **state)
{
	static const char *const bad[] = {
		"0",
		"65536",
		"-1",
		"+25",
		"abc",
		"25x",
		"2 5",
		"0x19",
		"99999999999999999999",
	};
	struct account *list;
	char text[128];
	size_t i;

	list = parse_ok("account a\nport 1\naccount b\nport 65535\n"
			"account c\nport 0587\n");
	setting_is(list, "a", AF_PORT, "1");
	setting_is(list, "b", AF_PORT, "65535");
	assert_int_equal(account_port(account_find(list, "c")), 587);
	account_free_list(list);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "account a\nport %s\n", bad[i]);
		parse_bad(text, PATH ":2: port: ");
	}
	parse_bad("account a\nport\n", "not a port number");
}

static void
test_timeout(void **state)
{
	static const char *const bad[] = {
		"3s",
		"-5",
		"abc",
		"0",
		"86401",
		"1.5",
		"on",
	};
	struct account *list;
	char text[128];
	size_t i;

	list = parse_ok("account a\ntimeout off\naccount b\ntimeout 30\n"
			"account c\nconnect_timeout 86400\n");
	setting_is(list, "a", AF_TIMEOUT, "0");
	setting_is(list, "b", AF_TIMEOUT, "30");
	setting_is(list, "c", AF_TIMEOUT, "86400");
	assert_int_equal(account_num(account_find(list, "b"), AF_TIMEOUT), 30);
	assert_int_equal(account_num(account_find(list, "a"), AF_TIMEOUT), 0);
	account_free_list(list);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "account a\ntimeout %s\n", bad[i]);
		parse_bad(text, PATH ":2: timeout: ");
	}
}

static void
test_auth_values(void **state)
{
	static const char *const good[] = {
		"on",
		"off",
		"plain",
		"login",
		"cram-md5",
		"scram-sha-1",
		"scram-sha-256",
		"xoauth2",
		"oauthbearer",
		"PLAIN",
		"external",
	};
	struct account *list;
	char text[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "account a\nauth %s\n", good[i]);
		list = parse_ok(text);
		setting_is(list, "a", AF_AUTH, good[i]);
		account_free_list(list);
	}
	list = parse_ok("account a\nauth\n");
	setting_is(list, "a", AF_AUTH, "on");
	account_free_list(list);

	parse_bad("account a\nauth bogus\n",
	    PATH ":2: auth: unknown authentication method \"bogus\"");
	parse_bad("account a\nauth yes\n", "unknown authentication method");
	parse_bad("account a\nauth plain login\n",
	    "unknown authentication method");
}

static void
test_control_characters(void **state)
{
	static const char *const bad[] = {
		"account a\nhost mail\001example\n",
		"account a\nfrom a@b\033[31m\n",
		"account a\nuser x\ry\n",
		"account a\npassword \"x\by\"\n",
	};
	struct account *list;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i], "control character");
	parse_bad(bad[0], PATH ":2: host: ");

	/* A tab inside a value is fine. */
	list = parse_ok("account a\nuser x\ty\n");
	setting_is(list, "a", AF_USER, "x\ty");
	account_free_list(list);
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "account a\nhost x\0y\n";
	struct account *list = NULL;
	struct error err;

	assert_int_equal(parse_n(text, sizeof(text) - 1, &list, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_true(strstr(err.msg, PATH ":2: ") != NULL);
	assert_true(strstr(err.msg, "NUL") != NULL);
	assert_null(list);
}

static void
test_tilde(void **state)
{
	struct account *list;
	char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	setenv("HOME", "/home/tester", 1);
	list = parse_ok("account a\ntls_trust_file ~/ca.pem\n"
			"tls_cert_file /abs/~/x\ntls_key_file ~other/k\n"
			"tls_crl_file ~\n");
	setting_is(list, "a", AF_TLS_TRUST_FILE, "/home/tester/ca.pem");
	setting_is(list, "a", AF_TLS_CERT_FILE, "/abs/~/x");
	setting_is(list, "a", AF_TLS_KEY_FILE, "~other/k");
	setting_is(list, "a", AF_TLS_CRL_FILE, "/home/tester");
	account_free_list(list);
	if (old != NULL) {
		setenv("HOME", old, 1);
		free(old);
	} else
		unsetenv("HOME");
}

static void
test_append_to_list(void **state)
{
	struct account *list = NULL;
	struct error err;

	assert_int_equal(parse("account a\nhost a\n", &list, &err), 0);
	assert_int_equal(parse("account b\nhost b\n", &list, &err), 0);
	assert_string_equal(list->name, "a");
	assert_string_equal(list->next->name, "b");
	assert_string_equal(list->file, PATH);
	assert_int_equal(list->line, 1);
	account_free_list(list);

	/* A failed parse leaves the list as it was. */
	list = NULL;
	assert_int_equal(parse("account a\nhost a\n", &list, &err), 0);
	assert_int_equal(parse("account b\nbogus\n", &list, &err), -1);
	assert_null(list->next);
	account_free_list(list);
}

/*
 * Every account starts with the defaults, typed, and not marked as set:
 * inheritance copies only what a file said, and -P can tell the two apart.
 */
static void
test_defaults_typed(void **state)
{
	struct account *list, *a, *b;
	const char *v;

	list = parse_ok("defaults\nqueue on-failure\n"
			"account a\nhost a.example\n"
			"account b : a\nqueue_retry 1m 2h\nqueue_max_age 3h\n"
			"syslog LOG_MAIL\ndomain\nset_to_header "
			"undisclosed_recipients\nauth scram-sha-1\n"
			"protocol lmtp\ndsn_notify never\n");
	a = account_find(list, "a");
	b = account_find(list, "b");
	assert_non_null(a);
	assert_non_null(b);
	/* The defaults, typed. */
	assert_true(account_on(a, AF_TLS_STARTTLS));
	assert_false(account_on(a, AF_TLS));
	assert_true(account_on(a, AF_TLS_CERTCHECK));
	assert_true(account_on(a, AF_REMOVE_BCC_HEADERS));
	assert_true(account_on(a, AF_QUEUE_BACKGROUND));
	assert_int_equal(account_num(a, AF_PROXY_PORT), 1080);
	assert_int_equal(account_num(a, AF_TIMEOUT), 0);
	assert_int_equal(account_num(a, AF_QUEUE_RETRY), 300);
	assert_int_equal(account_num2(a, AF_QUEUE_RETRY), 4 * 3600);
	assert_int_equal(account_num(a, AF_QUEUE_MAX_AGE), 5 * 86400);
	assert_int_equal(account_num(a, AF_SET_DATE_HEADER), ACC_AUTO);
	assert_int_equal(account_num(a, AF_SET_TO_HEADER), ACC_OFF);
	assert_int_equal(account_num(a, AF_AUTH), ACC_OFF);
	assert_int_equal(account_num(a, AF_SYSLOG), ACC_OFF);
	assert_int_equal(account_num(a, AF_PROTOCOL), ACC_SMTP);
	assert_string_equal(account_str(a, AF_DOMAIN), "localhost");
	assert_string_equal(account_str(a, AF_TLS_TRUST_FILE), "system");
	assert_false(account_is_set(a, AF_TLS_STARTTLS));
	assert_false(account_is_set(a, AF_DOMAIN));
	assert_int_equal(account_port(a), 25);
	/* What defaults said is the account's, and set. */
	assert_int_equal(account_num(a, AF_QUEUE), ACC_ON_FAILURE);
	assert_true(account_is_set(a, AF_QUEUE));
	/* b inherits a's and its own, typed once. */
	assert_int_equal(account_num(b, AF_QUEUE), ACC_ON_FAILURE);
	assert_string_equal(account_str(b, AF_HOST), "a.example");
	assert_int_equal(account_num(b, AF_QUEUE_RETRY), 60);
	assert_int_equal(account_num2(b, AF_QUEUE_RETRY), 7200);
	assert_int_equal(account_num(b, AF_QUEUE_MAX_AGE), 3 * 3600);
	assert_int_equal(account_num(b, AF_SYSLOG), LOG_MAIL);
	assert_int_equal(account_num(b, AF_SET_TO_HEADER), ACC_UNDISCLOSED);
	assert_int_equal(account_num(b, AF_AUTH), ACC_MECHANISM);
	assert_string_equal(account_str(b, AF_AUTH), "scram-sha-1");
	assert_int_equal(account_num(b, AF_PROTOCOL), ACC_LMTP);
	assert_true(account_lmtp(b));
	assert_int_equal(account_num(b, AF_DSN_NOTIFY), ACC_NEVER);
	/* An empty domain brings the default back. */
	assert_string_equal(account_str(b, AF_DOMAIN), "localhost");
	assert_true(conf_default_of(AF_TLS_STARTTLS, &v));
	assert_string_equal(v, "on");
	assert_false(conf_default_of(AF_HOST, &v));
	account_free_list(list);
}

static void
test_conf_set(void **state)
{
	struct account *a = account_new("cli", "", 0);
	struct error err;

	assert_non_null(a);
	error_clear(&err);
	assert_int_equal(conf_set(a, "port", "2525", "--port: ", &err), 0);
	assert_string_equal(account_str(a, AF_PORT), "2525");
	assert_int_equal(conf_set(a, "port", "x", "--port: ", &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_int_equal(strncmp(err.msg, "--port: ", 8), 0);
	assert_int_equal(conf_set(a, "nosuch", "x", "", &err), -1);
	account_free(a);
}

static void
test_conf_set_option(void **state)
{
	struct account *a = account_new("cli", "", 0);
	struct error err;

	/* The same checks; errors are usage errors naming the option. */
	assert_non_null(a);
	error_clear(&err);
	assert_int_equal(
	    conf_set_option(a, "port", "587", "option --port", &err), 0);
	assert_string_equal(account_str(a, AF_PORT), "587");
	assert_int_equal(
	    conf_set_option(a, "timeout", "off", "option --timeout", &err), 0);
	assert_string_equal(account_str(a, AF_TIMEOUT), "0");

	assert_int_equal(conf_set_option(a, "port", "x", "option --port", &err),
	    -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_string_equal(err.msg,
	    "option --port: \"x\" is not a port number (1-65535)");
	assert_string_equal(account_str(a, AF_PORT), "587");

	error_clear(&err);
	assert_int_equal(conf_set_option(a, "tls_starttls", "maybe",
			     "option --tls-starttls", &err),
	    -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_non_null(strstr(err.msg, "option --tls-starttls: "));

	error_clear(&err);
	assert_int_equal(
	    conf_set_option(a, "host", "a\r\nb", "option --host", &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_non_null(strstr(err.msg, "control character"));

	error_clear(&err);
	assert_int_equal(
	    conf_set_option(a, "auth", "bogus", "option --auth", &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	account_free(a);
}

static void
test_table_sorted(void **state)
{
	assert_true(conf_table_sorted());
}

/* Write a configuration file with the given mode; returns its path. */
static char *
write_conf(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/outbox-test-conf-XXXXXX");
	int fd;
	size_t len = strlen(text);

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static int
load(const char *path, int user_file, struct error *err)
{
	struct account *list = NULL;
	int r;

	error_clear(err);
	r = conf_load(path, user_file, &list, err);
	account_free_list(list);
	return r;
}

/* RFC 7512 URIs are not file names: no ~ expansion, nothing else. */
static void
test_pkcs11_uri_kept(void **state)
{
	struct account *list;

	list = parse_ok("account a\n"
			"tls_cert_file pkcs11:token=~t;object=c;type=cert\n"
			"tls_key_file \"pkcs11:token=My%20Token;object=c\"\n");
	setting_is(list, "a", AF_TLS_CERT_FILE,
	    "pkcs11:token=~t;object=c;type=cert");
	setting_is(list, "a", AF_TLS_KEY_FILE,
	    "pkcs11:token=My%20Token;object=c");
	account_free_list(list);
}

/* proxy_password makes the file one that must be private. */
static void
test_proxy_password_private(void **state)
{
	struct error err;
	char *path;

	path = write_conf("account a\nhost x\nproxy_host p\nproxy_user u\n"
			  "proxy_password hunter3\n",
	    0644);
	assert_int_equal(load(path, 1, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_null(strstr(err.msg, "hunter3"));
	unlink(path);
	free(path);
	/* proxy_passwordeval does not. */
	path = write_conf("account a\nhost x\nproxy_host p\nproxy_user u\n"
			  "proxy_passwordeval echo hunter3\n",
	    0644);
	assert_int_equal(load(path, 1, &err), 0);
	unlink(path);
	free(path);
}

static void
test_permissions(void **state)
{
	static const char secret[] =
	    "account a\nhost x\nuser u\npassword hunter2\n";
	struct error err;
	char want[256];
	char *path;

	path = write_conf(secret, 0644);
	assert_int_equal(load(path, 1, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	snprintf(want, sizeof(want), "chmod 600 %s", path);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	assert_null(strstr(err.msg, "hunter2"));
	/* The system file is not checked. */
	assert_int_equal(load(path, 0, &err), 0);
	unlink(path);
	free(path);

	path = write_conf(secret, 0640);
	assert_int_equal(load(path, 1, &err), -1);
	assert_true(strstr(err.msg, "chmod 600") != NULL);
	unlink(path);
	free(path);

	path = write_conf(secret, 0600);
	if (load(path, 1, &err) != 0)
		fail_msg("mode 0600 refused: %s", err.msg);
	unlink(path);
	free(path);

	/* Owner execute is refused too: read and write only. */
	path = write_conf(secret, 0700);
	assert_int_equal(load(path, 1, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	unlink(path);
	free(path);

	path = write_conf(secret, 0400);
	assert_int_equal(load(path, 1, &err), 0);
	unlink(path);
	free(path);

	/* Without a password any mode is fine. */
	path = write_conf("account a\nhost x\n", 0644);
	assert_int_equal(load(path, 1, &err), 0);
	unlink(path);
	free(path);

	/* A missing file. */
	assert_int_equal(load("/nonexistent/outbox.conf", 1, &err), -1);
	assert_int_equal(err.kind, ERR_NOINPUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_inheritance),
		cmocka_unit_test(test_defaults_apply_to_later_accounts),
		cmocka_unit_test(test_account_default_alias),
		cmocka_unit_test(test_implicit_default),
		cmocka_unit_test(test_duplicate_account),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_ignored_and_old_spellings),
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_quoting_and_spacing),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_auth_values),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_tilde),
		cmocka_unit_test(test_append_to_list),
		cmocka_unit_test(test_defaults_typed),
		cmocka_unit_test(test_conf_set),
		cmocka_unit_test(test_conf_set_option),
		cmocka_unit_test(test_table_sorted),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_pkcs11_uri_kept),
		cmocka_unit_test(test_proxy_password_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
