#!/usr/bin/python3
"""An SMTP server for outbox's integration tests that is not Postfix:
Python's aiosmtpd (Debian's python3-aiosmtpd), on 127.0.0.1 only.

usage: smtpsink.py OUTDIR PORT CERTDIR USER PASSWORD

Offers STARTTLS (CERTDIR/server.pem and server.key, from scripts/gencerts),
AUTH PLAIN and LOGIN after STARTTLS for USER/PASSWORD, 8BITMIME and
SMTPUTF8.  Every message it accepts is written as OUTDIR/N.msg (the content
exactly as received, CRLF line endings, dot-stuffing undone) and OUTDIR/N.env
(JSON: mail_from, rcpt_tos, mail_options, rcpt_options, peer, tls, auth),
the .msg renamed into place last.  A recipient whose local part starts with
"unknown-" is refused with 550.  Writes "ready" to OUTDIR/ready once it
accepts connections, and runs until SIGTERM or SIGINT.
Standard library plus aiosmtpd only.
"""

import json
import os
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address.split("@")[0].startswith("unknown-"):
            return "550 5.1.1 <%s>: no such user here" % address
        # As Postfix does: a non-ASCII address needs MAIL FROM ... SMTPUTF8
        # (RFC 6531 3.4).
        if not address.isascii() and "SMTPUTF8" not in [
                o.upper() for o in envelope.mail_options]:
            return ("553 5.6.7 <%s>: SMTPUTF8 is required for a non-ASCII "
                    "address" % address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        base = os.path.join(self.outdir, "%d" % n)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "peer": list(session.peer[:2]),
            "tls": session.ssl is not None,
            "auth": (session.auth_data.login.decode("utf-8", "replace")
                     if session.authenticated
                     and isinstance(session.auth_data, LoginPassword)
                     else None),
        }
        with open(base + ".env", "w") as f:
            json.dump(meta, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".msg")
        return "250 2.0.0 OK: queued as sink-%d" % n


def main(argv):
    # aiosmtpd 1.4 warns about its own use of a deprecated attribute.
    warnings.filterwarnings("ignore", "Session.login_data")
    if len(argv) != 6:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    outdir, port, certs, user, password = argv[1:]
    os.makedirs(outdir, exist_ok=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(certs, "server.pem"),
                        os.path.join(certs, "server.key"))

    def authenticator(server, session, envelope, mechanism, data):
        ok = (isinstance(data, LoginPassword)
              and data.login == user.encode()
              and data.password == password.encode())
        return AuthResult(success=ok, handled=False, auth_data=data)

    # hostname= names the server in its greeting; without it aiosmtpd
    # would look up this machine's name.
    ctl = Controller(Sink(outdir), hostname="127.0.0.1", port=int(port),
                     server_hostname="sink.example.test",
                     ident="outbox-test-sink", tls_context=ctx,
                     authenticator=authenticator, auth_require_tls=True,
                     enable_SMTPUTF8=True, decode_data=False)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    ctl.start()
    try:
        with open(os.path.join(outdir, "ready"), "w") as f:
            f.write("ready\n")
        done.wait()
    finally:
        ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
