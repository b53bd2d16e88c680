/*
 * test_auth_grant.c: outbox-auth's parsing of token endpoint replies,
 * metadata and registration replies, rotation of refresh tokens, and
 * the PKCE S256 challenge.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "flow.h"

static int
gparse(const char *s, struct grant *g, struct error *e)
{
	error_clear(e);
	return grant_parse(s, strlen(s), g, e);
}

static void
test_token_reply(void **state)
{
	struct grant g;
	struct error e;

	assert_int_equal(gparse("{\"access_token\":\"AT\",\"token_type\":"
				"\"Bearer\",\"expires_in\":3599,"
				"\"refresh_token\":\"RT2\",\"extra\":[1,2]}",
			     &g, &e),
	    0);
	assert_string_equal(g.access_token, "AT");
	assert_string_equal(g.refresh_token, "RT2");
	assert_int_equal(g.expires_in, 3599);
	assert_null(g.error);
	grant_free(&g);

	/* expires_in as a string, as some servers send it. */
	assert_int_equal(gparse("{\"access_token\":\"AT\",\"expires_in\":"
				"\"60\"}",
			     &g, &e),
	    0);
	assert_int_equal(g.expires_in, 60);
	assert_null(g.refresh_token);
	grant_free(&g);
}

static void
test_error_reply(void **state)
{
	struct grant g;
	struct error e;

	assert_int_equal(gparse("{\"error\":\"invalid_grant\","
				"\"error_description\":\"AADSTS700082\"}",
			     &g, &e),
	    0);
	assert_string_equal(g.error, "invalid_grant");
	assert_null(g.access_token);
	grant_free(&g);
}

static void
test_nonsense(void **state)
{
	static const char *const bad[] = {
		"<html><body>Sign in</body></html>",
		"",
		"[]",
		"\"access_token\"",
		"{\"access_token\":\"AT\"",
		"{\"access_token\":\"AT\"} trailing",
		"{\"access_token\":42}",
		"{\"access_token\":\"AT\",\"expires_in\":\"soon\"}",
		"{\"token_type\":\"Bearer\"}",
		"{\"access_token\":\"\"}",
	};
	struct grant g;
	struct error e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gparse(bad[i], &g, &e), -1);
		assert_int_equal(e.kind, ERR_PROTOCOL);
		assert_null(g.access_token);
	}
}

static void
test_rotation(void **state)
{
	struct tokens t = { 0 };
	struct grant g = { 0 };

	t.refresh_token = strdup("RT1");
	t.refresh_obtained = 100;
	g.access_token = "AT";
	g.expires_in = 3600;
	assert_int_equal(grant_apply(&t, &g, 1000), 0);
	/* No new refresh token: the old one stays. */
	assert_string_equal(t.refresh_token, "RT1");
	assert_int_equal(t.refresh_obtained, 100);
	assert_int_equal(t.expires_at, 4600);
	assert_int_equal(t.last_used, 1000);
	g.refresh_token = "RT2";
	assert_int_equal(grant_apply(&t, &g, 2000), 0);
	assert_string_equal(t.refresh_token, "RT2");
	assert_int_equal(t.refresh_obtained, 2000);
	/* A lifetime past any sense (it overflowed once) counts as a year. */
	g.refresh_token = NULL;
	g.expires_in = LLONG_MAX;
	assert_int_equal(grant_apply(&t, &g, 3000), 0);
	assert_int_equal(t.expires_at, 3000 + GRANT_LIFETIME_MAX);
	tokens_free(&t);
}

static void
test_metadata(void **state)
{
	struct metadata m;
	struct registration r;
	struct error e;
	const char *md = "{\"issuer\":\"https://as.example\","
			 "\"token_endpoint\":\"https://as.example/t\","
			 "\"authorization_endpoint\":\"https://as.example/a\","
			 "\"registration_endpoint\":\"https://as.example/r\"}";

	error_clear(&e);
	assert_int_equal(metadata_parse(md, strlen(md), &m, &e), 0);
	assert_string_equal(m.token_endpoint, "https://as.example/t");
	assert_string_equal(m.registration_endpoint, "https://as.example/r");
	assert_null(m.device_authorization_endpoint);
	metadata_free(&m);
	assert_int_equal(metadata_parse("{\"issuer\":\"x\"}", 14, &m, &e), -1);
	assert_int_equal(e.kind, ERR_PROTOCOL);

	assert_int_equal(
	    registration_parse("{\"client_id\":\"c1\",\"client_secret\":\"s\"}",
		38, &r, &e),
	    0);
	assert_string_equal(r.client_id, "c1");
	registration_free(&r);
	assert_int_equal(registration_parse("{\"client_id\":\"\"}", 16, &r, &e),
	    -1);
}

static void
test_pkce(void **state)
{
	unsigned char d[32];
	char out[64];
	char v[PKCE_LEN], c[PKCE_LEN], c2[PKCE_LEN];

	/* RFC 7636 appendix B. */
	sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 43, d);
	base64url(d, sizeof(d), out);
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	/* The empty message, and lengths where the padding takes a block. */
	sha256("", 0, d);
	base64url(d, sizeof(d), out);
	assert_string_equal(out, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    d);
	base64url(d, sizeof(d), out);
	assert_string_equal(out, "JI1qYdIGOLjlwCaTDD5gOaM85Flk_yFn9uzt1BnbBsE");
	memset(out, 'a', 64);
	sha256(out, 64, d);
	base64url(d, sizeof(d), out);
	assert_string_equal(out, "_-BU_nrgy23GXDr5th1SCfQ5hR20PQulmXM33xVGaOs");

	assert_int_equal(pkce_pair(v, c), 0);
	assert_int_equal(strlen(v), 43);
	sha256(v, strlen(v), d);
	base64url(d, sizeof(d), c2);
	assert_string_equal(c, c2);
}

static void
test_url_decode(void **state)
{
	char s[] = "a%2Fb+c%3d";
	char bad[] = "x%2";
	char bad2[] = "x%zz";

	assert_int_equal(url_decode(s), 0);
	assert_string_equal(s, "a/b c=");
	assert_int_equal(url_decode(bad), -1);
	assert_int_equal(url_decode(bad2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_reply),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_nonsense),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_pkce),
		cmocka_unit_test(test_url_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
