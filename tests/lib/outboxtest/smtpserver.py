#!/usr/bin/python3
"""The scriptable SMTP server of outbox's tests, on loopback.

Two modes:

  smtpserver.py --script FILE --certs DIR --result FILE [--timeout SECS]
               [--unix PATH]
      Listen on 127.0.0.1 (an ephemeral port, printed as "PORT n" on
      stdout), or on the Unix-domain socket PATH ("PORT 0" once it is
      ready), accept ONE connection and play the server script in FILE
      (one more for each NEXT step in it).
      Everything the client sent is recorded and written to the result
      file as JSON when the script is over and the client has gone, or
      when SIGTERM arrives (the test runner sends it once the client has
      exited: from then on nothing new can arrive, so reads only drain
      what is already queued and then see end of file).

  smtpserver.py --sink [--rules FILE] [--log FILE] [--certs DIR]
               [--port N] [--unix PATH] [--user U --password P]
               [--transcript FILE] [--message FILE]
      Accept any number of connections at once (a thread each) until
      SIGTERM and play each as the rules say (below); "PORT n" on stdout
      once it listens.  The same sink runs inside a test program as
      Sink(rules, ...), whose take() hands over the sessions played.
      --user/--password: STARTTLS before TLS, AUTH PLAIN LOGIN CRAM-MD5
      after it, checked against them.  --transcript gets the dialogue
      (AUTH payloads redacted), --message the last message accepted.

Sink rules (a dict, or a JSON file read again whenever it changed, at the
start of each connection; a missing file means "accept everything"):

  greeting   "220 ..." (the default), "421 4.3.2 busy", "close", "sleep N";
             after a greeting that is not 2xx only QUIT is answered (221)
  ext        the EHLO keywords (default PIPELINING 8BITMIME
             ENHANCEDSTATUSCODES SIZE 100000000); BDAT is always taken
  chunking   true: offer CHUNKING too
  ehlo       "CODE text": the reply to EHLO/LHLO instead of the keywords
             (HELO still gets 250)
  lmtp       true: expect LHLO (EHLO gets 500, and LHLO without it), and
             answer the end of the content once per accepted recipient
  tls        true: offer STARTTLS (until TLS is on) and do the handshake
             with server.pem of --certs; "cut": offer it, read the
             ClientHello and close
  implicit   true: the TLS handshake first thing (implicit TLS)
  auth       [MECH, ...]: offer AUTH with these (PLAIN, LOGIN, CRAM-MD5);
             any credentials are taken unless "user" is given
  auth_tls   true: offer and take AUTH only once TLS is on
  introspect an https URL: XOAUTH2 and OAUTHBEARER tokens are checked
             there (RFC 7662, trusting ca.pem of --certs); a refused one
             gets the mechanism's JSON error challenge, then 535
  user, password
             the only credentials taken (535 otherwise); MAIL before AUTH
             gets 530
  mail, rcpt, data, dot
             the reply at that stage: a reply line ("450 4.2.0 later"),
             "close" (drop the connection without a reply) or "sleep N"
             (say nothing for N seconds, then close)
  rcpt_by    {"SUBSTRING": REPLY}: the reply to RCPT for recipients
             containing SUBSTRING (before "rcpt")
  dot_by     {"SUBSTRING": REPLY}: a recipient's reply after the content
             (LMTP), or the reply to the dot when any recipient matches
  dot_delay  seconds to wait before answering the dot (a slow server)
  first_n    apply the file's rules to the first N connections only
             (counted from the time they changed); later ones get the
             rules given to Sink() (on the command line: accept all)

The event log (--log) has one JSON object per line, written and flushed
before the reply that follows it:

  {"ev": "connect", "conn": N, "t": T}
  {"ev": "msg", "conn": N, "sender": ADDR, "mail": MAIL-LINE,
   "rcpt": [ADDR...], "seq": X-Seq, "msgid": Message-ID, "size": BYTES,
   "sha256": HEX, "data": BASE64, "t_dot": T, "t_reply": T}
  {"ev": "refused", "conn": N, "stage": STAGE, "reply": LINE, "t": T}
  {"ev": "close", "conn": N, "quit": BOOL, "t": T}

T is time.monotonic() (CLOCK_MONOTONIC, comparable across processes on
Linux); "t_dot" is when the end of the message was read, "t_reply" the
moment the accepting reply is about to be written.  "data" is the message
as received, dot-unstuffed (or the BDAT content).  A "msg" event is
logged only for recipients accepted after the content (all of them for
SMTP, the 2xx ones for LMTP).  A session (take()) holds the greeting
command, every command line, each transaction (MAIL argument, RCPT
arguments with their reply codes, the content, the final replies), the
TLS and AUTH outcome, and the flights and round trips it counted.

Server script, one step per line (blank lines and "#" lines are skipped):

  S: TEXT          send TEXT CRLF; consecutive S:/SRAW:/REPEAT steps are
                   sent together in one write
  SRAW: BYTES      send BYTES exactly (escapes \\r \\n \\t \\0 \\\\ \\xHH)
  REPEAT N: TEXT   send TEXT CRLF N times (huge multi-line replies)
  ENDLESS: BYTES   send BYTES over and over until the client closes
  TRICKLE SECS: BYTES
                   send BYTES one byte at a time, SECS seconds apart (a
                   slow-loris server), until done or the client closes
  C: TEXT          the next client line must be TEXT followed by CRLF
  C~ REGEX         the next client line (without CRLF) must match REGEX
  C? TEXT          like C:, but the client may close the connection instead
  DATA             read the message up to CRLF.CRLF; keep its raw bytes
  NODOT            read until the client closes; the final dot must not come
  BDAT             read "BDAT n LAST" and then exactly n bytes of content
                   (RFC 3030: not dot-stuffed, no final dot); keep them
  EOF              the client must close without sending anything more
  NEXT             this connection is over (the client must close it);
                   the steps after NEXT play on the next connection, which
                   the client must open (several messages from -bs)
  TLS [fail] [min=V] [max=V] [cert=FILE key=FILE] [require-client-cert]
                   TLS handshake as the server (right after the 220 to
                   STARTTLS, or first thing for implicit TLS); with "fail"
                   the client is expected to abort the handshake (or the
                   server to refuse it).  V is 1.0, 1.1, 1.2 or 1.3 (1.0 and
                   1.1 lower OpenSSL's security level so that they really
                   are offered).  FILE is relative to the certificate
                   directory and may hold a chain; the key defaults to
                   the certificate's name with .key for .pem.
                   require-client-cert:
                   the client must present a certificate signed by ca.pem
  AUTH MECH USER PASS
                   read "AUTH ..." and play the SASL exchange (MECH is
                   PLAIN, LOGIN, CRAM-MD5 or * for any of them), checking
                   USER and PASS: 235 when they match, 535 otherwise
  SLEEP SECS       do nothing for SECS seconds
  CLOSE            close the connection now (the script ends)
  RESET            close the connection with a TCP reset (the script ends)

When the script is over the server waits for the client to close; any
byte it still sends is an error.

Round trips: 1 for the TCP handshake, plus 1 for every "turn": a point
where the server needed more bytes from the client while it had sent
something (SMTP replies or TLS handshake records) since its last read, at
a moment when nothing from the client was queued yet.  Lines that arrive
together (pipelined) cost nothing; a TLS 1.3 handshake costs 1 and TLS 1.2
costs 2 by the same rule; the client's final wait for the reply to the dot
(or to QUIT) shows up as the wait for its close.  A client that sends QUIT
and closes without waiting for the 221 does not pay for it.
A "flight" is everything read from the socket in one go: one recv plus
all that is already queued behind it.  Every client line is tagged with
the flight in which its end arrived.

Python 3 standard library only.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import warnings

MAX_LINE = 1 << 20          # longest client line we accept
MAX_ENDLESS = 256 << 20     # ENDLESS gives up after this many bytes
QUIET_GRACE = 0.002         # see Peer._send_raw


class StepFailed(Exception):
    pass


class Timeout(Exception):
    pass


def unescape(text):
    """Decode \\r \\n \\t \\0 \\\\ \\xHH in TEXT; return bytes."""
    raw = text.encode('utf-8')
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(raw):
            raise ValueError('dangling backslash in %r' % text)
        n = chr(raw[i + 1])
        simple = {'r': 13, 'n': 10, 't': 9, '0': 0, '\\': 0x5C}
        if n in simple:
            out.append(simple[n])
            i += 2
        elif n == 'x':
            out.append(int(raw[i + 2:i + 4].decode('ascii'), 16))
            i += 4
        else:
            raise ValueError('unknown escape \\%s in %r' % (n, text))
    return bytes(out)


def show(data):
    """Bytes as readable text: UTF-8 where valid, control bytes escaped."""
    text = data.decode('utf-8', 'backslashreplace')
    out = []
    for ch in text:
        o = ord(ch)
        if ch == '\r':
            out.append('\\r')
        elif ch == '\n':
            out.append('\\n')
        elif o < 0x20 or o == 0x7F:
            out.append('\\x%02x' % o)
        else:
            out.append(ch)
    return ''.join(out)


class Stopper:
    """SIGTERM (or stop()) turns into a readable fd and a flag.  Without
    SIGNALS (a server inside another program) only stop() does."""

    def __init__(self, signals=True):
        self.stopped = False
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.wfd, False)
        if signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum, frame):
        self.stop()

    def stop(self):
        self.stopped = True
        try:
            os.write(self.wfd, b'x')
        except OSError:
            pass

    def sleep(self, secs):
        """Sleep, but wake up early when stopped."""
        if not self.stopped:
            select.select([self.rfd], [], [], secs)


class Peer:
    """One client connection: buffered line reads, TLS via memory BIOs,
    round-trip and flight accounting, raw recording."""

    def __init__(self, sock, stopper, timeout, log, keep_wire=True,
                 grace=QUIET_GRACE):
        sock.setblocking(False)
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.stopper = stopper
        self.timeout = timeout
        self.log = log              # list of transcript entries
        self.tls = None             # ssl.SSLObject once TLS is on
        self.bio_in = self.bio_out = None
        self.app = bytearray()      # received, decrypted, not yet consumed
        self.app_pos = 0            # stream offset of app[0]
        self.segments = []          # (end offset, flight) of received data
        self.flight = 0
        self.turns = 0
        self.sent_since_read = False
        self.eof = False
        self.closed = False
        self.peer_gone = False      # a send failed: the client hung up
        self.keep_wire = keep_wire  # False: a sink taking many messages
        self.grace = grace
        self.wire_in = bytearray()  # every byte read from the socket
        self.wire_out = bytearray()
        self.received = bytearray()  # every application byte (decrypted)

    # -- low level -------------------------------------------------------

    def note(self, text):
        self.log.append({'dir': '*', 'text': text, 'flight': self.flight})

    def _wait(self, fd_write=False):
        """Wait until the socket is readable (or writable).  Return False
        when the client is known to be gone (stopped, nothing queued)."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self.stopper.stopped:
                r, w, _ = select.select([] if fd_write else [self.sock],
                                        [self.sock] if fd_write else [],
                                        [], 0)
                return bool(r or w)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout('timed out after %gs waiting for the client'
                              % self.timeout)
            r, w, _ = select.select(
                [self.stopper.rfd] + ([] if fd_write else [self.sock]),
                [self.sock] if fd_write else [], [], left)
            if self.sock in r or self.sock in w:
                return True

    def _read_flight(self):
        """Read one flight of raw bytes.  Returns (bytes, eof)."""
        if self.sent_since_read:
            self.turns += 1
        self.sent_since_read = False
        chunks = []
        eof = False
        if not self._wait():
            eof = True
        else:
            while True:
                try:
                    d = self.sock.recv(65536)
                except BlockingIOError:
                    break
                except (ConnectionResetError, ConnectionAbortedError):
                    self.note('connection reset by the client')
                    d = b''
                if not d:
                    eof = True
                    break
                chunks.append(d)
        self.flight += 1
        data = b''.join(chunks)
        if self.keep_wire:
            self.wire_in += data
        return data, eof

    def _send_raw(self, data):
        if self.closed or self.peer_gone:
            return False
        # A send starts a turn only if the client has nothing queued for us
        # yet: bytes (or its close) already on the way were sent without
        # waiting for this reply.  The short grace catches a client that
        # writes QUIT and closes without waiting for the 221.
        quiet = self.sent_since_read or not select.select(
            [self.sock], [], [], self.grace)[0]
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
            except BlockingIOError:
                if not self._wait(fd_write=True):
                    self.peer_gone = True
                    return False
                continue
            except (BrokenPipeError, ConnectionResetError):
                self.note('send failed: the client has closed')
                self.peer_gone = True
                return False
            if self.keep_wire:
                self.wire_out += view[:n]
            view = view[n:]
        if quiet:
            self.sent_since_read = True
        return True

    def _flush_tls(self):
        """Send what TLS has queued; False once the client is gone."""
        if self.bio_out is not None:
            pending = self.bio_out.read()
            if pending:
                return self._send_raw(pending)
        return not (self.closed or self.peer_gone)

    def _append(self, data):
        if data:
            self.app += data
            if self.keep_wire:
                self.received += data
            self.segments.append((self.app_pos + len(self.app), self.flight))

    def _flight_of(self, offset):
        for end, fl in self.segments:
            if offset < end:
                return fl
        return self.flight

    def _fill(self):
        """Get more application bytes; False at end of file."""
        if self.eof:
            return False
        while True:
            if self.tls is not None:
                got = self._tls_read()
                if got:
                    self._append(got)
                    return True
                if self.eof:
                    return False
            data, eof = self._read_flight()
            if self.tls is None:
                self._append(data)
                if eof:
                    self.eof = True
                if data or eof:
                    return bool(data)
                continue
            self.bio_in.write(data)
            if eof:
                self.bio_in.write_eof()

    def _tls_read(self):
        out = bytearray()
        while True:
            try:
                d = self.tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.note('TLS close_notify from the client')
                self.eof = True
                break
            except ssl.SSLError as e:
                if 'EOF' not in str(e) and 'eof' not in str(e):
                    self.note('TLS error: %s' % e)
                self.eof = True
                break
            if not d:
                self.eof = True
                break
            out += d
        self._flush_tls()
        return bytes(out)

    # -- what the script uses -------------------------------------------

    def send(self, data):
        if self.tls is not None:
            self.tls.write(data)
            return self._flush_tls()
        return self._send_raw(data)

    def readline(self):
        """Return (line, flight).  LINE ends with LF unless the client
        closed in the middle of it; b'' means end of file."""
        while True:
            i = self.app.find(b'\n')
            if i >= 0:
                line = bytes(self.app[:i + 1])
                fl = self._flight_of(self.app_pos + i)
                self._consume(i + 1)
                return line, fl
            if len(self.app) > MAX_LINE:
                raise StepFailed('client line longer than %d bytes'
                                 % MAX_LINE)
            if not self._fill():
                line = bytes(self.app)
                self._consume(len(line))
                return line, self.flight

    def read_exact(self, n):
        """Exactly N application bytes (a BDAT chunk) and the flight in
        which the last of them arrived; None when the client closed
        first."""
        while len(self.app) < n:
            if not self._fill():
                return None, self.flight
        data = bytes(self.app[:n])
        fl = self._flight_of(self.app_pos + max(n - 1, 0))
        self._consume(n)
        return data, fl

    def _consume(self, n):
        del self.app[:n]
        self.app_pos += n
        while self.segments and self.segments[0][0] <= self.app_pos:
            self.segments.pop(0)

    def read_until_eof(self):
        """Everything the client still sends before it closes."""
        out = bytearray(self.app)
        self._consume(len(self.app))
        while self._fill():
            out += self.app
            self._consume(len(self.app))
        return bytes(out)

    def drain_now(self):
        """What is already queued, without waiting."""
        stopped = self.stopper.stopped
        self.stopper.stopped = True
        try:
            return self.read_until_eof()
        except Exception:
            return b''
        finally:
            self.stopper.stopped = stopped

    def start_tls(self, ctx):
        """Server side of a TLS handshake.  Returns None or an error."""
        if self.app:
            raise StepFailed('client sent %r before the TLS handshake'
                             % show(bytes(self.app)))
        self.bio_in = ssl.MemoryBIO()
        self.bio_out = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.bio_in, self.bio_out, server_side=True)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush_tls()
                data, eof = self._read_flight()
                if data:
                    self.bio_in.write(data)
                if eof:
                    self.bio_in.write_eof()
            except (ssl.SSLError, OSError) as e:
                self._flush_tls()
                self.eof = True
                return str(e)
        self._flush_tls()
        return None

    def close(self, reset=False):
        if self.closed:
            return
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack('ii', 1, 0))
        self.sock.close()
        self.closed = True


# -- script ---------------------------------------------------------------

STEP_RE = re.compile(
    r'^(?:(?P<kw>S|SRAW|C|ENDLESS|REPEAT (?P<n>\d+)'
    r'|TRICKLE (?P<secs>\d+(?:\.\d+)?)):(?: (?P<arg>.*))?'
    r'|C~ (?P<re>.*)'
    r'|C\? (?P<opt>.*)'
    r'|(?P<word>DATA|BDAT|NODOT|EOF|CLOSE|RESET|TLS|AUTH|SLEEP|NEXT)'
    r'(?: (?P<rest>.*))?)$')


TLS_OPTIONS = ('fail', 'min', 'max', 'cert', 'key', 'require-client-cert')
TLS_VERSIONS = {'1.0': 'TLSv1', '1.1': 'TLSv1_1', '1.2': 'TLSv1_2',
                '1.3': 'TLSv1_3'}


def parse_script(text):
    steps = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        m = STEP_RE.match(line)
        if not m:
            raise ValueError('script line %d: cannot parse %r' % (n, line))
        if m.group('re') is not None:
            op, arg = 'C~', m.group('re')
        elif m.group('opt') is not None:
            op, arg = 'C?', m.group('opt')
        elif m.group('kw'):
            op = m.group('kw').split()[0]
            arg = m.group('arg') or ''
        else:
            op, arg = m.group('word'), (m.group('rest') or '').strip()
        step = {'line': n, 'src': line, 'op': op, 'arg': arg}
        if op == 'REPEAT':
            step['count'] = int(m.group('n'))
        if op in ('SRAW', 'ENDLESS', 'TRICKLE'):
            step['bytes'] = unescape(arg)
        if op == 'TRICKLE':
            step['secs'] = float(m.group('secs'))
        if op == 'C~':
            step['regex'] = re.compile(arg.encode('utf-8'), re.S)
        if op == 'AUTH':
            parts = arg.split()
            if len(parts) != 3:
                raise ValueError('script line %d: AUTH MECH USER PASS' % n)
            step['mech'], step['user'], step['password'] = parts
        if op == 'SLEEP':
            step['secs'] = float(arg)
        if op == 'TLS':
            opts = {}
            for word in arg.split():
                k, _, v = word.partition('=')
                opts[k] = v if v else True
                if k not in TLS_OPTIONS:
                    raise ValueError('script line %d: unknown TLS option %r'
                                     % (n, k))
                if k in ('min', 'max') and v not in TLS_VERSIONS:
                    raise ValueError('script line %d: TLS %s= takes one of '
                                     '%s' % (n, k, ', '.join(TLS_VERSIONS)))
            step['opts'] = opts
        steps.append(step)
    return steps


def tls_context(certs, opts, record):
    cert = os.path.join(certs, opts.get('cert', 'server.pem'))
    default_key = (opts['cert'][:-4] + '.key'
                   if opts.get('cert', '').endswith('.pem') else 'server.key')
    key = os.path.join(certs, opts.get('key', default_key))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # No session tickets: they would be an extra server flight after the
    # handshake and blur the round-trip count.
    ctx.num_tickets = 0
    versions = TLS_VERSIONS
    with warnings.catch_warnings():     # TLS 1.0 and 1.1 are deprecated
        warnings.simplefilter('ignore', DeprecationWarning)
        if opts.get('min') in ('1.0', '1.1') or opts.get('max') in ('1.0',
                                                                    '1.1'):
            ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        if 'min' in opts:
            ctx.minimum_version = getattr(ssl.TLSVersion,
                                          versions[opts['min']])
        if 'max' in opts:
            ctx.maximum_version = getattr(ssl.TLSVersion,
                                          versions[opts['max']])
    if opts.get('require-client-cert'):
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(certs, 'ca.pem'))

    def on_sni(sslobj, name, context):
        record['sni'] = name
    ctx.sni_callback = on_sni
    return ctx


class Player:
    def __init__(self, peer, certs, result):
        self.peer = peer
        self.certs = certs
        self.result = result
        self.log = peer.log
        self.outq = bytearray()

    def flush(self):
        if self.outq:
            data = bytes(self.outq)
            self.outq.clear()
            lines = [ln.rstrip(b'\r') for ln in data.split(b'\n') if ln]
            if len(lines) > 60:     # a huge reply: keep the log readable
                lines[30:-10] = [b'... %d more lines ...'
                                 % (len(lines) - 40)]
            for line in lines:
                self.log.append({'dir': 'S', 'text': show(line),
                                 'flight': self.peer.flight})
            self.peer.send(data)

    def client_line(self, allow_eof=False):
        self.flush()
        line, fl = self.peer.readline()
        if not line:
            if allow_eof:
                return None
            raise StepFailed('the client closed the connection')
        crlf = line.endswith(b'\r\n')
        body = line[:-2] if crlf else line.rstrip(b'\n')
        entry = {'dir': 'C', 'text': show(body), 'flight': fl}
        if not crlf:
            entry['bad_ending'] = True
        self.log.append(entry)
        if not line.endswith(b'\n'):
            raise StepFailed('the client closed the connection in the '
                             'middle of a line: %r' % show(line))
        if not crlf:
            raise StepFailed('client line not terminated by CRLF: %r'
                             % show(line))
        return body

    def run(self, steps):
        for i, step in enumerate(steps):
            self.result['step'] = '%d: %s' % (step['line'], step['src'])
            if self.peer.closed:
                raise StepFailed('the script goes on after CLOSE')
            getattr(self, 'op_' + step['op'].replace('~', '_re')
                    .replace('?', '_opt'))(step)
            self.result['steps_done'] = i + 1
        self.flush()

    # sending
    def op_S(self, step):
        self.outq += step['arg'].encode('utf-8') + b'\r\n'

    def op_SRAW(self, step):
        self.outq += step['bytes']

    def op_REPEAT(self, step):
        self.outq += (step['arg'].encode('utf-8') + b'\r\n') * step['count']

    def op_ENDLESS(self, step):
        self.flush()
        self.log.append({'dir': 'S', 'text': show(step['bytes'][:80]) +
                         '... (endless)', 'flight': self.peer.flight})
        chunk = step['bytes'] * max(1, 65536 // max(1, len(step['bytes'])))
        total = 0
        try:
            while total < MAX_ENDLESS and not self.peer.stopper.stopped:
                if not self.peer.send(chunk):
                    break
                total += len(chunk)
        except Timeout:
            pass
        self.peer.note('sent %d bytes of an endless reply' % total)

    def op_TRICKLE(self, step):
        self.flush()
        self.log.append({'dir': 'S', 'text': show(step['bytes']) +
                         ' (one byte every %gs)' % step['secs'],
                         'flight': self.peer.flight})
        sent = 0
        for i in range(len(step['bytes'])):
            if self.peer.stopper.stopped or not self.peer.send(
                    step['bytes'][i:i + 1]):
                break
            sent += 1
            self.peer.stopper.sleep(step['secs'])
        self.peer.note('trickled %d of %d bytes' % (sent, len(step['bytes'])))

    # receiving
    def op_C(self, step):
        got = self.client_line()
        want = step['arg'].encode('utf-8')
        if got != want:
            raise StepFailed('expected client line %r, got %r'
                             % (step['arg'], show(got)))

    def op_C_opt(self, step):
        got = self.client_line(allow_eof=True)
        if got is None:
            self.peer.note('(optional %r not sent: the client closed)'
                           % step['arg'])
            return
        if got != step['arg'].encode('utf-8'):
            raise StepFailed('expected client line %r or a close, got %r'
                             % (step['arg'], show(got)))

    def op_C_re(self, step):
        got = self.client_line()
        if not step['regex'].fullmatch(got):
            raise StepFailed('client line %r does not match /%s/'
                             % (show(got), step['arg']))

    def read_data(self):
        """Read message content up to CRLF.CRLF.  Returns (raw, done)."""
        raw = bytearray()
        while True:
            self.flush()
            line, fl = self.peer.readline()
            if not line:
                return bytes(raw), False
            # CRLF.CRLF only: a dot line after a bare LF is still content.
            if line == b'.\r\n' and (not raw or raw.endswith(b'\r\n')):
                self.log.append({'dir': 'D', 'text': '.', 'flight': fl})
                return bytes(raw), True
            self.log.append({'dir': 'D', 'text': show(
                line[:-2] if line.endswith(b'\r\n') else line), 'flight': fl})
            raw += line
            if not line.endswith(b'\n'):
                return bytes(raw), False

    def op_DATA(self, step):
        raw, done = self.read_data()
        if not done:
            self.result['data_partial'].append(
                base64.b64encode(raw).decode())
            raise StepFailed('the client closed during DATA after %d bytes '
                             '(no final dot)' % len(raw))
        self.result['data'].append(base64.b64encode(raw).decode())

    def op_BDAT(self, step):
        got = self.client_line()
        m = re.fullmatch(rb'BDAT (\d+) LAST', got)
        if not m:
            raise StepFailed('expected "BDAT n LAST", got %r' % show(got))
        n = int(m.group(1))
        raw, fl = self.peer.read_exact(n)
        if raw is None:
            raise StepFailed('the client closed inside a %d-byte BDAT '
                             'chunk' % n)
        self.log.append({'dir': 'D', 'text': '<BDAT chunk, %d bytes>' % n,
                         'flight': fl})
        self.result['data'].append(base64.b64encode(raw).decode())

    def op_NODOT(self, step):
        raw, done = self.read_data()
        if done:
            self.result['data'].append(base64.b64encode(raw).decode())
            raise StepFailed('the client sent the final dot after %d bytes'
                             % len(raw))
        self.result['data_partial'].append(base64.b64encode(raw).decode())
        self.peer.note('client closed without the final dot, after %d '
                       'bytes' % len(raw))

    def op_EOF(self, step):
        self.flush()
        rest = self.peer.read_until_eof()
        if rest:
            self.log.append({'dir': 'C', 'text': show(rest),
                             'flight': self.peer.flight})
            raise StepFailed('expected the client to close, got %r'
                             % show(rest))

    # control
    def op_SLEEP(self, step):
        self.flush()
        self.peer.stopper.sleep(step['secs'])

    def op_CLOSE(self, step):
        self.flush()
        self.peer.note('server closes the connection')
        self.peer.close()

    def op_RESET(self, step):
        self.flush()
        self.peer.note('server resets the connection')
        self.peer.close(reset=True)

    def op_TLS(self, step):
        self.flush()
        opts = step['opts']
        rec = {'expect_fail': bool(opts.get('fail'))}
        self.result['tls'].append(rec)
        self.peer.note('TLS handshake starts')
        start = len(self.peer.wire_in)
        err = self.peer.start_tls(tls_context(self.certs, opts, rec))
        if err is None:
            rec['version'] = self.peer.tls.version()
            rec['cipher'] = self.peer.tls.cipher()[0]
            peer_cert = self.peer.tls.getpeercert()
            if peer_cert:
                rec['client_cert'] = dict(
                    x[0] for x in peer_cert.get('subject', ())).get(
                        'commonName', '?')
            self.peer.note('TLS handshake done: %s' % rec['version'])
        else:
            rec['error'] = err
            self.peer.note('TLS handshake failed: %s' % err)
        if opts.get('fail'):
            if err is None:
                raise StepFailed('the client completed a TLS handshake it '
                                 'should have refused')
            self.peer.eof = True
            self._nothing_but_tls_after(start)
        elif err is not None:
            raise StepFailed('TLS handshake failed: %s' % err)

    def _nothing_but_tls_after(self, start):
        """After a failed handshake the client may still send TLS records
        (an alert, or its last flight) but nothing in clear: no SMTP
        command may follow a handshake that did not succeed."""
        while True:
            _, eof = self.peer._read_flight()
            if eof:
                break
        tail = bytes(self.peer.wire_in[start:])
        end = tls_records_end(tail)
        if end < len(tail):
            extra = tail[end:]
            for line in extra.rstrip(b'\n').split(b'\n')[:20]:
                self.log.append({'dir': 'C', 'text': show(line.rstrip(
                    b'\r')), 'flight': self.peer.flight})
            raise StepFailed('after the failed TLS handshake the client '
                             'sent %d bytes that are not TLS records: %r'
                             % (len(extra), show(extra[:200])))

    def op_AUTH(self, step):
        line = self.client_line()
        m = re.fullmatch(rb'AUTH ([A-Za-z0-9_-]+)(?: (\S+))?', line)
        if not m:
            raise StepFailed('expected an AUTH command, got %r' % show(line))
        mech = m.group(1).decode().upper()
        want = step['mech'].upper()
        if want != '*' and mech != want:
            raise StepFailed('client chose AUTH %s, expected %s'
                             % (mech, want))
        ir = m.group(2)
        ok, detail = sasl_exchange(mech, ir, self._challenge, step['user'],
                                   step['password'])
        if detail == 'cancelled':
            self.outq += b'501 5.0.0 AUTH cancelled\r\n'
        elif detail == 'unsupported':
            raise StepFailed('AUTH %s is not supported by the test server'
                             % mech)
        elif ok:
            self.outq += b'235 2.7.0 Authentication successful\r\n'
        else:
            self.outq += b'535 5.7.8 Authentication credentials invalid\r\n'
        summary = mech
        if ir is not None:
            summary += ' initial-response'
        summary += ' ' + ('ok' if ok else detail)
        self.result['auth'].append(summary)

    def _challenge(self, payload):
        """Send a 334 with PAYLOAD (bytes), return the client's response."""
        self.outq += b'334 ' + base64.b64encode(payload) + b'\r\n'
        return self.client_line()


def tls_records_end(data):
    """Length of the longest prefix of DATA made of whole TLS records."""
    i = 0
    while i + 5 <= len(data):
        if data[i] not in (20, 21, 22, 23) or data[i + 1] != 3:
            break
        n = struct.unpack('>H', data[i + 3:i + 5])[0]
        if i + 5 + n > len(data):
            break
        i += 5 + n
    return i


def b64decode(data):
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def sasl_exchange(mech, ir, challenge, user, password, seen=None):
    """Play one SASL exchange.  CHALLENGE(payload) sends a 334 and returns
    the client's line.  Returns (ok, detail) where detail is 'failed',
    'cancelled', 'malformed' or 'unsupported'.  USER None takes any
    credentials; SEEN (a dict) gets the 'user' and 'password' the client
    gave (PLAIN and LOGIN; only 'user' for CRAM-MD5)."""
    if seen is None:
        seen = {}
    if mech in ('XOAUTH2', 'OAUTHBEARER'):
        # PASSWORD is the token check here (bearer_exchange).
        return bearer_exchange(mech, ir, lambda p: (
            lambda ln: None if ln == b'*' else ln)(challenge(p)),
            password, seen)
    anyone = user is None
    user = (user or '').encode('utf-8')
    password = (password or '').encode('utf-8')

    def respond(payload):
        line = challenge(payload)
        if line == b'*':
            return None
        return line

    if mech == 'PLAIN':
        resp = ir if ir is not None else respond(b'')
        if resp is None:
            return False, 'cancelled'
        if resp == b'=':
            resp = b''
        dec = b64decode(resp)
        if dec is None or dec.count(b'\0') != 2:
            return False, 'malformed'
        authz, authc, pw = dec.split(b'\0')
        seen.update(user=authc, password=pw)
        ok = anyone or (authc == user and pw == password and
                        authz in (b'', user))
        return ok, 'failed'
    if mech == 'LOGIN':
        u = ir if ir is not None else respond(b'Username:')
        if u is None:
            return False, 'cancelled'
        p = respond(b'Password:')
        if p is None:
            return False, 'cancelled'
        du, dp = b64decode(u), b64decode(p)
        if du is None or dp is None:
            return False, 'malformed'
        seen.update(user=du, password=dp)
        return anyone or (du == user and dp == password), 'failed'
    if mech == 'CRAM-MD5':
        if ir is not None:
            return False, 'malformed'
        chal = ('<%d.%d@localhost>' % (os.getpid(), time.time_ns())).encode()
        resp = respond(chal)
        if resp is None:
            return False, 'cancelled'
        dec = b64decode(resp)
        if dec is None or b' ' not in dec:
            return False, 'malformed'
        name, _, digest = dec.rpartition(b' ')
        seen.update(user=name)
        good = hmac.new(password, chal, 'md5').hexdigest().encode()
        return anyone or (name == user and hmac.compare_digest(digest, good)
                          ), 'failed'
    return False, 'unsupported'


def bearer_fields(mech, dec):
    """(user, token) of an XOAUTH2 or OAUTHBEARER (RFC 7628) initial
    response, or None when it is malformed."""
    if mech == 'XOAUTH2':
        if not dec.endswith(b'\x01\x01'):
            return None
        kv = dict(p.split(b'=', 1) for p in dec[:-2].split(b'\x01')
                  if b'=' in p)
        user = kv.get(b'user')
    else:
        gs2, sep, rest = dec.partition(b'\x01')
        if not sep or not rest.endswith(b'\x01\x01') or \
                not gs2.startswith((b'n,', b'y,')):
            return None
        kv = dict(p.split(b'=', 1) for p in rest[:-2].split(b'\x01')
                  if b'=' in p)
        user = None
        for part in gs2.split(b',')[1:]:
            if part.startswith(b'a='):
                user = part[2:]
    auth = kv.get(b'auth', b'')
    if user is None or not auth.startswith(b'Bearer '):
        return None
    return user, auth[7:]


def bearer_exchange(mech, ir, respond, check, seen):
    """XOAUTH2 / OAUTHBEARER: CHECK(token) says whether the token is good
    (None takes any).  A refused token gets the JSON error challenge of
    each mechanism, then 535 after the client's empty or AQ== answer."""
    resp = ir if ir is not None else respond(b'')
    if resp is None:
        return False, 'cancelled'
    dec = b64decode(resp)
    got = bearer_fields(mech, dec) if dec is not None else None
    if got is None:
        return False, 'malformed'
    seen.update(user=got[0], password=got[1])
    if check is None or check(got[1]):
        return True, 'ok'
    err = (b'{"status":"401","schemes":"bearer","scope":"mail"}'
           if mech == 'XOAUTH2' else b'{"status":"invalid_token"}')
    last = respond(err)
    seen['error_answer'] = last or b''
    return False, 'failed'


def listen(host, unix=None, port=0, announce=True, backlog=8):
    """A listening socket on HOST:PORT (PORT 0: an ephemeral port), or on
    the Unix-domain socket UNIX.  With ANNOUNCE, "PORT n" on stdout says
    it is ready ("PORT 0" for a Unix-domain socket)."""
    if unix:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(unix)
    else:
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        srv = socket.socket(family, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
    srv.listen(backlog)
    if announce:
        sys.stdout.write('PORT %d\n' % (0 if unix else
                                          srv.getsockname()[1]))
        sys.stdout.flush()
    return srv


def accept(srv, stopper, timeout=None):
    """Accept one connection, or None once stopped (or timed out)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if stopper.stopped:
            r, _, _ = select.select([srv], [], [], 0)
            if not r:
                return None
        else:
            left = None if deadline is None else deadline - time.monotonic()
            r, _, _ = select.select([srv, stopper.rfd], [], [],
                                    None if left is None else max(left, 0))
            if srv not in r and left is not None and left <= 0:
                return None
            if srv not in r:
                continue
        conn, _ = srv.accept()
        return conn


# -- script mode ------------------------------------------------------------

def play(args):
    with open(args.script, encoding='utf-8') as f:
        steps = parse_script(f.read())
    # NEXT splits the script: one part per connection, in order.
    parts = [[]]
    for step in steps:
        if step['op'] == 'NEXT':
            parts.append([])
        else:
            parts[-1].append(step)
    stopper = Stopper()
    srv = listen(args.host, args.unix)
    result = {'connected': False, 'script_ok': False, 'error': None,
              'step': None, 'steps_done': 0, 'steps_total': len(steps),
              'rtt': 0, 'turns': 0, 'transcript': [], 'data': [],
              'data_partial': [], 'tls': [], 'auth': [], 'after_script': None,
              'connections': 0}
    wire_in = b''
    received = b''
    try:
        for n, part in enumerate(parts):
            conn = accept(srv, stopper, None if n == 0 else args.timeout)
            if conn is None:
                if n > 0:
                    result['error'] = ('connection %d of %d never came'
                                       % (n + 1, len(parts)))
                break
            result['connected'] = True
            result['connections'] += 1
            if n > 0:
                result['transcript'].append(
                    {'dir': '*', 'text': '(connection %d)' % (n + 1),
                     'flight': 0})
            peer = Peer(conn, stopper, args.timeout, result['transcript'])
            try:
                ok = play_part(peer, Player(peer, args.certs, result), part,
                               result)
            finally:
                result['turns'] += peer.turns
                result['rtt'] += 1 + peer.turns
                wire_in += peer.wire_in
                received += peer.received
                peer.close()
            if not ok:
                break
        else:
            result['script_ok'] = True
    except Exception as e:  # a bug in the test server itself
        result['error'] = 'test server error: %r' % e
        result['script_ok'] = False
    finally:
        result['wire_in'] = base64.b64encode(wire_in).decode()
        result['received'] = base64.b64encode(received).decode()
        # A connection beyond the script would be a client retrying.
        second = accept(srv, stopper, timeout=0)
        if second is not None:
            result['second_connection'] = True
            second.close()
        srv.close()
        with open(args.result, 'w') as f:
            json.dump(result, f, indent=1)
    return 0


def play_part(peer, player, steps, result):
    """Play the steps on one connection; False when they failed."""
    try:
        player.run(steps)
        result['step'] = None
        if not peer.closed:
            rest = peer.read_until_eof()
            if rest:
                result['after_script'] = show(rest)
                raise StepFailed('the client sent more after the '
                                 'end of the script: %r'
                                 % show(rest)[:400])
        return True
    except (StepFailed, Timeout) as e:
        result['error'] = str(e)
        if not peer.closed:
            rest = peer.drain_now()
            if rest:
                result['after_error'] = show(rest)[:4000]
        return False


# -- sink mode --------------------------------------------------------------

# What the sink says when no rule says otherwise.
ACCEPT = {
    'mail': '250 2.1.0 Ok',
    'rcpt': '250 2.1.5 Ok',
    'data': '354 End data with <CR><LF>.<CR><LF>',
    'dot': '250 2.0.0 Ok: queued',
}
DEFAULT_EXT = ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES',
               'SIZE 100000000']
SINK_TIMEOUT = 30.0
RULES = ('greeting', 'ext', 'chunking', 'ehlo', 'lmtp', 'tls', 'implicit',
         'auth', 'auth_tls', 'user', 'password', 'mail', 'rcpt', 'data',
         'dot', 'rcpt_by', 'dot_by', 'dot_delay', 'first_n',
         'introspect')


def check_rules(rules):
    """Refuse a rule the sink does not know (a misspelt one would
    silently mean "accept")."""
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise ValueError('unknown sink rule(s) %s (known: %s)'
                         % (', '.join(unknown), ', '.join(RULES)))
    return rules


class Closed(Exception):
    """The session ends here (the client left, or a rule said so)."""


def addr_of(arg):
    """The address inside <...> of a MAIL FROM:/RCPT TO: argument."""
    m = re.match(r'\s*<([^>]*)>', arg)
    return m.group(1) if m else arg


def reply_for(addr, default, by):
    """DEFAULT, or the reply of the first key of BY inside ADDR."""
    for sub, reply in (by or {}).items():
        if sub in addr:
            return reply
    return default


class Session:
    """One connection to the sink, as it was played."""

    def __init__(self, sink, sock, conn, rules):
        self.sink = sink
        self.rules = rules
        self.lmtp = bool(rules.get('lmtp'))
        self.peer = Peer(sock, sink.stopper, sink.timeout, [],
                         keep_wire=False, grace=0)
        self.authed = False
        self.tr = None
        self.rec = {'conn': conn, 'greeting': None, 'commands': [],
                    'transactions': [], 'tls': False, 'errors': [],
                    'auth': None, 'quit': False, 'flights': 0, 'turns': 0}

    # -- talking ----------------------------------------------------------

    def say(self, line):
        self.sink.transcript('S: %s' % line)
        self.peer.send(line.encode('utf-8') + b'\r\n')

    def hear(self, redact=False):
        line, _ = self.peer.readline()
        if not line:
            raise Closed()
        body = line.rstrip(b'\r\n')
        text = show(body)
        if redact:
            text = '<redacted>'
        elif re.match(r'(?i)AUTH \S+ ', text):
            text = ' '.join(text.split(' ')[:2]) + ' <redacted>'
        self.sink.transcript('C: %s' % text)
        return body

    def act(self, stage, reply=None):
        """Answer at STAGE as the rules say: a reply line (returned),
        "close" or "sleep N" (then Closed is raised)."""
        reply = reply or self.rules.get(stage) or ACCEPT[stage]
        if reply == 'close' or reply.startswith('sleep '):
            self.sink.event(ev='refused', conn=self.rec['conn'],
                            stage=stage, reply=reply, t=time.monotonic())
            if reply.startswith('sleep '):
                self.sink.stopper.sleep(float(reply.split()[1]))
            raise Closed()
        self.say(reply)
        if not reply.startswith(('2', '3')):
            self.sink.event(ev='refused', conn=self.rec['conn'],
                            stage=stage, reply=reply, t=time.monotonic())
        return reply

    def tls(self):
        err = self.peer.start_tls(self.sink.tls_context())
        self.sink.transcript('-- TLS handshake %s' % (
            'failed: ' + err if err else 'done: ' + self.peer.tls.version()))
        if err:
            self.rec['errors'].append('TLS handshake failed: %s' % err)
            raise Closed()
        self.rec['tls'] = True

    # -- the dialogue -------------------------------------------------------

    def play(self):
        if self.rules.get('implicit'):
            self.tls()
        greeting = self.rules.get('greeting') or (
            '220 localhost %s outbox test server'
            % ('LMTP' if self.lmtp else 'ESMTP'))
        if not self.act('greeting', greeting).startswith('2'):
            self.refused_greeting()
            return
        while True:
            line = self.hear()
            text = line.decode('utf-8', 'replace')
            self.rec['commands'].append(text)
            verb = text.split(' ', 1)[0].upper()
            arg = text[len(verb) + 1:]
            handler = getattr(self, 'cmd_' + verb, None)
            if handler is None:
                self.say('502 5.5.2 Command not recognised')
            elif handler(text, arg):
                return

    def refused_greeting(self):
        """RFC 5321 3.1: after a refusing greeting the client may only
        QUIT; anything else gets 503."""
        while True:
            text = self.hear().decode('utf-8', 'replace')
            self.rec['commands'].append(text)
            if text.upper() == 'QUIT':
                self.rec['quit'] = True
                self.say('221 2.0.0 Bye')
                return
            self.say('503 5.5.1 Refused at the greeting')

    def ext(self):
        ext = list(self.rules.get('ext', DEFAULT_EXT))
        if self.rules.get('chunking'):
            ext.append('CHUNKING')
        if self.rules.get('auth') and (self.rec['tls'] or
                                       not self.rules.get('auth_tls')):
            ext.append('AUTH ' + ' '.join(self.rules['auth']))
        if self.rules.get('tls') and not self.rec['tls']:
            ext.append('STARTTLS')
        return ext

    def cmd_EHLO(self, text, arg):
        self.rec['greeting'] = text     # the last one counts
        self.tr = None
        if (text[:4].upper() == 'LHLO') != self.lmtp:
            self.say('500 5.5.1 Wrong greeting for this protocol')
        elif self.rules.get('ehlo'):
            self.say(self.rules['ehlo'])
        else:
            lines = ['localhost'] + self.ext()
            for i, c in enumerate(lines):
                self.say('250%s%s' % (' ' if i == len(lines) - 1 else '-',
                                      c))

    cmd_LHLO = cmd_EHLO

    def cmd_HELO(self, text, arg):
        self.rec['greeting'] = text
        self.tr = None
        self.say('250 localhost')

    def cmd_STARTTLS(self, text, arg):
        mode = self.rules.get('tls')
        if not mode or self.rec['tls']:
            self.say('502 5.5.2 Command not recognised')
            return
        if self.peer.app:
            self.rec['errors'].append('client pipelined after STARTTLS')
            self.say('220 2.0.0 Ready to start TLS')
            raise Closed()
        self.say('220 2.0.0 Ready to start TLS')
        if mode == 'cut':
            # Read (some of) the ClientHello, then cut the handshake.
            select.select([self.peer.sock], [], [], 5)
            self.sink.event(ev='refused', conn=self.rec['conn'],
                            stage='tls', reply='cut', t=time.monotonic())
            raise Closed()
        self.tls()
        # RFC 3207 4.2: the client starts again with EHLO.
        self.rec['greeting'] = None
        self.tr = None
        self.authed = False

    def cmd_AUTH(self, text, arg):
        mechs = [m.upper() for m in self.rules.get('auth') or []]
        parts = arg.split(' ')
        mech = parts[0].upper()
        if self.authed or mech not in mechs or (
                self.rules.get('auth_tls') and not self.rec['tls']):
            self.say('504 5.5.4 Mechanism not offered')
            return
        ir = parts[1].encode('ascii', 'replace') if len(parts) > 1 else None

        def challenge(payload):
            self.say('334 ' + base64.b64encode(payload).decode())
            return self.hear(redact=True)
        seen = {}
        secret = self.rules.get('password')
        if mech in ('XOAUTH2', 'OAUTHBEARER'):
            secret = self.bearer_check()
        ok, detail = sasl_exchange(mech, ir, challenge,
                                   self.rules.get('user'), secret, seen)
        if 'user' in seen:
            self.rec['auth'] = ' '.join(
                [mech] + [seen[k].decode('utf-8', 'replace')
                          for k in ('user', 'password') if k in seen])
            self.rec['auth_initial'] = ir is not None
        if mech in ('XOAUTH2', 'OAUTHBEARER') and 'user' in seen:
            self.sink.event(ev='auth', conn=self.rec['conn'], mech=mech,
                            user=seen['user'].decode('utf-8', 'replace'),
                            token=seen['password'].decode('ascii',
                                                          'replace'),
                            ok=ok, answer=base64.b64encode(
                                seen.get('error_answer', b'')).decode())
        if ok:
            self.authed = True
            self.say('235 2.7.0 Authentication successful')
        elif detail == 'cancelled':
            self.say('501 5.0.0 AUTH cancelled')
        else:
            self.say('535 5.7.8 Authentication credentials invalid')

    def bearer_check(self):
        """The token check of the "introspect" rule: an RFC 7662 POST to
        that https URL (trusting ca.pem of --certs), or None (any)."""
        url = self.rules.get('introspect')
        if not url:
            return None
        certs = self.sink.certs

        def check(token):
            import ssl
            import urllib.parse
            import urllib.request
            ctx = ssl.create_default_context(
                cafile=os.path.join(certs, 'ca.pem'))
            body = urllib.parse.urlencode({'token': token}).encode()
            try:
                with urllib.request.urlopen(url, body, timeout=10,
                                            context=ctx) as f:
                    return json.loads(f.read()).get('active') is True
            except (OSError, ValueError):
                return False
        return check

    def cmd_MAIL(self, text, arg):
        if text[:10].upper() != 'MAIL FROM:':
            self.say('501 5.5.4 Syntax: MAIL FROM:<address>')
            return
        self.tr = {'mail': text[10:], 'mail_line': text, 'accepted': False,
                   'rcpt': [], 'data': None, 'final': []}
        self.rec['transactions'].append(self.tr)
        if self.rules.get('user') and not self.authed:
            self.say('530 5.7.0 Authentication required')
            return
        self.tr['accepted'] = self.act('mail').startswith('2')

    def cmd_RCPT(self, text, arg):
        if text[:8].upper() != 'RCPT TO:':
            self.say('501 5.5.4 Syntax: RCPT TO:<address>')
            return
        if self.tr is None:
            self.say('503 5.5.1 MAIL first')
            return
        a = text[8:]
        addr = addr_of(a)
        reply = self.act('rcpt', reply_for(
            addr, self.rules.get('rcpt'), self.rules.get('rcpt_by')))
        self.tr['rcpt'].append({'arg': a, 'addr': addr,
                                'code': int(reply[:3])})

    def accepted_rcpts(self):
        if self.tr is None or not self.tr['accepted']:
            return []
        return [r['addr'] for r in self.tr['rcpt'] if r['code'] < 300]

    def cmd_DATA(self, text, arg):
        rcpts = self.accepted_rcpts()
        if not rcpts:
            self.say('554 5.5.1 No valid recipients')
            return
        if not self.act('data').startswith('3'):
            return
        raw = bytearray()
        while True:
            ln, _ = self.peer.readline()
            if not ln:
                self.tr['data_eof'] = True
                raise Closed()
            if ln == b'.\r\n':
                break
            raw += ln[1:] if ln.startswith(b'.') else ln
        self.sink.transcript('C: <message: %d bytes>\nC: .' % len(raw))
        self.finish(rcpts, bytes(raw))

    def cmd_BDAT(self, text, arg):
        m = re.match(r'(?i)BDAT (\d+)( LAST)?$', text)
        if not m:
            self.say('501 5.5.4 Syntax: BDAT size [LAST]')
            return
        chunk, _ = self.peer.read_exact(int(m.group(1)))
        if chunk is None:
            raise Closed()
        if self.tr is not None:
            self.tr['chunks'] = self.tr.get('chunks', b'') + chunk
        if not m.group(2):
            self.say('250 2.0.0 %d octets received' % len(chunk))
            return
        rcpts = self.accepted_rcpts()
        if not rcpts:
            self.say('554 5.5.1 No valid recipients')
            return
        self.sink.transcript('C: <BDAT content: %d bytes>'
                             % len(self.tr['chunks']))
        self.finish(rcpts, self.tr.pop('chunks'))

    def cmd_RSET(self, text, arg):
        self.tr = None
        self.say('250 2.0.0 Ok')

    def cmd_NOOP(self, text, arg):
        self.say('250 2.0.0 Ok')

    def cmd_QUIT(self, text, arg):
        self.rec['quit'] = True
        self.say('221 2.0.0 Bye')
        return True

    def finish(self, rcpts, raw):
        """The end of the content: record it, then reply (one reply per
        accepted recipient with LMTP, RFC 2033 4.2)."""
        t_dot = time.monotonic()
        self.tr['data'] = raw
        delay = self.rules.get('dot_delay')
        if delay:
            self.sink.stopper.sleep(float(delay))
        replies = [reply_for(a, self.rules.get('dot') or ACCEPT['dot'],
                             self.rules.get('dot_by')) for a in rcpts]
        if not self.lmtp:
            # One reply for the transaction: the first that is not 2xx.
            bad = [r for r in replies if not r.startswith('2')]
            replies = [bad[0] if bad else replies[0]]
        for r in replies:
            if r == 'close' or r.startswith('sleep '):
                self.act('dot', r)
        if self.lmtp:
            accepted = [a for a, r in zip(rcpts, replies)
                        if r.startswith('2')]
        else:
            accepted = list(rcpts) if replies[0].startswith('2') else []
        for r in replies:
            if not r.startswith('2'):
                self.sink.event(ev='refused', conn=self.rec['conn'],
                                stage='dot', reply=r, t=time.monotonic())
        if accepted:
            # Logged before the reply: once the client can have seen the
            # 250, the delivery is on record.
            seq = re.search(rb'(?im)^X-Seq:[ \t]*(\S+)', raw)
            msgid = re.search(rb'(?im)^Message-ID:[ \t]*(\S+)', raw)
            self.sink.event(
                ev='msg', conn=self.rec['conn'],
                sender=addr_of(self.tr['mail']), rcpt=accepted,
                mail=self.tr['mail_line'],
                seq=seq.group(1).decode('ascii', 'replace') if seq else None,
                msgid=(msgid.group(1).decode('ascii', 'replace') if msgid
                       else None),
                size=len(raw), sha256=hashlib.sha256(raw).hexdigest(),
                data=base64.b64encode(raw).decode('ascii'), t_dot=t_dot,
                t_reply=time.monotonic())
            self.sink.message(raw)
        self.tr['final'] = replies
        self.peer.send(b''.join(r.encode('utf-8') + b'\r\n'
                                for r in replies))
        for r in replies:
            self.sink.transcript('S: %s' % r)
        self.tr = None


class Sink:
    """Take any number of connections at once (a thread each) and play
    each as the rules say (see RULES in the module's help).  Every session
    is kept as a dict (take() hands them over); with a LOG every event is
    also written there, one JSON object per line."""

    def __init__(self, rules=None, rules_path=None, certs=None, log=None,
                 host='127.0.0.1', port=0, unix=None, transcript=None,
                 message=None, stopper=None, timeout=SINK_TIMEOUT):
        self.base_rules = check_rules(dict(rules or {}))
        self.rules_path = rules_path
        self.rules_stamp = None
        self.file_rules = {}
        self.rules_conns = 0
        self.certs = certs
        self.timeout = timeout
        self.lock = threading.Lock()
        self.log = open(log, 'a', encoding='utf-8') if log else None
        self.tlog = open(transcript, 'a', encoding='utf-8') \
            if transcript else None
        self.message_path = message
        self.stopper = stopper or Stopper(signals=False)
        self.srv = listen(host, unix, port, announce=False, backlog=128)
        self.port = 0 if unix else self.srv.getsockname()[1]
        self.conns = 0
        self.sessions = []
        self.threads = []
        self.accepting = False
        self._ctx = None
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    # -- records ----------------------------------------------------------

    def event(self, **kw):
        if self.log:
            with self.lock:
                self.log.write(json.dumps(kw, sort_keys=True) + '\n')
                self.log.flush()

    def transcript(self, line):
        if self.tlog:
            with self.lock:
                self.tlog.write(line + '\n')
                self.tlog.flush()

    def message(self, raw):
        if self.message_path:
            with open(self.message_path, 'wb') as f:
                f.write(raw)

    def tls_context(self):
        if self._ctx is None:
            if not self.certs:
                raise Closed()
            self._ctx = tls_context(self.certs, {}, {})
        return self._ctx

    def current_rules(self):
        """The rules for a new connection: the file's (read again when it
        changed) over the ones given; "first_n" limits them to the first
        N connections since they changed."""
        stamp = None
        if self.rules_path:
            try:
                st = os.stat(self.rules_path)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                stamp = None
        if stamp != self.rules_stamp:
            self.rules_stamp = stamp
            self.rules_conns = 0
            self.file_rules = {}
            if stamp is not None:
                with open(self.rules_path, encoding='utf-8') as f:
                    self.file_rules = json.load(f)
                try:
                    check_rules(self.file_rules)
                except ValueError as e:
                    # The test is wrong: every connection says so.
                    print('smtpserver.py: %s' % e, file=sys.stderr)
                    self.file_rules = {'greeting': '421 4.3.0 test sink: '
                                       '%s' % e}
        rules = dict(self.base_rules, **self.file_rules)
        self.rules_conns += 1
        n = rules.get('first_n')
        if n is not None and self.rules_conns > n:
            return dict(self.base_rules)
        return rules

    # -- connections --------------------------------------------------------

    def _accept(self):
        while True:
            self.accepting = False
            conn = accept(self.srv, self.stopper)
            if conn is None:
                return
            self.accepting = True
            self.conns += 1
            rules = self.current_rules()
            self.event(ev='connect', conn=self.conns, t=time.monotonic())
            self.transcript('-- connection')
            s = Session(self, conn, self.conns, rules)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            with self.lock:
                self.sessions.append(s.rec)
                self.threads.append(t)
            t.start()

    def _serve(self, s):
        try:
            s.play()
        except Closed:
            pass
        except (Timeout, StepFailed, OSError, ssl.SSLError) as e:
            s.rec['errors'].append('server: %s' % e)
            self.transcript('-- error: %s' % e)
        except Exception as e:      # a bug here: shown in the report
            s.rec['errors'].append('server: %r' % (e,))
        finally:
            s.rec['flights'] = s.peer.flight
            s.rec['turns'] = s.peer.turns
            s.peer.close()
            self.event(ev='close', conn=s.rec['conn'], quit=s.rec['quit'],
                       errors=s.rec['errors'],
                       t=time.monotonic())
            self.transcript('-- closed')

    def take(self, wait=5.0):
        """Wait for the sessions so far to end; return and forget them."""
        # A connection may still wait in the listen queue, or be between
        # accept() and its registration: wait for both.
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.srv], [], [], 0)
            if not r and not self.accepting:
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
        self.stopper.stop()
        self.acceptor.join(5)
        with self.lock:
            threads = list(self.threads)
        for t in threads:
            t.join(5)
        self.srv.close()


def sink(args):
    stopper = Stopper()
    rules = {}
    if args.user:
        rules = {'tls': True, 'auth': ['PLAIN', 'LOGIN', 'CRAM-MD5'],
                 'auth_tls': True, 'user': args.user,
                 'password': args.password}
    s = Sink(rules, args.rules, args.certs, args.log, args.host, args.port,
             args.unix, args.transcript, args.message, stopper)
    sys.stdout.write('PORT %d\n' % s.port)
    sys.stdout.flush()
    while not stopper.stopped:
        select.select([stopper.rfd], [], [])
    s.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description='scriptable SMTP test server')
    ap.add_argument('--script', help='server script to play')
    ap.add_argument('--result', help='where to write the JSON result')
    ap.add_argument('--certs',
                    help='directory with server.pem and server.key')
    ap.add_argument('--timeout', type=float, default=5.0,
                    help='script mode: seconds to wait for the client '
                    '(default 5)')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0,
                    help='sink mode: the port (default 0: ephemeral)')
    ap.add_argument('--unix', metavar='PATH',
                    help='listen on this Unix-domain socket instead of TCP '
                    '(prints "PORT 0")')
    ap.add_argument('--sink', action='store_true')
    ap.add_argument('--rules', help='sink mode: the rules file (JSON)')
    ap.add_argument('--log', help='sink mode: the event log (JSON lines)')
    ap.add_argument('--user')
    ap.add_argument('--password', default='')
    ap.add_argument('--transcript')
    ap.add_argument('--message')
    args = ap.parse_args()
    if args.sink:
        return sink(args)
    if not (args.script and args.result and args.certs):
        ap.error('--script, --result and --certs are required')
    return play(args)


if __name__ == '__main__':
    sys.exit(main())
