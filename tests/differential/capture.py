#!/usr/bin/python3
"""A capture SMTP/LMTP server for the differential test (standard library).

It listens on 127.0.0.1 (an ephemeral port) and takes any number of
connections, one thread each.  For every connection it records the
greeting command (EHLO/HELO/LHLO and its argument), every MAIL FROM and
RCPT TO argument with the reply given, and the message data (dot-unstuffed)
of every transaction that ended with the final dot.

Behaviour is set by a dict (the case's "server" entry):

  ext        EHLO/LHLO keywords to offer (default ["PIPELINING"]);
             "STARTTLS" is offered only when tls=True
  tls        (certfile, keyfile): offer STARTTLS and do the handshake
  rcpt       {address: "CODE text"}: reply to RCPT TO:<address> (the
             address compared case-insensitively); others get 250
  mail       "CODE text": reply to MAIL FROM (default 250)
  data_end   "CODE text": reply to the final dot (default 250)
  lmtp       True: expect LHLO, and answer the final dot once per
             accepted recipient (as RFC 2033 says)
  lmtp_final {address: "CODE text"}: that recipient's reply to the dot
  greeting   "CODE text": the greeting (default 220)
  ehlo       "CODE text": reply to EHLO instead of the capabilities
             (HELO still gets 250)
  data       "CODE text": reply to DATA instead of 354
  implicit   True: TLS handshake right after connecting (needs tls)
  auth       ["PLAIN", "LOGIN"]: offer AUTH with these mechanisms and
             accept any credentials; the session records "MECH user pass"
  unix       a path: listen on this Unix-domain socket instead of TCP
"""

import base64

import select
import socket
import ssl
import threading
import time


class _Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, text):
        try:
            self.sock.sendall(text.encode() + b"\r\n")
        except OSError:
            pass

    def readline(self):
        """One line without its CRLF/LF, or None at EOF."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        if line.endswith(b"\r"):
            line = line[:-1]
        return line


class CaptureServer:
    def __init__(self, behaviour=None):
        self.b = dict(behaviour or {})
        if self.b.get("unix"):
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(self.b["unix"])
            self.port = 0
        else:
            self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind(("127.0.0.1", 0))
            self.port = self.lsock.getsockname()[1]
        self.lsock.listen(16)
        self.lock = threading.Lock()
        self.sessions = []
        self.threads = []
        self.closing = False
        self.busy = False
        self.tls_ctx = None
        if self.b.get("tls"):
            cert, key = self.b["tls"]
            self.tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_ctx.load_cert_chain(cert, key)
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    # -- control -------------------------------------------------------
    def take(self, wait=5.0):
        """Wait for the sessions so far to end; return and forget them."""
        # A connection the client made may still wait in the listen queue,
        # or be between accept() and its registration: wait for both.
        deadline = time.time() + wait
        while time.time() < deadline:
            r, _, _ = select.select([self.lsock], [], [], 0)
            if not r and not self.busy:
                break
            time.sleep(0.01)
        with self.lock:
            threads = list(self.threads)
        for t in threads:
            t.join(wait)
        with self.lock:
            s, self.sessions, self.threads = self.sessions, [], []
        return s

    def close(self):
        self.closing = True
        try:
            self.lsock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.closing:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            self.busy = True
            sess = {"greeting": None, "commands": [], "transactions": [],
                    "tls": False, "errors": [], "auth": None}
            t = threading.Thread(target=self._serve, args=(sock, sess),
                                 daemon=True)
            with self.lock:
                self.sessions.append(sess)
                self.threads.append(t)
            t.start()
            self.busy = False

    # -- one session -----------------------------------------------------
    def _serve(self, sock, sess):
        sock.settimeout(30)
        c = _Conn(sock)
        try:
            self._dialogue(c, sess)
        except Exception as e:  # recorded, shown in the report
            sess["errors"].append("server: %r" % (e,))
        finally:
            try:
                c.sock.close()
            except OSError:
                pass

    def _ehlo_reply(self, c, sess):
        if self.b.get("ehlo"):
            c.send(self.b["ehlo"])
            return
        ext = list(self.b.get("ext", ["PIPELINING"]))
        if self.b.get("auth"):
            ext.append("AUTH " + " ".join(self.b["auth"]))
        if self.tls_ctx is not None and not sess["tls"] and \
                not self.b.get("implicit"):
            ext.append("STARTTLS")
        lines = ["localhost capture"] + ext
        for i, l in enumerate(lines):
            c.send(("250 " if i == len(lines) - 1 else "250-") + l)

    def _dialogue(self, c, sess):
        lmtp = bool(self.b.get("lmtp"))
        if self.b.get("implicit"):
            c.sock = self.tls_ctx.wrap_socket(c.sock, server_side=True)
            sess["tls"] = True
        c.send(self.b.get("greeting") or
               "220 localhost capture " + ("LMTP" if lmtp else "ESMTP"))
        if not (self.b.get("greeting") or "220").startswith("220"):
            self._after_bad_greeting(c, sess)
            return
        tr = None
        while True:
            raw = c.readline()
            if raw is None:
                return
            line = raw.decode("utf-8", "replace")
            sess["commands"].append(line)
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1:] if " " in line else ""
            if verb in ("EHLO", "HELO", "LHLO"):
                sess["greeting"] = line  # the last one counts
                if verb == "HELO":
                    c.send("250 localhost")
                elif (verb == "LHLO") != lmtp:
                    c.send("500 5.5.1 wrong greeting for this protocol")
                else:
                    self._ehlo_reply(c, sess)
                tr = None
            elif verb == "STARTTLS" and self.tls_ctx is not None \
                    and not sess["tls"]:
                if c.buf:
                    sess["errors"].append("client pipelined after STARTTLS")
                c.send("220 2.0.0 ready for TLS")
                c.sock = self.tls_ctx.wrap_socket(c.sock, server_side=True)
                sess["tls"] = True
                sess["greeting"] = None
                tr = None
            elif verb == "MAIL" and line[:10].upper() == "MAIL FROM:":
                tr = {"mail": line[10:], "rcpt": [], "data": None,
                      "final": []}
                sess["transactions"].append(tr)
                c.send(self.b.get("mail", "250 2.1.0 ok"))
            elif verb == "RCPT" and line[:8].upper() == "RCPT TO:":
                a = line[8:]
                addr = a.split(">", 1)[0].lstrip("<").lower()
                reply = "250 2.1.5 ok"
                for k, v in self.b.get("rcpt", {}).items():
                    if k.lower() == addr:
                        reply = v
                if tr is None:
                    c.send("503 5.5.1 MAIL first")
                    continue
                tr["rcpt"].append({"arg": a, "code": int(reply[:3])})
                c.send(reply)
            elif verb == "AUTH" and self.b.get("auth"):
                self._auth(c, sess, arg)
            elif verb == "DATA":
                ok = [r for r in (tr or {}).get("rcpt", [])
                      if r["code"] < 300]
                if not ok:
                    c.send("554 5.5.1 no valid recipients")
                    continue
                if self.b.get("data"):
                    c.send(self.b["data"])
                    continue
                c.send("354 go ahead")
                data = []
                while True:
                    l = c.readline()
                    if l is None:
                        tr["data_eof"] = True
                        return  # cut off: nothing delivered
                    if l == b".":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data.append(l)
                tr["data"] = b"\r\n".join(data) + (b"\r\n" if data else b"")
                if lmtp:
                    per = {k.lower(): v for k, v in
                           self.b.get("lmtp_final", {}).items()}
                    for r in ok:
                        addr = r["arg"].split(">", 1)[0].lstrip("<").lower()
                        reply = per.get(addr, self.b.get(
                            "data_end", "250 2.0.0 delivered"))
                        c.send(reply)
                        tr["final"].append(reply)
                else:
                    c.send(self.b.get("data_end", "250 2.0.0 queued as X"))
                    tr["final"].append(self.b.get("data_end", "250"))
                tr = None
            elif verb == "RSET":
                tr = None
                c.send("250 2.0.0 ok")
            elif verb == "NOOP":
                c.send("250 2.0.0 ok")
            elif verb == "QUIT":
                c.send("221 2.0.0 bye")
                return
            else:
                c.send("500 5.5.2 unknown command")

    def _after_bad_greeting(self, c, sess):
        """After a refusing greeting, answer QUIT and record the rest."""
        while True:
            raw = c.readline()
            if raw is None:
                return
            line = raw.decode("utf-8", "replace")
            sess["commands"].append(line)
            if line.upper() == "QUIT":
                c.send("221 2.0.0 bye")
                return
            c.send("503 5.5.1 refused at greeting")

    def _auth(self, c, sess, arg):
        parts = arg.split(" ")
        mech = parts[0].upper()

        def b64(s):
            try:
                return base64.b64decode(s).decode("utf-8", "replace")
            except Exception:
                return "(not base64: %r)" % s

        def ask(prompt):
            c.send("334 " + prompt)
            l = c.readline()
            return None if l is None else l.decode("utf-8", "replace")

        if mech == "PLAIN":
            resp = parts[1] if len(parts) > 1 else ask("")
            if resp is None:
                return
            f = b64(resp).split("\0")
            sess["auth"] = "PLAIN " + " ".join(f[1:])
            sess["auth_initial"] = len(parts) > 1
        elif mech == "LOGIN":
            u = b64(parts[1]) if len(parts) > 1 else \
                b64(ask(base64.b64encode(b"Username:").decode()) or "")
            p = b64(ask(base64.b64encode(b"Password:").decode()) or "")
            sess["auth"] = "LOGIN %s %s" % (u, p)
        else:
            c.send("504 5.5.4 mechanism not offered")
            return
        c.send("235 2.7.0 authenticated")
