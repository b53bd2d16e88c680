/*
 * delayproxy.c: a TCP relay on 127.0.0.1 that adds a round-trip time, for
 * a kernel without netem.  Each direction holds what it reads for half the
 * RTT and then writes it on, one write per read, in order; an end of
 * stream is passed on the same way.  The connection to the server is made
 * 1.5 RTT after the client's, when the server would have seen the end of
 * a real TCP handshake, so that connecting costs its round trip too (the
 * client's connect() itself returns at once: the time shows up as a later
 * greeting).
 *
 * Only what the applications send is delayed: TCP's own acknowledgements
 * come from the relay at loopback speed, so waits inside TCP (Nagle's
 * algorithm meeting a delayed ACK) cost what they cost on loopback, not a
 * round trip.
 *
 * Usage: delayproxy [-p port] -t target-port -r rtt-ms
 * Prints "PORT n" once it listens, and runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"

#define MAX_PAIRS 64
#define READ_MAX (256 * 1024)
/* Stop reading a direction that holds this much (a bandwidth-delay cap). */
#define QUEUE_MAX (16 * 1024 * 1024)

struct chunk {
	struct chunk *next;
	int64_t due; /* ns on the monotonic clock */
	size_t len, off;
	int fin; /* an end of stream, not data */
	unsigned char data[];
};

struct dir {
	struct chunk *head, *tail;
	size_t queued;
	int rd_eof; /* the source has ended */
	int done;   /* the end was passed on, or the sink is gone */
	int want_out;
};

struct pair {
	int a, b;	    /* client, server (-1 until connected) */
	int64_t connect_at; /* when to connect to the server */
	struct dir up, down;
};

static struct pair *pairs[MAX_PAIRS];
static int64_t delay_ns, connect_ns;
static int target_port;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
nodelay_nonblock(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
enqueue(struct dir *d, const void *p, size_t n, int fin)
{
	struct chunk *c = malloc(sizeof(*c) + n);

	if (c == NULL) {
		perror("delayproxy");
		exit(71);
	}
	c->next = NULL;
	c->due = now_ns() + delay_ns;
	c->len = n;
	c->off = 0;
	c->fin = fin;
	memcpy(c->data, p, n);
	if (d->tail != NULL)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	d->queued += n;
}

static void
drop_queue(struct dir *d)
{
	struct chunk *c;

	while ((c = d->head) != NULL) {
		d->head = c->next;
		free(c);
	}
	d->tail = NULL;
	d->queued = 0;
}

/* Read what src has into d; the end of stream too. */
static void
pull(int src, struct dir *d)
{
	static unsigned char buf[READ_MAX];
	ssize_t n;

	n = recv(src, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0) {
		enqueue(d, buf, (size_t)n, 0);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	d->rd_eof = 1;
	enqueue(d, NULL, 0, 1);
}

/* Write out what is due; returns the next due time, or -1. */
static int64_t
push(int dst, struct dir *d, int64_t now)
{
	struct chunk *c;
	ssize_t n;

	d->want_out = 0;
	while ((c = d->head) != NULL && c->due <= now) {
		if (d->done) {
			drop_queue(d);
			break;
		}
		if (c->fin) {
			shutdown(dst, SHUT_WR);
			d->done = 1;
		} else {
			n = send(dst, c->data + c->off, c->len - c->off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				d->want_out = 1;
				return -1;
			}
			if (n == -1) {
				/* The receiver is gone: so is the rest. */
				d->done = 1;
				drop_queue(d);
				return -1;
			}
			c->off += (size_t)n;
			if (c->off < c->len) {
				d->want_out = 1;
				return -1;
			}
		}
		d->queued -= c->len;
		d->head = c->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(c);
	}
	return d->head != NULL ? d->head->due : -1;
}

static void
connect_server(struct pair *p)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)target_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->b == -1 || connect(p->b, (struct sockaddr *)&a, sizeof(a))) {
		/* No server: the client sees its connection close. */
		if (p->b != -1)
			close(p->b);
		p->b = -1;
		p->up.done = p->up.rd_eof = 1;
		drop_queue(&p->up);
		shutdown(p->a, SHUT_RDWR);
		p->down.done = p->down.rd_eof = 1;
		return;
	}
	nodelay_nonblock(p->b);
}

static void
free_pair(int i)
{
	struct pair *p = pairs[i];

	close(p->a);
	if (p->b != -1)
		close(p->b);
	drop_queue(&p->up);
	drop_queue(&p->down);
	free(p);
	pairs[i] = NULL;
}

static void
accept_one(int lfd)
{
	struct pair *p;
	int fd, i;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	for (i = 0; i < MAX_PAIRS && pairs[i] != NULL; i++)
		;
	if (i == MAX_PAIRS || (p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return;
	}
	nodelay_nonblock(fd);
	p->a = fd;
	p->b = -1;
	p->connect_at = now_ns() + connect_ns;
	pairs[i] = p;
}

static int64_t
earlier(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

int
main(int argc, char **argv)
{
	struct pollfd pfd[1 + 2 * MAX_PAIRS];
	int owner[1 + 2 * MAX_PAIRS];
	struct timespec ts;
	double rtt_ms = -1;
	int64_t now, next, t;
	int lfd, port = 0, ch, i, n;

	while ((ch = getopt(argc, argv, "p:t:r:")) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			target_port = atoi(optarg);
			break;
		case 'r':
			rtt_ms = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || target_port <= 0 || rtt_ms < 0)
		goto usage;
	delay_ns = (int64_t)(rtt_ms * 1e6 / 2);
	connect_ns = 3 * delay_ns;
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = listen_on(port)) == -1) {
		perror("delayproxy: listen");
		return 71;
	}
	for (;;) {
		now = now_ns();
		next = -1;
		n = 0;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		owner[n++] = -1;
		for (i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = pairs[i];

			if (p == NULL)
				continue;
			if (p->b == -1 && !p->up.done) {
				if (p->connect_at <= now)
					connect_server(p);
				else
					next = earlier(next, p->connect_at);
			}
			if (p->b != -1 || p->up.done) {
				next = earlier(next, push(p->b, &p->up, now));
				next = earlier(next, push(p->a, &p->down, now));
			}
			if (p->up.done && p->down.done) {
				free_pair(i);
				continue;
			}
			pfd[n].fd = p->a;
			pfd[n].events = 0;
			if (!p->up.rd_eof && p->up.queued < QUEUE_MAX)
				pfd[n].events |= POLLIN;
			if (p->down.want_out)
				pfd[n].events |= POLLOUT;
			/* A hung-up socket with nothing to wait for is left
			 * out, or poll would report it over and over. */
			if (pfd[n].events == 0)
				pfd[n].fd = -1;
			owner[n++] = i;
			if (p->b != -1) {
				pfd[n].fd = p->b;
				pfd[n].events = 0;
				if (!p->down.rd_eof &&
				    p->down.queued < QUEUE_MAX)
					pfd[n].events |= POLLIN;
				if (p->up.want_out)
					pfd[n].events |= POLLOUT;
				if (pfd[n].events == 0)
					pfd[n].fd = -1;
				owner[n++] = i;
			}
		}
		if (next >= 0) {
			t = next - now_ns();
			if (t < 0)
				t = 0;
			ts.tv_sec = t / 1000000000;
			ts.tv_nsec = t % 1000000000;
		}
		if (ppoll(pfd, (nfds_t)n, next >= 0 ? &ts : NULL, NULL) == -1 &&
		    errno != EINTR) {
			perror("delayproxy: poll");
			return 71;
		}
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
		for (i = 1; i < n; i++) {
			struct pair *p = pairs[owner[i]];

			if (p == NULL ||
			    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[i].fd == p->a && !p->up.rd_eof)
				pull(p->a, &p->up);
			else if (pfd[i].fd == p->b && p->b != -1 &&
			    !p->down.rd_eof)
				pull(p->b, &p->down);
		}
	}
usage:
	fprintf(stderr,
	    "usage: delayproxy [-p port] -t target-port -r rtt-ms\n");
	return 64;
}
