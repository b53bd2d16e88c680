/* mapfile.c: a regular file through a read-only mapping, in windows. */
#include "mapfile.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Pages come in as they are read (a fault maps sixteen at a time; mapping
 * a window ahead with MADV_POPULATE_READ cost more) and leave the page
 * tables once the reader is a window past them: they stay in the page
 * cache, but not in this process's resident set.
 */
#define WINDOW (1024 * 1024)

struct mapfile {
	char *base;   /* the mapping, from a page boundary */
	size_t len;   /* its length: up to the file's end when mapped */
	size_t pos;   /* the next byte to hand out, from base */
	size_t start; /* where `from' is, from base */
	size_t kept;  /* dropped before here */
	struct sigaction old;
	volatile sig_atomic_t shrunk;
};

/* The one open mapping the SIGBUS handler knows about. */
static struct mapfile *active;
static size_t pagesize;

/*
 * A read past the end of a file that shrank under the mapping raises
 * SIGBUS.  For an address in our mapping, the rest of it becomes
 * anonymous zero pages, so that the read goes on (and sees NUL bytes),
 * and the file is marked as shrunk.  mmap is not on POSIX's list of
 * async-signal-safe functions, but on Linux it is the bare system call.
 * Any other SIGBUS gets the default action when the access is retried.
 */
static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct mapfile *f = active;
	uintptr_t a = (uintptr_t)si->si_addr, b, e;

	(void)uc;
	if (f != NULL) {
		b = (uintptr_t)f->base;
		e = b + f->len;
		if (a >= b && a < e) {
			a &= ~(uintptr_t)(pagesize - 1);
			if (mmap((void *)a, e - a, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				0) != MAP_FAILED) {
				f->shrunk = 1;
				return;
			}
		}
	}
	signal(sig, SIG_DFL);
}

struct mapfile *
mapfile_open(int fd, off_t from)
{
	struct mapfile *f;
	struct stat st;
	struct sigaction sa;
	off_t at;
	void *p;

	if (active != NULL || from < 0 || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode) || st.st_size <= from)
		return NULL;
	if (pagesize == 0)
		pagesize = (size_t)sysconf(_SC_PAGESIZE);
	at = from - from % (off_t)pagesize;
	if ((unsigned long long)(st.st_size - at) > SIZE_MAX ||
	    (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->len = (size_t)(st.st_size - at);
	f->start = f->pos = (size_t)(from - at);
	p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, at);
	if (p == MAP_FAILED) {
		free(f);
		return NULL;
	}
	f->base = p;
	(void)madvise(f->base, f->len, MADV_SEQUENTIAL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &f->old) == -1) {
		munmap(f->base, f->len);
		free(f);
		return NULL;
	}
	active = f;
	return f;
}

/* Drop the pages more than a window behind pos from the page tables. */
static void
drop_behind(struct mapfile *f)
{
	size_t upto;

	if (f->pos - f->kept < 2 * (size_t)WINDOW)
		return;
	upto = (f->pos - WINDOW) & ~(pagesize - 1);
	(void)madvise(f->base + f->kept, upto - f->kept, MADV_DONTNEED);
	f->kept = upto;
}

size_t
mapfile_next(struct mapfile *f, const char **p, size_t max)
{
	size_t n = f->len - f->pos;

	if (n > max)
		n = max;
	drop_behind(f);
	if (n == 0 || f->shrunk)
		return 0;
	*p = f->base + f->pos;
	f->pos += n;
	return n;
}

int
mapfile_shrunk(const struct mapfile *f)
{
	return f->shrunk;
}

void
mapfile_rewind(struct mapfile *f)
{
	if (f->len > f->kept)
		(void)madvise(f->base + f->kept, f->len - f->kept,
		    MADV_DONTNEED);
	f->pos = f->start;
	f->kept = 0;
}

void
mapfile_close(struct mapfile *f)
{
	if (f == NULL)
		return;
	munmap(f->base, f->len);
	sigaction(SIGBUS, &f->old, NULL);
	active = NULL;
	free(f);
}
