/* transport.c: the plain socket transport and the deadline helpers. */
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t
transport_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
transport_deadline_in(int seconds)
{
	return transport_clock_ms() + (int64_t)seconds * 1000;
}

int
transport_fd_wait(int fd, short events, int64_t deadline, const char *what,
    struct error *err)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		left = deadline - transport_clock_ms();
		if (left <= 0)
			return error_set(err, ERR_TEMP, "timed out %s", what);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return error_set(err, ERR_OSERR, "poll: %s",
			    strerror(errno));
	}
}

static ssize_t
plain_read(struct transport *t, void *p, size_t n, int64_t deadline,
    struct error *err)
{
	ssize_t r;

	for (;;) {
		r = recv(t->fd, p, n, 0);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return error_set(err, ERR_TEMP,
			    "network read error: %s", strerror(errno));
		if (transport_fd_wait(t->fd, POLLIN, deadline,
			"waiting for the server", err) == -1)
			return -1;
	}
}

int
transport_fd_send_all(int fd, const void *p, size_t n, int64_t deadline,
    const char *peer, struct error *err)
{
	const char *s = p;
	char what[64];
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w >= 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return error_set(err, ERR_TEMP, "cannot send to %s: %s",
			    peer, strerror(errno));
		snprintf(what, sizeof(what), "sending to %s", peer);
		if (transport_fd_wait(fd, POLLOUT, deadline, what, err) == -1)
			return -1;
	}
	return 0;
}

static int
plain_write(struct transport *t, const void *p, size_t n, int64_t deadline,
    struct error *err)
{
	return transport_fd_send_all(t->fd, p, n, deadline, "the server", err);
}

static size_t
plain_pending(struct transport *t)
{
	return 0;
}

static void
plain_close(struct transport *t)
{
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

static const struct transport_ops plain_ops = {
	plain_read,
	plain_write,
	plain_pending,
	plain_close,
	"plain",
};

struct transport *
transport_plain(int fd)
{
	struct transport *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ops = &plain_ops;
	t->fd = fd;
	return t;
}

void
transport_release(struct transport *t)
{
	t->fd = -1;
	transport_close(t);
}

int
transport_fd_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
