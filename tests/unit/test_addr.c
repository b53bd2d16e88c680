/* test_addr.c: envelope addresses from the command line and configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "addr.h"
#include "buf.h"

static void
accepted(const char *arg, const char *want)
{
	struct error err;
	char *got;

	error_clear(&err);
	got = addr_parse_one(arg, "the recipient", ERR_USAGE, &err);
	if (got == NULL)
		fail_msg("\"%s\" refused: %s", arg, err.msg);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" gave \"%s\", expected \"%s\"", arg, got, want);
	assert_int_equal(err.kind, ERR_NONE);
	free(got);
}

static void
refused_as(const char *arg, enum error_kind kind, const char *want)
{
	struct error err;
	char *got;

	error_clear(&err);
	got = addr_parse_one(arg, "the envelope-from address", kind, &err);
	if (got != NULL)
		fail_msg("\"%s\" accepted as \"%s\"", arg, got);
	assert_int_equal(err.kind, kind);
	assert_non_null(strstr(err.msg, "the envelope-from address"));
	if (want != NULL && strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void
refused(const char *arg)
{
	refused_as(arg, ERR_USAGE, NULL);
	refused_as(arg, ERR_CONFIG, NULL);
}

static void
test_plain(void **state)
{
	accepted("user@example.com", "user@example.com");
	accepted("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk");
	accepted("  padded@example.com\t", "padded@example.com");
	accepted("postmaster", "postmaster");
	accepted("\"quoted\"@example.com", "\"quoted\"@example.com");
	accepted("us\xc3\xa9r@ex\xc3\xa4mple.com",
	    "us\xc3\xa9r@ex\xc3\xa4mple.com");
}

static void
test_angle_brackets(void **state)
{
	accepted("<user@example.com>", "user@example.com");
	accepted("  <user@example.com>  ", "user@example.com");
	/* The null sender. */
	accepted("<>", "");
}

static void
test_display_name(void **state)
{
	accepted("Jane Doe <jane@example.com>", "jane@example.com");
	accepted("\"Doe, Jane\" <jane@example.com>", "jane@example.com");
	accepted("Jane<jane@example.com>", "jane@example.com");
	accepted("Jane Doe <jane@example.com>   ", "jane@example.com");
}

static void
test_control_characters(void **state)
{
	refused_as("a@example.com\r\nRCPT TO:<evil@example.net>", ERR_USAGE,
	    "control character");
	refused_as("a@example.com\nDATA", ERR_CONFIG, "control character");
	refused_as("a@example.com\r", ERR_DATA, "control character");
	refused_as("<a@example.com>\n", ERR_USAGE, "control character");
	refused_as("Name\n <a@example.com>", ERR_USAGE, "control character");
	refused_as("a\001b@example.com", ERR_USAGE, "control character");
	refused_as("a@example.com\033", ERR_USAGE, "control character");
	refused_as("a@exa\x7fmple.com", ERR_USAGE, "control character");
	refused("\x1f"
		"a@example.com");
}

static void
test_spaces_inside(void **state)
{
	refused("a b@example.com");
	refused("a@exa mple.com");
	refused("a\t@example.com");
	refused("<a b@example.com>");
	refused("< a@example.com>");
	refused("<a@example.com >");
	refused("two@example.com three@example.com");
}

static void
test_unbalanced_brackets(void **state)
{
	refused("<a@example.com");
	refused("a@example.com>");
	refused(">a@example.com<");
	refused("<a@example.com>>");
	refused("<a@example.com> trailing");
	refused("Name <a@example.com");
	refused("Name a@example.com>");
}

/*
 * More than one "<" or ">": not one address.  Each case is checked and
 * every one accepted is named, so one run shows them all.
 */
static void
test_extra_brackets(void **state)
{
	static const char *const cases[] = {
		"<<a@example.com>",
		"<a@<example.com>",
		"<a@example.com> <b@example.com>",
		"Name> <a@example.com>",
	};
	char report[1024] = "";
	struct error err;
	char *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		error_clear(&err);
		got = addr_parse_one(cases[i], "the recipient", ERR_USAGE,
		    &err);
		if (got != NULL) {
			snprintf(report + strlen(report),
			    sizeof(report) - strlen(report),
			    " [\"%s\" accepted as \"%s\"]", cases[i], got);
			free(got);
		} else
			assert_int_equal(err.kind, ERR_USAGE);
	}
	if (report[0] != '\0')
		fail_msg("not refused:%s", report);
}

/* --- address lists (RFC 5322 3.4) --- */

/*
 * The list tests note each case that goes wrong in `problems' and fail
 * once at the end (list_done), so one run names every such case.
 */
static struct buf problems;

/* Text with control characters and backslashes shown as escapes. */
static void
show(struct buf *b, const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\r')
			buf_addstr(b, "\\r");
		else if (c == '\n')
			buf_addstr(b, "\\n");
		else if (c == '\t')
			buf_addstr(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_add(b, text + i, 1);
	}
}

static void problem(const char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(const char *text, size_t n, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (problems.max == 0)
		buf_init(&problems, 1024 * 1024);
	buf_addstr(&problems, "\n  \"");
	show(&problems, text, n);
	buf_addstr(&problems, "\" ");
	buf_addstr(&problems, line);
}

static void
list_done(void)
{
	char report[8192];

	report[0] = '\0';
	if (problems.len > 0)
		snprintf(report, sizeof(report), "%.*s", (int)problems.len,
		    problems.data);
	buf_free(&problems);
	memset(&problems, 0, sizeof(problems));
	if (report[0] != '\0')
		fail_msg("%s", report);
}

/*
 * Parse n bytes of text as an address list and compare with want: the
 * addr-specs expected, each ended by a newline ("" for none).
 */
static void
list_accepted_n(const char *text, size_t n, const char *want)
{
	struct addrlist l;
	struct error err;
	struct buf got;
	size_t i;

	memset(&l, 0, sizeof(l));
	error_clear(&err);
	if (addr_list_parse(text, n, &l, "the To field", ERR_DATA, &err) ==
	    -1) {
		problem(text, n, "refused: %s", err.msg);
		addrlist_free(&l);
		return;
	}
	assert_int_equal(err.kind, ERR_NONE);
	buf_init(&got, 1024 * 1024);
	for (i = 0; i < l.n; i++)
		assert_int_equal(buf_printf(&got, "%s\n", l.v[i]), 0);
	assert_int_equal(buf_add(&got, "", 1), 0);
	if (strcmp(got.data, want) != 0)
		problem(text, n, "gave \"%s\", expected \"%s\"", got.data,
		    want);
	buf_free(&got);
	addrlist_free(&l);
}

static void
list_accepted(const char *text, const char *want)
{
	list_accepted_n(text, strlen(text), want);
}

/* The list is refused with kind, naming `what'; want is in the message. */
static void
list_refused_n(const char *text, size_t n, enum error_kind kind,
    const char *want)
{
	struct addrlist l;
	struct error err;
	struct buf got;
	size_t i;

	memset(&l, 0, sizeof(l));
	error_clear(&err);
	if (addr_list_parse(text, n, &l, "the Cc field", kind, &err) == 0) {
		buf_init(&got, 1024 * 1024);
		for (i = 0; i < l.n; i++)
			buf_printf(&got, "[%s]", l.v[i]);
		buf_add(&got, "", 1);
		problem(text, n, "accepted as %s", got.data);
		buf_free(&got);
		addrlist_free(&l);
		return;
	}
	if (err.kind != kind)
		problem(text, n, "refused with the wrong kind: %s", err.msg);
	else if (strstr(err.msg, "the Cc field") == NULL)
		problem(text, n, "message \"%s\" does not name the field",
		    err.msg);
	else if (want != NULL && strstr(err.msg, want) == NULL)
		problem(text, n, "message \"%s\" lacks \"%s\"", err.msg, want);
	addrlist_free(&l);
}

static void
list_refused_as(const char *text, enum error_kind kind, const char *want)
{
	list_refused_n(text, strlen(text), kind, want);
}

static void
list_refused(const char *text)
{
	size_t before = problems.len;

	list_refused_n(text, strlen(text), ERR_DATA, NULL);
	if (problems.len == before)
		list_refused_n(text, strlen(text), ERR_USAGE, NULL);
}

static void
test_list_simple(void **state)
{
	list_accepted("a@example.com", "a@example.com\n");
	list_accepted("a@example.com, b@example.org,c@example.net",
	    "a@example.com\nb@example.org\nc@example.net\n");
	list_accepted("  a@example.com  ,\tb@example.org\t",
	    "a@example.com\nb@example.org\n");
	list_accepted("Jane Doe <jane@example.com>, <bob@example.org>",
	    "jane@example.com\nbob@example.org\n");
	list_accepted("Jane<jane@example.com>,Bob<bob@example.org>",
	    "jane@example.com\nbob@example.org\n");
	list_accepted("John Q. Public <jqp@example.com>", "jqp@example.com\n");
	list_accepted("postmaster", "postmaster\n");
	list_accepted("us\xc3\xa9r@ex\xc3\xa4mple.com",
	    "us\xc3\xa9r@ex\xc3\xa4mple.com\n");
	/* RFC 5322 3.4: CFWS may stand inside the angle brackets. */
	list_accepted("< a@example.com >", "a@example.com\n");
	list_done();
}

static void
test_list_empty(void **state)
{
	list_accepted("", "");
	list_accepted("   \t ", "");
	list_accepted(",", "");
	list_accepted(" , ,, ", "");
	list_accepted("(nobody)", "");
	list_accepted("a@example.com,,b@example.com,",
	    "a@example.com\nb@example.com\n");
	list_accepted_n("a@example.com", 0, "");
	list_done();
}

static void
test_list_comments(void **state)
{
	list_accepted("a@example.com (Alice)", "a@example.com\n");
	list_accepted("(Alice) a@example.com", "a@example.com\n");
	list_accepted("a(local)@(domain)example.com", "a@example.com\n");
	list_accepted("a@example.com (one (two (three)) one)",
	    "a@example.com\n");
	/* Quoted pairs: an escaped parenthesis does not open or close. */
	list_accepted("a@example.com (a \\) b), b@example.com",
	    "a@example.com\nb@example.com\n");
	list_accepted("a@example.com (a \\( b), b@example.com",
	    "a@example.com\nb@example.com\n");
	list_accepted("a@example.com (x (y \\) z) \\\\), b@example.com",
	    "a@example.com\nb@example.com\n");
	/* Commas, quotes and brackets in a comment are only text. */
	list_accepted("a@example.com (x, \"y, <z@example.net>), b@example.com",
	    "a@example.com\nb@example.com\n");
	list_accepted("Al (the boss) <a@example.com> (more)",
	    "a@example.com\n");
	list_accepted("<a(in angle)@example.com>", "a@example.com\n");
	list_done();
}

static void
test_list_quoted_local_parts(void **state)
{
	list_accepted("\"a,b\"@example.com, c@example.com",
	    "\"a,b\"@example.com\nc@example.com\n");
	list_accepted("\"c\\\"d\"@example.com", "\"c\\\"d\"@example.com\n");
	list_accepted("\"a\\\\b\"@example.com", "\"a\\\\b\"@example.com\n");
	list_accepted("<\"x y, z\"@example.com>", "\"x y, z\"@example.com\n");
	list_accepted("\"(not a comment)\"@example.com",
	    "\"(not a comment)\"@example.com\n");
	list_accepted("\"a<b>c\"@example.com", "\"a<b>c\"@example.com\n");
	list_accepted("\"g:m;\"@example.com", "\"g:m;\"@example.com\n");
	list_done();
}

static void
test_list_display_names(void **state)
{
	list_accepted("\"Doe, Jane\" <jane@example.com>, \"Roe, R.\" "
		      "<r@example.com>",
	    "jane@example.com\nr@example.com\n");
	list_accepted("\"a \\\"quoted\\\" name, too\" <q@example.com>",
	    "q@example.com\n");
	list_accepted("=?UTF-8?B?SsO2cmc=?= <joerg@example.com>",
	    "joerg@example.com\n");
	list_accepted("=?UTF-8?Q?Jos=C3=A9?= Smith <jose@example.com>, "
		      "=?ISO-8859-1?Q?Andr=E9?= <andre@example.com>",
	    "jose@example.com\nandre@example.com\n");
	list_accepted("\"=?UTF-8?B?SsO2cmc=?=, Jr.\" <j@example.com>, "
		      "k@example.com",
	    "j@example.com\nk@example.com\n");
	list_accepted("J\xc3\xb6rg <j@example.com>", "j@example.com\n");
	list_done();
}

static void
test_list_groups(void **state)
{
	list_accepted("undisclosed-recipients:;", "");
	list_accepted("undisclosed-recipients: ;", "");
	list_accepted("friends: a@example.com, b@example.com;",
	    "a@example.com\nb@example.com\n");
	list_accepted("My Friends: a@example.com;, c@example.com",
	    "a@example.com\nc@example.com\n");
	list_accepted("team: \"Smith, J\" <js@example.com>, k@example.com;",
	    "js@example.com\nk@example.com\n");
	list_accepted("x@example.com, empty:;, team: Jo <jo@example.com>;, "
		      "y@example.com",
	    "x@example.com\njo@example.com\ny@example.com\n");
	list_accepted("\"A: B\" <ab@example.com>", "ab@example.com\n");
	/* Groups do not nest (RFC 5322 3.4). */
	list_refused("outer: inner: a@example.com;;");
	/* A group name with an "@" is an address gone wrong. */
	list_refused("a@example.com: b@example.com;");
	list_refused("a@example.com:b@example.com");
	list_refused("a@example.com;");
	list_done();
}

static void
test_list_routes_and_literals(void **state)
{
	/* RFC 5322 4.4: the obsolete route goes, the mailbox stays. */
	list_accepted("<@a.example,@b.example:u@h.example>", "u@h.example\n");
	list_accepted("Name <@a.example, @b.example:u@h.example>, v@h.example",
	    "u@h.example\nv@h.example\n");
	list_accepted("<@a.example:u@h.example>", "u@h.example\n");
	list_refused("<@a.example,@b.example>");
	/* Domain literals stay as written; a colon in one is no group. */
	list_accepted("user@[IPv6:::1]", "user@[IPv6:::1]\n");
	list_accepted("<user@[192.0.2.1]>, v@[IPv6:2001:db8::1]",
	    "user@[192.0.2.1]\nv@[IPv6:2001:db8::1]\n");
	list_accepted("g: user@[IPv6:::1];", "user@[IPv6:::1]\n");
	list_done();
}

static void
test_list_folding(void **state)
{
	/* Between addresses. */
	list_accepted("a@example.com,\r\n b@example.com,\n\tc@example.com",
	    "a@example.com\nb@example.com\nc@example.com\n");
	list_accepted("\r\n a@example.com", "a@example.com\n");
	list_accepted("Jane\r\n Doe\r\n <jane@example.com>",
	    "jane@example.com\n");
	list_accepted("<jane@example.com\r\n >", "jane@example.com\n");
	list_accepted("a@example.com (a\r\n comment)", "a@example.com\n");
	list_accepted("\"Doe,\r\n Jane\" <jane@example.com>",
	    "jane@example.com\n");
	list_accepted("team:\n\ta@example.com,\r\n b@example.com\r\n ;",
	    "a@example.com\nb@example.com\n");
	list_done();
}

/*
 * RFC 5322 3.2.4: folding inside a quoted string is invisible; the
 * blank after the line break stays.
 */
static void
test_list_folding_in_quoted_local_part(void **state)
{
	list_accepted("\"a\r\n b\"@example.com", "\"a b\"@example.com\n");
	/* A TAB may fold a header, but SMTP's quoted strings cannot hold it
	 * (RFC 5321 4.1.2 qtextSMTP). */
	list_refused("\"a\n\tb\"@example.com");
	list_accepted("<\"a,\r\n b\"@example.com>", "\"a, b\"@example.com\n");
	list_done();
}

/* RFC 5322 4.4: blanks around "." and "@" in the obsolete syntax. */
static void
test_list_obsolete_blanks(void **state)
{
	list_accepted("john . doe @ example . com", "john.doe@example.com\n");
	list_accepted("john. doe@ example.com, x @y.example",
	    "john.doe@example.com\nx@y.example\n");
	list_accepted("<john . doe @ example.com>", "john.doe@example.com\n");
	list_done();
}

static void
test_list_name_without_brackets(void **state)
{
	list_refused("John Doe john@example.com");
	list_refused("John john@example.com");
	list_refused("a@example.com b@example.com");
	list_refused("a@example.com, Jane Doe");
	/* Words apart inside <...> are no address either. */
	list_refused("<a b@example.com>");
	list_refused("Jane <jane doe@example.com>");
	list_done();
}

static void
test_list_unbalanced(void **state)
{
	list_refused("\"a@example.com");
	list_refused("\"Doe, Jane <jane@example.com>");
	list_refused("a@example.com (comment");
	list_refused("a@example.com ((nested) comment");
	list_refused("a@example.com (\\)");
	list_refused("<a@example.com");
	list_refused("Jane <a@example.com, b@example.com");
	list_refused("a@example.com>");
	list_refused("<<a@example.com>>");
	list_refused("<a@example.com>>");
	list_refused("a@[192.0.2.1");
	list_refused("<a@[192.0.2.1>");
	list_refused("\"a\\\"@example.com");
	list_done();
}

/* A closing ")" or "]" with nothing open is not part of an address. */
static void
test_list_stray_closers(void **state)
{
	list_refused("a@example.com)");
	list_refused("a@example.com (c))");
	list_refused("a@192.0.2.1]");
	list_refused("<a@example.com)>");
	list_done();
}

static void
test_list_text_after_angle(void **state)
{
	list_refused("<a@example.com> b");
	list_refused("<a@example.com>b@example.com");
	list_refused("Jane <a@example.com> Doe");
	list_refused("<a@example.com> <b@example.com>");
	list_refused("<a@example.com>.");
	list_refused("<a@example.com> \"quoted\"");
	list_refused("<a@example.com> [literal]");
	list_refused("<a@example.com>: a@example.com;");
	/* A comment after ">" is fine. */
	list_accepted("<a@example.com> (Alice)", "a@example.com\n");
	list_done();
}

/* A line break that is not folding would start a new header field. */
static void
test_list_injection(void **state)
{
	list_refused_as("a@example.com\r\nBcc: evil@example.net", ERR_DATA,
	    "control character");
	list_refused_as("a@example.com,\nBcc: evil@example.net", ERR_USAGE,
	    "control character");
	list_refused_as("a@example.com\rRCPT TO:<evil@example.net>", ERR_DATA,
	    "control character");
	list_refused_as("a@example.com\r\n", ERR_DATA, "control character");
	list_refused_as("a@example.com\n", ERR_DATA, "control character");
	list_refused_as("a@example.com,\r\n\r\n b@example.com", ERR_DATA,
	    "control character");
	list_refused_as("a@example.com,\r\r\n b@example.com", ERR_DATA,
	    "control character");
	list_refused_as("<a@example.com\r\n>", ERR_DATA, NULL);
	list_refused_as("a@example.com\n\n", ERR_DATA, NULL);
	list_done();
}

/* The same inside text the parser otherwise drops. */
static void
test_list_injection_in_dropped_text(void **state)
{
	list_refused_as("\"Jane\r\nBcc: evil@example.net\" <a@example.com>",
	    ERR_DATA, "control character");
	list_refused_as("a@example.com (x\nDATA)", ERR_DATA,
	    "control character");
	list_refused_as("team\r\nX: y: a@example.com;", ERR_DATA,
	    "control character");
	list_done();
}

static void
test_list_control_characters(void **state)
{
	static const char nul_local[] = "a\0b@example.com";
	static const char nul_angle[] = "<a@exa\0mple.com>";
	static const char nul_after[] = "a@example.com\0, b@example.com";

	list_refused_n(nul_local, sizeof(nul_local) - 1, ERR_DATA,
	    "control character");
	list_refused_n(nul_angle, sizeof(nul_angle) - 1, ERR_DATA,
	    "control character");
	list_refused_n(nul_after, sizeof(nul_after) - 1, ERR_DATA,
	    "control character");
	list_refused_as("a\001b@example.com", ERR_DATA, "control");
	list_refused_as("a@exa\x7fmple.com", ERR_USAGE, "control");
	list_refused_as("<a@example.com\033>", ERR_DATA, "control");
	list_refused_as("\"a\002\"@example.com", ERR_DATA, "control");
	list_refused_as("a@[192.0.2.1\f]", ERR_DATA, "control");
	list_refused_as("a@example.com\v", ERR_DATA, "control");
	list_done();
}

/* Control characters in a display name or comment. */
static void
test_list_control_characters_in_dropped_text(void **state)
{
	static const char nul_name[] = "Ja\0ne <a@example.com>";
	static const char nul_comment[] = "a@example.com (\0)";

	list_refused_n(nul_name, sizeof(nul_name) - 1, ERR_DATA, "control");
	list_refused_n(nul_comment, sizeof(nul_comment) - 1, ERR_DATA,
	    "control");
	list_refused_as("\"Ja\033ne\" <a@example.com>", ERR_DATA, "control");
	list_done();
}

/*
 * A duplicate is the same local part, exactly (RFC 5321 2.4), and the
 * same domain but for case.
 */
static void
test_list_dedup(void **state)
{
	struct addrlist l;
	struct error err;

	list_accepted("a@Example.COM, a@example.com, Jane <a@EXAMPLE.com>",
	    "a@Example.COM\n");
	list_accepted("a@example.com, b@example.com, a@EXAMPLE.com, "
		      "g: b@EXAMPLE.COM;",
	    "a@example.com\nb@example.com\n");
	list_accepted("a@example.com, A@example.com, a@example.com",
	    "a@example.com\nA@example.com\n");
	/* Quoted is not the same string as unquoted. */
	list_accepted("a@example.com, \"a\"@example.com",
	    "a@example.com\n\"a\"@example.com\n");
	/* The domain starts after the last "@". */
	list_accepted("\"a@B\"@example.com, \"a@B\"@EXAMPLE.COM, "
		      "\"a@b\"@example.com",
	    "\"a@B\"@example.com\n\"a@b\"@example.com\n");
	/* A prefix is not a duplicate. */
	list_accepted("ab@example.com, a@example.com, ab@example.co",
	    "ab@example.com\na@example.com\nab@example.co\n");
	list_accepted("postmaster, postmaster, POSTMASTER",
	    "postmaster\nPOSTMASTER\n");

	/* Across calls into the same list, and through addrlist_add. */
	memset(&l, 0, sizeof(l));
	error_clear(&err);
	assert_int_equal(
	    addr_list_parse("x@example.com", 13, &l, "t", ERR_DATA, &err), 0);
	assert_int_equal(addr_list_parse("x@EXAMPLE.COM, y@example.com", 28, &l,
			     "t", ERR_DATA, &err),
	    0);
	assert_int_equal(addrlist_add(&l, "y@Example.comZZZ", 13), 0);
	assert_int_equal(addrlist_add(&l, "z@example.comZZZ", 13), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "x@example.com");
	assert_string_equal(l.v[1], "y@example.com");
	assert_string_equal(l.v[2], "z@example.com");
	addrlist_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	list_done();
}

/* Many duplicates, the domain in another case, after the first of each. */
static void
test_list_dedup_many(void **state)
{
	struct addrlist l;
	struct error err;
	struct buf text;
	char want[64];
	size_t i;

	buf_init(&text, 8 * 1024 * 1024);
	for (i = 0; i < 2000; i++)
		assert_int_equal(buf_printf(&text, "u%zu@example.com, ", i), 0);
	for (i = 0; i < 2000; i++)
		assert_int_equal(buf_printf(&text, "u%zu@EXAMPLE.com,", i), 0);
	memset(&l, 0, sizeof(l));
	error_clear(&err);
	assert_int_equal(
	    addr_list_parse(text.data, text.len, &l, "t", ERR_DATA, &err), 0);
	assert_int_equal(l.n, 2000);
	for (i = 0; i < l.n; i++) {
		snprintf(want, sizeof(want), "u%zu@example.com", i);
		assert_string_equal(l.v[i], want);
	}
	addrlist_free(&l);
	buf_free(&text);
}

/*
 * A header of 1 MiB holds some 100 000 addresses; parsing them is
 * expected to take well under a second, so ten seconds of CPU time
 * means the work grows faster than the list.
 */
static void
test_list_100000(void **state)
{
	struct addrlist l;
	struct error err;
	struct buf text;
	char want[64];
	clock_t t0;
	double secs;
	size_t i;

	buf_init(&text, 8 * 1024 * 1024);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_printf(&text, "%su%06zu@example.com",
				     i ? (i % 7 ? ", " : ",\r\n\t") : "", i),
		    0);
	memset(&l, 0, sizeof(l));
	error_clear(&err);
	t0 = clock();
	assert_int_equal(
	    addr_list_parse(text.data, text.len, &l, "t", ERR_DATA, &err), 0);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_int_equal(l.n, 100000);
	for (i = 0; i < l.n; i++) {
		snprintf(want, sizeof(want), "u%06zu@example.com", i);
		assert_string_equal(l.v[i], want);
	}
	addrlist_free(&l);
	buf_free(&text);
	if (secs > 10.0)
		fail_msg("100000 addresses took %.1f s of CPU time", secs);
}

/* %H, %C, %M and domain: what reaches EHLO and the Message-ID. */
static void
test_check_domain(void **state)
{
	static const char *const good[] = { "mail.example.org", "localhost",
		"a-b.example", "x", "[192.0.2.1]", "[IPv6:2001:db8::1]",
		"b\xc3\274cher.example", "host_1.lan" };
	static const char *const bad[] = { "host\r\nMAIL FROM:<x@y>", "host\n",
		"host\r", "ho st", "", ".example", "a..b", "host>", "host;x",
		"[192.0.2.1", "[]", "[a b]", "x\x1b[2J", "host\x7f",
		"example.org." };
	struct error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		error_clear(&err);
		if (addr_check_domain(good[i], "the domain", &err) != 0)
			fail_msg("refused %s: %s", good[i], err.msg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		if (addr_check_domain(bad[i], "$HOSTNAME (%H)", &err) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(err.kind, ERR_CONFIG);
		assert_non_null(strstr(err.msg, "$HOSTNAME (%H)"));
		/* The text itself is not echoed back. */
		assert_null(strstr(err.msg, "MAIL FROM"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_angle_brackets),
		cmocka_unit_test(test_display_name),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_spaces_inside),
		cmocka_unit_test(test_unbalanced_brackets),
		cmocka_unit_test(test_extra_brackets),
		cmocka_unit_test(test_list_simple),
		cmocka_unit_test(test_list_empty),
		cmocka_unit_test(test_list_comments),
		cmocka_unit_test(test_list_quoted_local_parts),
		cmocka_unit_test(test_list_display_names),
		cmocka_unit_test(test_list_groups),
		cmocka_unit_test(test_list_routes_and_literals),
		cmocka_unit_test(test_list_folding),
		cmocka_unit_test(test_list_folding_in_quoted_local_part),
		cmocka_unit_test(test_list_obsolete_blanks),
		cmocka_unit_test(test_list_name_without_brackets),
		cmocka_unit_test(test_list_unbalanced),
		cmocka_unit_test(test_list_stray_closers),
		cmocka_unit_test(test_list_text_after_angle),
		cmocka_unit_test(test_list_injection),
		cmocka_unit_test(test_list_injection_in_dropped_text),
		cmocka_unit_test(test_list_control_characters),
		cmocka_unit_test(test_list_control_characters_in_dropped_text),
		cmocka_unit_test(test_list_dedup),
		cmocka_unit_test(test_list_dedup_many),
		cmocka_unit_test(test_list_100000),
		cmocka_unit_test(test_check_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
