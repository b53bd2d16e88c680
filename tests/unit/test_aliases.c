/* test_aliases.c: envelope recipients expanded through an aliases file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aliases.h"

/* A NULL-terminated list of strings. */
#define V(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static char *
write_file_n(const char *text, size_t len)
{
	char *path;
	int fd;

	path = strdup("/tmp/outbox-aliases-XXXXXX");
	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static char *
write_file(const char *text)
{
	return write_file_n(text, strlen(text));
}

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

/* Expand `in' through the file at path; returns what aliases_expand did. */
static int
run(const char *path, const char *const *in, char ***out, size_t *nout,
    struct error *err)
{
	error_clear(err);
	*out = (char **)(uintptr_t)1;
	*nout = 99;
	return aliases_expand(path, (char *const *)(uintptr_t)in, count(in),
	    out, nout, err);
}

static void
want_list(char **out, size_t nout, const char *const *want)
{
	size_t i, n = count(want);

	for (i = 0; i < nout && i < n; i++)
		if (strcmp(out[i], want[i]) != 0)
			fail_msg("recipient %zu is \"%s\", expected \"%s\"", i,
			    out[i], want[i]);
	if (nout != n)
		fail_msg("%zu recipients, expected %zu (first extra: %s)", nout,
		    n, nout > n ? out[n] : want[nout]);
}

/* Expand through a file holding text; the result must be `want'. */
static void
expand_path_ok(const char *path, const char *const *in, const char *const *want)
{
	struct error err;
	char **out;
	size_t nout;

	if (run(path, in, &out, &nout, &err) != 0)
		fail_msg("refused: %s", err.msg);
	want_list(out, nout, want);
	aliases_free(out, nout);
}

static void
expand_ok(const char *text, const char *const *in, const char *const *want)
{
	char *path = write_file(text);

	expand_path_ok(path, in, want);
	unlink(path);
	free(path);
}

/*
 * The expansion must fail with ERR_CONFIG and a message that starts with
 * "PATH:LINE: " (when line is not 0) and holds `phrase'.
 */
static void
expand_path_bad(const char *path, const char *const *in, unsigned long line,
    const char *phrase)
{
	struct error err;
	char **out, prefix[512];
	size_t nout;

	if (run(path, in, &out, &nout, &err) != -1)
		fail_msg("accepted");
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_null(out);
	assert_int_equal(nout, 0);
	if (line != 0) {
		snprintf(prefix, sizeof(prefix), "%s:%lu: ", path, line);
		if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
			fail_msg("message \"%s\" does not start with \"%s\"",
			    err.msg, prefix);
	}
	if (strstr(err.msg, phrase) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, phrase);
}

static void
expand_bad_n(const char *text, size_t len, const char *const *in,
    unsigned long line, const char *phrase)
{
	char *path = write_file_n(text, len);

	expand_path_bad(path, in, line, phrase);
	unlink(path);
	free(path);
}

static void
expand_bad(const char *text, const char *const *in, unsigned long line,
    const char *phrase)
{
	expand_bad_n(text, strlen(text), in, line, phrase);
}

static void
test_plain_alias(void **state)
{
	(void)state;
	expand_ok("root: r@x.example\n", V("root"), V("r@x.example"));
	/* No newline at the end of the file. */
	expand_ok("root: r@x.example", V("root"), V("r@x.example"));
	expand_ok("root: r@x.example\nbob: b@x.example\n", V("bob", "root"),
	    V("b@x.example", "r@x.example"));
}

static void
test_multiple_addresses_keep_file_order(void **state)
{
	(void)state;
	/* The file's order is kept. */
	expand_ok("multi: a@x.example, b@x.example, c@x.example\n", V("multi"),
	    V("a@x.example", "b@x.example", "c@x.example"));
	expand_ok("multi: a@x.example, b@x.example\n",
	    V("z@y.example", "multi", "w@y.example"),
	    V("z@y.example", "a@x.example", "b@x.example", "w@y.example"));
}

static void
test_every_recipient_is_expanded(void **state)
{
	(void)state;
	/* Every recipient is looked up, one after another. */
	expand_ok("root: r@x.example\nbob: b@x.example\ncarol: c@x.example\n",
	    V("x", "root", "bob", "carol"),
	    V("x", "r@x.example", "b@x.example", "c@x.example"));
	expand_ok("root: r@x.example\nmulti: a@x.example, b@x.example\n",
	    V("root", "multi"), V("r@x.example", "a@x.example", "b@x.example"));
}

static void
test_nested(void **state)
{
	(void)state;
	expand_ok("a: b\nb: c@x.example\n", V("a"), V("c@x.example"));
	expand_ok("a: b\nb: c\nc: d@x.example\n", V("a"), V("d@x.example"));
	/* Depth first, in the order of each line. */
	expand_ok("a: b@x.example, b, e@x.example\n"
		  "b: c@x.example, d@x.example\n",
	    V("a"),
	    V("b@x.example", "c@x.example", "d@x.example", "e@x.example"));
	/* Definitions may come in any order. */
	expand_ok("c: d@x.example\nb: c\na: b\n", V("a"), V("d@x.example"));
}

static void
test_local_name_value(void **state)
{
	(void)state;
	/* A value with no '@' and no entry stays as it is. */
	expand_ok("a: localonly\n", V("a"), V("localonly"));
	expand_ok("a: localonly, l@x.example\n", V("a"),
	    V("localonly", "l@x.example"));
	/* ... unless there is a catch-all. */
	expand_ok("a: localonly\ndefault: d@x.example\n", V("a"),
	    V("d@x.example"));
}

static void
test_default(void **state)
{
	(void)state;
	expand_ok("root: r@x.example\ndefault: d@x.example\n", V("bob"),
	    V("d@x.example"));
	/* A name with an entry of its own does not take the catch-all. */
	expand_ok("root: r@x.example\ndefault: d@x.example\n", V("root"),
	    V("r@x.example"));
	/* Several names falling back to it give its addresses once. */
	expand_ok("default: d@x.example, e@x.example\n", V("bob", "carol"),
	    V("d@x.example", "e@x.example"));
	/* "default" as a recipient is its own entry. */
	expand_ok("default: d@x.example\n", V("default"), V("d@x.example"));
	/* The catch-all may name another local name that has an entry. */
	expand_ok("default: someone\nsomeone: s@x.example\n", V("bob"),
	    V("s@x.example"));
	/* Addresses with '@' never take it. */
	expand_ok("default: d@x.example\n", V("bob@y.example"),
	    V("bob@y.example"));
}

static void
test_case_sensitive(void **state)
{
	(void)state;
	expand_ok("root: r@x.example\n", V("ROOT"), V("ROOT"));
	expand_ok("Root: r@x.example\n", V("root"), V("root"));
	expand_ok("root: r@x.example\nRoot: R@x.example\n", V("Root", "root"),
	    V("R@x.example", "r@x.example"));
	/* The catch-all is "default" in lower case only. */
	expand_ok("DEFAULT: d@x.example\n", V("bob"), V("bob"));
}

static void
test_no_entry_no_default(void **state)
{
	(void)state;
	expand_ok("root: r@x.example\n", V("nobody"), V("nobody"));
	expand_ok("", V("nobody"), V("nobody"));
	expand_ok("# nothing here\n\n", V("nobody", "x@y.example"),
	    V("nobody", "x@y.example"));
}

static void
test_addresses_are_not_looked_up(void **state)
{
	(void)state;
	expand_ok("root: r@x.example\n", V("root@host.example"),
	    V("root@host.example"));
}

static void
test_spacing(void **state)
{
	(void)state;
	expand_ok("  root  :   a@x.example  ,   b@x.example  \n", V("root"),
	    V("a@x.example", "b@x.example"));
	expand_ok("root:a@x.example,b@x.example\n", V("root"),
	    V("a@x.example", "b@x.example"));
	expand_ok("\troot\t:\ta@x.example,\tb@x.example\t\n", V("root"),
	    V("a@x.example", "b@x.example"));
}

static void
test_comments_and_blank_lines(void **state)
{
	(void)state;
	expand_ok("# comment\n"
		  "\n"
		  "   \n"
		  "\t\n"
		  "  # indented comment\n"
		  "a: b@x.example\n"
		  "#a: c@x.example\n",
	    V("a"), V("b@x.example"));
	/* '#' starts a comment anywhere, to the end of the line. */
	expand_ok("a: b@x.example # comment\n", V("a"), V("b@x.example"));
	expand_ok("a: b@x.example, c@x.example # comment\n", V("a"),
	    V("b@x.example", "c@x.example"));
	expand_ok("a: b@x.example#c\n", V("a"), V("b@x.example"));
	expand_ok("a: b@x.example # comment, c@x.example\n", V("a"),
	    V("b@x.example"));
	/* A comment may hold anything, a ':' included. */
	expand_ok("a: b@x.example # see: below\n", V("a"), V("b@x.example"));
}

static void
test_crlf(void **state)
{
	(void)state;
	expand_ok("# comment\r\n"
		  "\r\n"
		  "a: b@x.example, c@x.example\r\n"
		  "d: e@x.example\r\n",
	    V("a", "d"), V("b@x.example", "c@x.example", "e@x.example"));
}

static void
test_angle_brackets(void **state)
{
	(void)state;
	/* Angle brackets and names are taken off, leaving the address. */
	expand_ok("a: <b@x.example>\n", V("a"), V("b@x.example"));
	expand_ok("a: Bob <b@x.example>, <c@x.example>\n", V("a"),
	    V("b@x.example", "c@x.example"));
}

static void
test_empty_value(void **state)
{
	(void)state;
	/* Each of these would be an empty recipient: refused. */
	expand_bad("a:\n", V("a"), 1, "alias a has no addresses");
	expand_bad("x: y@x.example\na:   \n", V("a"), 2,
	    "alias a has no addresses");
	expand_bad("a: # only a comment\n", V("a"), 1,
	    "alias a has no addresses");
	expand_bad("a: b@x.example,\n", V("a"), 1, "empty address in alias a");
	expand_bad("a: b@x.example,,c@x.example\n", V("a"), 1,
	    "empty address in alias a");
	expand_bad("a: , b@x.example\n", V("a"), 1, "empty address in alias a");
	expand_bad("a: <>\n", V("a"), 1, "empty address in alias a");
}

static void
test_missing_colon(void **state)
{
	(void)state;
	expand_bad("a: b@x.example\nnocolon here\n", V("a"), 2,
	    "expected name: address");
	/* A continuation line is not supported. */
	expand_bad("a: b@x.example\n  c@x.example\n", V("a"), 2,
	    "expected name: address");
	/* Nor is more than one colon. */
	expand_bad("a: b: c@x.example\n", V("a"), 1, "with one ':'");
	expand_bad("a:b:c@x.example\n", V("a"), 1, "with one ':'");
	expand_bad(":include: /etc/list\n", V("a"), 1, "with one ':'");
}

static void
test_bad_names(void **state)
{
	(void)state;
	expand_bad(": b@x.example\n", V("a"), 1, "empty alias name");
	expand_bad("  : b@x.example\n", V("a"), 1, "empty alias name");
	expand_bad("a@x.example: c@x.example\n", V("a"), 1,
	    "alias name a@x.example contains '@'");
	/* A name that could never match is refused. */
	expand_bad("a b: c@x.example\n", V("a"), 1,
	    "alias name \"a b\" contains a blank");
	expand_bad("a\tb: c@x.example\n", V("a"), 1, "contains a blank");
	expand_bad("a\rb: c@x.example\n", V("a"), 1,
	    "the alias name contains a control character");
	expand_bad("a\033: c@x.example\n", V("a"), 1, "control character");
}

static void
test_bad_addresses(void **state)
{
	(void)state;
	/* Blanks inside an address are refused. */
	expand_bad("a: b@x.example c@x.example\n", V("a"), 1,
	    "address in alias a is not a valid address");
	expand_bad("x: y@x.example\na: b@x.example\tc@x.example\n", V("a"), 2,
	    "address in alias a is not a valid address");
	expand_bad("a: b@x.\001example\n", V("a"), 1,
	    "address in alias a contains a control character");
	expand_bad("a: b@x.ex\rample\n", V("a"), 1, "control character");
	expand_bad("a: b@x.example\177\n", V("a"), 1, "control character");
	expand_bad("a: <b@x.example\n", V("a"), 1, "not a valid address");
	/* The quoted local part with a blank is not taken either. */
	expand_bad("a: \"b c\"@x.example\n", V("a"), 1, "not a valid address");
	/* An error on a line no recipient uses still counts. */
	expand_bad("a: b@x.example\nz: bad address\n", V("a"), 2,
	    "address in alias z");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "a: b@x.example\0c@x.example\n";

	(void)state;
	/* A NUL byte is refused, not taken as the end of the line. */
	expand_bad_n(text, sizeof(text) - 1, V("a"), 1, "NUL byte");
}

static void
test_duplicate_alias(void **state)
{
	(void)state;
	expand_bad("a: b@x.example\na: c@x.example\n", V("a"), 2,
	    "alias a was already defined on line 1");
	expand_bad("a: b@x.example\nb: c@x.example\n#\n a : d@x.example\n",
	    V("b"), 4, "alias a was already defined on line 1");
	/* The first repeat in the file is the one reported. */
	expand_bad("z: 1@x.example\n"
		   "a: 2@x.example\n"
		   "z: 3@x.example\n"
		   "a: 4@x.example\n",
	    V("a"), 3, "alias z was already defined on line 1");
	/* Names differing in case are different names. */
	expand_ok("a: b@x.example\nA: c@x.example\n", V("A"), V("c@x.example"));
}

static void
test_loop(void **state)
{
	(void)state;
	/* A loop is named with its chain. */
	expand_bad("a: a\n", V("a"), 1, "alias loop: a -> a");
	expand_bad("a: b\nb: a\n", V("a"), 2, "alias loop: a -> b -> a");
	expand_bad("a: b\nb: c@x.example, c\nc: b\n", V("a"), 3,
	    "alias loop: a -> b -> c -> b");
	expand_bad("x: y@x.example\na: x, b\nb: a\n", V("x", "b"), 2,
	    "alias loop: b -> a -> b");
	/* A catch-all naming a name with no entry falls back to itself. */
	expand_bad("default: someone\n", V("bob"), 1,
	    "alias loop: bob -> default -> someone -> default");
	expand_bad("default: someone\n", V("default"), 1,
	    "alias loop: default -> someone -> default");
	expand_bad("a: b\ndefault: a\n", V("a"), 2,
	    "alias loop: a -> b -> default -> a");
}

/* n0: n1, n1: n2, ..., n<steps>: end@x.example */
static char *
chain_file(int steps, const char *extra)
{
	static char text[4096];
	size_t len = 0;
	int i;

	for (i = 0; i < steps; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "n%d: n%d\n", i, i + 1);
	len += (size_t)snprintf(text + len, sizeof(text) - len,
	    "n%d: end@x.example\n%s", steps, extra);
	assert_true(len < sizeof(text));
	return text;
}

static void
test_depth_limit(void **state)
{
	(void)state;
	assert_int_equal(ALIASES_MAX_DEPTH, 16);
	/* 16 steps from name to name are allowed, not 17. */
	expand_ok(chain_file(16, ""), V("n0"), V("end@x.example"));
	expand_bad(chain_file(17, ""), V("n0"), 17,
	    "aliases nested more than 16 deep while expanding n0");
	expand_ok(chain_file(17, ""), V("n1"), V("end@x.example"));
	/* bob -> n0 through the catch-all is one step, like an entry. */
	expand_ok(chain_file(15, "default: n0\n"), V("bob"),
	    V("end@x.example"));
	expand_bad(chain_file(16, "default: n0\n"), V("bob"), 16,
	    "while expanding bob");
}

static void
test_depth_limit_after_reuse(void **state)
{
	(void)state;
	/*
	 * n5 is expanded in full for the first recipient; reached again
	 * deeper down, the limit still applies to the whole chain.
	 */
	expand_ok(chain_file(16, "d: n1\n"), V("n5", "d"), V("end@x.example"));
	expand_bad(chain_file(16, "d: n0\n"), V("n5", "d"), 16,
	    "more than 16 deep while expanding d");
	expand_bad(chain_file(16, "d: n0\n"), V("d"), 16,
	    "more than 16 deep while expanding d");
}

static void
test_wide_tree_is_fast(void **state)
{
	char text[8192];
	size_t len = 0;
	time_t start;
	int i, j;

	(void)state;
	/* 15 levels of 10 references each: 10^15 paths, 15 entries. */
	for (i = 0; i < 15; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "l%d: ", i);
		for (j = 0; j < 10; j++)
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%sl%d", j > 0 ? ", " : "", i + 1);
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    ", a%d@x.example\n", i);
	}
	len += (size_t)snprintf(text + len, sizeof(text) - len,
	    "l15: end@x.example\n");
	assert_true(len < sizeof(text));
	start = time(NULL);
	expand_ok(text, V("l0"),
	    V("end@x.example", "a14@x.example", "a13@x.example",
		"a12@x.example", "a11@x.example", "a10@x.example",
		"a9@x.example", "a8@x.example", "a7@x.example", "a6@x.example",
		"a5@x.example", "a4@x.example", "a3@x.example", "a2@x.example",
		"a1@x.example", "a0@x.example"));
	assert_true(time(NULL) - start < 5);
}

static void
test_duplicates_removed(void **state)
{
	(void)state;
	/* Each address is sent to once. */
	expand_ok("a: b@x.example, b@x.example\n", V("a"), V("b@x.example"));
	expand_ok("a: b@x.example, c\nc: b@x.example\n", V("a"),
	    V("b@x.example"));
	expand_ok("a: b@x.example\n", V("b@x.example", "x@y.example", "a"),
	    V("b@x.example", "x@y.example"));
	expand_ok("a: b@x.example\n", V("a", "a"), V("b@x.example"));
	expand_ok("", V("x@y.example", "x@y.example", "bob", "bob"),
	    V("x@y.example", "bob"));
	/* Diamond: b and c both lead to d. */
	expand_ok("a: b, c\nb: d, b@x.example\nc: d, c@x.example\n"
		  "d: d@x.example\n",
	    V("a"), V("d@x.example", "b@x.example", "c@x.example"));
	/* The domain is compared without case, first spelling kept. */
	expand_ok("a: b@X.Example, b@x.example\n", V("a"), V("b@X.Example"));
	/* The local part is compared exactly. */
	expand_ok("a: B@x.example, b@x.example\n", V("a"),
	    V("B@x.example", "b@x.example"));
	/* A bare name is not the same as an address with that local part. */
	expand_ok("", V("bob", "bob@x.example"), V("bob", "bob@x.example"));
}

static void
test_file_read_only_when_needed(void **state)
{
	char *path;

	(void)state;
	/* The file is not opened when every recipient has an '@'. */
	expand_path_ok("/nonexistent/aliases", V("x@y.example"),
	    V("x@y.example"));
	expand_path_bad("/nonexistent/aliases", V("x@y.example", "bob"), 0,
	    "cannot read aliases file /nonexistent/aliases: "
	    "No such file or directory");
	path = write_file("bad line\n");
	expand_path_ok(path, V("x@y.example"), V("x@y.example"));
	expand_path_bad(path, V("bob"), 1, "expected name: address");
	unlink(path);
	free(path);
}

static void
test_unreadable(void **state)
{
	(void)state;
	/* A directory opens but cannot be read. */
	expand_path_bad("/tmp", V("bob"), 0,
	    "cannot read aliases file /tmp: Is a directory");
}

static void
test_long_line(void **state)
{
	struct error err;
	size_t n = 5000, i, len = 0, nout;
	char *text, *path, **out;

	(void)state;
	/* No line length limit: 5000 addresses and a long comment. */
	text = malloc(n * 24 + 200000);
	assert_non_null(text);
	len += (size_t)sprintf(text + len, "a: ");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%su%zu@x.example",
		    i > 0 ? ", " : "", i);
	text[len++] = '\n';
	memset(text + len, '#', 150000);
	len += 150000;
	len += (size_t)sprintf(text + len, "\nb: z@x.example\n");
	path = write_file_n(text, len);
	free(text);
	assert_int_equal(run(path, V("a", "b"), &out, &nout, &err), 0);
	assert_int_equal(nout, n + 1);
	assert_string_equal(out[0], "u0@x.example");
	assert_string_equal(out[n - 1], "u4999@x.example");
	assert_string_equal(out[n], "z@x.example");
	aliases_free(out, nout);
	unlink(path);
	free(path);
}

static void
test_no_recipients(void **state)
{
	struct error err;
	char **out;
	size_t nout;

	(void)state;
	assert_int_equal(run("/nonexistent/aliases", NONE, &out, &nout, &err),
	    0);
	assert_int_equal(nout, 0);
	aliases_free(out, nout);
	aliases_free(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_alias),
		cmocka_unit_test(test_multiple_addresses_keep_file_order),
		cmocka_unit_test(test_every_recipient_is_expanded),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_local_name_value),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_case_sensitive),
		cmocka_unit_test(test_no_entry_no_default),
		cmocka_unit_test(test_addresses_are_not_looked_up),
		cmocka_unit_test(test_spacing),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_angle_brackets),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_missing_colon),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_duplicate_alias),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_depth_limit_after_reuse),
		cmocka_unit_test(test_wide_tree_is_fast),
		cmocka_unit_test(test_duplicates_removed),
		cmocka_unit_test(test_file_read_only_when_needed),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_no_recipients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
