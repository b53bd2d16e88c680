#!/usr/bin/python3
"""The localhost SMTP service under load and abuse, over real TCP.

usage: test_smtpd.py --outbox PATH

outbox -bs runs as outbox-smtpd.socket runs it (one process per
connection, systemd-socket-activate --inetd --accept on a loopback port,
no systemd as PID 1 needed); the upstream server it submits to is the
test library's SMTP server in sink mode.  Checks:

  - a client that disconnects in the middle of DATA (closing, and with a
    TCP reset): its outbox exits at once (65 for the end of input, 74 for
    the read error), nothing reaches the upstream server, and the
    service goes on serving;
  - 50 sessions at once, each with its own sender, recipient and
    subject: all 50 get 250 for their message and 221, all 50 messages
    arrive upstream byte for byte, and every outbox exits 0;
  - one session over [::1] (the unit listens there too).

Prints PASS or FAIL lines; exits 0 when all hold.
"""

import argparse
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
sys.dont_write_bytecode = True
from over_tcp import Activator, converse  # noqa: E402
from outboxtest.procs import SinkProcess  # noqa: E402

SESSIONS = 50


class Sink(SinkProcess):
    """The test library's sink: any number of connections at once, an
    event log with every message accepted (its recipients and bytes)."""

    def rcpts(self):
        return [r for m in self.messages() for r in m['rcpt']]


class Test:
    def __init__(self):
        self.fails = 0

    def check(self, ok, what, detail=''):
        print('%s %s%s' % ('PASS' if ok else 'FAIL', what,
                           '' if ok or not detail else ': ' + detail))
        if not ok:
            self.fails += 1


def dialogue(n):
    return ('EHLO client%d.example\r\n'
            'MAIL FROM:<sender%d@example.org>\r\n'
            'RCPT TO:<rcpt%d@example.net>\r\n'
            'DATA\r\n'
            'Subject: session %d\r\n'
            '\r\n'
            'body of session %d\r\n'
            '..a stuffed dot\r\n'
            '.\r\n'
            'QUIT\r\n' % (n, n, n, n, n)).encode()


def replies_ok(out):
    lines = out.decode('utf-8', 'replace').split('\r\n')
    return (len(lines) > 2 and lines[0].startswith('220 ') and
            any(ln.startswith('250 2.0.0 server message: 250') for ln in lines)
            and lines[-2].startswith('221 ') and lines[-1] == '')


def cut_in_data(port, reset):
    """Open a transaction, send half a message, then go away."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    f = s.makefile('rb')
    f.readline()                                  # 220
    s.sendall(b'EHLO cut.example\r\n')
    while not f.readline().startswith(b'250 '):
        pass
    s.sendall(b'MAIL FROM:<cut@example.org>\r\n'
              b'RCPT TO:<never@example.net>\r\nDATA\r\n')
    got = [f.readline() for _ in range(3)]
    s.sendall(b'Subject: cut short\r\n\r\nhalf a line without')
    time.sleep(0.2)
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack('ii', 1, 0))
    f.close()
    s.close()
    return got[-1].startswith(b'354')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--outbox', required=True)
    args = ap.parse_args()
    t = Test()
    tmp = tempfile.mkdtemp(prefix='outbox-smtpd-')
    os.environ.update({'HOME': tmp, 'LC_ALL': 'C', 'PATH': '/usr/bin:/bin'})
    sink = Sink(tmp)
    conf = os.path.join(tmp, 'config')
    with open(conf, 'w') as f:
        f.write('account default\nhost 127.0.0.1\nport %d\ntls off\n'
                'from service@example.org\ntimeout 30\n' % sink.port)
    os.chmod(conf, 0o600)
    argv = [args.outbox, '--set-date-header=off', '--set-msgid-header=off',
            '--set-from-header=off',
            '-C', conf, '-bs']
    act = Activator(argv)
    done = 0
    try:
        # A client gone in the middle of DATA, by FIN and then by RST.
        for reset in (False, True):
            how = 'reset' if reset else 'closed'
            start = time.monotonic()
            t.check(cut_in_data(act.port, reset),
                    'DATA accepted before the client %s' % how)
            codes = act.wait_exits(done + 1, 10)
            took = time.monotonic() - start
            # The end of input inside a message is 65 (EX_DATAERR), as
            # in the -bs cases; a reset is a read error, 74 (EX_IOERR).
            want = 74 if reset else 65
            t.check(codes[done:] == [want],
                    'outbox exits %d when the client %s mid-DATA'
                    % (want, how), 'exit codes %r' % codes[done:])
            t.check(took < 5, 'and within 5 s (%.2f s)' % took)
            done = len(codes)
        t.check(sink.connections() == 0 and not sink.messages(),
                'nothing of a cut message reached the upstream server',
                '%d connections, %r' % (sink.connections(), sink.rcpts()))
        t.check(b'ended inside a message' in act.service_stderr(),
                'outbox said why on standard error (the journal)',
                act.service_stderr().decode('utf-8', 'replace')[-300:])

        # 50 sessions at once.
        before = act.service_stderr()
        outs = [None] * SESSIONS
        errors = []

        def one(n):
            try:
                outs[n] = converse(act.port, dialogue(n), timeout=60)
            except OSError as e:
                errors.append('session %d: %s' % (n, e))
        start = time.monotonic()
        threads = [threading.Thread(target=one, args=(n,))
                   for n in range(SESSIONS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(90)
        took = time.monotonic() - start
        bad = [n for n in range(SESSIONS)
               if outs[n] is None or not replies_ok(outs[n])]
        t.check(not errors and not bad,
                '%d concurrent sessions each got 250 and 221 (%.1f s)'
                % (SESSIONS, took),
                '%r %r' % (errors[:3], [(n, outs[n]) for n in bad[:2]]))
        codes = act.wait_exits(done + SESSIONS, 30)
        t.check(codes[done:] == [0] * SESSIONS,
                'every one of the %d outbox processes exited 0' % SESSIONS,
                'exit codes %r' % codes[done:])
        done = len(codes)
        msgs = sink.wait_messages(SESSIONS, 10)
        got = sorted(int(r[len('rcpt'):-len('@example.net')])
                     for m in msgs for r in m['rcpt'])
        t.check(got == list(range(SESSIONS)),
                'all %d recipients reached the upstream server once'
                % SESSIONS, 'got %r' % got)
        bad = [m for m in msgs if len(m['rcpt']) != 1 or m['bytes'] !=
               ('Subject: session %s\r\n\r\nbody of session %s\r\n'
                '.a stuffed dot\r\n' % ((m['rcpt'][0][4:-12],) * 2)).encode()]
        t.check(len(msgs) == SESSIONS and not bad,
                'all %d messages arrived whole, dots unstuffed' % SESSIONS,
                '%d messages, %r' % (len(msgs), bad[:2]))
        senders = sorted(m['sender'] for m in msgs)
        t.check(senders == sorted('sender%d@example.org' % n
                                  for n in range(SESSIONS)),
                'each with its own MAIL FROM', '%r' % senders[:5])
        extra = act.service_stderr()[len(before):]
        t.check(extra == b'', 'nothing on standard error from the %d '
                'sessions' % SESSIONS, extra.decode('utf-8', 'replace')[:400])
    finally:
        act.stop()

    # The unit listens on [::1] as well.
    try:
        socket.socket(socket.AF_INET6).bind(('::1', 0))
        have6 = True
    except OSError:
        have6 = False
    if have6:
        act6 = Activator(argv, host='[::1]')
        try:
            s = socket.create_connection(('::1', act6.port), timeout=30)
            s.sendall(dialogue(99))
            s.shutdown(socket.SHUT_WR)
            out = b''
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
            s.close()
            codes = act6.wait_exits(1, 30)
            t.check(replies_ok(out) and codes == [0],
                    'a session over [::1] is sent', '%r %r' % (out, codes))
        finally:
            act6.stop()
    else:
        print('NOTE: no ::1 on this machine; the IPv6 session was not run')
    t.check(not have6 or 'rcpt99@example.net' in sink.rcpts(),
            'the [::1] session reached the upstream server')
    sink.stop()

    if t.fails == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print('files kept in %s' % tmp)
    return 1 if t.fails else 0


if __name__ == '__main__':
    sys.exit(main())
