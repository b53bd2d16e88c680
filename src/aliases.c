/* aliases.c: envelope recipients expanded through an aliases file. */
#include "aliases.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "addr.h"

#define BLANKS " \t"
#define CATCH_ALL "default"
/* The names one chain may hold: the recipient, then one per step. */
#define MAX_CHAIN (ALIASES_MAX_DEPTH + 1)

struct alias {
	char *name;
	char **addrs;
	size_t naddrs;
	unsigned long line;
	size_t height; /* names in the longest chain from here; 0 until done */
	int active;    /* on the chain being expanded */
};

struct table {
	struct alias *v;
	size_t n, cap;
};

struct frame {
	const char *name;
	const struct alias *a;
};

struct expander {
	const char *path;
	const struct table *t;
	struct alias *catch_all;
	struct addrlist *out;
	struct frame chain[MAX_CHAIN];
	size_t depth;
	struct error *err;
};

static int
oom(struct error *err)
{
	return error_set(err, ERR_OSERR, "out of memory");
}

static char *
trim(char *s)
{
	char *end;

	s += strspn(s, BLANKS);
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s;
}

static int
bad_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static void
alias_clear(struct alias *a)
{
	free(a->name);
	aliases_free(a->addrs, a->naddrs);
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		alias_clear(&t->v[i]);
	free(t->v);
}

static int
push_str(char ***v, size_t *n, size_t *cap, char *s)
{
	char **nv;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap != 0 ? *cap * 2 : 8;
		if ((nv = reallocarray(*v, ncap, sizeof(*nv))) == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = s;
	return 0;
}

static int
check_name(const char *name, const char *path, unsigned long line,
    struct error *err)
{
	const char *p;

	if (*name == '\0')
		return error_set(err, ERR_CONFIG, "%s:%lu: empty alias name",
		    path, line);
	for (p = name; *p != '\0'; p++)
		if (bad_byte((unsigned char)*p) && *p != '\t')
			return error_set(err, ERR_CONFIG,
			    "%s:%lu: the alias name contains a control "
			    "character",
			    path, line);
	/* Only names without '@' are looked up: such an entry is a mistake. */
	if (strchr(name, '@') != NULL)
		return error_set(err, ERR_CONFIG,
		    "%s:%lu: alias name %s contains '@'; only local names "
		    "are aliased",
		    path, line, name);
	if (strpbrk(name, BLANKS) != NULL)
		return error_set(err, ERR_CONFIG,
		    "%s:%lu: alias name \"%s\" contains a blank", path, line,
		    name);
	return 0;
}

/* The addresses after the colon, each checked and reduced to an addr-spec. */
static int
parse_addrs(struct alias *a, char *value, const char *path, struct error *err)
{
	char what[ERROR_MSG_MAX], *piece, *addr;
	size_t cap = 0;

	if (*trim(value) == '\0')
		return error_set(err, ERR_CONFIG,
		    "%s:%lu: alias %s has no addresses", path, a->line,
		    a->name);
	snprintf(what, sizeof(what), "%s:%lu: address in alias %s", path,
	    a->line, a->name);
	for (;;) {
		piece = value;
		value = strchr(value, ',');
		if (value != NULL)
			*value++ = '\0';
		piece = trim(piece);
		if (*piece == '\0')
			return error_set(err, ERR_CONFIG,
			    "%s:%lu: empty address in alias %s", path, a->line,
			    a->name);
		if ((addr = addr_parse_one(piece, what, ERR_CONFIG, err)) ==
		    NULL)
			return -1;
		if (*addr == '\0') {
			free(addr);
			return error_set(err, ERR_CONFIG,
			    "%s:%lu: empty address in alias %s", path, a->line,
			    a->name);
		}
		if (push_str(&a->addrs, &a->naddrs, &cap, addr) == -1) {
			free(addr);
			return oom(err);
		}
		if (value == NULL)
			return 0;
	}
}

static int
parse_line(struct table *t, char *line, size_t len, const char *path,
    unsigned long lineno, struct error *err)
{
	struct alias a = { .line = lineno };
	struct alias *nv;
	size_t ncap;
	char *colon, *name, *p;

	if (strlen(line) != len)
		return error_set(err, ERR_CONFIG, "%s:%lu: NUL byte in line",
		    path, lineno);
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	name = trim(line);
	if (*name == '\0')
		return 0;
	colon = strchr(name, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return error_set(err, ERR_CONFIG,
		    "%s:%lu: expected name: address[, address...] "
		    "with one ':'",
		    path, lineno);
	*colon = '\0';
	name = trim(name);
	if (check_name(name, path, lineno, err) == -1)
		return -1;
	if ((a.name = strdup(name)) == NULL)
		return oom(err);
	if (parse_addrs(&a, colon + 1, path, err) == -1)
		goto fail;
	if (t->n == t->cap) {
		ncap = t->cap != 0 ? t->cap * 2 : 16;
		if ((nv = reallocarray(t->v, ncap, sizeof(*nv))) == NULL) {
			oom(err);
			goto fail;
		}
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n++] = a;
	return 0;
fail:
	alias_clear(&a);
	return -1;
}

static int
by_name_line(const void *pa, const void *pb)
{
	const struct alias *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Sort for lookups; a name defined twice is an error at its second line. */
static int
table_index(struct table *t, const char *path, struct error *err)
{
	const struct alias *dup = NULL, *first = NULL;
	size_t i;

	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), by_name_line);
	for (i = 1; i < t->n; i++)
		if (strcmp(t->v[i - 1].name, t->v[i].name) == 0 &&
		    (dup == NULL || t->v[i].line < dup->line)) {
			first = &t->v[i - 1];
			dup = &t->v[i];
		}
	if (dup != NULL)
		return error_set(err, ERR_CONFIG,
		    "%s:%lu: alias %s was already defined on line %lu", path,
		    dup->line, dup->name, first->line);
	return 0;
}

static int
table_load(struct table *t, const char *path, struct error *err)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int r = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return error_set(err, ERR_CONFIG,
		    "cannot read aliases file %s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, fp)) != -1)
		if ((r = parse_line(t, line, (size_t)len, path, ++lineno,
			 err)) == -1)
			break;
	if (r == 0 && ferror(fp))
		r = error_set(err, ERR_CONFIG,
		    "cannot read aliases file %s: %s", path, strerror(errno));
	free(line);
	fclose(fp);
	if (r == 0)
		r = table_index(t, path, err);
	return r;
}

static int
alias_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct alias *)elem)->name);
}

static struct alias *
table_find(const struct table *t, const char *name)
{
	return t->n == 0 ?
	    NULL :
	    bsearch(name, t->v, t->n, sizeof(t->v[0]), alias_cmp);
}

/* Each address once: the list's own rule (RFC 5321 2.4). */
static int
emit(struct expander *x, const char *addr)
{
	if (addrlist_add(x->out, addr, strlen(addr)) == -1)
		return oom(x->err);
	return 0;
}

/* One name of a chain, and the catch-all when that is what it took. */
static void
append(char *buf, size_t size, const char *name, const struct alias *a,
    const struct alias *catch_all)
{
	size_t len = strlen(buf);
	const char *via = "";

	if (a == catch_all && strcmp(name, CATCH_ALL) != 0)
		via = " -> " CATCH_ALL;
	snprintf(buf + len, size - len, "%s%s%s", len > 0 ? " -> " : "", name,
	    via);
}

static int
loop_error(struct expander *x, const char *name, const struct alias *a,
    const struct alias *from)
{
	char chain[ERROR_MSG_MAX] = "";
	size_t i;

	for (i = 0; i < x->depth; i++)
		append(chain, sizeof(chain), x->chain[i].name, x->chain[i].a,
		    x->catch_all);
	append(chain, sizeof(chain), name, a, x->catch_all);
	return error_set(x->err, ERR_CONFIG, "%s:%lu: alias loop: %s", x->path,
	    from->line, chain);
}

/*
 * Expand one local name; *height is the number of names in the longest
 * chain it started.  `from' is the entry that named it, NULL for a
 * recipient.  An entry already expanded in full is not expanded again:
 * everything it yields is in the list already.
 */
static int
expand_name(struct expander *x, const char *name, const struct alias *from,
    size_t *height)
{
	struct alias *a;
	size_t i, h, max = 0;

	*height = 0;
	if ((a = table_find(x->t, name)) == NULL)
		a = x->catch_all;
	if (a == NULL)
		return emit(x, name);
	if (a->active)
		return loop_error(x, name, a, from);
	if (a->height != 0 && x->depth + a->height <= MAX_CHAIN) {
		*height = a->height;
		return 0;
	}
	if (x->depth == MAX_CHAIN)
		return error_set(x->err, ERR_CONFIG,
		    "%s:%lu: aliases nested more than %d deep "
		    "while expanding %s",
		    x->path, from->line, ALIASES_MAX_DEPTH, x->chain[0].name);
	x->chain[x->depth].name = name;
	x->chain[x->depth].a = a;
	x->depth++;
	a->active = 1;
	for (i = 0; i < a->naddrs; i++) {
		if (strchr(a->addrs[i], '@') != NULL) {
			if (emit(x, a->addrs[i]) == -1)
				return -1;
			continue;
		}
		if (expand_name(x, a->addrs[i], a, &h) == -1)
			return -1;
		if (h > max)
			max = h;
	}
	a->active = 0;
	x->depth--;
	a->height = *height = max + 1;
	return 0;
}

int
aliases_expand(const char *path, char *const *in, size_t nin, char ***out,
    size_t *nout, struct error *err)
{
	struct table t = { 0 };
	struct addrlist list = { 0 };
	struct expander x = { .path = path, .t = &t, .out = &list, .err = err };
	size_t i, h;
	int need = 0;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < nin; i++)
		if (strchr(in[i], '@') == NULL)
			need = 1;
	/* A file that no recipient needs is not read. */
	if (need && table_load(&t, path, err) == -1)
		goto fail;
	x.catch_all = table_find(&t, CATCH_ALL);
	for (i = 0; i < nin; i++) {
		if (strchr(in[i], '@') != NULL) {
			if (emit(&x, in[i]) == -1)
				goto fail;
		} else if (expand_name(&x, in[i], NULL, &h) == -1)
			goto fail;
	}
	table_free(&t);
	/* The caller gets the addresses; the duplicate set goes. */
	free(list.slots);
	*out = list.v;
	*nout = list.n;
	return 0;
fail:
	table_free(&t);
	addrlist_free(&list);
	return -1;
}

void
aliases_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
