/* msg.c: reading the message and the body filter. */
#include "msg.h"

#include "mapfile.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
/* Shorter input is not worth asking the processor what it has. */
#define AVX2_FROM 4096
#endif

#define READ_SIZE (128 * 1024)
/* The header block is held in memory: this is its limit. */
#define HEADER_MAX (1024 * 1024)

/* Bytes that end an ordinary run: CR, LF, NUL. */
static const unsigned char special[256] = {
	['\0'] = 1,
	['\n'] = 1,
	['\r'] = 1,
};

/*
 * The first CR, LF or NUL from p on, or end.  With SSE2 (every x86-64),
 * sixteen bytes at a time: three byte compares and one mask.  Otherwise
 * eight at a time: a word holds none of them when neither it nor its XOR
 * with a row of LFs or of CRs has a zero byte ((v - 0x01..) & ~v & 0x80..
 * is non-zero exactly when v has one, and its lowest set bit marks the
 * first such byte).  The tail byte by byte.
 */
static const unsigned char *
plain_run(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
		      nul = _mm_setzero_si128();

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		int hit = _mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
		    _mm_cmpeq_epi8(v, nul)));

		if (hit != 0)
			return p + __builtin_ctz((unsigned)hit);
		p += 16;
	}
#else
	const uint64_t ones = 0x0101010101010101ULL, highs = ones * 0x80;
	uint64_t w, lf, cr, hit;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		lf = w ^ (ones * '\n');
		cr = w ^ (ones * '\r');
		hit = (((w - ones) & ~w) | ((lf - ones) & ~lf) |
			  ((cr - ones) & ~cr)) &
		    highs;
		if (hit != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(hit) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
#endif
	while (p < end && !special[*p])
		p++;
	return p;
}

/*
 * The line ending at *pp, if one is there: LF, CRLF and a bare CR each
 * end a line (an LF right after a CR that ended one is that CR's).
 * Returns 2 for an ending taken (it becomes CRLF), 1 for the LF of a CRLF
 * already counted, 0 when *pp is not a line ending.
 */
static int
line_ending(struct bodyfilter *bf, const unsigned char **pp)
{
	const unsigned char *p = *pp;

	if (bf->cr) {
		bf->cr = 0;
		if (*p == '\n') {
			*pp = p + 1;
			return 1;
		}
	}
	if (*p != '\r' && *p != '\n')
		return 0;
	bf->cr = *p == '\r';
	bf->lines++;
	bf->bol = 1;
	*pp = p + 1;
	return 2;
}

void
bodyfilter_init(struct bodyfilter *bf)
{
	bf->bol = 1;
	bf->cr = 0;
	bf->raw = 0;
	bf->size = 0;
	bf->lines = 0;
}

int
bodyfilter_feed(struct bodyfilter *bf, const char *in, size_t n,
    struct buf *out, struct error *err)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + n, *q;
	char *o, *o0;
	unsigned long long stuffed = 0;

	if (n > ((size_t)-1) / 2 - 8 || buf_reserve(out, 2 * n + 8) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	o = o0 = out->data + out->len;
	while (p < end) {
		switch (line_ending(bf, &p)) {
		case 2:
			*o++ = '\r';
			*o++ = '\n';
			continue;
		case 1:
			continue;
		}
		if (*p == '\0') {
			out->len = (size_t)(o - out->data);
			return error_set(err, ERR_DATA,
			    "the message contains a NUL byte, which SMTP "
			    "cannot carry (encode it, e.g. as base64)");
		}
		/* RFC 5321 4.5.2: a line starting with "." gets another. */
		if (bf->bol && *p == '.' && !bf->raw) {
			*o++ = '.';
			stuffed++;
		}
		bf->bol = 0;
		/*
		 * A CRLF followed by an ordinary line needs no change: the
		 * run goes on through it, so that well-formed content is
		 * copied in long runs.
		 */
		for (q = p;;) {
			q = plain_run(q, end);
			if (end - q < 3 || q[0] != '\r' || q[1] != '\n' ||
			    (q[2] == '.' && !bf->raw))
				break;
			bf->lines++;
			q += 2;
			if (special[*q]) {
				bf->bol = 1; /* the next line starts oddly */
				break;
			}
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		p = q;
	}
	bf->size += (unsigned long long)(o - o0) - stuffed;
	out->len = (size_t)(o - out->data);
	return 0;
}

int
bodyfilter_finish(struct bodyfilter *bf, struct buf *out, struct error *err)
{
	const char *tail = bf->raw ? (bf->bol ? "" : "\r\n") :
	    bf->bol		   ? ".\r\n" :
				     "\r\n.\r\n";

	if (!bf->bol) {
		bf->size += 2;
		bf->lines++;
	}
	bf->bol = 1;
	bf->cr = 0;
	if (buf_addstr(out, tail) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	return 0;
}

/* One header field: raw bytes in hdr, folded lines and line ending kept. */
struct field {
	size_t start, len; /* the whole field */
	size_t namelen;
	int drop;
};

struct msg {
	int fd;
	char *rbuf;
	size_t cap; /* READ_SIZE (less for a small file), more for a header */
	size_t off, len; /* unfiltered bytes in rbuf */
	int eof;
	int eightbit;
	int finished;
	struct bodyfilter bf;

	/* The header block, as read; the body starts after it. */
	struct buf hdr;
	size_t fields_end; /* where the separator line starts */
	struct field *f;
	size_t nf;
	struct buf pre;	 /* fields to add in front, CRLF-terminated */
	int headers_out; /* the header block went into the filter */
	/*
	 * msg_content_size found the body to be CRLF lines without NUL,
	 * verbatim_lines of them: see pump_verbatim.
	 */
	int verbatim;
	unsigned long long verbatim_lines;
};

struct msg *
msg_new(int fd)
{
	struct msg *m;
	struct stat st;
	off_t at;
	size_t cap = READ_SIZE;

	/*
	 * A small regular file (a queued message, say) gets a buffer of its
	 * size: a pipelined flush holds dozens at once.  One byte more, so
	 * that the read that sees the end needs no larger buffer.
	 */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (at = lseek(fd, 0, SEEK_CUR)) >= 0 && st.st_size >= at &&
	    st.st_size - at < READ_SIZE - 4096)
		cap = ((size_t)(st.st_size - at) + 4096) & ~(size_t)4095;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->rbuf = malloc(cap)) == NULL) {
		free(m);
		return NULL;
	}
	m->fd = fd;
	m->cap = cap;
	bodyfilter_init(&m->bf);
	buf_init(&m->hdr, HEADER_MAX);
	buf_init(&m->pre, HEADER_MAX);
	return m;
}

void
msg_release(struct msg *m)
{
	free(m->rbuf);
	m->rbuf = NULL;
	m->cap = m->len = m->off = 0;
	free(m->f);
	m->f = NULL;
	m->nf = 0;
	buf_free(&m->hdr);
	buf_free(&m->pre);
	m->finished = 1;
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	free(m->rbuf);
	free(m->f);
	buf_free(&m->hdr);
	buf_free(&m->pre);
	free(m);
}

/* Read once into rbuf after what is there; 0 at end of input. */
static ssize_t
fill(struct msg *m, struct error *err)
{
	struct pollfd pfd;
	ssize_t n;

	/* A full buffer would read nothing and look like the end. */
	if (m->len == m->cap)
		return error_set(err, ERR_SOFTWARE, "message buffer full");
	for (;;) {
		n = read(m->fd, m->rbuf + m->len, m->cap - m->len);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			pfd.fd = m->fd;
			pfd.events = POLLIN;
			poll(&pfd, 1, -1);
			continue;
		}
		return error_set(err, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
	}
	if (n == 0)
		m->eof = 1;
	m->len += (size_t)n;
	return n;
}

/* Whether line [p, e) starts a header field: "name:" (RFC 5322 2.2). */
static size_t
field_name(const char *p, const char *e)
{
	const char *q;
	size_t n;

	for (q = p; q<e && * q> ' ' && *q < 127 && *q != ':'; q++)
		;
	n = (size_t)(q - p);
	while (q < e && (*q == ' ' || *q == '\t'))
		q++;
	return n > 0 && q < e && *q == ':' ? n : 0;
}

/*
 * Find the header block in rbuf: the fields, then an empty line.  It ends
 * early at a line that is not a field.  Returns 1 when found, 0 when more
 * input is needed.
 */
static int
scan_headers(struct msg *m, size_t *fields_end, size_t *block_end)
{
	const char *b = m->rbuf, *p = b, *e = b + m->len, *eol, *next;
	size_t name;
	struct field *f;

	m->nf = 0;
	while (p < e) {
		for (eol = p; eol < e && *eol != '\r' && *eol != '\n'; eol++)
			;
		if (eol == e && !m->eof)
			return 0;
		/* A CR at the end of what we have may be half of a CRLF. */
		if (eol + 1 == e && *eol == '\r' && !m->eof)
			return 0;
		next = eol;
		if (next < e && *next == '\r')
			next++;
		if (next < e && *next == '\n' && (next == eol || *eol == '\r'))
			next++;
		if (eol == p) { /* the empty line */
			*fields_end = (size_t)(p - b);
			*block_end = (size_t)(next - b);
			return 1;
		}
		if (*p == ' ' || *p == '\t') {
			if (m->nf == 0)
				break;
			m->f[m->nf - 1].len = (size_t)(next - b) -
			    m->f[m->nf - 1].start;
		} else if ((name = field_name(p, eol)) > 0) {
			if ((m->nf & 63) == 0) {
				f = realloc(m->f, (m->nf + 64) * sizeof(*f));
				if (f == NULL)
					return -1;
				m->f = f;
			}
			m->f[m->nf].start = (size_t)(p - b);
			m->f[m->nf].len = (size_t)(next - p);
			m->f[m->nf].namelen = name;
			m->f[m->nf].drop = 0;
			m->nf++;
		} else
			break;
		p = next;
	}
	/* A line ended where the input read so far ends: more may follow. */
	if (p == e && !m->eof)
		return 0;
	*fields_end = *block_end = (size_t)(p - b);
	return 1;
}

static int
read_headers(struct msg *m, struct error *err)
{
	size_t fields_end = 0, block_end = 0;
	char *nb;
	int r;

	while ((r = scan_headers(m, &fields_end, &block_end)) == 0) {
		if (m->len == m->cap) {
			if (m->cap >= HEADER_MAX)
				return error_set(err, ERR_DATA,
				    "the message "
				    "header is larger than %d KiB",
				    HEADER_MAX / 1024);
			if ((nb = realloc(m->rbuf, m->cap * 2)) == NULL)
				return error_set(err, ERR_OSERR,
				    "out of memory");
			m->rbuf = nb;
			m->cap *= 2;
		}
		if (fill(m, err) == -1)
			return -1;
	}
	if (r == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	if (buf_add(&m->hdr, m->rbuf, block_end) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	m->fields_end = fields_end;
	m->off = block_end;
	return 0;
}

int
msg_prefetch(struct msg *m, struct error *err)
{
	size_t i;

	while (!m->eof && m->len < m->cap)
		if (fill(m, err) == -1)
			return -1;
	if (read_headers(m, err) == -1)
		return -1;
	if (memchr(m->rbuf, '\0', m->len) != NULL)
		return error_set(err, ERR_DATA,
		    "the message contains a NUL byte, which SMTP cannot carry "
		    "(encode it, e.g. as base64)");
	/* What is not read yet may hold 8-bit bytes: assume it does. */
	m->eightbit = !m->eof;
	for (i = 0; i < m->len && !m->eightbit; i++)
		if ((unsigned char)m->rbuf[i] >= 0x80)
			m->eightbit = 1;
	return 0;
}

size_t
msg_nfields(const struct msg *m)
{
	return m->nf;
}

const char *
msg_field(const struct msg *m, size_t i, size_t *namelen, const char **value,
    size_t *valuelen)
{
	const struct field *f = &m->f[i];
	const char *p = m->hdr.data + f->start, *v, *e = p + f->len;

	*namelen = f->namelen;
	for (v = p + f->namelen; v < e && *v != ':'; v++)
		;
	v++;
	while (e > v && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*value = v;
	*valuelen = (size_t)(e - v);
	return p;
}

int
msg_field_is(const struct msg *m, size_t i, const char *name)
{
	size_t n = strlen(name);

	return m->f[i].namelen == n &&
	    strncasecmp(m->hdr.data + m->f[i].start, name, n) == 0;
}

int
msg_find_field(const struct msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nf; i++)
		if (!m->f[i].drop && msg_field_is(m, i, name))
			return (int)i;
	return -1;
}

void
msg_drop_field(struct msg *m, size_t i)
{
	m->f[i].drop = 1;
}

int
msg_add_field(struct msg *m, const char *name, const char *value,
    struct error *err)
{
	if (buf_printf(&m->pre, "%s: %s\r\n", name, value) == -1)
		return error_set(err, ERR_DATA,
		    "the added header fields are too large");
	if (!m->eightbit)
		for (; *value != '\0'; value++)
			if ((unsigned char)*value >= 0x80)
				m->eightbit = 1;
	return 0;
}

/* Feed the rebuilt header block: added fields, kept fields, separator. */
static int
feed_headers(struct msg *m, struct bodyfilter *bf, struct buf *out,
    struct error *err)
{
	size_t i;
	int had_block = m->nf > 0 || m->hdr.len > m->fields_end;

	if (m->pre.len > 0 &&
	    bodyfilter_feed(bf, m->pre.data, m->pre.len, out, err) == -1)
		return -1;
	for (i = 0; i < m->nf; i++)
		if (!m->f[i].drop &&
		    bodyfilter_feed(bf, m->hdr.data + m->f[i].start,
			m->f[i].len, out, err) == -1)
			return -1;
	/*
	 * Added fields before a message with no header need a separator;
	 * so does a header that ended at a line which is not a field (no
	 * empty line after it): that line is the body's first (RFC 5322
	 * 2.1), not part of the header.
	 */
	if (m->hdr.len == m->fields_end && (m->off < m->len || !m->eof) &&
	    (had_block || m->pre.len > 0))
		return bodyfilter_feed(bf, "\r\n", 2, out, err);
	if (m->hdr.len == m->fields_end)
		return 0;
	return bodyfilter_feed(bf, m->hdr.data + m->fields_end,
	    m->hdr.len - m->fields_end, out, err);
}

static int
emit_headers(struct msg *m, struct buf *out, struct error *err)
{
	m->headers_out = 1;
	return feed_headers(m, &m->bf, out, err);
}

#ifdef __SSE2__
/* The sum of the sixteen byte counters in v. */
static inline unsigned long long
byte_sum(__m128i v)
{
	__m128i t = _mm_sad_epu8(v, _mm_setzero_si128());

	return (unsigned long long)_mm_cvtsi128_si32(t) +
	    (unsigned long long)_mm_extract_epi16(t, 4);
}
#endif

#ifdef HAVE_AVX2_PATH
/*
 * The long scans (the count below and lf_dot) take 32 bytes at a time
 * where the processor has AVX2 and the system saves its registers (XCR0
 * bits 1 and 2); the build itself assumes only SSE2.  Asked once, on the
 * first long scan, so that a short message never asks.
 */
static int
have_avx2(void)
{
	static int known = -1;
	unsigned a, b, c, d, lo, hi;

	if (known != -1)
		return known;
	known = 0;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) &&
	    (c & bit_AVX)) {
		__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		if ((lo & 6) == 6 && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
		    (b & bit_AVX2))
			known = 1;
	}
	return known;
}

__attribute__((target("avx2"))) static inline unsigned long long
byte_sum256(__m256i v)
{
	__m256i t = _mm256_sad_epu8(v, _mm256_setzero_si256());

	return (unsigned long long)_mm256_extract_epi64(t, 0) +
	    (unsigned long long)_mm256_extract_epi64(t, 1) +
	    (unsigned long long)_mm256_extract_epi64(t, 2) +
	    (unsigned long long)_mm256_extract_epi64(t, 3);
}

/*
 * count_content's loop for AVX2: CRs, LFs, NULs and CRLF pairs in
 * [p, end) while more than 32 bytes are left (the pair test reads one
 * byte ahead); returns where it stopped.
 */
__attribute__((target("avx2"))) static const unsigned char *
count_avx2(const unsigned char *p, const unsigned char *end,
    unsigned long long *crs, unsigned long long *lfs, unsigned long long *pairs,
    unsigned long long *nuls)
{
	const __m256i vlf = _mm256_set1_epi8('\n'),
		      vcr = _mm256_set1_epi8('\r'),
		      zero = _mm256_setzero_si256();

	while (end - p > 32) {
		__m256i acr = zero, alf = zero, apair = zero, anul = zero;
		int k;

		for (k = 0; k < 255 && end - p > 32; k++, p += 32) {
			__m256i v = _mm256_loadu_si256(
			    (const __m256i *)(const void *)p);
			__m256i next = _mm256_loadu_si256(
			    (const __m256i *)(const void *)(p + 1));
			__m256i c = _mm256_cmpeq_epi8(v, vcr);

			acr = _mm256_sub_epi8(acr, c);
			alf = _mm256_sub_epi8(alf, _mm256_cmpeq_epi8(v, vlf));
			anul = _mm256_sub_epi8(anul,
			    _mm256_cmpeq_epi8(v, zero));
			apair = _mm256_sub_epi8(apair,
			    _mm256_and_si256(c, _mm256_cmpeq_epi8(next, vlf)));
		}
		*crs += byte_sum256(acr);
		*lfs += byte_sum256(alf);
		*nuls += byte_sum256(anul);
		*pairs += byte_sum256(apair);
	}
	return p;
}

/*
 * lf_dot's loop for AVX2, while more than 32 bytes are left: the LF of
 * the first LF-dot pair, or where it stopped.
 */
__attribute__((target("avx2"))) static const unsigned char *
lf_dot_avx2(const unsigned char *p, const unsigned char *end)
{
	const __m256i lf = _mm256_set1_epi8('\n'), dot = _mm256_set1_epi8('.');

	while (end - p > 32) {
		__m256i v = _mm256_loadu_si256(
		    (const __m256i *)(const void *)p);
		__m256i next = _mm256_loadu_si256(
		    (const __m256i *)(const void *)(p + 1));
		unsigned hit = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(
		    _mm256_cmpeq_epi8(v, lf), _mm256_cmpeq_epi8(next, dot)));

		if (hit != 0)
			return p + __builtin_ctz(hit);
		p += 32;
	}
	return p;
}
#endif

/*
 * Count what the body filter would make of n bytes, writing nothing.  The
 * filter keeps every byte and makes each line ending two bytes: a CRLF
 * stays as it is, a bare CR or LF gains one.  So the size grows by n plus
 * the CRs and LFs less twice the CRLF pairs; no branch per line.  A CR
 * at the end counts as bare; the LF that may start the next piece is then
 * that CR's and counts nothing.  Returns the bytes the filter would not
 * copy as they are (bare CRs and LFs, NULs), summed over the pieces.
 */
static unsigned long long
count_content(struct bodyfilter *bf, const char *in, size_t n)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + n;
	unsigned long long crs = 0, lfs = 0, pairs = 0, nuls = 0, odd = 0;

	if (p < end && bf->cr && *p == '\n') {
		p++;
		odd = (unsigned long long)-1; /* that CR was no bare one */
	}
	bf->cr = 0;
	if (p == end)
		return odd;
	bf->size += (unsigned long long)(end - p);
#ifdef HAVE_AVX2_PATH
	if (end - p >= AVX2_FROM && have_avx2())
		p = count_avx2(p, end, &crs, &lfs, &pairs, &nuls);
#endif
#ifdef __SSE2__
	{
		const __m128i vlf = _mm_set1_epi8('\n'),
			      vcr = _mm_set1_epi8('\r'),
			      zero = _mm_setzero_si128();

		/* Byte counters, summed before any of them can wrap. */
		while (end - p > 16) {
			__m128i acr = zero, alf = zero, apair = zero,
				anul = zero;
			int k;

			for (k = 0; k < 255 && end - p > 16; k++, p += 16) {
				__m128i v = _mm_loadu_si128(
				    (const __m128i *)(const void *)p);
				__m128i next = _mm_loadu_si128(
				    (const __m128i *)(const void *)(p + 1));
				__m128i c = _mm_cmpeq_epi8(v, vcr);

				acr = _mm_sub_epi8(acr, c);
				alf = _mm_sub_epi8(alf, _mm_cmpeq_epi8(v, vlf));
				anul = _mm_sub_epi8(anul,
				    _mm_cmpeq_epi8(v, zero));
				apair = _mm_sub_epi8(apair,
				    _mm_and_si128(c,
					_mm_cmpeq_epi8(next, vlf)));
			}
			crs += byte_sum(acr);
			lfs += byte_sum(alf);
			nuls += byte_sum(anul);
			pairs += byte_sum(apair);
		}
	}
#endif
	for (; p < end; p++) {
		crs += *p == '\r';
		lfs += *p == '\n';
		pairs += *p == '\r' && p + 1 < end && p[1] == '\n';
		nuls += *p == '\0';
	}
	bf->size += crs + lfs - 2 * pairs;
	bf->lines += crs + lfs - pairs;
	bf->bol = end[-1] == '\r' || end[-1] == '\n';
	bf->cr = end[-1] == '\r';
	return odd + crs + lfs - 2 * pairs + nuls;
}

/*
 * The rest of a regular file, from the current offset, through
 * count_content.  Through a read-only mapping, so that the page cache is
 * not copied only to be counted (the send then reads the file into a
 * buffer small enough to stay in the processor's cache, which costs less
 * than reading the mapping a second time); with pread where the file
 * cannot be mapped.  Neither moves the offset, where the message goes on.
 * -1 when the count failed, or the file shrank while it was counted.
 */
static int
count_file(struct msg *m, struct bodyfilter *bf, unsigned long long *odd)
{
	struct stat st;
	struct mapfile *f;
	const char *p;
	size_t k;
	off_t pos;
	ssize_t n;
	char *chunk;
	int shrunk;

	if (fstat(m->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (pos = lseek(m->fd, 0, SEEK_CUR)) == -1)
		return -1;
	if ((f = mapfile_open(m->fd, pos)) != NULL) {
		while ((k = mapfile_next(f, &p, READ_SIZE)) > 0)
			*odd += count_content(bf, p, k);
		shrunk = mapfile_shrunk(f);
		mapfile_close(f);
		return shrunk ? -1 : 0;
	}
	if ((chunk = malloc(READ_SIZE)) == NULL)
		return -1;
	while ((n = pread(m->fd, chunk, READ_SIZE, pos)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		*odd += count_content(bf, chunk, (size_t)n);
		pos += n;
	}
	free(chunk);
	return n == 0 ? 0 : -1;
}

unsigned long long
msg_content_size(struct msg *m)
{
	struct bodyfilter bf;
	struct buf scratch;
	struct error e;
	unsigned long long odd, lines;
	int r, hcr;

	if (m->headers_out)
		return 0;
	/*
	 * Exact, not estimated: the header as it will go (fields added and
	 * dropped) through a scratch filter, then the body read so far and
	 * the rest of the file counted the way the filter converts them.
	 */
	bodyfilter_init(&bf);
	buf_init(&scratch, 8 * HEADER_MAX);
	r = feed_headers(m, &bf, &scratch, &e);
	buf_free(&scratch);
	if (r == -1)
		return 0;
	lines = bf.lines;
	hcr = bf.cr;
	odd = count_content(&bf, m->rbuf + m->off, m->len - m->off);
	if (!m->eof && count_file(m, &bf, &odd) == -1)
		return 0;
	/* A body the filter would only dot-stuff: see pump_verbatim. */
	m->verbatim = !hcr && odd == 0;
	m->verbatim_lines = bf.lines - lines;
	if (!bf.bol)
		bf.size += 2; /* the line ending bodyfilter_finish adds */
	return bf.size;
}

int
msg_whole(const struct msg *m)
{
	return m->eof;
}

void
msg_raw(struct msg *m)
{
	m->bf.raw = 1;
}

int
msg_eightbit(const struct msg *m)
{
	return m->eightbit;
}

/*
 * Where a line starting with "." begins in [p, end): the dot after the
 * first LF followed by one, or end.
 */
static const unsigned char *
lf_dot(const unsigned char *p, const unsigned char *end)
{
#ifdef HAVE_AVX2_PATH
	if (end - p >= AVX2_FROM && have_avx2())
		p = lf_dot_avx2(p, end); /* the rest finds the pair at p */
#endif
#ifdef __SSE2__
	const __m128i lf = _mm_set1_epi8('\n'), dot = _mm_set1_epi8('.');

	while (end - p > 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i next = _mm_loadu_si128(
		    (const __m128i *)(const void *)(p + 1));
		int hit = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(v, lf),
		    _mm_cmpeq_epi8(next, dot)));

		if (hit != 0)
			return p + __builtin_ctz((unsigned)hit) + 1;
		p += 16;
	}
#endif
	for (; end - p > 1; p++)
		if (p[0] == '\n' && p[1] == '.')
			return p + 1;
	return end;
}

/*
 * A body msg_content_size found needs nothing but dot-stuffing: CRLF
 * lines, no NUL.  It is not scanned for line endings again: raw (BDAT)
 * it is read straight into out, otherwise only the lines starting with
 * "." are looked for.  A file that changes between the count and the
 * send goes as it is then, as the SIZE declared was the count's.
 */
static int
copy_stuffed(struct msg *m, struct buf *out, struct error *err)
{
	const unsigned char *p = (const unsigned char *)m->rbuf + m->off,
			    *end = (const unsigned char *)m->rbuf + m->len, *q;
	size_t n = m->len - m->off;
	char *o;

	if (n > ((size_t)-1) / 2 - 8 || buf_reserve(out, 2 * n + 8) == -1)
		return error_set(err, ERR_OSERR, "out of memory");
	o = out->data + out->len;
	if (m->bf.bol && *p == '.' && !m->bf.raw)
		*o++ = '.';
	while (p < end) {
		q = m->bf.raw ? end : lf_dot(p, end);
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		if (q < end)
			*o++ = '.';
		p = q;
	}
	m->bf.size += n;
	m->bf.bol = end[-1] == '\n';
	out->len = (size_t)(o - out->data);
	m->off = m->len = 0;
	return 0;
}

static int
pump_verbatim(struct msg *m, struct buf *out, size_t upto, struct error *err)
{
	ssize_t n;

	while (out->len < upto) {
		if (m->off < m->len) {
			if (copy_stuffed(m, out, err) == -1)
				return -1;
			continue;
		}
		m->off = m->len = 0;
		if (m->eof) {
			m->bf.lines += m->verbatim_lines;
			m->bf.cr = 0;
			if (bodyfilter_finish(&m->bf, out, err) == -1)
				return -1;
			m->finished = 1;
			return 0;
		}
		if (!m->bf.raw) {
			if (fill(m, err) == -1)
				return -1;
			continue;
		}
		if (buf_reserve(out, READ_SIZE) == -1)
			return error_set(err, ERR_OSERR, "out of memory");
		n = read(m->fd, out->data + out->len, READ_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return error_set(err, ERR_IO,
			    "cannot read the message: %s", strerror(errno));
		if (n == 0) {
			m->eof = 1;
			continue;
		}
		m->bf.bol = out->data[out->len + (size_t)n - 1] == '\n';
		out->len += (size_t)n;
		m->bf.size += (unsigned long long)n;
	}
	return 1;
}

int
msg_pump(struct msg *m, struct buf *out, size_t upto, struct error *err)
{
	if (m->finished)
		return 0;
	if (!m->headers_out && emit_headers(m, out, err) == -1)
		return -1;
	if (m->verbatim)
		return pump_verbatim(m, out, upto, err);
	while (out->len < upto) {
		if (m->off < m->len) {
			if (bodyfilter_feed(&m->bf, m->rbuf + m->off,
				m->len - m->off, out, err) == -1)
				return -1;
			m->off = m->len = 0;
			if (m->cap > READ_SIZE)
				m->cap = READ_SIZE; /* the rest streams */
			continue;
		}
		/* All taken: the next read starts at the buffer's start. */
		m->off = m->len = 0;
		if (m->eof) {
			if (bodyfilter_finish(&m->bf, out, err) == -1)
				return -1;
			m->finished = 1;
			return 0;
		}
		if (fill(m, err) == -1)
			return -1;
	}
	return 1;
}

unsigned long long
msg_size(const struct msg *m)
{
	return m->bf.size;
}

unsigned long long
msg_size_lf(const struct msg *m)
{
	return m->bf.size - m->bf.lines;
}
