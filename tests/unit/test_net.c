/*
 * test_net.c: net_open over a Unix-domain socket, plain TCP, and a SOCKS5
 * proxy (RFC 1928) played by a thread on 127.0.0.1.  No name but
 * localhost is ever resolved: the names sent through the proxy are only
 * bytes that the fake proxy records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "net.h"
#include "transport.h"

#define GREETING "220 mx.example.invalid ESMTP\r\n"
#define GREETING_LEN (sizeof(GREETING) - 1)

/* A SOCKS5 proxy that plays one connection, then reports what it got. */
struct proxy {
	int lfd; /* listening on 127.0.0.1 */
	int port;
	/* What to do. */
	const unsigned char *method; /* the answer to the greeting */
	size_t method_len;
	const unsigned char *reply; /* the answer to the request */
	size_t reply_len;
	int silent;	     /* say nothing at all */
	int stall;	     /* read the request, then say nothing */
	int trickle;	     /* send one byte at a time */
	int close_at_method; /* close right after choosing the method */
	int close_at_reply;  /* close right after sending the reply */
	/* RFC 1929: the answer to the user name and password, if asked. */
	const unsigned char *auth_reply;
	size_t auth_reply_len;
	const char *user, *password; /* what the client gives, or NULL */
	/* What happened. */
	int accepted;
	char peer[INET6_ADDRSTRLEN];
	unsigned char hello[16];
	size_t hello_len;
	unsigned char request[600];
	size_t request_len;
	unsigned char auth[600]; /* VER ULEN UNAME PLEN PASSWD as received */
	size_t auth_len;
	pthread_t thread;
};

static const unsigned char method_none[] = { 5, 0 };
static const unsigned char method_user[] = { 5, 2 };
static const unsigned char auth_ok[] = { 1, 0 };
static const unsigned char reply_ok[] = { 5, 0, 0, 1, 127, 0, 0, 1, 0x04,
	0x38 };

static int
listen_tcp(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static int
local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* A port on 127.0.0.1 with nobody listening. */
static int
closed_port(void)
{
	int fd = listen_tcp(0), port = local_port(fd);

	close(fd);
	return port;
}

/* Exactly n bytes, or fewer at end of stream or after 5 s. */
static size_t
read_n(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = recv(fd, p + got, n - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void
send_bytes(int fd, const unsigned char *p, size_t n, int trickle)
{
	size_t k;
	ssize_t w;

	while (n > 0) {
		k = trickle ? 1 : n;
		w = send(fd, p, k, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
		if (trickle)
			usleep(2000);
	}
}

/* Until the client closes (or 5 s pass). */
static void
drain(int fd)
{
	unsigned char b[256];

	while (recv(fd, b, sizeof(b), 0) > 0)
		;
}

static void
proxy_request(struct proxy *p, int fd)
{
	unsigned char *q = p->request;
	size_t want;

	/* VER CMD RSV ATYP and the first byte of the address. */
	p->request_len = read_n(fd, q, 5);
	if (p->request_len < 5)
		return;
	switch (q[3]) {
	case 1:
		want = 4 + 4 + 2;
		break;
	case 3:
		want = 4 + 1 + q[4] + 2;
		break;
	case 4:
		want = 4 + 16 + 2;
		break;
	default:
		return;
	}
	p->request_len += read_n(fd, q + 5, want - 5);
}

static void *
proxy_run(void *arg)
{
	struct proxy *p = arg;
	struct pollfd pfd = { p->lfd, POLLIN, 0 };
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	struct timeval tv = { 5, 0 };
	int fd;

	if (poll(&pfd, 1, 5000) != 1)
		return NULL;
	fd = accept(p->lfd, (struct sockaddr *)&peer, &len);
	if (fd == -1)
		return NULL;
	p->accepted = 1;
	inet_ntop(AF_INET, &peer.sin_addr, p->peer, sizeof(p->peer));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (p->silent)
		goto out;
	/* VER NMETHODS, then the methods. */
	p->hello_len = read_n(fd, p->hello, 2);
	if (p->hello_len == 2 && p->hello[1] <= sizeof(p->hello) - 2)
		p->hello_len += read_n(fd, p->hello + 2, p->hello[1]);
	send_bytes(fd, p->method, p->method_len, p->trickle);
	if (p->close_at_method) {
		close(fd);
		return NULL;
	}
	if (p->method_len == 2 && memcmp(p->method, method_user, 2) == 0) {
		/* RFC 1929 2: VER ULEN UNAME PLEN PASSWD. */
		p->auth_len = read_n(fd, p->auth, 2);
		if (p->auth_len < 2)
			goto out;
		p->auth_len += read_n(fd, p->auth + 2, p->auth[1] + 1u);
		if (p->auth_len != 3u + p->auth[1])
			goto out;
		p->auth_len += read_n(fd, p->auth + p->auth_len,
		    p->auth[p->auth_len - 1]);
		send_bytes(fd, p->auth_reply, p->auth_reply_len, p->trickle);
		/* RFC 1929 2: after a refusal the proxy closes. */
		if (p->auth_reply_len != 2 || p->auth_reply[1] != 0) {
			close(fd);
			return NULL;
		}
	} else if (p->method_len != 2 || memcmp(p->method, method_none, 2) != 0)
		goto out;
	proxy_request(p, fd);
	if (p->stall)
		goto out;
	send_bytes(fd, p->reply, p->reply_len, p->trickle);
	if (p->close_at_reply) {
		close(fd);
		return NULL;
	}
out:
	drain(fd);
	close(fd);
	return NULL;
}

static void
proxy_init(struct proxy *p)
{
	memset(p, 0, sizeof(*p));
	p->lfd = listen_tcp(0);
	p->port = local_port(p->lfd);
	p->method = method_none;
	p->method_len = sizeof(method_none);
	p->reply = reply_ok;
	p->reply_len = sizeof(reply_ok);
	p->auth_reply = auth_ok;
	p->auth_reply_len = sizeof(auth_ok);
}

/* Start the proxy, run net_open against it, close, and wait for it. */
static int
proxy_open(struct proxy *p, const char *host, int port, int64_t deadline,
    struct error *err, int *fdp)
{
	struct net_target t;
	int fd = -1, r;

	memset(&t, 0, sizeof(t));
	t.host = host;
	t.port = port;
	t.proxy_host = "127.0.0.1";
	t.proxy_port = p->port;
	t.proxy_user = p->user;
	t.proxy_password = p->password;
	assert_int_equal(pthread_create(&p->thread, NULL, proxy_run, p), 0);
	error_clear(err);
	r = net_open(&t, deadline, &fd, err);
	if (r == 0 && fdp != NULL)
		*fdp = fd;
	else if (r == 0)
		close(fd);
	else
		assert_int_equal(fd, -1);
	return r;
}

static void
proxy_done(struct proxy *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	close(p->lfd);
}

/* The whole exchange, expected to fail: the kind it failed with. */
static enum error_kind
proxy_fails(struct proxy *p, struct error *err)
{
	assert_int_equal(proxy_open(p, "smtp.example.invalid", 25,
			     transport_deadline_in(5), err, NULL),
	    -1);
	proxy_done(p);
	assert_true(err->msg[0] != '\0');
	return err->kind;
}

static void
assert_socket_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	assert_true(fl != -1 && (fl & O_NONBLOCK));
	assert_true(fdfl != -1 && (fdfl & FD_CLOEXEC));
}

static void
assert_nodelay(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	assert_true(v != 0);
}

/* Read what the server sent after the proxy's reply. */
static void
assert_greeting_follows(int fd)
{
	struct error err;
	char buf[256];
	size_t got = 0;
	ssize_t r;
	int64_t deadline = transport_deadline_in(5);

	while (got < GREETING_LEN) {
		assert_int_equal(
		    transport_fd_wait(fd, POLLIN, deadline, "test", &err), 0);
		r = recv(fd, buf + got, sizeof(buf) - got, 0);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(got, GREETING_LEN);
	assert_memory_equal(buf, GREETING, GREETING_LEN);
}

/* --- Unix-domain sockets --- */

static char tmpdir[64];

static int
setup_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/test_net.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmpdir(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static int
unix_socket(const char *path, int listening)
{
	struct sockaddr_un sun;
	int fd;

	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void
test_unix_connects(void **state)
{
	struct net_target t;
	struct error err;
	char path[128], buf[16];
	int lfd, sfd, fd = -1;

	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	lfd = unix_socket(path, 1);
	memset(&t, 0, sizeof(t));
	t.socket_path = path;
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), 0);
	assert_socket_flags(fd);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd != -1);
	assert_int_equal(send(sfd, GREETING, GREETING_LEN, 0), GREETING_LEN);
	assert_greeting_follows(fd);
	assert_int_equal(send(fd, "EHLO x\r\n", 8, MSG_NOSIGNAL), 8);
	assert_int_equal(read_n(sfd, (unsigned char *)buf, 8), 8);
	assert_memory_equal(buf, "EHLO x\r\n", 8);
	close(fd);
	close(sfd);
	close(lfd);
}

/* The local socket wins over host and proxy. */
static void
test_unix_wins_over_proxy(void **state)
{
	struct net_target t;
	struct error err;
	char path[128];
	int lfd, sfd, fd = -1;

	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	lfd = unix_socket(path, 1);
	memset(&t, 0, sizeof(t));
	t.socket_path = path;
	t.host = "smtp.example.invalid";
	t.port = 25;
	t.proxy_host = "127.0.0.1";
	t.proxy_port = closed_port();
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), 0);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd != -1);
	close(fd);
	close(sfd);
	close(lfd);
}

static void *
accept_later(void *arg)
{
	int lfd = *(int *)arg, fd;

	usleep(150 * 1000);
	if ((fd = accept(lfd, NULL, NULL)) != -1)
		close(fd);
	return NULL;
}

/*
 * Linux fails a non-blocking connect to a listener whose backlog is full
 * with EAGAIN: net_open keeps trying until the deadline.
 */
static void
unix_backlog_full(int room_later)
{
	struct net_target t;
	struct error err;
	pthread_t th;
	char path[128];
	int lfd, first = -1, fd = -1, r;
	int64_t start;

	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	lfd = unix_socket(path, 0);
	assert_int_equal(listen(lfd, 0), 0);
	memset(&t, 0, sizeof(t));
	t.socket_path = path;
	error_clear(&err);
	/* The first fills the backlog of 0 (Linux lets one wait). */
	assert_int_equal(net_open(&t, transport_deadline_in(5), &first, &err),
	    0);
	if (room_later)
		assert_int_equal(pthread_create(&th, NULL, accept_later, &lfd),
		    0);
	start = transport_clock_ms();
	r = net_open(&t, start + (room_later ? 5000 : 300), &fd, &err);
	if (room_later) {
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(r, 0);
		assert_true(transport_clock_ms() - start >= 100);
		close(fd);
	} else {
		assert_int_equal(r, -1);
		assert_int_equal(err.kind, ERR_TEMP);
		assert_non_null(strstr(err.msg, "cannot connect to socket"));
		assert_true(transport_clock_ms() - start >= 290);
		assert_true(transport_clock_ms() - start < 2000);
	}
	close(first);
	close(lfd);
}

static void
test_unix_backlog_full_then_room(void **state)
{
	unix_backlog_full(1);
}

static void
test_unix_backlog_full_until_deadline(void **state)
{
	unix_backlog_full(0);
}

static void
test_unix_missing(void **state)
{
	struct net_target t;
	struct error err;
	char path[128];
	int fd = -1;

	snprintf(path, sizeof(path), "%s/absent", tmpdir);
	memset(&t, 0, sizeof(t));
	t.socket_path = path;
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_TEMP);
	assert_non_null(strstr(err.msg, "cannot connect to socket"));
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(fd, -1);
}

static void
test_unix_refused(void **state)
{
	struct net_target t;
	struct error err;
	char path[128];
	int bfd, fd = -1;

	/* Bound but not listening: ECONNREFUSED. */
	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	bfd = unix_socket(path, 0);
	memset(&t, 0, sizeof(t));
	t.socket_path = path;
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_TEMP);
	assert_non_null(strstr(err.msg, "cannot connect to socket"));
	close(bfd);
}

static void
test_unix_path_too_long(void **state)
{
	struct net_target t;
	struct error err;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	int fd = -1;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	memset(&t, 0, sizeof(t));
	t.socket_path = path;
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "too long"));
}

/* --- Plain TCP --- */

static void
test_tcp_direct(void **state)
{
	struct net_target t;
	struct error err;
	int lfd = listen_tcp(0), sfd, fd = -1;

	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.port = local_port(lfd);
	t.socket_path = ""; /* empty: unset */
	t.proxy_host = "";
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), 0);
	assert_socket_flags(fd);
	assert_nodelay(fd);
	sfd = accept(lfd, NULL, NULL);
	assert_true(sfd != -1);
	close(fd);
	close(sfd);
	close(lfd);
}

/* --- SOCKS5 --- */

static void
test_socks_domain_name(void **state)
{
	static const unsigned char want[] = { 5, 1, 0, 3, 20, 's', 'm', 't',
		'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'i', 'n', 'v',
		'a', 'l', 'i', 'd', 0x02, 0x4b };
	struct proxy p;
	struct error err;
	int fd = -1;

	proxy_init(&p);
	assert_int_equal(proxy_open(&p, "smtp.example.invalid", 587,
			     transport_deadline_in(5), &err, &fd),
	    0);
	assert_socket_flags(fd);
	assert_nodelay(fd);
	close(fd);
	proxy_done(&p);
	/* RFC 1928 3: version 5, one method, "no authentication". */
	assert_int_equal(p.hello_len, 3);
	assert_memory_equal(p.hello, "\x05\x01\x00", 3);
	assert_int_equal(p.request_len, sizeof(want));
	assert_memory_equal(p.request, want, sizeof(want));
}

static void
test_socks_ipv4_literal(void **state)
{
	static const unsigned char want[] = { 5, 1, 0, 1, 127, 0, 0, 1, 0x01,
		0xd1 };
	struct proxy p;
	struct error err;

	proxy_init(&p);
	assert_int_equal(proxy_open(&p, "127.0.0.1", 465,
			     transport_deadline_in(5), &err, NULL),
	    0);
	proxy_done(&p);
	assert_int_equal(p.request_len, sizeof(want));
	assert_memory_equal(p.request, want, sizeof(want));
}

static void
test_socks_ipv6_literal(void **state)
{
	static const unsigned char want[] = { 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 25 };
	struct proxy p;
	struct error err;

	proxy_init(&p);
	assert_int_equal(
	    proxy_open(&p, "::1", 25, transport_deadline_in(5), &err, NULL), 0);
	proxy_done(&p);
	assert_int_equal(p.request_len, sizeof(want));
	assert_memory_equal(p.request, want, sizeof(want));
}

/*
 * The proxy's reply and the server's greeting in one write: net_open
 * must take the reply's bytes only, whatever the bound address type.
 */
static void
greeting_after(const unsigned char *reply, size_t len, int trickle)
{
	unsigned char buf[512];
	struct proxy p;
	struct error err;
	int fd = -1;

	assert_true(len + GREETING_LEN <= sizeof(buf));
	memcpy(buf, reply, len);
	memcpy(buf + len, GREETING, GREETING_LEN);
	proxy_init(&p);
	p.reply = buf;
	p.reply_len = len + GREETING_LEN;
	p.trickle = trickle;
	assert_int_equal(proxy_open(&p, "smtp.example.invalid", 25,
			     transport_deadline_in(5), &err, &fd),
	    0);
	assert_greeting_follows(fd);
	close(fd);
	proxy_done(&p);
}

static void
test_socks_greeting_not_swallowed_ipv4(void **state)
{
	greeting_after(reply_ok, sizeof(reply_ok), 0);
}

static void
test_socks_greeting_not_swallowed_ipv6(void **state)
{
	static const unsigned char r[] = { 5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1, 0x9c, 0x40 };

	greeting_after(r, sizeof(r), 0);
}

static void
test_socks_greeting_not_swallowed_name(void **state)
{
	static const unsigned char r[] = { 5, 0, 0, 3, 9, 'l', 'o', 'c', 'a',
		'l', 'h', 'o', 's', 't', 0x9c, 0x40 };

	greeting_after(r, sizeof(r), 0);
}

static void
test_socks_greeting_not_swallowed_empty_name(void **state)
{
	static const unsigned char r[] = { 5, 0, 0, 3, 0, 0x9c, 0x40 };

	greeting_after(r, sizeof(r), 0);
}

/* Every reply one byte at a time: reads end in every possible place. */
static void
test_socks_trickled(void **state)
{
	static const unsigned char r[] = { 5, 0, 0, 3, 4, 'p', 'r', 'o', 'x',
		0x9c, 0x40 };

	greeting_after(r, sizeof(r), 1);
}

static void
test_socks_reply_codes(void **state)
{
	static const struct {
		unsigned char rep;
		enum error_kind kind;
		const char *text;
	} cases[] = {
		{ 1, ERR_UNAVAILABLE, "general SOCKS server failure" },
		{ 2, ERR_UNAVAILABLE, "not allowed" },
		{ 3, ERR_TEMP, "network unreachable" },
		{ 4, ERR_TEMP, "host unreachable" },
		{ 5, ERR_TEMP, "connection refused" },
		{ 6, ERR_TEMP, "TTL expired" },
		{ 7, ERR_UNAVAILABLE, "command not supported" },
		{ 8, ERR_UNAVAILABLE, "address type not supported" },
		{ 9, ERR_PROTOCOL, "unknown reply code 9" },
		{ 0xff, ERR_PROTOCOL, "unknown reply code 255" },
	};
	unsigned char r[sizeof(reply_ok)];
	struct proxy p;
	struct error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(r, reply_ok, sizeof(r));
		r[1] = cases[i].rep;
		proxy_init(&p);
		p.reply = r;
		p.reply_len = sizeof(r);
		assert_int_equal(proxy_fails(&p, &err), cases[i].kind);
		assert_non_null(strstr(err.msg, cases[i].text));
		if (cases[i].kind != ERR_PROTOCOL)
			assert_non_null(
			    strstr(err.msg, "smtp.example.invalid port 25"));
	}
}

/* A refusal decided on REP alone, although the proxy sent no more. */
static void
test_socks_short_refusal(void **state)
{
	static const unsigned char r[] = { 5, 4 };
	struct proxy p;
	struct error err;

	proxy_init(&p);
	p.reply = r;
	p.reply_len = sizeof(r);
	p.close_at_reply = 1;
	assert_int_equal(proxy_fails(&p, &err), ERR_TEMP);
	assert_non_null(strstr(err.msg, "host unreachable"));
}

static void
test_socks_method_refused(void **state)
{
	static const struct {
		unsigned char method[2];
		const char *user;
		enum error_kind kind;
		const char *text;
	} cases[] = {
		/* A password is needed and none is configured. */
		{ { 5, 2 }, NULL, ERR_UNAVAILABLE, "set proxy_user" },
		{ { 5, 0xff }, NULL, ERR_UNAVAILABLE, "set proxy_user" },
		/* Neither of the two offered suits it. */
		{ { 5, 0xff }, "alice", ERR_UNAVAILABLE, "refused both" },
		/* It chose what was never offered (GSSAPI, method 3). */
		{ { 5, 1 }, NULL, ERR_PROTOCOL, "method 1, which was not" },
		{ { 5, 1 }, "alice", ERR_PROTOCOL, "method 1, which was not" },
		{ { 5, 3 }, "alice", ERR_PROTOCOL, "method 3, which was not" },
		{ { 4, 0 }, NULL, ERR_UNAVAILABLE, "version 4" },
	};
	struct proxy p;
	struct error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		proxy_init(&p);
		p.method = cases[i].method;
		p.method_len = 2;
		p.user = cases[i].user;
		p.password = "pw-never-sent";
		assert_int_equal(proxy_fails(&p, &err), cases[i].kind);
		assert_non_null(strstr(err.msg, "the SOCKS proxy 127.0.0.1"));
		if (strstr(err.msg, cases[i].text) == NULL)
			fail_msg("case %zu: \"%s\"", i, err.msg);
		/* Neither credentials nor a request after a refusal. */
		assert_int_equal(p.auth_len, 0);
		assert_int_equal(p.request_len, 0);
		assert_null(strstr(err.msg, "pw-never-sent"));
	}
}

/* RFC 1929: offered with a user, sent once chosen, then the request. */
static void
test_socks_user_password(void **state)
{
	static const unsigned char want[] = { 1, 5, 'a', 'l', 'i', 'c', 'e', 4,
		'p', '@', 's', 's' };
	struct proxy p;
	struct error err;

	proxy_init(&p);
	p.method = method_user;
	p.user = "alice";
	p.password = "p@ss";
	assert_int_equal(proxy_open(&p, "127.0.0.1", 25,
			     transport_deadline_in(5), &err, NULL),
	    0);
	proxy_done(&p);
	assert_int_equal(p.hello_len, 4);
	assert_memory_equal(p.hello, "\x05\x02\x00\x02", 4);
	assert_int_equal(p.auth_len, sizeof(want));
	assert_memory_equal(p.auth, want, sizeof(want));
	assert_int_equal(p.request_len, 10);

	/* The proxy wants no password after all: none is sent. */
	proxy_init(&p);
	p.user = "alice";
	p.password = "p@ss";
	assert_int_equal(proxy_open(&p, "127.0.0.1", 25,
			     transport_deadline_in(5), &err, NULL),
	    0);
	proxy_done(&p);
	assert_int_equal(p.hello_len, 4);
	assert_int_equal(p.auth_len, 0);
	assert_int_equal(p.request_len, 10);
	assert_int_equal(p.request[0], 5);

	/* Trickled, one byte at a time. */
	proxy_init(&p);
	p.method = method_user;
	p.trickle = 1;
	p.user = "alice";
	p.password = "p@ss";
	assert_int_equal(proxy_open(&p, "127.0.0.1", 25,
			     transport_deadline_in(5), &err, NULL),
	    0);
	proxy_done(&p);
	assert_int_equal(p.auth_len, sizeof(want));
}

/* Credentials the proxy could not take: refused before connecting. */
static void
not_connected(const char *user, const char *password, const char *text)
{
	struct net_target t;
	struct error err;
	struct pollfd pfd;
	int lfd = listen_tcp(0), fd = -1;

	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.port = 25;
	t.proxy_host = "127.0.0.1";
	t.proxy_port = local_port(lfd);
	t.proxy_user = user;
	t.proxy_password = password;
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, text));
	/* Nobody knocked. */
	pfd.fd = lfd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	close(lfd);
}

/* The proxy says no to the password: a configuration error, named. */
static void
test_socks_user_password_refused(void **state)
{
	static const unsigned char no[] = { 1, 1 }, bad[] = { 9, 0 };
	static const unsigned char short_no[] = { 1 };
	struct proxy p;
	struct error err;
	char longname[300];

	proxy_init(&p);
	p.method = method_user;
	p.auth_reply = no;
	p.auth_reply_len = sizeof(no);
	p.user = "alice";
	p.password = "wrong-pw";
	assert_int_equal(proxy_fails(&p, &err), ERR_CONFIG);
	assert_non_null(strstr(err.msg, "the SOCKS proxy 127.0.0.1 refused"));
	assert_non_null(strstr(err.msg, "alice"));
	assert_null(strstr(err.msg, "wrong-pw"));
	assert_int_equal(p.request_len, 0);

	/* An answer in no version we know. */
	proxy_init(&p);
	p.method = method_user;
	p.auth_reply = bad;
	p.auth_reply_len = sizeof(bad);
	p.user = "alice";
	p.password = "pw";
	assert_int_equal(proxy_fails(&p, &err), ERR_PROTOCOL);
	assert_int_equal(p.request_len, 0);

	/* Half an answer, then the proxy hangs up. */
	proxy_init(&p);
	p.method = method_user;
	p.auth_reply = short_no;
	p.auth_reply_len = sizeof(short_no);
	p.user = "alice";
	p.password = "pw";
	assert_int_equal(proxy_fails(&p, &err), ERR_PROTOCOL);
	assert_non_null(strstr(err.msg, "truncated"));

	/* RFC 1929 allows 255 bytes: a longer name is never sent. */
	memset(longname, 'u', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	not_connected(longname, "pw", "1 to 255 bytes");
	/* No password at all, or an empty one. */
	not_connected("alice", NULL, "1 to 255 bytes");
	not_connected("alice", "", "1 to 255 bytes");
}

static void
test_socks_truncated_reply(void **state)
{
	static const unsigned char r[] = { 5, 0, 0, 1, 127, 0 };
	struct proxy p;
	struct error err;

	proxy_init(&p);
	p.reply = r;
	p.reply_len = sizeof(r);
	p.close_at_reply = 1;
	assert_int_equal(proxy_fails(&p, &err), ERR_PROTOCOL);
	assert_non_null(strstr(err.msg, "truncated"));
}

static void
test_socks_truncated_method(void **state)
{
	static const unsigned char m[] = { 5 };
	struct proxy p;
	struct error err;

	proxy_init(&p);
	p.method = m;
	p.method_len = sizeof(m);
	p.close_at_method = 1;
	assert_int_equal(proxy_fails(&p, &err), ERR_PROTOCOL);
	assert_non_null(strstr(err.msg, "truncated"));
}

/* The proxy hangs up instead of replying: connection trouble. */
static void
test_socks_closed_before_reply(void **state)
{
	struct proxy p;
	struct error err;

	proxy_init(&p);
	p.reply_len = 0;
	p.close_at_reply = 1;
	assert_int_equal(proxy_fails(&p, &err), ERR_TEMP);
	assert_non_null(strstr(err.msg, "closed the connection"));
}

static void
test_socks_malformed_reply(void **state)
{
	static const unsigned char replies[][10] = {
		{ 4, 0, 0, 1, 127, 0, 0, 1, 0, 25 }, /* version */
		{ 5, 0, 1, 1, 127, 0, 0, 1, 0, 25 }, /* reserved byte */
		{ 5, 0, 0, 2, 127, 0, 0, 1, 0, 25 }, /* address type */
		{ 5, 0, 0, 0, 127, 0, 0, 1, 0, 25 }, /* address type */
	};
	struct proxy p;
	struct error err;
	size_t i;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		proxy_init(&p);
		p.reply = replies[i];
		p.reply_len = sizeof(replies[i]);
		assert_int_equal(proxy_fails(&p, &err), ERR_PROTOCOL);
		assert_non_null(strstr(err.msg, "malformed"));
	}
}

static void
silent(int stall)
{
	struct proxy p;
	struct error err;
	int64_t start = transport_clock_ms();

	proxy_init(&p);
	p.silent = !stall;
	p.stall = stall;
	assert_int_equal(
	    proxy_open(&p, "smtp.example.invalid", 25, start + 300, &err, NULL),
	    -1);
	assert_int_equal(err.kind, ERR_TEMP);
	assert_non_null(strstr(err.msg, "timed out"));
	assert_true(transport_clock_ms() - start >= 290);
	assert_true(transport_clock_ms() - start < 2000);
	proxy_done(&p);
}

static void
test_socks_silent(void **state)
{
	silent(0);
}

static void
test_socks_stalls_after_request(void **state)
{
	silent(1);
}

static void
test_socks_name_too_long(void **state)
{
	struct pollfd pfd;
	struct net_target t;
	struct error err;
	char name[257];
	int lfd = listen_tcp(0), fd = -1;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(&t, 0, sizeof(t));
	t.host = name;
	t.port = 25;
	t.proxy_host = "127.0.0.1";
	t.proxy_port = local_port(lfd);
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "too long"));
	/* Refused before the proxy was contacted. */
	pfd.fd = lfd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 50), 0);
	close(lfd);
}

static void
test_socks_name_255(void **state)
{
	struct proxy p;
	struct error err;
	char name[256];

	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	proxy_init(&p);
	assert_int_equal(
	    proxy_open(&p, name, 25, transport_deadline_in(5), &err, NULL), 0);
	proxy_done(&p);
	assert_int_equal(p.request_len, 4 + 1 + 255 + 2);
	assert_int_equal(p.request[3], 3);
	assert_int_equal(p.request[4], 255);
	assert_memory_equal(p.request + 5, name, 255);
}

static void
test_socks_bad_ports(void **state)
{
	struct net_target t;
	struct error err;
	int fd = -1;

	memset(&t, 0, sizeof(t));
	t.host = "smtp.example.invalid";
	t.proxy_host = "127.0.0.1";
	t.port = 0;
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	t.port = 65536;
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	t.port = 25;
	t.proxy_port = 65536;
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	t.proxy_port = -1;
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
}

static void
test_socks_proxy_down(void **state)
{
	struct net_target t;
	struct error err;
	int fd = -1;

	memset(&t, 0, sizeof(t));
	t.host = "smtp.example.invalid";
	t.port = 25;
	t.proxy_host = "127.0.0.1";
	t.proxy_port = closed_port();
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), -1);
	assert_int_equal(err.kind, ERR_TEMP);
	assert_non_null(strstr(err.msg, "cannot connect to the SOCKS proxy"));
}

/* source_ip applies to the connection to the proxy. */
static void
test_socks_source_ip(void **state)
{
	struct net_target t;
	struct proxy p;
	struct error err;
	int fd = -1;

	proxy_init(&p);
	memset(&t, 0, sizeof(t));
	t.host = "smtp.example.invalid";
	t.port = 25;
	t.proxy_host = "127.0.0.1";
	t.proxy_port = p.port;
	t.source_ip = "127.0.0.2";
	assert_int_equal(pthread_create(&p.thread, NULL, proxy_run, &p), 0);
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), 0);
	close(fd);
	proxy_done(&p);
	assert_string_equal(p.peer, "127.0.0.2");
}

/* proxy_port 0 means 1080, if this host lets us listen there. */
static void
test_socks_default_port(void **state)
{
	struct net_target t;
	struct proxy p;
	struct error err;
	int fd = -1;

	proxy_init(&p);
	close(p.lfd);
	if ((p.lfd = listen_tcp(1080)) == -1)
		skip();
	p.port = 1080;
	memset(&t, 0, sizeof(t));
	t.host = "smtp.example.invalid";
	t.port = 25;
	t.proxy_host = "127.0.0.1";
	assert_int_equal(pthread_create(&p.thread, NULL, proxy_run, &p), 0);
	error_clear(&err);
	assert_int_equal(net_open(&t, transport_deadline_in(5), &fd, &err), 0);
	close(fd);
	proxy_done(&p);
	assert_true(p.accepted);
}

/*
 * A source address of one family and a host with addresses of the other
 * only: no retry can help, so it is a configuration error, not exit 75.
 */
static void
test_source_ip_family_mismatch(void **state)
{
	struct error err;
	int fd = -1;

	(void)state;
	error_clear(&err);
	assert_int_equal(net_connect("::1", 25, "127.0.0.1",
			     transport_clock_ms() + 2000, &fd, &err),
	    -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "cannot reach"));
	assert_int_equal(fd, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_ip_family_mismatch),
		cmocka_unit_test(test_unix_connects),
		cmocka_unit_test(test_unix_wins_over_proxy),
		cmocka_unit_test(test_unix_backlog_full_then_room),
		cmocka_unit_test(test_unix_backlog_full_until_deadline),
		cmocka_unit_test(test_unix_missing),
		cmocka_unit_test(test_unix_refused),
		cmocka_unit_test(test_unix_path_too_long),
		cmocka_unit_test(test_tcp_direct),
		cmocka_unit_test(test_socks_domain_name),
		cmocka_unit_test(test_socks_ipv4_literal),
		cmocka_unit_test(test_socks_ipv6_literal),
		cmocka_unit_test(test_socks_greeting_not_swallowed_ipv4),
		cmocka_unit_test(test_socks_greeting_not_swallowed_ipv6),
		cmocka_unit_test(test_socks_greeting_not_swallowed_name),
		cmocka_unit_test(test_socks_greeting_not_swallowed_empty_name),
		cmocka_unit_test(test_socks_trickled),
		cmocka_unit_test(test_socks_reply_codes),
		cmocka_unit_test(test_socks_short_refusal),
		cmocka_unit_test(test_socks_method_refused),
		cmocka_unit_test(test_socks_user_password),
		cmocka_unit_test(test_socks_user_password_refused),
		cmocka_unit_test(test_socks_truncated_reply),
		cmocka_unit_test(test_socks_truncated_method),
		cmocka_unit_test(test_socks_closed_before_reply),
		cmocka_unit_test(test_socks_malformed_reply),
		cmocka_unit_test(test_socks_silent),
		cmocka_unit_test(test_socks_stalls_after_request),
		cmocka_unit_test(test_socks_name_too_long),
		cmocka_unit_test(test_socks_name_255),
		cmocka_unit_test(test_socks_bad_ports),
		cmocka_unit_test(test_socks_proxy_down),
		cmocka_unit_test(test_socks_source_ip),
		cmocka_unit_test(test_socks_default_port),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
