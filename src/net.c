/* net.c: name resolution and TCP connection. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"

static int
bind_source(int fd, int family, const char *source_ip, struct error *err)
{
	struct addrinfo hints, *res;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	if ((r = getaddrinfo(source_ip, NULL, &hints, &res)) != 0)
		return error_set(err, ERR_CONFIG,
		    "source_ip %s is not an address of this family: %s",
		    source_ip, gai_strerror(r));
	r = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (r == -1)
		return error_set(err, ERR_OSERR, "cannot bind to %s: %s",
		    source_ip, strerror(errno));
	return 0;
}

/* One address: 0 connected, -1 with *why set to an errno value. */
static int
try_one(const struct addrinfo *ai, const char *source_ip, int64_t deadline,
    int *fdp, int *why, struct error *err)
{
	int fd, one = 1, soerr = 0;
	socklen_t len = sizeof(soerr);
	struct error werr;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		*why = errno;
		return -1;
	}
	/* Each flight is one write: Nagle would only hold it back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (source_ip != NULL && *source_ip != '\0' &&
	    bind_source(fd, ai->ai_family, source_ip, err) == -1) {
		close(fd);
		*why = -1;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto done;
	if (errno != EINPROGRESS) {
		*why = errno;
		close(fd);
		return -1;
	}
	if (fd_wait(fd, POLLOUT, deadline, "connecting", &werr) == -1) {
		*why = ETIMEDOUT;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		*why = soerr;
		close(fd);
		return -1;
	}
done:
	*fdp = fd;
	return 0;
}

int
net_connect(const char *host, int port, const char *source_ip, int64_t deadline,
    int *fd, struct error *err)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16];
	int r, n = 0, i = 0, why = 0;
	int64_t now, share;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		if (r == EAI_AGAIN)
			return error_set(err, ERR_TEMP, "cannot resolve %s: %s",
			    host, gai_strerror(r));
		if (r == EAI_SYSTEM)
			return error_set(err, ERR_OSERR,
			    "cannot resolve %s: %s", host, strerror(errno));
		if (r == EAI_MEMORY)
			return error_set(err, ERR_OSERR, "out of memory");
		return error_set(err, ERR_NOHOST, "cannot resolve %s: %s", host,
		    gai_strerror(r));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	for (ai = res; ai != NULL; ai = ai->ai_next, i++) {
		/* The time left is shared fairly among the untried addresses. */
		now = clock_ms();
		share = (deadline - now) / (n - i);
		if (try_one(ai, source_ip, now + share, fd, &why, err) == 0) {
			freeaddrinfo(res);
			return 0;
		}
		if (why == -1) {
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	if (why == EMFILE || why == ENFILE || why == ENOBUFS || why == ENOMEM)
		return error_set(err, ERR_OSERR, "cannot create a socket: %s",
		    strerror(why));
	return error_set(err, ERR_TEMP, "cannot connect to %s port %d: %s",
	    host, port, strerror(why));
}
