/*
 * test_prepare.c: from a request to a ready submission: which account is
 * chosen, the from and domain substitutions, maildomain for bare names,
 * and the order in which defaults, accounts and options override.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "prepare.h"

static char dir[256];
static char conf[300];
static char msgfile[300];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/outbox-test-prepare-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/config", dir);
	snprintf(msgfile, sizeof(msgfile), "%s/message", dir);
	setenv("HOME", dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	setenv("USER", "alice", 1);
	setenv("HOSTNAME", "box.example", 1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* A request as argv would make it: -C conf, no message. */
static void
request(struct request *q)
{
	memset(q, 0, sizeof(*q));
	q->conffile = conf;
	q->msg_fd = -1;
}

/* Prepare with message text on the request's input; fd left open. */
static int
prepare_with(struct prepared *p, struct request *q, const char *message,
    struct error *err)
{
	memset(p, 0, sizeof(*p));
	error_clear(err);
	if (message != NULL) {
		write_file(msgfile, message);
		q->msg_fd = open(msgfile, O_RDONLY);
		assert_true(q->msg_fd >= 0);
	}
	return prepare(p, q, err);
}

static void
done(struct prepared *p, struct request *q)
{
	prepare_free(p);
	if (q->msg_fd >= 0)
		close(q->msg_fd);
	q->msg_fd = -1;
}

static const char accounts[] = "defaults\n"
			       "port 2525\n"
			       "tls off\n"
			       "\n"
			       "account default\n"
			       "host default.example\n"
			       "from alice@example.org\n"
			       "\n"
			       "account work\n"
			       "host work.example\n"
			       "from carol@work.example\n"
			       "port 587\n"
			       "\n"
			       "account lists : work\n"
			       "from *@lists.example\n"
			       "maildomain lists.example\n"
			       "\n"
			       "account pattern\n"
			       "host pattern.example\n"
			       "from %U@%H\n";

static void
test_account_choice(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;

	(void)state;
	write_file(conf, accounts);
	/* No -a, no sender: "default". */
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "default");
	assert_string_equal(p.sc.host, "default.example");
	assert_int_equal(p.sc.port, 2525);
	done(&p, &q);

	/* -a names one. */
	request(&q);
	q.account = "work";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "work");
	assert_int_equal(p.sc.port, 587);
	done(&p, &q);

	/* -f chooses the account whose from matches, +detail included. */
	request(&q);
	q.from = "carol+news@work.example";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "work");
	done(&p, &q);

	/* A pattern from matches too, case aside. */
	request(&q);
	q.from = "Bob@Lists.Example";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "lists");
	/* lists inherits work's host and port. */
	assert_string_equal(p.sc.host, "work.example");
	assert_int_equal(p.sc.port, 587);
	done(&p, &q);

	/* %U@%H expands before it is matched. */
	request(&q);
	q.from = "alice@box.example";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "pattern");
	done(&p, &q);

	/* No match: default. */
	request(&q);
	q.from = "nobody@elsewhere.example";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "default");
	done(&p, &q);

	/* -a wins over a matching -f. */
	request(&q);
	q.account = "default";
	q.from = "carol@work.example";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "default");
	done(&p, &q);

	/* An unknown account names itself and the files read. */
	request(&q);
	q.account = "nosuch";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "account nosuch not found in"));
	assert_non_null(strstr(err.msg, conf));
	/* Nothing near it: the hint lists the accounts there are. */
	assert_string_equal(err.hint,
	    "the accounts: default, work, lists, pattern");
	done(&p, &q);

	/* A typo: the hint names the nearest. */
	request(&q);
	q.account = "wrok";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_string_equal(err.hint, "did you mean -a work?");
	done(&p, &q);
}

static void
test_expansion(void **state)
{
	struct error err;
	char *s;

	(void)state;
	error_clear(&err);
	s = prepare_expand("%U@%H (%%) %F", "hdr@example.net", &err);
	assert_non_null(s);
	assert_string_equal(s, "alice@box.example (%) hdr@example.net");
	free(s);

	/* %C is a name for this host, never left as it was. */
	s = prepare_expand("%C", NULL, &err);
	assert_non_null(s);
	assert_true(*s != '\0');
	assert_null(strchr(s, '%'));
	free(s);

	/* An unknown sequence stays; a lone % at the end stays. */
	s = prepare_expand("a%Qb%", NULL, &err);
	assert_non_null(s);
	assert_string_equal(s, "a%Qb%");
	free(s);

	/* %F without a From field is the message's fault. */
	assert_null(prepare_expand("%F", NULL, &err));
	assert_int_equal(err.kind, ERR_DATA);

	/* %M reads the mail name of the system, or says it cannot. */
	error_clear(&err);
	s = prepare_expand("x@%M", NULL, &err);
	if (access(OUTBOX_SYSCONFDIR "/mailname", R_OK) == 0) {
		assert_non_null(s);
		assert_int_equal(strncmp(s, "x@", 2), 0);
		assert_null(strchr(s, '\n'));
	} else {
		assert_null(s);
		assert_int_equal(err.kind, ERR_CONFIG);
		assert_non_null(strstr(err.msg, "mailname"));
	}
	free(s);

	/* Without USER, LOGNAME names the user. */
	unsetenv("USER");
	setenv("LOGNAME", "bob", 1);
	s = prepare_expand("%U", NULL, &err);
	assert_non_null(s);
	assert_string_equal(s, "bob");
	free(s);
	setenv("USER", "alice", 1);
}

/*
 * $HOSTNAME with CR LF must never reach EHLO or the Message-ID: %H is
 * checked like the domain setting it fills, and the EHLO name itself.
 */
static void
test_hostname_checked(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;
	static char *const to[] = { "bob@example.net" };

	(void)state;
	setenv("HOSTNAME", "box.example\r\nMAIL FROM:<evil@example.net>", 1);
	error_clear(&err);
	assert_null(prepare_expand("%H", NULL, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "%H"));
	assert_non_null(strstr(err.msg, "control character"));
	assert_null(strstr(err.msg, "MAIL FROM"));
	/* Through domain, for a message: refused before any connection. */
	write_file(conf,
	    "account default\nhost mx.example\ntls off\n"
	    "from alice@example.org\ndomain %H\n");
	request(&q);
	q.rcpt = to;
	q.nrcpt = 1;
	assert_int_equal(prepare_with(&p, &q, "Subject: x\n\nbody\n", &err),
	    -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "%H"));
	done(&p, &q);
	setenv("HOSTNAME", "ho st.example", 1);
	error_clear(&err);
	assert_null(prepare_expand("x@%H", NULL, &err));
	setenv("HOSTNAME", "box.example", 1);
	error_clear(&err);
	write_file(conf,
	    "account default\nhost mx.example\ntls off\n"
	    "from alice@example.org\ndomain %H\n");
	request(&q);
	q.rcpt = to;
	q.nrcpt = 1;
	if (prepare_with(&p, &q, "Subject: x\n\nbody\n", &err) != 0)
		fail_msg("refused: %s", err.msg);
	assert_string_equal(p.helo, "box.example");
	done(&p, &q);
}

static void
test_envelope_and_maildomain(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;
	char *rcpt[] = { "root", "Carol <carol@example.net>, dave" };

	(void)state;
	write_file(conf,
	    "host h.example\n"
	    "from %U@%H\n"
	    "maildomain local.example\n"
	    "domain %H\n");
	request(&q);
	q.rcpt = rcpt;
	q.nrcpt = 2;
	assert_int_equal(prepare_with(&p, &q, "Subject: x\n\nbody\n", &err), 0);
	/* from expanded; the EHLO domain too. */
	assert_string_equal(p.from, "alice@box.example");
	assert_string_equal(p.sc.smtp.from, "alice@box.example");
	assert_string_equal(p.sc.smtp.helo, "box.example");
	/* Bare names get maildomain; each argument is an address list. */
	assert_int_equal(p.sc.smtp.nrcpt, 3);
	assert_string_equal(p.sc.smtp.rcpt[0], "root@local.example");
	assert_string_equal(p.sc.smtp.rcpt[1], "carol@example.net");
	assert_string_equal(p.sc.smtp.rcpt[2], "dave@local.example");
	done(&p, &q);

	/* A bare -f (cron's -f root) gets maildomain as well. */
	request(&q);
	q.rcpt = rcpt;
	q.nrcpt = 1;
	q.from = "root";
	assert_int_equal(prepare_with(&p, &q, "Subject: x\n\nbody\n", &err), 0);
	assert_string_equal(p.from, "root@local.example");
	done(&p, &q);

	/* Without maildomain a bare recipient is an error naming it. */
	write_file(conf, "host h.example\nfrom a@b.example\n");
	request(&q);
	q.rcpt = rcpt;
	q.nrcpt = 1;
	assert_int_equal(prepare_with(&p, &q, "Subject: x\n\nbody\n", &err),
	    -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "recipient root has no domain"));
	done(&p, &q);

	/* No recipient anywhere: a usage error. */
	request(&q);
	assert_int_equal(prepare_with(&p, &q, "Subject: x\n\nbody\n", &err),
	    -1);
	assert_int_equal(err.kind, ERR_USAGE);
	done(&p, &q);

	/* None given: the header names them, as -t would. */
	request(&q);
	assert_int_equal(prepare_with(&p, &q,
			     "To: x@example.net\nBcc: y@example.net\n\nb\n",
			     &err),
	    0);
	assert_int_equal(p.sc.smtp.nrcpt, 2);
	assert_string_equal(p.sc.smtp.rcpt[1], "y@example.net");
	done(&p, &q);
}

static void
test_override_order(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;
	struct cli_override ov[] = {
		{ "port", "port", "4650" },
		{ "tls", "tls", "on" },
		{ "tls-starttls", "tls_starttls", "off" },
	};

	(void)state;
	/* defaults < base account < the account < the command line. */
	write_file(conf,
	    "defaults\n"
	    "port 2525\n"
	    "timeout 30\n"
	    "tls_trust_file /dev/null\n"
	    "account base\n"
	    "host base.example\n"
	    "timeout 40\n"
	    "from a@b.example\n"
	    "account top : base\n"
	    "timeout 50\n");
	request(&q);
	q.account = "top";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.sc.host, "base.example");
	assert_int_equal(p.sc.port, 2525);
	assert_int_equal(p.sc.timeout, 50);
	assert_false(p.sc.tls);
	done(&p, &q);

	request(&q);
	q.account = "top";
	q.ov = ov;
	q.nov = 3;
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_int_equal(p.sc.port, 4650);
	assert_true(p.sc.tls);
	assert_false(p.sc.starttls);
	assert_true(p.sc.smtp.tls);
	assert_false(p.sc.smtp.starttls);
	assert_int_equal(p.sc.timeout, 50);
	done(&p, &q);

	/* An option's bad value is the command line's mistake. */
	ov[0].value = "x";
	request(&q);
	q.account = "top";
	q.ov = ov;
	q.nov = 1;
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	done(&p, &q);

	/* --host: the command line is the account; no file is read. */
	ov[0].name = "host";
	ov[0].option = "host";
	ov[0].value = "cli.example";
	request(&q);
	q.conffile = "/nonexistent/file";
	q.host_given = 1;
	q.ov = ov;
	q.nov = 1;
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "(command line)");
	assert_string_equal(p.sc.host, "cli.example");
	/* The port follows tls and tls_starttls when not given. */
	assert_int_equal(p.sc.port, 25);
	assert_null(p.conf_files);
	done(&p, &q);
}

static void
test_account_only_and_auth(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;

	(void)state;
	write_file(conf, "host h.example\nauth on\nuser u\n");
	/* -P stops at the account: no check, no password. */
	request(&q);
	q.account_only = 1;
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.acc->name, "default");
	assert_null(p.password);
	done(&p, &q);

	/* A send needs the password, and says which account lacks it. */
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "password"));
	assert_non_null(strstr(err.msg, "account default"));
	done(&p, &q);

	/* -S looks without logging in. */
	request(&q);
	q.info_only = 1;
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_true(p.sc.smtp.info_only);
	assert_null(p.sc.smtp.auth);
	done(&p, &q);
}

/*
 * SMTPSERVER and EMAIL: only when no account is chosen and none is named
 * default, in a file or without any.
 */
static void
test_environment_fallback(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;

	(void)state;
	setenv("SMTPSERVER", "env.example", 1);
	setenv("EMAIL", "env@example.org", 1);
	/* No file at all (HOME is empty): the environment's account. */
	request(&q);
	q.conffile = NULL;
	if (prepare_with(&p, &q, "To: r@example.net\n\nbody\n", &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(p.acc->name, "default");
	assert_string_equal(p.sc.host, "env.example");
	assert_int_equal(p.sc.port, 25);
	assert_string_equal(p.from, "env@example.org");
	assert_string_equal(conf_environment_source(p.acc, AF_HOST),
	    "SMTPSERVER");
	done(&p, &q);

	/* -f wins over EMAIL. */
	request(&q);
	q.conffile = NULL;
	q.from = "cli@example.org";
	assert_int_equal(
	    prepare_with(&p, &q, "To: r@example.net\n\nbody\n", &err), 0);
	assert_string_equal(p.from, "cli@example.org");
	done(&p, &q);

	/* A file with an account named default: that one. */
	write_file(conf, accounts);
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.sc.host, "default.example");
	done(&p, &q);

	/* A file without: the environment's, unless -a names one. */
	write_file(conf, "account work\nhost work.example\nfrom w@x.example\n");
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_string_equal(p.sc.host, "env.example");
	done(&p, &q);
	request(&q);
	q.account = "default";
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "account default not found"));
	done(&p, &q);

	/* No sender at all: said so. */
	unsetenv("EMAIL");
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "set EMAIL or give -f"));
	done(&p, &q);
	unsetenv("SMTPSERVER");
}

/* requiretls and the proxy's password reach the submission. */
static void
test_requiretls_and_proxy(void **state)
{
	struct prepared p;
	struct request q;
	struct error err;

	(void)state;
	write_file(conf,
	    "account default\nhost mx.example\nfrom a@x.example\n"
	    "tls on\nrequiretls on\nproxy_host 127.0.0.1\n"
	    "proxy_user carol\nproxy_passwordeval echo pr0xy\n");
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_true(p.sc.smtp.requiretls);
	assert_string_equal(p.sc.proxy_user, "carol");
	assert_string_equal(p.sc.proxy_password, "pr0xy");
	done(&p, &q);

	/* A -bs caller's REQUIRETLS, with an account that has tls off. */
	write_file(conf,
	    "account default\nhost mx.example\nfrom a@x.example\n");
	request(&q);
	q.requiretls = 1;
	assert_int_equal(prepare_with(&p, &q, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "requiretls needs tls on"));
	done(&p, &q);
	request(&q);
	assert_int_equal(prepare_with(&p, &q, NULL, &err), 0);
	assert_false(p.sc.smtp.requiretls);
	assert_null(p.sc.proxy_user);
	done(&p, &q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_choice),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_hostname_checked),
		cmocka_unit_test(test_envelope_and_maildomain),
		cmocka_unit_test(test_override_order),
		cmocka_unit_test(test_account_only_and_auth),
		cmocka_unit_test(test_environment_fallback),
		cmocka_unit_test(test_requiretls_and_proxy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
