/* test_cli.c: the command line: sendmail options and long options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

#define MAXARGS 32

/* Build argv from a NULL-terminated list; the strings are copied. */
struct args {
	int argc;
	char *argv[MAXARGS + 1];
};

static void
args_make(struct args *a, const char *const *list)
{
	a->argc = 0;
	a->argv[a->argc++] = strdup("/usr/sbin/sendmail");
	for (; *list != NULL; list++) {
		assert_true(a->argc < MAXARGS);
		a->argv[a->argc++] = strdup(*list);
	}
	a->argv[a->argc] = NULL;
}

static void
args_free(struct args *a)
{
	int i;

	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
}

/* Parse; the caller frees c->rcpt and the args. */
static int
run(struct cli *c, struct args *a, const char *const *list, struct error *err)
{
	args_make(a, list);
	error_clear(err);
	return cli_parse(c, a->argc, a->argv, err);
}

static void
ok(struct cli *c, struct args *a, const char *const *list)
{
	struct error err;

	if (run(c, a, list, &err) == -1)
		fail_msg("refused (%s): %s", list[0] ? list[0] : "", err.msg);
}

static void
done(struct cli *c, struct args *a)
{
	free(c->rcpt);
	args_free(a);
}

/* Parse a list that must be refused as a usage error holding `want'. */
static void
refused(const char *const *list, const char *want)
{
	struct cli c;
	struct args a;
	struct error err;

	if (run(&c, &a, list, &err) != -1)
		fail_msg("accepted: %s", list[0]);
	assert_int_equal(err.kind, ERR_USAGE);
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	done(&c, &a);
}

static void
expect_rcpts(const struct cli *c, const char *const *want)
{
	int i;

	for (i = 0; want[i] != NULL; i++) {
		assert_true(i < c->nrcpt);
		assert_string_equal(c->rcpt[i], want[i]);
	}
	assert_int_equal(c->nrcpt, i);
}

static const char *
override(const struct cli *c, const char *name)
{
	int i;
	const char *v = NULL;

	for (i = 0; i < c->nov; i++)
		if (strcmp(c->ov[i].name, name) == 0)
			v = c->ov[i].value;
	return v;
}

/* The long option an override came from. */
static const char *
option_of(const struct cli *c, const char *name)
{
	int i;
	const char *o = NULL;

	for (i = 0; i < c->nov; i++)
		if (strcmp(c->ov[i].name, name) == 0)
			o = c->ov[i].option;
	return o;
}

static void
test_plain(void **state)
{
	static const char *const list[] = { "a@example.org", "b@example.org",
		"c@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, list);
	assert_int_equal(c.mode, CLI_SEND);
	assert_string_equal(c.prog, "sendmail");
	expect_rcpts(&c, list);
	assert_null(c.from);
	assert_null(c.account);
	assert_null(c.conffile);
	assert_int_equal(c.verbose, 0);
	assert_int_equal(c.host_given, 0);
	assert_int_equal(c.nov, 0);
	done(&c, &a);
}

static void
test_glued_and_split(void **state)
{
	static const char *const glued[] = { "-ffrom@example.com",
		"-FCronDaemon", "-Cmy.conf", "-awork", "rcpt@example.org",
		NULL };
	static const char *const split[] = { "-f", "from@example.com", "-F",
		"Cron Daemon", "-C", "my.conf", "-a", "work",
		"rcpt@example.org", NULL };
	static const char *const r[] = { "rcpt@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, glued);
	assert_string_equal(c.from, "from@example.com");
	assert_string_equal(override(&c, "from_full_name"), "CronDaemon");
	assert_string_equal(c.conffile, "my.conf");
	assert_string_equal(c.account, "work");
	expect_rcpts(&c, r);
	done(&c, &a);

	ok(&c, &a, split);
	assert_string_equal(c.from, "from@example.com");
	assert_string_equal(override(&c, "from_full_name"), "Cron Daemon");
	assert_string_equal(c.conffile, "my.conf");
	assert_string_equal(c.account, "work");
	expect_rcpts(&c, r);
	done(&c, &a);
}

static void
test_r_is_from(void **state)
{
	static const char *const list[] = { "-r", "bounce@example.com",
		"x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, list);
	assert_string_equal(c.from, "bounce@example.com");
	done(&c, &a);
}

static void
test_ignored_sendmail_options(void **state)
{
	static const char *const list[] = { "-oi", "-oem", "-odi", "-odb", "-i",
		"-B8BITMIME", "-B", "7BIT", "-G", "-m", "-n", "-h", "5", "-L",
		"tag", "-O", "DeliveryMode=b", "-A", "c", "-bm", "-o", "i",
		"x@example.org", NULL };
	static const char *const r[] = { "x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, list);
	/* The split arguments were taken as values, not recipients. */
	expect_rcpts(&c, r);
	assert_int_equal(c.mode, CLI_SEND);
	assert_int_equal(c.nov, 0);
	assert_null(c.from);
	done(&c, &a);
}

static void
test_b_mode(void **state)
{
	static const char *const bm[] = { "-bm", "x@example.org", NULL };
	static const char *const bm_split[] = { "-b", "m", "x@example.org",
		NULL };
	static const char *const bp[] = { "-bp", NULL };
	static const char *const bs[] = { "-bs", "-odb", "-oem", NULL };
	static const char *const bs_rcpt[] = { "-bs", "x@example.org", NULL };
	static const char *const bd[] = { "-bd", NULL };
	static const char *const bi[] = { "-bi", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, bm);
	assert_int_equal(c.nrcpt, 1);
	done(&c, &a);
	ok(&c, &a, bm_split);
	assert_int_equal(c.nrcpt, 1);
	done(&c, &a);
	ok(&c, &a, bp);
	assert_int_equal(c.mode, CLI_QUEUE_LIST);
	done(&c, &a);
	ok(&c, &a, bs);
	assert_int_equal(c.mode, CLI_BSMTP);
	assert_int_equal(c.nrcpt, 0);
	done(&c, &a);
	refused(bs_rcpt, "-bs");
	refused(bd, "-bd");
	ok(&c, &a, bi);
	assert_int_equal(c.mode, CLI_NEWALIASES);
	done(&c, &a);
}

static void
test_queue_later_dsn_options(void **state)
{
	static const char *const q[] = { "-q", NULL };
	static const char *const q1h[] = { "-q1h", NULL };
	static const char *const n[] = { "-N", "success,failure",
		"x@example.org", NULL };
	static const char *const ng[] = { "-Nnever", "x@example.org", NULL };
	static const char *const r[] = { "-R", "hdrs", "x@example.org", NULL };
	static const char *const rf[] = { "-Rfull", "x@example.org", NULL };
	static const char *const v[] = { "-V", "envid", "x@example.org", NULL };
	static const char *const vglued[] = { "-Va+b", NULL };
	static const char *const v100[] = { "-V",
		"++++++++++++++++++++++++++++++++=x", NULL };
	static const char *const v101[] = { "-V",
		"++++++++++++++++++++++++++++++++=xy", NULL };
	static const char *const vempty[] = { "-V", "", NULL };
	struct cli c;
	struct args a;

	static const char *const qf[] = { "-qf", NULL };
	static const char *const qi[] = { "-qIABC", NULL };
	static const char *const qr[] = { "-qRbob@", NULL };
	static const char *const qs[] = { "-qSalice", NULL };
	static const char *const qbare[] = { "-qI", NULL };
	static const char *const qrcpt[] = { "-q", "x@example.org", NULL };
	static const char *const flush[] = { "--flush", NULL };
	static const char *const drop[] = { "--queue-drop=ABC", NULL };
	static const char *const qrun[] = { "--queue-run", NULL };
	static const char *const qrunrcpt[] = { "--queue-run", "x@example.org",
		NULL };

	ok(&c, &a, q);
	assert_int_equal(c.mode, CLI_QUEUE_RUN);
	assert_int_equal(c.queue_by, 0);
	/* -q sends everything now; --queue-run what the schedule says. */
	assert_int_equal(c.queue_due_only, 0);
	done(&c, &a);
	ok(&c, &a, qrun);
	assert_int_equal(c.mode, CLI_QUEUE_RUN);
	assert_int_equal(c.queue_due_only, 1);
	refused(qrunrcpt, "--queue-run takes no recipients");
	done(&c, &a);
	ok(&c, &a, qf);
	assert_int_equal(c.mode, CLI_QUEUE_RUN);
	done(&c, &a);
	ok(&c, &a, flush);
	assert_int_equal(c.mode, CLI_QUEUE_RUN);
	done(&c, &a);
	ok(&c, &a, qi);
	assert_int_equal(c.queue_by, 'I');
	assert_string_equal(c.queue_match, "ABC");
	done(&c, &a);
	ok(&c, &a, qr);
	assert_int_equal(c.queue_by, 'R');
	assert_string_equal(c.queue_match, "bob@");
	done(&c, &a);
	ok(&c, &a, qs);
	assert_int_equal(c.queue_by, 'S');
	done(&c, &a);
	ok(&c, &a, drop);
	assert_int_equal(c.mode, CLI_QUEUE_DROP);
	assert_string_equal(c.queue_match, "ABC");
	done(&c, &a);
	/* A daemon's interval is for a timer to keep. */
	refused(q1h, "timer");
	refused(qbare, "needs what to match");
	refused(qrcpt, "-q takes no recipients");
	ok(&c, &a, n);
	assert_string_equal(override(&c, "dsn_notify"), "success,failure");
	assert_string_equal(c.ov[0].option, "-N");
	done(&c, &a);
	ok(&c, &a, ng);
	assert_string_equal(override(&c, "dsn_notify"), "never");
	done(&c, &a);
	/* sendmail's "hdrs" is the setting's "headers". */
	ok(&c, &a, r);
	assert_string_equal(override(&c, "dsn_return"), "headers");
	done(&c, &a);
	ok(&c, &a, rf);
	assert_string_equal(override(&c, "dsn_return"), "full");
	done(&c, &a);
	/* -V gives the envelope identifier (RFC 3461 4.4). */
	ok(&c, &a, v);
	assert_int_equal(c.nov, 0);
	assert_int_equal(c.nrcpt, 1);
	assert_string_equal(c.envid, "envid");
	done(&c, &a);
	ok(&c, &a, vglued);
	assert_string_equal(c.envid, "a+b");
	done(&c, &a);
	/* 100 characters once encoded, at most: "+" takes three. */
	ok(&c, &a, v100);
	done(&c, &a);
	refused(v101, "envelope identifier");
	refused(vempty, "envelope identifier");
}

static void
test_read_recipients(void **state)
{
	static const char *const t[] = { "-t", NULL };
	static const char *const ti[] = { "-ti", NULL };
	static const char *const it[] = { "-it", "x@example.org", NULL };
	static const char *const longform[] = { "--read-recipients", NULL };
	static const char *const *const all[] = { t, ti, it, longform };
	struct cli c;
	struct args a;
	size_t i;

	for (i = 0; i < 4; i++) {
		ok(&c, &a, all[i]);
		assert_int_equal(c.read_recipients, 1);
		done(&c, &a);
	}
}

static void
test_envelope_from_and_modes(void **state)
{
	static const char *const ref[] = { "--read-envelope-from",
		"x@example.org", NULL };
	static const char *const both[] = { "--read-envelope-from", "-f",
		"a@example.org", "x@example.org", NULL };
	static const char *const s[] = { "-S", NULL };
	static const char *const p[] = { "--pretend", NULL };
	static const char *const srcpt[] = { "-S", "x@example.org", NULL };
	static const char *const rmqs[] = { "--rmqs", "#q1", NULL };
	static const char *const rmqs_empty[] = { "--rmqs=", NULL };
	static const char *const rmqs_rcpt[] = { "--rmqs=@x.example",
		"x@example.org", NULL };
	static const char *const settings[] = { "--set-from-header",
		"--undisclosed-recipients", "--logfile=-", "--aliases",
		"/etc/aliases", "x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, ref);
	assert_int_equal(c.read_envelope_from, 1);
	done(&c, &a);
	refused(both, "both -f and --read-envelope-from");
	ok(&c, &a, s);
	assert_int_equal(c.mode, CLI_SERVERINFO);
	done(&c, &a);
	ok(&c, &a, p);
	assert_int_equal(c.mode, CLI_PRETEND);
	done(&c, &a);
	refused(srcpt, "-S takes no recipients");
	refused(rmqs_empty, "--rmqs needs a host");
	refused(rmqs_rcpt, "--rmqs takes no recipients");
	ok(&c, &a, rmqs);
	assert_int_equal(c.mode, CLI_RMQS);
	assert_string_equal(c.rmqs, "#q1");
	done(&c, &a);
	ok(&c, &a, settings);
	assert_string_equal(override(&c, "set_from_header"), "");
	assert_string_equal(override(&c, "undisclosed_recipients"), "");
	assert_string_equal(override(&c, "logfile"), "-");
	assert_string_equal(override(&c, "aliases"), "/etc/aliases");
	assert_int_equal(c.nrcpt, 1);
	done(&c, &a);
}

static void
test_clusters(void **state)
{
	static const char *const vi[] = { "-vi", "x@example.org", NULL };
	static const char *const ivf[] = { "-ivf", "me@example.com",
		"x@example.org", NULL };
	static const char *const ifglued[] = { "-iffrom@example.com",
		"x@example.org", NULL };
	static const char *const r[] = { "x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, vi);
	assert_int_equal(c.verbose, 1);
	expect_rcpts(&c, r);
	done(&c, &a);

	ok(&c, &a, ivf);
	assert_int_equal(c.verbose, 1);
	assert_string_equal(c.from, "me@example.com");
	expect_rcpts(&c, r);
	done(&c, &a);

	ok(&c, &a, ifglued);
	assert_string_equal(c.from, "from@example.com");
	expect_rcpts(&c, r);
	done(&c, &a);
}

static void
test_verbose(void **state)
{
	static const char *const list[] = { "-v", "-d", "--debug", "-v",
		"x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, list);
	assert_int_equal(c.verbose, 4);
	assert_int_equal(c.nrcpt, 1);
	done(&c, &a);
}

static void
test_double_dash(void **state)
{
	static const char *const list[] = { "-f", "me@example.com", "--", "-X",
		"--host=evil", "-t", "x@example.org", NULL };
	static const char *const r[] = { "-X", "--host=evil", "-t",
		"x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, list);
	expect_rcpts(&c, r);
	assert_int_equal(c.host_given, 0);
	assert_int_equal(c.nov, 0);
	assert_string_equal(c.from, "me@example.com");
	done(&c, &a);
}

static void
test_long_options(void **state)
{
	static const char *const eq[] = { "--from=me@example.com",
		"--account=work", "--file=/etc/x.conf", "--port=2525",
		"--timeout=5", "--auth=plain", "--user=u", "--tls=off",
		"--tls-starttls", "x@example.org", NULL };
	static const char *const split[] = { "--from", "me@example.com",
		"--account", "work", "--file", "/etc/x.conf", "--port", "2525",
		"--timeout", "5", "--user", "u", "x@example.org", NULL };
	static const char *const r[] = { "x@example.org", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, eq);
	assert_string_equal(c.from, "me@example.com");
	assert_string_equal(c.account, "work");
	assert_string_equal(c.conffile, "/etc/x.conf");
	assert_string_equal(override(&c, "port"), "2525");
	assert_string_equal(override(&c, "timeout"), "5");
	assert_string_equal(override(&c, "auth"), "plain");
	assert_string_equal(override(&c, "user"), "u");
	assert_string_equal(override(&c, "tls"), "off");
	/* An optional value left out is the empty string: on. */
	assert_string_equal(override(&c, "tls_starttls"), "");
	/* Each override remembers the option it came from, for messages. */
	assert_string_equal(option_of(&c, "tls_starttls"), "tls-starttls");
	assert_string_equal(option_of(&c, "port"), "port");
	assert_int_equal(c.host_given, 0);
	expect_rcpts(&c, r);
	done(&c, &a);

	ok(&c, &a, split);
	assert_string_equal(c.from, "me@example.com");
	assert_string_equal(c.account, "work");
	assert_string_equal(c.conffile, "/etc/x.conf");
	assert_string_equal(override(&c, "port"), "2525");
	assert_string_equal(override(&c, "timeout"), "5");
	assert_string_equal(override(&c, "user"), "u");
	expect_rcpts(&c, r);
	done(&c, &a);
}

static void
test_host(void **state)
{
	static const char *const eq[] = { "--host=mx.example", "x@example.org",
		NULL };
	static const char *const split[] = { "--host", "mx.example",
		"x@example.org", NULL };
	static const char *const with_a[] = { "--host=mx.example", "-a", "work",
		"x@example.org", NULL };
	static const char *const a_first[] = { "--account=work", "--host",
		"mx.example", "x@example.org", NULL };
	static const char *const missing[] = { "--host", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, eq);
	assert_int_equal(c.host_given, 1);
	assert_string_equal(override(&c, "host"), "mx.example");
	assert_int_equal(c.nrcpt, 1);
	done(&c, &a);

	ok(&c, &a, split);
	assert_int_equal(c.host_given, 1);
	assert_string_equal(override(&c, "host"), "mx.example");
	assert_int_equal(c.nrcpt, 1);
	done(&c, &a);

	refused(with_a, "--host");
	refused(a_first, "--account");
	refused(missing, "needs a value");
}

static void
test_help_version(void **state)
{
	static const char *const help[] = { "--help", NULL };
	static const char *const version[] = { "--version", NULL };
	static const char *const help_value[] = { "--help=yes", NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, help);
	assert_int_equal(c.mode, CLI_HELP);
	done(&c, &a);
	ok(&c, &a, version);
	assert_int_equal(c.mode, CLI_VERSION);
	done(&c, &a);
	refused(help_value, "takes no value");
}

static void
test_unknown_options(void **state)
{
	static const char *const z[] = { "-Z", "x@example.org", NULL };
	static const char *const cluster[] = { "-iZ", "x@example.org", NULL };
	static const char *const lng[] = { "--bogus", "x@example.org", NULL };
	static const char *const lng_eq[] = { "--bogus=1", NULL };
	static const char *const prefix[] = { "--hos=x", NULL };
	static const char *const f_missing[] = { "x@example.org", "-f", NULL };
	static const char *const c_missing[] = { "-C", NULL };

	refused(z, "unknown option -Z");
	refused(cluster, "unknown option -Z");
	refused(lng, "unknown option --bogus");
	refused(lng_eq, "unknown option --bogus");
	/* Long options are not abbreviated. */
	refused(prefix, "unknown option --hos");
	refused(f_missing, "-f needs a value");
	refused(c_missing, "-C needs a value");
}

static void
test_x_ignored(void **state)
{
	char path[] = "/tmp/outbox-test-cli-XXXXXX";
	char logfile[64];
	const char *list[] = { "-X", NULL, "-oi", "x@example.org", NULL };
	const char *glued[] = { NULL, "x@example.org", NULL };
	char gluedarg[80];
	static const char *const r[] = { "x@example.org", NULL };
	struct stat st;
	struct cli c;
	struct args a;

	assert_non_null(mkdtemp(path));
	snprintf(logfile, sizeof(logfile), "%s/traffic.log", path);
	list[1] = logfile;
	ok(&c, &a, list);
	expect_rcpts(&c, r);
	done(&c, &a);

	snprintf(gluedarg, sizeof(gluedarg), "-X%s", logfile);
	glued[0] = gluedarg;
	ok(&c, &a, glued);
	expect_rcpts(&c, r);
	done(&c, &a);

	/* Never written, never even created. */
	assert_int_equal(stat(logfile, &st), -1);
	assert_int_equal(rmdir(path), 0);
}

static void
test_recipient_order(void **state)
{
	static const char *const list[] = { "z@example.org", "-f",
		"me@example.com", "a@example.org", "-oi", "m@example.org",
		NULL };
	static const char *const r[] = { "z@example.org", "a@example.org",
		"m@example.org", NULL };
	static const char *const none[] = { "-oi", "-f", "me@example.com",
		NULL };
	struct cli c;
	struct args a;

	ok(&c, &a, list);
	expect_rcpts(&c, r);
	assert_string_equal(c.from, "me@example.com");
	done(&c, &a);

	/* No recipients is not cli_parse's error; main says so. */
	ok(&c, &a, none);
	assert_int_equal(c.nrcpt, 0);
	done(&c, &a);
}

static void
test_prog_name(void **state)
{
	char *argv[] = { "outbox", "x@example.org", NULL };
	char *noslash[] = { "/a/b/mailq", NULL };
	char *newaliases[] = { "/usr/sbin/newaliases", NULL };
	struct cli c;
	struct error err;

	error_clear(&err);
	assert_int_equal(cli_parse(&c, 2, argv, &err), 0);
	assert_string_equal(c.prog, "outbox");
	free(c.rcpt);
	assert_int_equal(cli_parse(&c, 1, noslash, &err), 0);
	assert_string_equal(c.prog, "mailq");
	/* Installed as mailq, it lists the queue. */
	assert_int_equal(c.mode, CLI_QUEUE_LIST);
	free(c.rcpt);
	assert_int_equal(cli_parse(&c, 1, newaliases, &err), 0);
	assert_int_equal(c.mode, CLI_NEWALIASES);
	free(c.rcpt);
}

static void
test_usage(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	cli_usage(fp, "outbox");
	fclose(fp);
	assert_true(strncmp(text, "usage: outbox ", 14) == 0);
	assert_non_null(strstr(text, "--host"));
	free(text);
}

/* --write and --yes go with --configure, --yes with --write. */
static void
test_configure_write(void **state)
{
	struct cli c;
	struct args a;
	const char *const full[] = { "--configure=alice@example.org", "--write",
		"--yes", "-a", "mine", "-C", "/tmp/f",
		"--passwordeval=pass mail", NULL };
	const char *const bare[] = { "--configure", "alice@example.org", NULL };
	const char *const write_only[] = { "--write", "bob@example.org", NULL };
	const char *const yes_only[] = { "--configure=a@example.org", "--yes",
		NULL };
	const char *const check_write[] = { "--check", "--write", NULL };
	const char *const write_value[] = { "--configure=a@example.org",
		"--write=/tmp/f", NULL };

	(void)state;
	ok(&c, &a, full);
	assert_int_equal(c.mode, CLI_CONFIGURE);
	assert_string_equal(c.configure, "alice@example.org");
	assert_int_equal(c.configure_write, 1);
	assert_int_equal(c.configure_yes, 1);
	assert_string_equal(c.account, "mine");
	assert_string_equal(c.conffile, "/tmp/f");
	assert_string_equal(override(&c, "passwordeval"), "pass mail");
	done(&c, &a);
	ok(&c, &a, bare);
	assert_int_equal(c.configure_write, 0);
	assert_int_equal(c.configure_yes, 0);
	done(&c, &a);
	refused(write_only, "--write goes with --configure only");
	refused(yes_only, "--yes goes with --write only");
	refused(check_write, "--write goes with --configure only");
	refused(write_value, "option --write takes no value");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_glued_and_split),
		cmocka_unit_test(test_r_is_from),
		cmocka_unit_test(test_ignored_sendmail_options),
		cmocka_unit_test(test_b_mode),
		cmocka_unit_test(test_queue_later_dsn_options),
		cmocka_unit_test(test_envelope_from_and_modes),
		cmocka_unit_test(test_read_recipients),
		cmocka_unit_test(test_clusters),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_configure_write),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_long_options),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_x_ignored),
		cmocka_unit_test(test_recipient_order),
		cmocka_unit_test(test_prog_name),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
