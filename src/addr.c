/* addr.c: envelope address checks. */
#include "addr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

static int
bad_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int
addr_check_domain(const char *name, const char *what, struct error *err)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t label = 0, n = strlen(name);

	if (n == 0 || n > 255)
		return error_set(err, ERR_CONFIG, "%s is not a host name: %s",
		    what, n == 0 ? "it is empty" : "longer than 255 bytes");
	if (p[0] == '[') {
		/* RFC 5321 4.1.3: an address literal, printable inside. */
		for (p++; *p != '\0' && *p != ']'; p++)
			if (*p <= 0x20 || *p >= 0x7f || *p == '[' || *p == '\\')
				break;
		if (*p == ']' && p[1] == '\0' &&
		    p > (const unsigned char *)name + 1)
			return 0;
		return error_set(err, ERR_CONFIG,
		    "%s is not a valid address literal", what);
	}
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				break;
			label = 0;
			continue;
		}
		if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') ||
			(*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '_'))
			break;
		label++;
	}
	if (*p == '\0' && label > 0)
		return 0;
	/* Control characters are not shown: they are the attack. */
	return error_set(err, ERR_CONFIG, "%s is not a host name: %s", what,
	    *p == '\0' || *p == '.' ?
		"an empty label" :
		bad_byte(*p) ?
		"it contains a control character (such as CR or LF)" :
		"a character a host name cannot hold");
}

char *
addr_parse_one(const char *arg, const char *what, enum error_kind kind,
    struct error *err)
{
	const char *start = arg, *end, *lt, *gt, *p;
	char *out;

	for (p = arg; *p != '\0'; p++)
		if (bad_byte((unsigned char)*p) && *p != ' ' && *p != '\t') {
			error_set(err, kind,
			    "%s contains a control character "
			    "(such as CR or LF), which is not allowed",
			    what);
			return NULL;
		}
	lt = strrchr(arg, '<');
	gt = strrchr(arg, '>');
	if (lt != NULL || gt != NULL) {
		/* Exactly one <...>, and nothing but blanks after it. */
		if (lt == NULL || gt == NULL || gt < lt ||
		    strchr(arg, '<') != lt || strchr(arg, '>') != gt ||
		    gt[1 + strspn(gt + 1, " \t")] != '\0') {
			error_set(err, kind, "%s is not a valid address: %s",
			    what, arg);
			return NULL;
		}
		start = lt + 1;
		end = gt;
	} else {
		start += strspn(start, " \t");
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
	}
	for (p = start; p < end; p++)
		if (*p == ' ' || *p == '\t' || *p == '<' || *p == '>') {
			error_set(err, kind, "%s is not a valid address: %s",
			    what, arg);
			return NULL;
		}
	if ((out = strndup(start, (size_t)(end - start))) == NULL)
		error_set(err, ERR_OSERR, "out of memory");
	return out;
}

/* RFC 5321 2.4: the local part is case-sensitive, the domain is not. */
static int
same_addr(const char *a, const char *b, size_t blen)
{
	const char *at = memrchr(b, '@', blen);
	size_t local = at ? (size_t)(at - b) : blen;

	if (strlen(a) != blen || strncmp(a, b, local) != 0)
		return 0;
	return strncasecmp(a + local, b + local, blen - local) == 0;
}

/* FNV-1a over the local part as it is and the domain in lower case. */
static size_t
addr_hash(const char *a, size_t len)
{
	const char *at = memrchr(a, '@', len);
	size_t i, h = 2166136261u;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)a[i];
		if (at != NULL && a + i > at && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 16777619u;
	}
	return h;
}

/* Make room in the hash set: it stays at most half full. */
static int
grow_slots(struct addrlist *l)
{
	size_t n = l->nslots ? l->nslots * 2 : 64, i, k;
	size_t *slots;

	if ((slots = calloc(n, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		k = addr_hash(l->v[i], strlen(l->v[i])) & (n - 1);
		while (slots[k] != 0)
			k = (k + 1) & (n - 1);
		slots[k] = i + 1;
	}
	free(l->slots);
	l->slots = slots;
	l->nslots = n;
	return 0;
}

int
addrlist_add(struct addrlist *l, const char *addr, size_t len)
{
	char **v;
	size_t k;

	if ((l->n + 1) * 2 > l->nslots && grow_slots(l) == -1)
		return -1;
	for (k = addr_hash(addr, len) & (l->nslots - 1); l->slots[k] != 0;
	     k = (k + 1) & (l->nslots - 1))
		if (same_addr(l->v[l->slots[k] - 1], addr, len))
			return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
	}
	if ((l->v[l->n] = strndup(addr, len)) == NULL)
		return -1;
	l->slots[k] = ++l->n;
	return 0;
}

void
addrlist_free(struct addrlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

#define CONTROL_MSG \
	"%s contains a control character (such as CR or LF), which is not " \
	"allowed"

/* The parser's state for one mailbox: what stands outside and inside <>. */
struct mbox {
	struct buf plain; /* an addr-spec written without <> */
	struct buf angle; /* the contents of <...> */
	int in_angle, had_angle;
	int space; /* blanks were skipped since the last byte */
	int words; /* the plain part has words apart: a name */
};

static int
flush(struct mbox *m, struct addrlist *l, const char *what,
    enum error_kind kind, struct error *err)
{
	const char *a = m->had_angle ? m->angle.data : m->plain.data;
	size_t n = m->had_angle ? m->angle.len : m->plain.len, i;

	if (m->in_angle)
		return error_set(err, kind, "%s: a \"<\" without its \">\"",
		    what);
	if (!m->had_angle && m->words)
		return error_set(err, kind,
		    "%s is not a valid address (a "
		    "name goes with the address in <...>)",
		    what);
	/* RFC 5322 4.4: an obsolete source route "@a,@b:" is dropped. */
	if (m->had_angle && n > 0 && a[0] == '@') {
		for (i = 0; i < n && a[i] != ':'; i++)
			;
		if (i == n)
			return error_set(err, kind,
			    "%s: a source route without \":\"", what);
		a += i + 1;
		n -= i + 1;
	}
	for (i = 0; i < n; i++)
		if (bad_byte((unsigned char)a[i]))
			return error_set(err, kind,
			    "%s contains a control character (such as CR or "
			    "LF), which is not allowed",
			    what);
	if (n > 0 && addrlist_add(l, a, n) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	m->plain.len = m->angle.len = 0;
	m->had_angle = m->words = m->space = 0;
	return 0;
}

/*
 * At a CR or LF inside the list: the length of the line break when it is
 * folding (followed by a blank, RFC 5322 3.2.2), or 0 when it is not.
 */
static size_t
folding(const char *p, const char *end)
{
	size_t n = p + 1 < end && p[0] == '\r' && p[1] == '\n' ? 2 : 1;

	return p + n < end && (p[n] == ' ' || p[n] == '\t') ? n : 0;
}

/*
 * Skip a comment starting at *p ('('), nested, with quoted pairs.  -1:
 * unclosed; -3: a control character or a line break that is not folding.
 */
static int
skip_comment(const char **pp, const char *end)
{
	const char *p = *pp;
	int depth = 0;
	size_t f;

	for (; p < end; p++) {
		if ((*p == '\r' || *p == '\n') && (f = folding(p, end)) > 0) {
			p += f - 1;
			continue;
		}
		if (bad_byte((unsigned char)*p) && *p != '\t')
			return -3;
		if (*p == '\\' && p + 1 < end) {
			p++;
			if (bad_byte((unsigned char)*p) && *p != '\t')
				return -3;
		} else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0) {
			*pp = p + 1;
			return 0;
		}
	}
	return -1;
}

/*
 * Copy a quoted string or domain literal, delimiters included, unfolded.
 * -1: out of memory; -2: unclosed; -3: a control character.
 */
static int
copy_quoted(const char **pp, const char *end, char close, struct buf *out)
{
	const char *p = *pp + 1;
	size_t f;

	if (buf_add(out, *pp, 1) == -1)
		return -1;
	for (; p < end; p++) {
		if ((*p == '\r' || *p == '\n') && (f = folding(p, end)) > 0) {
			p += f - 1; /* the blank after it stays */
			continue;
		}
		if (bad_byte((unsigned char)*p) && *p != '\t')
			return -3;
		if (*p == '\\' && p + 1 < end) {
			if (bad_byte((unsigned char)p[1]) && p[1] != '\t')
				return -3;
			if (buf_add(out, p, 2) == -1)
				return -1;
			p++;
			continue;
		}
		if (buf_add(out, p, 1) == -1)
			return -1;
		if (*p == close) {
			*pp = p + 1;
			return 0;
		}
	}
	return -2;
}

int
addr_list_parse(const char *text, size_t len, struct addrlist *l,
    const char *what, enum error_kind kind, struct error *err)
{
	const char *p = text, *end = text + len;
	struct mbox m;
	struct buf *cur;
	int r = -1, in_group = 0, q;

	memset(&m, 0, sizeof(m));
	buf_init(&m.plain, 1 << 20);
	buf_init(&m.angle, 1 << 20);
	while (p < end) {
		cur = m.in_angle ? &m.angle : &m.plain;
		switch (*p) {
		case '\r':
		case '\n':
			/* Only folding, a line break before a blank, may stay. */
			if (p + 1 < end && (p[0] == '\r' && p[1] == '\n'))
				p++;
			if (p + 1 >= end || (p[1] != ' ' && p[1] != '\t')) {
				error_set(err, kind,
				    "%s contains a control "
				    "character (such as CR or LF), which is not "
				    "allowed",
				    what);
				goto out;
			}
			p++;
			break;
		case ' ':
		case '\t':
			m.space = 1;
			p++;
			break;
		case '(':
			if ((q = skip_comment(&p, end)) != 0) {
				error_set(err, kind,
				    q == -3 ? CONTROL_MSG :
					      "%s: a \"(\" without its \")\"",
				    what);
				goto out;
			}
			break;
		case ')':
		case ']':
			error_set(err, kind, "%s: a \"%c\" without its \"%c\"",
			    what, *p, *p == ')' ? '(' : '[');
			goto out;
		case '"':
		case '[':
			if (m.had_angle) {
				error_set(err, kind, "%s: text after \">\"",
				    what);
				goto out;
			}
			q = copy_quoted(&p, end, *p == '"' ? '"' : ']', cur);
			if (q == -1)
				goto oom;
			if (q != 0) {
				error_set(err, kind,
				    q == -3 ?
					CONTROL_MSG :
					"%s: an unclosed quoted string or \"[\"",
				    what);
				goto out;
			}
			m.space = 0;
			break;
		case '<':
			if (m.in_angle || m.had_angle) {
				error_set(err, kind,
				    "%s is not a valid "
				    "address list",
				    what);
				goto out;
			}
			/* What came before was a display name. */
			m.plain.len = 0;
			m.words = m.space = 0;
			m.in_angle = 1;
			p++;
			break;
		case '>':
			if (!m.in_angle) {
				error_set(err, kind,
				    "%s: a \">\" without its "
				    "\"<\"",
				    what);
				goto out;
			}
			m.in_angle = 0;
			m.had_angle = 1;
			p++;
			break;
		case ':':
			if (m.in_angle) {
				if (buf_add(cur, p, 1) == -1)
					goto oom;
				p++;
				break;
			}
			/*
			 * RFC 5322 3.4: "name: members;" is a group.  A name
			 * with an unquoted "@" is an address gone wrong.
			 */
			if (in_group || m.had_angle ||
			    (m.plain.len > 0 &&
				memchr(m.plain.data, '@', m.plain.len) !=
				    NULL)) {
				error_set(err, kind, "%s: a \":\" out of place",
				    what);
				goto out;
			}
			in_group = 1;
			m.plain.len = 0;
			m.words = m.space = 0;
			p++;
			break;
		case ';':
			if (!in_group) {
				error_set(err, kind, "%s: a \";\" out of place",
				    what);
				goto out;
			}
			if (flush(&m, l, what, kind, err) == -1)
				goto out;
			in_group = 0;
			p++;
			break;
		case ',':
			if (m.in_angle) {
				/* Part of an obsolete route: "<@a,@b:x@y>". */
				if (buf_add(cur, p, 1) == -1)
					goto oom;
			} else if (flush(&m, l, what, kind, err) == -1)
				goto out;
			p++;
			break;
		default:
			if (m.had_angle) {
				error_set(err, kind, "%s: text after \">\"",
				    what);
				goto out;
			}
			if (bad_byte((unsigned char)*p)) {
				error_set(err, kind, CONTROL_MSG, what);
				goto out;
			}
			/* Inside <> an address is one word: "<a b@c>" is not. */
			if (m.in_angle && m.space && m.angle.len > 0 &&
			    *p != '.' && *p != '@' &&
			    m.angle.data[m.angle.len - 1] != '.' &&
			    m.angle.data[m.angle.len - 1] != '@' &&
			    m.angle.data[m.angle.len - 1] != ':' &&
			    m.angle.data[m.angle.len - 1] != ',') {
				error_set(err, kind,
				    "%s is not a valid address "
				    "(blanks inside <...>)",
				    what);
				goto out;
			}
			/* Blanks may stand around "." and "@" (RFC 5322 4.4). */
			if (!m.in_angle && m.space && m.plain.len > 0 &&
			    *p != '.' && *p != '@' &&
			    m.plain.data[m.plain.len - 1] != '.' &&
			    m.plain.data[m.plain.len - 1] != '@')
				m.words = 1;
			m.space = 0;
			if (buf_add(cur, p, 1) == -1)
				goto oom;
			p++;
			break;
		}
	}
	if (flush(&m, l, what, kind, err) == -1)
		goto out;
	r = 0;
	goto out;
oom:
	error_set(err, ERR_OSERR, "out of memory");
out:
	buf_free(&m.plain);
	buf_free(&m.angle);
	return r;
}
