/*
 * net.c: name resolution and TCP connection, Unix-domain sockets, and the
 * SOCKS5 client (RFC 1928, with RFC 1929 user name and password).
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* A non-blocking connect that has begun: wait for it, 0 or an errno. */
static int
connect_result(int fd, int64_t deadline)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	struct error werr;

	if (transport_fd_wait(fd, POLLOUT, deadline, "connecting", &werr) == -1)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return errno;
	return soerr;
}

/* The address family of a numeric address, or AF_UNSPEC. */
static int
family_of(const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, ip, a) == 1)
		return AF_INET6;
	return AF_UNSPEC;
}

/* One address: 0 connected, -1 with *why set to an errno value. */
static int
try_one(const struct addrinfo *ai, const char *source_ip, int64_t deadline,
    int *fdp, int *why, struct error *err)
{
	int fd, one = 1;

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
	if ((*why = connect_result(fd, deadline)) != 0) {
		close(fd);
		return -1;
	}
done:
	*fdp = fd;
	return 0;
}

static int
resource_error(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

/* role names what is at host ("" for the mail server) in messages. */
static int
tcp_connect(const char *role, const char *host, int port, const char *source_ip,
    int64_t deadline, int *fd, struct error *err)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16];
	int r, n = 0, i = 0, why = 0, skipped = 0;
	int src_family = source_ip != NULL && *source_ip != '\0' ?
	    family_of(source_ip) :
	    AF_UNSPEC;
	int64_t now, share;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		if (r == EAI_AGAIN)
			return error_set(err, ERR_TEMP,
			    "cannot resolve %s%s: %s", role, host,
			    gai_strerror(r));
		if (r == EAI_SYSTEM)
			return error_set(err, ERR_OSERR,
			    "cannot resolve %s%s: %s", role, host,
			    strerror(errno));
		if (r == EAI_MEMORY)
			return error_set(err, ERR_OSERR, "out of memory");
		return error_set(err, ERR_NOHOST, "cannot resolve %s%s: %s",
		    role, host, gai_strerror(r));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	for (ai = res; ai != NULL; ai = ai->ai_next, i++) {
		/* An address the source address cannot reach is passed over. */
		if (src_family != AF_UNSPEC && src_family != ai->ai_family) {
			skipped++;
			continue;
		}
		/* The time left is shared fairly among the untried addresses. */
		now = transport_clock_ms();
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
	/* Every address passed over: no retry can help. */
	if (skipped == n)
		return error_set(err, ERR_CONFIG,
		    "source_ip %s cannot reach "
		    "%s%s: no address of that family",
		    source_ip, role, host);
	if (resource_error(why))
		return error_set(err, ERR_OSERR, "cannot create a socket: %s",
		    strerror(why));
	return error_set(err, ERR_TEMP, "cannot connect to %s%s port %d: %s",
	    role, host, port, strerror(why));
}

int
net_connect(const char *host, int port, const char *source_ip, int64_t deadline,
    int *fd, struct error *err)
{
	return tcp_connect("", host, port, source_ip, deadline, fd, err);
}

static int
open_unix(const char *path, int64_t deadline, int *fdp, struct error *err)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	socklen_t salen;
	int fd, why;

	if (len >= sizeof(sun.sun_path))
		return error_set(err, ERR_CONFIG,
		    "socket path %s is too long (%zu bytes, at most %zu)", path,
		    len, sizeof(sun.sun_path) - 1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return error_set(err, ERR_OSERR, "cannot create a socket: %s",
		    strerror(errno));
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, salen) == 0) {
			*fdp = fd;
			return 0;
		}
		why = errno;
		/*
		 * Linux: when the listener's backlog is full, a non-blocking
		 * connect fails with EAGAIN instead of waiting for room, and
		 * poll() cannot tell when there is room.  Try again shortly.
		 */
		if (why == EAGAIN && transport_clock_ms() < deadline) {
			poll(NULL, 0, 10);
			continue;
		}
		if (why == EAGAIN)
			why = ETIMEDOUT;
		else if (why == EINPROGRESS || why == EINTR)
			why = connect_result(fd, deadline);
		break;
	}
	if (why == 0) {
		*fdp = fd;
		return 0;
	}
	close(fd);
	if (resource_error(why))
		return error_set(err, ERR_OSERR, "cannot create a socket: %s",
		    strerror(why));
	return error_set(err, ERR_TEMP, "cannot connect to socket %s: %s", path,
	    strerror(why));
}

/* RFC 1928 */
#define SOCKS_VERSION 5
#define SOCKS_PORT 1080
#define SOCKS_NO_AUTH 0x00
#define SOCKS_USER_PASS 0x02
#define SOCKS_NO_METHOD 0xff
/* RFC 1929 2: the sub-negotiation's version, and its longest fields. */
#define SOCKS_AUTH_VERSION 1
#define SOCKS_AUTH_FIELD_MAX 255
#define SOCKS_CONNECT 1
#define SOCKS_ATYP_IPV4 1
#define SOCKS_ATYP_NAME 3
#define SOCKS_ATYP_IPV6 4
#define SOCKS_NAME_MAX 255
/* VER CMD RSV ATYP, a length byte and the longest name, the port. */
#define SOCKS_REQUEST_MAX (4 + 1 + SOCKS_NAME_MAX + 2)

/* RFC 1928 6: the REP field of the reply to a request. */
static const struct {
	const char *text;
	enum error_kind kind;
} socks_replies[] = {
	[1] = { "general SOCKS server failure", ERR_UNAVAILABLE },
	[2] = { "connection not allowed by ruleset", ERR_UNAVAILABLE },
	[3] = { "network unreachable", ERR_TEMP },
	[4] = { "host unreachable", ERR_TEMP },
	[5] = { "connection refused", ERR_TEMP },
	[6] = { "TTL expired", ERR_TEMP },
	[7] = { "command not supported", ERR_UNAVAILABLE },
	[8] = { "address type not supported", ERR_UNAVAILABLE },
};

/*
 * RFC 1928 4: the CONNECT request.  An address literal goes as one; a name
 * goes as a name (ATYP 3), so that the proxy resolves it and no query for
 * it leaves this host.
 */
static int
socks_request(const char *host, int port, unsigned char *req, size_t *lenp,
    struct error *err)
{
	size_t n = 0, len;

	if (host == NULL || *host == '\0')
		return error_set(err, ERR_CONFIG, "no host to connect to");
	if (port < 1 || port > 65535)
		return error_set(err, ERR_CONFIG, "invalid port %d", port);
	req[n++] = SOCKS_VERSION;
	req[n++] = SOCKS_CONNECT;
	req[n++] = 0;
	if (inet_pton(AF_INET, host, req + n + 1) == 1) {
		req[n] = SOCKS_ATYP_IPV4;
		n += 1 + 4;
	} else if (inet_pton(AF_INET6, host, req + n + 1) == 1) {
		req[n] = SOCKS_ATYP_IPV6;
		n += 1 + 16;
	} else {
		len = strlen(host);
		if (len > SOCKS_NAME_MAX)
			return error_set(err, ERR_CONFIG,
			    "host name %.64s... is too long for a SOCKS proxy "
			    "(%zu bytes, at most %d)",
			    host, len, SOCKS_NAME_MAX);
		req[n++] = SOCKS_ATYP_NAME;
		req[n++] = (unsigned char)len;
		memcpy(req + n, host, len);
		n += len;
	}
	req[n++] = (unsigned char)(port >> 8);
	req[n++] = (unsigned char)(port & 0xff);
	*lenp = n;
	return 0;
}

static int
socks_send(int fd, const unsigned char *p, size_t n, int64_t deadline,
    struct error *err)
{
	return transport_fd_send_all(fd, p, n, deadline, "the SOCKS proxy",
	    err);
}

/*
 * Read exactly n bytes, never more: what follows the proxy's reply is the
 * server's and belongs to the SMTP layer.  first says these are the
 * first bytes of a reply: the proxy closing then is connection trouble,
 * later it is a truncated reply.
 */
static int
socks_recv(int fd, unsigned char *p, size_t n, int first, int64_t deadline,
    struct error *err)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = recv(fd, p + got, n - got, 0);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 && first && got == 0)
			return error_set(err, ERR_TEMP,
			    "the SOCKS proxy closed the connection");
		if (r == 0)
			return error_set(err, ERR_PROTOCOL,
			    "the SOCKS proxy's reply is truncated");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return error_set(err, ERR_TEMP,
			    "cannot read from the SOCKS proxy: %s",
			    strerror(errno));
		if (transport_fd_wait(fd, POLLIN, deadline,
			"waiting for the SOCKS proxy", err) == -1)
			return -1;
	}
	return 0;
}

/*
 * RFC 1928 3: offer "no authentication", and user name and password (RFC
 * 1929) only when a user is configured.  0 with *method set to the one
 * the proxy chose, which must be one that was offered.
 */
static int
socks_greet(int fd, const struct net_target *t, int64_t deadline, int *method,
    struct error *err)
{
	int with_user = t->proxy_user != NULL && *t->proxy_user != '\0';
	/* VER NMETHODS METHODS */
	const unsigned char hello[] = { SOCKS_VERSION, with_user ? 2 : 1,
		SOCKS_NO_AUTH, SOCKS_USER_PASS };
	unsigned char r[2];

	if (socks_send(fd, hello, with_user ? 4 : 3, deadline, err) == -1 ||
	    socks_recv(fd, r, sizeof(r), 1, deadline, err) == -1)
		return -1;
	if (r[0] != SOCKS_VERSION)
		return error_set(err, ERR_UNAVAILABLE,
		    "the SOCKS proxy %s refused the greeting: it answered as "
		    "version %u, not SOCKS version 5",
		    t->proxy_host, r[0]);
	*method = r[1];
	if (r[1] == SOCKS_NO_AUTH || (r[1] == SOCKS_USER_PASS && with_user))
		return 0;
	if (r[1] == SOCKS_NO_METHOD && with_user)
		return error_set(err, ERR_UNAVAILABLE,
		    "the SOCKS proxy %s refused both methods offered (no "
		    "authentication, user name and password)",
		    t->proxy_host);
	/* Not offered, but the usual way of saying a password is needed. */
	if (r[1] == SOCKS_NO_METHOD || r[1] == SOCKS_USER_PASS)
		return error_set(err, ERR_UNAVAILABLE,
		    "the SOCKS proxy %s refused to work without "
		    "authentication: set proxy_user and proxy_password",
		    t->proxy_host);
	return error_set(err, ERR_PROTOCOL,
	    "the SOCKS proxy %s chose method %u, which was not offered",
	    t->proxy_host, r[1]);
}

/* RFC 1929 2: ULEN and PLEN are 1 to 255; what does not fit is not sent. */
static int
socks_login_fits(const struct net_target *t, struct error *err)
{
	size_t ulen, plen;

	if (t->proxy_user == NULL || *t->proxy_user == '\0')
		return 0;
	ulen = strlen(t->proxy_user);
	plen = t->proxy_password != NULL ? strlen(t->proxy_password) : 0;
	if (ulen > SOCKS_AUTH_FIELD_MAX || plen > SOCKS_AUTH_FIELD_MAX ||
	    plen == 0)
		return error_set(err, ERR_CONFIG,
		    "the SOCKS proxy %s takes a user name and a password of "
		    "1 to %d bytes each (proxy_user has %zu, the password "
		    "%zu)",
		    t->proxy_host, SOCKS_AUTH_FIELD_MAX, ulen, plen);
	return 0;
}

/*
 * RFC 1929 2: VER ULEN UNAME PLEN PASSWD, and a two-byte answer whose
 * STATUS 0 is success.  The request holds the password: it is wiped
 * whatever happens, and no message repeats it.
 */
static int
socks_login(int fd, const struct net_target *t, int64_t deadline,
    struct error *err)
{
	unsigned char req[3 + 2 * SOCKS_AUTH_FIELD_MAX], r[2];
	const char *pass = t->proxy_password != NULL ? t->proxy_password : "";
	size_t ulen = strlen(t->proxy_user), plen = strlen(pass), n = 0;
	int rc;

	/* socks_login_fits said so before connecting. */
	if (ulen > SOCKS_AUTH_FIELD_MAX || plen > SOCKS_AUTH_FIELD_MAX)
		return error_set(err, ERR_SOFTWARE,
		    "SOCKS credentials too long");
	req[n++] = SOCKS_AUTH_VERSION;
	req[n++] = (unsigned char)ulen;
	memcpy(req + n, t->proxy_user, ulen);
	n += ulen;
	req[n++] = (unsigned char)plen;
	memcpy(req + n, pass, plen);
	n += plen;
	rc = socks_send(fd, req, n, deadline, err);
	explicit_bzero(req, sizeof(req));
	if (rc == -1 || socks_recv(fd, r, sizeof(r), 1, deadline, err) == -1)
		return -1;
	/* Some proxies answer with the SOCKS version: the status decides. */
	if (r[0] != SOCKS_AUTH_VERSION && r[0] != SOCKS_VERSION)
		return error_set(err, ERR_PROTOCOL,
		    "the SOCKS proxy %s's answer to the user name and "
		    "password is malformed (version %u)",
		    t->proxy_host, r[0]);
	if (r[1] != 0)
		return error_set(err, ERR_CONFIG,
		    "the SOCKS proxy %s refused the user name %s and its "
		    "password (proxy_user, proxy_password)",
		    t->proxy_host, t->proxy_user);
	return 0;
}

/*
 * RFC 1928 6: VER REP RSV ATYP BND.ADDR BND.PORT, where the length of
 * BND.ADDR depends on ATYP.  A failure is decided on REP alone, since a
 * proxy that refuses may close without sending the rest.
 */
static int
socks_reply(int fd, const char *host, int port, int64_t deadline,
    struct error *err)
{
	unsigned char r[SOCKS_NAME_MAX + 2];
	size_t n;

	if (socks_recv(fd, r, 2, 1, deadline, err) == -1)
		return -1;
	if (r[0] != SOCKS_VERSION)
		return error_set(err, ERR_PROTOCOL,
		    "the SOCKS proxy's reply is malformed (version %u)", r[0]);
	if (r[1] != 0) {
		if (r[1] >= sizeof(socks_replies) / sizeof(socks_replies[0]))
			return error_set(err, ERR_PROTOCOL,
			    "the SOCKS proxy sent an unknown reply code %u",
			    r[1]);
		return error_set(err, socks_replies[r[1]].kind,
		    "the SOCKS proxy could not connect to %s port %d: %s", host,
		    port, socks_replies[r[1]].text);
	}
	if (socks_recv(fd, r, 2, 0, deadline, err) == -1)
		return -1;
	if (r[0] != 0)
		return error_set(err, ERR_PROTOCOL,
		    "the SOCKS proxy's reply is malformed (reserved byte %u)",
		    r[0]);
	switch (r[1]) {
	case SOCKS_ATYP_IPV4:
		n = 4;
		break;
	case SOCKS_ATYP_IPV6:
		n = 16;
		break;
	case SOCKS_ATYP_NAME:
		if (socks_recv(fd, r, 1, 0, deadline, err) == -1)
			return -1;
		n = r[0];
		break;
	default:
		return error_set(err, ERR_PROTOCOL,
		    "the SOCKS proxy's reply is malformed (address type %u)",
		    r[1]);
	}
	/* The bound address and port: read, and of no use to us. */
	return socks_recv(fd, r, n + 2, 0, deadline, err);
}

static int
open_socks(const struct net_target *t, int64_t deadline, int *fdp,
    struct error *err)
{
	unsigned char req[SOCKS_REQUEST_MAX];
	size_t len = 0;
	int fd, port, method = SOCKS_NO_AUTH;

	/* A request the proxy cannot take is refused before connecting. */
	if (socks_request(t->host, t->port, req, &len, err) == -1 ||
	    socks_login_fits(t, err) == -1)
		return -1;
	port = t->proxy_port == 0 ? SOCKS_PORT : t->proxy_port;
	if (port < 1 || port > 65535)
		return error_set(err, ERR_CONFIG, "invalid proxy port %d",
		    t->proxy_port);
	if (tcp_connect("the SOCKS proxy ", t->proxy_host, port, t->source_ip,
		deadline, &fd, err) == -1)
		return -1;
	if (socks_greet(fd, t, deadline, &method, err) == -1 ||
	    (method == SOCKS_USER_PASS &&
		socks_login(fd, t, deadline, err) == -1) ||
	    socks_send(fd, req, len, deadline, err) == -1 ||
	    socks_reply(fd, t->host, t->port, deadline, err) == -1) {
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

int
net_open(const struct net_target *t, int64_t deadline, int *fd,
    struct error *err)
{
	/* An empty value means unset, as everywhere in the configuration. */
	if (t->socket_path != NULL && *t->socket_path != '\0')
		return open_unix(t->socket_path, deadline, fd, err);
	if (t->proxy_host != NULL && *t->proxy_host != '\0')
		return open_socks(t, deadline, fd, err);
	if (t->host == NULL || *t->host == '\0')
		return error_set(err, ERR_CONFIG, "no host to connect to");
	return net_connect(t->host, t->port, t->source_ip, deadline, fd, err);
}
