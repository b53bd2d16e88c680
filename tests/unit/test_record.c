/* test_record.c: the one-line record of a send attempt. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "record.h"

/* 2026-11-22 14:06:59 UTC, the time of the observed lines below. */
#define NOW ((time_t)1795356419)

static const char *const one[] = { "r@example.com" };

/* The record of a plain successful send; tests change what they need. */
static struct record
base(void)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.host = "127.0.0.1";
	r.from = "a@example.com";
	r.rcpt = one;
	r.nrcpt = 1;
	r.mailsize = -1;
	r.exitcode = "EX_OK";
	return r;
}

/* Format r with timefmt and compare with want. */
static void
line_is(const struct record *r, const char *timefmt, const char *want)
{
	struct error err;
	char *line;

	error_clear(&err);
	line = record_format(r, timefmt, NOW, &err);
	if (line == NULL)
		fail_msg("refused: %s", err.msg);
	assert_string_equal(line, want);
	free(line);
}

static int
setup_utc(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* Observed: a successful send carries mailsize and the final reply. */
static void
test_success(void **state)
{
	struct record r = base();

	r.mailsize = 137;
	r.smtpstatus = 250;
	r.smtpmsg = "250 ok id=1";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com mailsize=137 smtpstatus=250 "
	    "smtpmsg='250 ok id=1' exitcode=EX_OK");
}

/*
 * Observed: a 5xx to RCPT.  Reply lines are joined by the two characters
 * backslash and n; a quote in a quoted value becomes '?', but the
 * recipients list is printed as it is.
 */
static void
test_recipient_refused(void **state)
{
	static const char *const rcpt[] = { "o'brien@example.com" };
	struct record r = base();

	r.rcpt = rcpt;
	r.smtpstatus = 550;
	r.smtpmsg = "550-5.1.1 no such user\n550 it's gone";
	r.errormsg = "recipient address o'brien@example.com not accepted by "
		     "the server";
	r.exitcode = "EX_DATAERR";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=o'brien@example.com smtpstatus=550 "
	    "smtpmsg='550-5.1.1 no such user\\n550 it?s gone' "
	    "errormsg='recipient address o?brien@example.com not accepted "
	    "by the server' exitcode=EX_DATAERR");
}

/* Observed: all recipients, comma-separated, in the order given. */
static void
test_second_recipient_refused(void **state)
{
	static const char *const rcpt[] = { "r1@example.com",
		"r2@example.com" };
	struct record r = base();

	r.rcpt = rcpt;
	r.nrcpt = 2;
	r.smtpstatus = 550;
	r.smtpmsg = "550 5.1.1 bad";
	r.errormsg = "recipient address r2@example.com not accepted by the "
		     "server";
	r.exitcode = "EX_DATAERR";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r1@example.com,r2@example.com smtpstatus=550 "
	    "smtpmsg='550 5.1.1 bad' errormsg='recipient address "
	    "r2@example.com not accepted by the server' exitcode=EX_DATAERR");
}

/* Observed: a timeout has neither mailsize nor a reply. */
static void
test_timeout(void **state)
{
	struct record r = base();

	r.errormsg = "network read error: the operation timed out";
	r.exitcode = "EX_TEMPFAIL";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com errormsg='network read error: the "
	    "operation timed out' exitcode=EX_TEMPFAIL");
}

/* Observed: a 4xx after the final dot. */
static void
test_refused_after_data(void **state)
{
	struct record r = base();

	r.smtpstatus = 451;
	r.smtpmsg = "451 4.7.1 greylisted";
	r.errormsg = "the server did not accept the mail";
	r.exitcode = "EX_TEMPFAIL";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com smtpstatus=451 "
	    "smtpmsg='451 4.7.1 greylisted' errormsg='the server did not "
	    "accept the mail' exitcode=EX_TEMPFAIL");
}

/* Observed: socket= takes the place of host=. */
static void
test_socket(void **state)
{
	struct record r = base();

	r.host = NULL;
	r.socket = "/run/smtp.sock";
	r.errormsg = "cannot connect to /run/smtp.sock: No such file or "
		     "directory";
	r.exitcode = "EX_TEMPFAIL";
	line_is(&r, "none",
	    "socket=/run/smtp.sock tls=off auth=off from=a@example.com "
	    "recipients=r@example.com errormsg='cannot connect to "
	    "/run/smtp.sock: No such file or directory' exitcode=EX_TEMPFAIL");
}

/* Observed: the null sender is an empty from=. */
static void
test_null_sender(void **state)
{
	struct record r = base();

	r.from = "";
	r.mailsize = 14;
	r.smtpstatus = 250;
	r.smtpmsg = "250 ok id=1";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from= recipients=r@example.com "
	    "mailsize=14 smtpstatus=250 smtpmsg='250 ok id=1' exitcode=EX_OK");
}

/* Observed: user= only with auth on and a user name. */
static void
test_user_only_with_auth(void **state)
{
	struct record r = base();

	r.user = "bob";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com exitcode=EX_OK");
	r.auth = 1;
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=on user=bob from=a@example.com "
	    "recipients=r@example.com exitcode=EX_OK");
	r.user = "";
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=on from=a@example.com "
	    "recipients=r@example.com exitcode=EX_OK");
	r.user = NULL;
	r.tls = 1;
	line_is(&r, "none",
	    "host=127.0.0.1 tls=on auth=on from=a@example.com "
	    "recipients=r@example.com exitcode=EX_OK");
}

/* Observed: an empty message has mailsize=0; -1 leaves it out. */
static void
test_mailsize_zero(void **state)
{
	struct record r = base();

	r.mailsize = 0;
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com mailsize=0 exitcode=EX_OK");
}

/* A status without text still gives the pair. */
static void
test_status_without_text(void **state)
{
	struct record r = base();

	r.smtpstatus = 250;
	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com smtpstatus=250 smtpmsg='' "
	    "exitcode=EX_OK");
}

/* Format only the reply text and compare what lands between the quotes. */
static void
smtpmsg_is(const char *text, const char *want)
{
	struct record r = base();
	struct error err;
	char *line, *p, *q;

	r.smtpstatus = 250;
	r.smtpmsg = text;
	line = record_format(&r, "none", NOW, &err);
	assert_non_null(line);
	p = strstr(line, "smtpmsg='");
	assert_non_null(p);
	p += strlen("smtpmsg='");
	q = strstr(p, "' exitcode=EX_OK");
	assert_non_null(q);
	*q = '\0';
	assert_string_equal(p, want);
	free(line);
}

/* Observed: quotes become '?', double quotes stay. */
static void
test_quotes(void **state)
{
	smtpmsg_is("250-first line\n250-it's \"quoted\"\n250 third",
	    "250-first line\\n250-it?s \"quoted\"\\n250 third");
}

/* Observed: every control character, DEL included, becomes '?'. */
static void
test_controls(void **state)
{
	smtpmsg_is("250 a\tb\001c\177d\033[31mf", "250 a?b?c?d?[31mf");
	smtpmsg_is("250 g\vh\fi\bj\rk\037l m~", "250 g?h?i?j?k?l m~");
}

/* Observed: a backslash is printed as it is, even before an n. */
static void
test_backslash(void **state)
{
	smtpmsg_is("250 back\\slash \\n not newline %s %n",
	    "250 back\\slash \\n not newline %s %n");
}

/*
 * UTF-8 text passes (observed).  Safer than observed: bytes that are not
 * UTF-8, C1 controls and bidirectional overrides were printed raw and are
 * '?' here, one per character.
 */
static void
test_non_ascii(void **state)
{
	smtpmsg_is("250 d\303\251e \360\237\223\254",
	    "250 d\303\251e \360\237\223\254");
	smtpmsg_is("250 a\200b\377c", "250 a?b?c");
	smtpmsg_is("250 csi\233[2J", "250 csi?[2J");
	smtpmsg_is("250 csi\302\233[2J", "250 csi?[2J");
	smtpmsg_is("250 \342\200\256evil", "250 ?evil");
	smtpmsg_is("250 \342\200\250sep \342\201\246iso", "250 ?sep ?iso");
	smtpmsg_is("250 long\300\257", "250 long??");
	smtpmsg_is("250 sur\355\240\200", "250 sur???");
	smtpmsg_is("250 big\364\220\200\200", "250 big????");
	smtpmsg_is("250 cut\303", "250 cut?");
	smtpmsg_is("250 cut\342\202", "250 cut??");
}

/*
 * Safer than observed: a newline outside the reply text cannot start a
 * new line either.  Unquoted fields keep their quotes.
 */
static void
test_newline_elsewhere(void **state)
{
	static const char *const rcpt[] = { "x\n@example.com", "y'@e" };
	struct record r = base();

	r.host = "h\nx";
	r.from = "a\r\nb";
	r.rcpt = rcpt;
	r.nrcpt = 2;
	r.errormsg = "one\ntwo 'q'";
	r.exitcode = "EX_IOERR";
	line_is(&r, "none",
	    "host=h?x tls=off auth=off from=a??b "
	    "recipients=x?@example.com,y'@e errormsg='one?two ?q?' "
	    "exitcode=EX_IOERR");
}

/* Observed: the default time format, in local time. */
static void
test_time_default(void **state)
{
	struct record r = base();

	line_is(&r, NULL,
	    "Nov 22 14:06:59 host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
	line_is(&r, "",
	    "Nov 22 14:06:59 host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
	line_is(&r, "%b %d %H:%M:%S",
	    "Nov 22 14:06:59 host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
}

/* Observed: any strftime format. */
static void
test_time_custom(void **state)
{
	struct record r = base();

	line_is(&r, "%Y-%m-%dT%H:%M:%S%z",
	    "2026-11-22T14:06:59+0000 host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
	line_is(&r, "%p",
	    "PM host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
}

/* Observed: a trailing '%' and an unknown conversion print as they are. */
static void
test_time_stray_percent(void **state)
{
	struct record r = base();

	line_is(&r, "%H%",
	    "14% host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
	line_is(&r, "%H%%",
	    "14% host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
	line_is(&r, "%H %Q",
	    "14 %Q host=127.0.0.1 tls=off auth=off "
	    "from=a@example.com recipients=r@example.com exitcode=EX_OK");
}

/* "none" leaves the time out (the observed version printed "none"). */
static void
test_time_none(void **state)
{
	struct record r = base();

	line_is(&r, "none",
	    "host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com exitcode=EX_OK");
}

/* Safer than observed: %n and %t in the format cannot break the line. */
static void
test_time_controls(void **state)
{
	struct record r = base();

	line_is(&r, "%H%n%t'x",
	    "14?\?'x host=127.0.0.1 tls=off auth=off from=a@example.com "
	    "recipients=r@example.com exitcode=EX_OK");
}

/* Observed: a time of 127 bytes is printed, one of 128 is refused. */
static void
test_time_too_long(void **state)
{
	struct record r = base();
	char fmt[RECORD_TIME_MAX + 2];
	struct error err;
	char *line;

	memset(fmt, 'x', RECORD_TIME_MAX);
	fmt[RECORD_TIME_MAX] = '\0';
	line = record_format(&r, fmt, NOW, &err);
	assert_non_null(line);
	assert_int_equal(strlen(line),
	    RECORD_TIME_MAX + 1 +
		strlen("host=127.0.0.1 tls=off auth=off from=a@example.com "
		       "recipients=r@example.com exitcode=EX_OK"));
	free(line);

	strcat(fmt, "x");
	error_clear(&err);
	assert_null(record_format(&r, fmt, NOW, &err));
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "logfile_time_format"));
	/* Then the caller prints the line without the time. */
	line = record_format(&r, "none", NOW, &err);
	assert_non_null(line);
	free(line);
}

/* A line past RECORD_LINE_MAX is refused, not cut. */
static void
test_line_too_long(void **state)
{
	struct record r = base();
	const char *rcpt[1];
	struct error err;
	char *big;

	big = malloc(RECORD_LINE_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', RECORD_LINE_MAX);
	big[RECORD_LINE_MAX] = '\0';
	rcpt[0] = big;
	r.rcpt = rcpt;
	error_clear(&err);
	assert_null(record_format(&r, "none", NOW, &err));
	assert_int_equal(err.kind, ERR_DATA);
	assert_non_null(strstr(err.msg, "longer than"));
	free(big);
}

/* A fresh directory for files; removed by rm_tmp. */
static void
mk_tmp(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	snprintf(dir, dirlen, "%s/test_record.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/log", dir);
}

static void
rm_tmp(const char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
}

static void
file_is(const char *path, const char *want)
{
	char got[4096];
	size_t n;
	FILE *fp;

	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	got[n] = '\0';
	fclose(fp);
	assert_string_equal(got, want);
}

/* Two appends give two lines; a new file is private to the user. */
static void
test_append_twice(void **state)
{
	char dir[256], path[300];
	struct error err;
	struct stat st;
	mode_t old;

	mk_tmp(dir, sizeof(dir), path, sizeof(path));
	old = umask(022);
	error_clear(&err);
	assert_int_equal(record_append(path, "first line", &err), 0);
	assert_int_equal(record_append(path, "second line", &err), 0);
	umask(old);
	file_is(path, "first line\nsecond line\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	rm_tmp(dir, path);
}

/* "-" is standard output, after what stdio already holds for it. */
static void
test_append_stdout(void **state)
{
	char dir[256], path[300];
	struct error err;
	int fd, saved;

	mk_tmp(dir, sizeof(dir), path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	fputs("earlier output\n", stdout);
	error_clear(&err);
	assert_int_equal(record_append("-", "the line", &err), 0);
	fflush(stdout);
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	file_is(path, "earlier output\nthe line\n");
	rm_tmp(dir, path);
}

/*
 * A child takes the lock and tells us through a pipe; it lets go after
 * hold_ms.  Returns its pid.
 */
static pid_t
hold_lock(const char *path, long hold_ms)
{
	struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000 };
	struct flock fl;
	int p[2], fd;
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		if (write(p[1], "L", 1) != 1)
			_exit(1);
		nanosleep(&ts, NULL);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static long
ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* While another process holds the lock, append waits for it. */
static void
test_append_waits_for_lock(void **state)
{
	char dir[256], path[300];
	struct timespec start;
	struct error err;
	int status;
	pid_t pid;

	mk_tmp(dir, sizeof(dir), path, sizeof(path));
	pid = hold_lock(path, 300);
	clock_gettime(CLOCK_MONOTONIC, &start);
	error_clear(&err);
	assert_int_equal(record_append(path, "after the wait", &err), 0);
	assert_true(ms_since(&start) >= 250);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	file_is(path, "after the wait\n");
	rm_tmp(dir, path);
}

/* A lock held for longer than the wait is an error; nothing is written. */
static void
test_append_lock_timeout(void **state)
{
	char dir[256], path[300];
	struct error err;
	pid_t pid;

	mk_tmp(dir, sizeof(dir), path, sizeof(path));
	pid = hold_lock(path, 5000);
	error_clear(&err);
	assert_int_equal(record_append_wait(path, "never", 200, &err), -1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, "cannot log to "));
	assert_non_null(strstr(err.msg, "cannot lock (tried for 0.2 seconds)"));
	file_is(path, "");
	rm_tmp(dir, path);
}

static void
test_append_unwritable(void **state)
{
	struct error err;

	error_clear(&err);
	assert_int_equal(record_append("/nonexistent/dir/log", "x", &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_string_equal(err.msg,
	    "cannot log to /nonexistent/dir/log: No such file or directory");
}

static void
facility_is(const char *name, int want)
{
	struct error err;
	int f = -1;

	error_clear(&err);
	if (record_facility(name, &f, &err) == -1)
		fail_msg("\"%s\" refused: %s", name, err.msg);
	assert_int_equal(f, want);
}

/* Observed: these are accepted, case matters, "" is on. */
static void
test_facility(void **state)
{
	static const char *const bad[] = { "off", "log_mail", "LOG_LOCAL8",
		"LOG_DAEMON", "ON", "LOG_USER " };
	struct error err;
	size_t i;
	int f;

	facility_is("on", LOG_USER);
	facility_is("", LOG_USER);
	facility_is("LOG_USER", LOG_USER);
	facility_is("LOG_MAIL", LOG_MAIL);
	facility_is("LOG_LOCAL0", LOG_LOCAL0);
	facility_is("LOG_LOCAL1", LOG_LOCAL1);
	facility_is("LOG_LOCAL2", LOG_LOCAL2);
	facility_is("LOG_LOCAL3", LOG_LOCAL3);
	facility_is("LOG_LOCAL4", LOG_LOCAL4);
	facility_is("LOG_LOCAL5", LOG_LOCAL5);
	facility_is("LOG_LOCAL6", LOG_LOCAL6);
	facility_is("LOG_LOCAL7", LOG_LOCAL7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		if (record_facility(bad[i], &f, &err) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(err.kind, ERR_CONFIG);
		assert_non_null(strstr(err.msg, bad[i]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_recipient_refused),
		cmocka_unit_test(test_second_recipient_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused_after_data),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_user_only_with_auth),
		cmocka_unit_test(test_mailsize_zero),
		cmocka_unit_test(test_status_without_text),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_backslash),
		cmocka_unit_test(test_non_ascii),
		cmocka_unit_test(test_newline_elsewhere),
		cmocka_unit_test(test_time_default),
		cmocka_unit_test(test_time_custom),
		cmocka_unit_test(test_time_stray_percent),
		cmocka_unit_test(test_time_none),
		cmocka_unit_test(test_time_controls),
		cmocka_unit_test(test_time_too_long),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_append_twice),
		cmocka_unit_test(test_append_stdout),
		cmocka_unit_test(test_append_waits_for_lock),
		cmocka_unit_test(test_append_lock_timeout),
		cmocka_unit_test(test_append_unwritable),
		cmocka_unit_test(test_facility),
	};

	return cmocka_run_group_tests(tests, setup_utc, NULL);
}
