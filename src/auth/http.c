/*
 * http.c: outbox-auth's HTTPS client (libcurl, GnuTLS flavour): HTTPS
 * only, redirects only to HTTPS and at most five, replies capped at
 * 1 MiB, bounded by timeouts, trusting trust_file when given.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"

struct sink {
	char *buf;
	size_t len, cap;
	int over;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->len + n > HTTP_BODY_MAX) {
		s->over = 1;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *b;

		while (cap < s->len + n + 1)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (b == NULL)
			return 0;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

int
http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
http_resp_free(struct http_resp *r)
{
	if (r->body != NULL)
		explicit_bzero(r->body, r->len);
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

int
http_form_add(char **form, const char *key, const char *value)
{
	char *k = curl_easy_escape(NULL, key, 0);
	char *v = curl_easy_escape(NULL, value, 0);
	size_t old = *form != NULL ? strlen(*form) : 0;
	char *f = NULL;

	if (k != NULL && v != NULL)
		f = realloc(*form, old + strlen(k) + strlen(v) + 3);
	if (f != NULL) {
		if (old > 0)
			f[old++] = '&';
		strcpy(f + old, k);
		strcat(f + old, "=");
		strcat(f + old, v);
		*form = f;
	}
	if (v != NULL)
		explicit_bzero(v, strlen(v));
	curl_free(k);
	curl_free(v);
	return f != NULL ? 0 : -1;
}

/* The scheme and host of url, for traces and messages (no query). */
static void
url_origin(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");
	size_t len;

	p = p != NULL ? p + 3 : url;
	len = strcspn(p, "/?#");
	snprintf(out, n, "%.*s%.*s", (int)(p - url), url, (int)len, p);
	{
		size_t pl = strcspn(p + len, "?#");

		if (strlen(out) + pl < n)
			strncat(out, p + len, pl);
	}
}

int
http_request(const struct http_opts *o, const char *url, const char *form,
    struct http_resp *r, struct error *e)
{
	CURL *c;
	CURLcode rc;
	struct sink s = { 0 };
	char where[256];
	char errbuf[CURL_ERROR_SIZE] = "";
	char *ct = NULL;
	struct curl_slist *hdrs = NULL;
	int https = strncasecmp(url, "https://", 8) == 0;

	memset(r, 0, sizeof(*r));
	url_origin(url, where, sizeof(where));
	if (!https && !(o->allow_http && strncasecmp(url, "http://", 7) == 0))
		return error_set(e, ERR_CONFIG, "%s is not an https:// URL",
		    where);
	if (o->trust_file != NULL && *o->trust_file != '\0' &&
	    access(o->trust_file, R_OK) != 0)
		return error_set(e, ERR_CONFIG, "cannot read trust file %s",
		    o->trust_file);
	c = curl_easy_init();
	if (c == NULL)
		return error_set(e, ERR_SOFTWARE, "cannot start libcurl");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    o->allow_http ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout > 0 ? o->timeout : 30L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)HTTP_BODY_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "outbox-auth/" OUTBOX_VERSION);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (o->trust_file != NULL && *o->trust_file != '\0') {
		curl_easy_setopt(c, CURLOPT_CAINFO, o->trust_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (form != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
		if (o->content_type != NULL) {
			char h[160];

			snprintf(h, sizeof(h), "Content-Type: %s",
			    o->content_type);
			hdrs = curl_slist_append(hdrs, h);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		}
		/* A redirected POST is not replayed elsewhere. */
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	}
	trace(o, "%s %s", form != NULL ? "POST" : "GET", where);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		enum error_kind k = ERR_TEMP;
		const char *what = curl_easy_strerror(rc);

		switch (rc) {
		case CURLE_TOO_MANY_REDIRECTS:
			k = ERR_PROTOCOL;
			what = "too many redirects";
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
			k = ERR_PROTOCOL;
			what = "redirected to a URL that is not https://";
			break;
		case CURLE_FILESIZE_EXCEEDED:
			k = ERR_PROTOCOL;
			what = "reply larger than 1 MiB";
			break;
		case CURLE_WRITE_ERROR:
			if (s.over) {
				k = ERR_PROTOCOL;
				what = "reply larger than 1 MiB";
			}
			break;
		case CURLE_SSL_CACERT_BADFILE:
			k = ERR_CONFIG;
			what = "cannot load the trust file";
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CONNECT_ERROR:
			/* Certificates are the server's to fix: retried. */
			break;
		default:
			break;
		}
		if (k == ERR_TEMP &&
		    (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR)) {
			long status = 0;

			/* It answered, then broke off: a broken reply. */
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			if (status != 0) {
				k = ERR_PROTOCOL;
				what = "the reply broke off";
			}
		}
		if (errbuf[0] != '\0' && k == ERR_TEMP)
			what = errbuf;
		error_set(e, k, "%s: %s", where, what);
		trace(o, "%s failed: %s", where, what);
		curl_easy_cleanup(c);
		curl_slist_free_all(hdrs);
		if (s.buf != NULL)
			explicit_bzero(s.buf, s.len);
		free(s.buf);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (s.buf == NULL) {
		s.buf = calloc(1, 1);
		if (s.buf == NULL)
			return error_set(e, ERR_OSERR, "out of memory");
	}
	r->body = s.buf;
	r->len = s.len;
	trace(o, "%s: HTTP %ld, %zu bytes", where, r->status, r->len);
	if (r->status >= 300 && r->status < 400) {
		http_resp_free(r);
		return error_set(e, ERR_PROTOCOL,
		    "%s: unfollowed redirect (HTTP %ld)", where, r->status);
	}
	return 0;
}

int
url_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%') {
			int hi, lo;
			const char *hex = "0123456789abcdef";
			const char *a, *b;

			if (s[1] == '\0' || s[2] == '\0')
				return -1;
			a = strchr(hex, s[1] | 0x20);
			b = strchr(hex, s[2] | 0x20);
			if (a == NULL || b == NULL || s[1] == '\0')
				return -1;
			hi = (int)(a - hex);
			lo = (int)(b - hex);
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}
