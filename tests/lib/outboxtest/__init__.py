"""outboxtest: the library shared by outbox's Python test runners.

  smtpserver  the scriptable SMTP server: script mode (one case's server
              script, round trips and flights) and sink mode (any number
              of messages and connections, rules, an event log), as a
              child process or inside the runner (smtpserver.Sink)
  delayproxy  a TCP proxy adding round-trip time, that can be taken down
  socks5      a SOCKS5 proxy (RFC 1928) that can refuse or ask for a password
  authserver  a fake OAuth2 authorization server (HTTPS, control API)
  procs       those servers as child processes that are always stopped
  certs       the throwaway certificates of every layer (certtool)
  cases       the case registry and the command line every runner takes

Each runner puts tests/lib on sys.path and imports from here; the servers
run as scripts (/usr/bin/python3 FILE).  The independent real servers
(Postfix, Dovecot, aiosmtpd) are not here on purpose.  Standard library
only.
"""

import os

PKG = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.dirname(PKG)
TOP = os.path.dirname(os.path.dirname(LIB))
PY = '/usr/bin/python3'


def tool(name):
    """The path of one of the library's scripts (smtpserver.py, ...)."""
    return os.path.join(PKG, name)
