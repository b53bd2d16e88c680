/* net.h: resolve a host and connect to it within one overall deadline. */
#ifndef OUTBOX_NET_H
#define OUTBOX_NET_H

#include <stdint.h>

#include "error.h"

/*
 * Connect to host:port, trying each address in turn; the time left is
 * shared among the addresses not yet tried.  The socket returned is
 * non-blocking, close-on-exec, with TCP_NODELAY.  host must already be in
 * ASCII (A-labels).  source_ip may be NULL.
 */
int net_connect(const char *host, int port, const char *source_ip,
    int64_t deadline, int *fd, struct error *);

/*
 * Where to connect.  With socket_path set, the other fields are not used
 * (a local socket wins over host, port and proxy).  An empty
 * socket_path or proxy_host counts as unset.
 */
struct net_target {
	const char *host; /* ASCII name or address literal */
	int port;
	const char *source_ip;	 /* or NULL */
	const char *socket_path; /* a Unix-domain socket instead, or NULL */
	const char *proxy_host;	 /* SOCKS5 proxy (RFC 1928), or NULL */
	int proxy_port;		 /* 0: 1080 */
	/*
	 * RFC 1929: with proxy_user set, user name and password are offered
	 * to the proxy, and sent only if it chooses that method.
	 */
	const char *proxy_user;
	const char *proxy_password;
};

/*
 * Open the connection the target describes, within one deadline: a
 * non-blocking, close-on-exec socket (TCP_NODELAY for TCP).  Through a
 * SOCKS5 proxy, a host name is sent to the proxy unresolved, and the
 * socket is returned right after the proxy's reply: any bytes the server
 * sent after it are still unread.
 */
int net_open(const struct net_target *, int64_t deadline, int *fd,
    struct error *);

#endif
