#!/usr/bin/python3
"""A tiny authoritative DNS server for the --configure test.

usage: dns.py [--address A] [--port P] [--ready FILE] [--log FILE]

Listens on 127.0.0.1 port 53 (UDP and TCP) by default, refuses any other
address than loopback, and answers from the fixed ZONE and MX tables
below: SRV and MX records for the names there, SERVFAIL for names under
servfail.test, and NXDOMAIN for everything else.  It never forwards a query anywhere.  A name listed in
TRUNCATE gets an empty answer with TC set over UDP, so that the resolver has
to ask again over TCP.  Once both sockets are bound it writes "ready" to
the --ready file; each query is logged as "udp|tcp NAME TYPE" to --log.
Standard library only; stops on SIGTERM or SIGINT.
"""

import argparse
import signal
import socket
import struct
import sys
import threading

T_MX = 15
T_SRV = 33
C_IN = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3

# name -> list of (priority, weight, port, target); "." is the root.
ZONE = {
    # Implicit TLS, with a worse record and a STARTTLS service too: the
    # client must take the priority 0 record of _submissions.
    "_submissions._tcp.implicit.test": [
        (10, 100, 465, "backup.implicit.test"),
        (0, 1, 465, "mail.implicit.test"),
    ],
    "_submission._tcp.implicit.test": [
        (0, 1, 587, "mail.implicit.test"),
    ],
    # Only STARTTLS; equal priority, so the higher weight wins.
    "_submission._tcp.starttls.test": [
        (5, 10, 587, "smtp2.starttls.test"),
        (5, 60, 587, "smtp1.starttls.test"),
        (9, 99, 587, "smtp3.starttls.test"),
    ],
    # RFC 2782: "." says the service is decidedly not available.
    "_submissions._tcp.dot.test": [(0, 0, 0, ".")],
    "_submission._tcp.dot.test": [(0, 0, 0, ".")],
    # An international domain: bücher.test in A-labels.
    "_submissions._tcp.xn--bcher-kva.test": [
        (0, 0, 465, "mail.xn--bcher-kva.test"),
    ],
    # Answered only over TCP (see TRUNCATE).
    "_submission._tcp.tcp.test": [(1, 1, 2587, "mx.tcp.test")],
    # The autoconfig test (autoconfig.py): SRV after the HTTPS steps.
    "_submissions._tcp.step4.test": [(0, 0, 465, "smtp.step4.test")],
    "_submission._tcp.malformed.test": [(0, 0, 587, "smtp.malformed.test")],
    "_submission._tcp.oversized.test": [(0, 0, 587, "smtp.oversized.test")],
}
# name -> list of (preference, host): the MX records (autoconfig.py).
MX = {
    "step3.test": [(20, "mx2.mail.provider3.test"),
                   (10, "mx1.mail.provider3.test")],
    "step3a.test": [(10, "mx.mail.hosted3.test")],
    "step4.test": [(10, "mx.nothing4.test")],
    "contoso.test": [(0, "contoso-test.mail.protection.outlook.com")],
}
TRUNCATE = {"_submission._tcp.tcp.test"}
SERVFAIL_SUFFIX = "servfail.test"

log_lock = threading.Lock()
log_file = None


def log(transport, name, qtype):
    if log_file is None:
        return
    with log_lock:
        with open(log_file, "a", encoding="ascii") as f:
            f.write("%s %s %d\n" % (transport, name, qtype))


def encode_name(name):
    out = b""
    if name not in (".", ""):
        for label in name.rstrip(".").split("."):
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_question(msg):
    """Return (id, flags, name, qtype, qclass, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1 or flags & 0x8000:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, ".".join(labels).lower(), qtype, qclass, pos + 4


def answer(msg, transport):
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, name, qtype, qclass, end = q
    log(transport, name, qtype)
    question = msg[12:end]
    rd = flags & 0x0100
    # QR, AA, the client's RD.
    rflags = 0x8000 | 0x0400 | rd
    records = []
    if name == SERVFAIL_SUFFIX or name.endswith("." + SERVFAIL_SUFFIX):
        rflags |= RCODE_SERVFAIL
    elif name not in ZONE and name not in MX:
        rflags |= RCODE_NXDOMAIN
    elif transport == "udp" and name in TRUNCATE:
        rflags |= 0x0200
    elif qtype == T_SRV and qclass == C_IN and name in ZONE:
        records = [(T_SRV, struct.pack("!HHH", prio, weight, port)
                    + encode_name(target))
                   for prio, weight, port, target in ZONE[name]]
    elif qtype == T_MX and qclass == C_IN and name in MX:
        records = [(T_MX, struct.pack("!H", pref) + encode_name(host))
                   for pref, host in MX[name]]
    body = b""
    for rtype, rdata in records:
        # The owner name as a pointer to the question (offset 12).
        body += struct.pack("!HHHIH", 0xC00C, rtype, C_IN, 300, len(rdata))
        body += rdata
    header = struct.pack("!HHHHHH", qid, rflags, 1, len(records), 0, 0)
    return header + question + body


def serve_udp(sock):
    while True:
        try:
            msg, peer = sock.recvfrom(65535)
        except OSError:
            return
        reply = answer(msg, "udp")
        if reply is not None:
            sock.sendto(reply, peer)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_tcp_conn(conn):
    with conn:
        conn.settimeout(10)
        try:
            while True:
                head = recv_exact(conn, 2)
                if head is None:
                    return
                msg = recv_exact(conn, struct.unpack("!H", head)[0])
                if msg is None:
                    return
                reply = answer(msg, "tcp")
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def serve_tcp(sock):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=serve_tcp_conn, args=(conn,),
                         daemon=True).start()


def main():
    global log_file
    p = argparse.ArgumentParser()
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--ready")
    p.add_argument("--log")
    args = p.parse_args()
    if args.address not in ("127.0.0.1", "::1"):
        sys.exit("dns.py: only listens on loopback")
    log_file = args.log
    family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        udp.bind((args.address, args.port))
        tcp.bind((args.address, args.port))
        tcp.listen(8)
    except OSError as e:
        sys.exit("dns.py: cannot listen on %s port %d: %s"
                 % (args.address, args.port, e))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for target, sock in ((serve_udp, udp), (serve_tcp, tcp)):
        threading.Thread(target=target, args=(sock,), daemon=True).start()
    if args.ready:
        with open(args.ready, "w", encoding="ascii") as f:
            f.write("ready\n")
    while not stop.wait(1):
        pass
    udp.close()
    tcp.close()


if __name__ == "__main__":
    main()
