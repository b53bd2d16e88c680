#!/usr/bin/python3
"""socks5.py: a minimal SOCKS5 proxy (RFC 1928) for the scripted and
differential tests.

Listens on 127.0.0.1, on an ephemeral port printed as "PORT n" on standard
output, and serves until it is killed.  Each client must offer "no
authentication" (method 0); only CONNECT is accepted, and only to a
loopback target: 127.0.0.1, ::1, or the name "localhost" (connected to as
127.0.0.1, without resolving anything).  Any other target is refused with
REP 2 (connection not allowed by ruleset).  After a granted CONNECT the
proxy relays bytes both ways until both sides are done.

Options, for the cases that need a misbehaving or observable proxy:

  --log FILE       append one line per request to FILE, for example
                   "CONNECT name localhost 2525 granted" or
                   "CONNECT ipv4 192.0.2.1 25 refused 2"
                   (ipv4 / name / ipv6 is the ATYP the client used)
  --require-auth   answer the greeting with 05 02 (username/password
                   required), which outbox must refuse
  --auth USER:PASS require username/password (RFC 1929): choose method 2
                   if offered (else answer 05 FF), then accept only
                   these credentials (a refusal is 01 01, then close)
  --select N       answer every greeting with method N, whatever was
                   offered (255: "no acceptable methods"), and go on as
                   that method says: 0 the request, 2 the credentials,
                   anything else close
With --log, the greeting is logged too ("METHODS 0 2", the methods the
client offered) and so is each sub-negotiation ("AUTH alice ok" or
"AUTH alice refused").
  --refuse N       answer every CONNECT with REP N, without connecting
  --coalesce       send the reply and the server's first bytes (its
                   greeting) in one write, as a busy proxy may

Standard library only; run with /usr/bin/python3.
"""

import argparse
import ipaddress
import socket
import struct
import sys
import threading

ATYP_IPV4, ATYP_NAME, ATYP_IPV6 = 1, 3, 4
ATYP_NAMES = {ATYP_IPV4: 'ipv4', ATYP_NAME: 'name', ATYP_IPV6: 'ipv6'}
REP_OK, REP_FAILURE, REP_NOT_ALLOWED = 0, 1, 2
REP_HOST_UNREACHABLE, REP_REFUSED = 4, 5
REP_COMMAND, REP_ATYP = 7, 8
HANDSHAKE_TIMEOUT = 10
COALESCE_WAIT = 2

log_lock = threading.Lock()


class Closed(Exception):
    pass


def read_exact(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Closed()
        data += chunk
    return data


def reply(rep, bound=None):
    """VER REP RSV ATYP BND.ADDR BND.PORT (RFC 1928 6)."""
    if bound is None:
        return bytes([5, rep, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0])
    addr = ipaddress.ip_address(bound[0])
    atyp = ATYP_IPV4 if addr.version == 4 else ATYP_IPV6
    return bytes([5, rep, 0, atyp]) + addr.packed + struct.pack(
        '!H', bound[1])


def log(args, line):
    if not args.log:
        return
    with log_lock, open(args.log, 'a') as f:
        f.write(line + '\n')


def target_address(atyp, host):
    """Where a loopback target really is, or None to refuse it."""
    if atyp == ATYP_NAME:
        if host.lower() == 'localhost':
            return socket.AF_INET, '127.0.0.1'
        return None
    if host == '127.0.0.1':
        return socket.AF_INET, host
    if host == '::1':
        return socket.AF_INET6, host
    return None


def read_request(conn):
    """RFC 1928 4: VER CMD RSV ATYP DST.ADDR DST.PORT."""
    ver, cmd, _, atyp = read_exact(conn, 4)
    if ver != 5:
        raise Closed()
    if atyp == ATYP_IPV4:
        host = socket.inet_ntop(socket.AF_INET, read_exact(conn, 4))
    elif atyp == ATYP_IPV6:
        host = socket.inet_ntop(socket.AF_INET6, read_exact(conn, 16))
    elif atyp == ATYP_NAME:
        n = read_exact(conn, 1)[0]
        host = read_exact(conn, n).decode('ascii', 'replace')
    else:
        return cmd, atyp, None, None
    port = struct.unpack('!H', read_exact(conn, 2))[0]
    return cmd, atyp, host, port


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(conn, upstream):
    t = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
    t.start()
    pump(conn, upstream)
    t.join()


def login(args, conn):
    """RFC 1929 2: VER ULEN UNAME PLEN PASSWD; True when accepted."""
    ver, ulen = read_exact(conn, 2)
    user = read_exact(conn, ulen)
    plen = read_exact(conn, 1)[0]
    password = read_exact(conn, plen)
    want_user, _, want_pass = (args.auth or '').partition(':')
    ok = ver == 1 and args.auth is not None and \
        (user, password) == (want_user.encode(), want_pass.encode())
    log(args, 'AUTH %s %s' % (user.decode('utf-8', 'replace'),
                              'ok' if ok else 'refused'))
    conn.sendall(b'\x01\x00' if ok else b'\x01\x01')
    return ok


def choose(args, methods):
    if args.select is not None:
        return args.select
    if args.require_auth:
        return 2
    if args.auth is not None:
        return 2 if 2 in methods else 0xff
    return 0 if 0 in methods else 0xff


def handle(args, conn):
    conn.settimeout(HANDSHAKE_TIMEOUT)
    ver, nmethods = read_exact(conn, 2)
    methods = read_exact(conn, nmethods)
    if ver != 5:
        return
    log(args, 'METHODS ' + ' '.join(str(m) for m in methods))
    method = choose(args, methods)
    conn.sendall(bytes([5, method]))
    if method == 2 and (args.require_auth or not login(args, conn)):
        return
    if method not in (0, 2):
        return
    cmd, atyp, host, port = read_request(conn)
    what = 'CONNECT %s %s %s' % (ATYP_NAMES.get(atyp, str(atyp)), host, port)
    if cmd != 1:
        rep = REP_COMMAND
    elif host is None:
        rep = REP_ATYP
    elif args.refuse is not None:
        rep = args.refuse
    elif target_address(atyp, host) is None:
        rep = REP_NOT_ALLOWED
    else:
        rep = REP_OK
    if rep != REP_OK:
        log(args, '%s refused %d' % (what, rep))
        conn.sendall(reply(rep))
        return
    family, addr = target_address(atyp, host)
    upstream = socket.socket(family, socket.SOCK_STREAM)
    upstream.settimeout(HANDSHAKE_TIMEOUT)
    try:
        upstream.connect((addr, port))
    except OSError as e:
        upstream.close()
        rep = REP_REFUSED if isinstance(
            e, ConnectionRefusedError) else REP_HOST_UNREACHABLE
        log(args, '%s refused %d' % (what, rep))
        conn.sendall(reply(rep))
        return
    log(args, '%s granted' % what)
    with upstream:
        first = b''
        if args.coalesce:
            # An empty read (the server closed) is seen again by relay().
            upstream.settimeout(COALESCE_WAIT)
            try:
                first = upstream.recv(65536)
            except socket.timeout:
                pass
        conn.sendall(reply(REP_OK, upstream.getsockname()[:2]) + first)
        conn.settimeout(None)
        upstream.settimeout(None)
        relay(conn, upstream)


def serve(args, conn):
    with conn:
        try:
            handle(args, conn)
        except (Closed, OSError):
            pass


def main():
    ap = argparse.ArgumentParser(description='a minimal SOCKS5 test proxy')
    ap.add_argument('--log', metavar='FILE')
    ap.add_argument('--require-auth', action='store_true')
    ap.add_argument('--auth', metavar='USER:PASS')
    ap.add_argument('--select', type=int, metavar='N')
    ap.add_argument('--refuse', type=int, metavar='N')
    ap.add_argument('--coalesce', action='store_true')
    args = ap.parse_args()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', 0))
    srv.listen(16)
    sys.stdout.write('PORT %d\n' % srv.getsockname()[1])
    sys.stdout.flush()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(args, conn), daemon=True).start()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
