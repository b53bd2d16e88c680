#!/usr/bin/python3
"""A message the queue gives up on brings its sender one notice.

Usage: notice.py --outbox PATH CASE...|all   (ctest: queue/notice-*)
       notice.py --list

The server (aiosmtpd) is down when the message is sent, so it is queued;
then it refuses the recipient for good (550 5.1.1) on the queue run: the
entry goes to failed/ and a notice is queued, which the next run delivers
from the null sender.  The notice is parsed back with Python's email
package: a multipart/report of type delivery-status whose parts name the
recipient, the status and the last reply, and quote the original header.
Then a sender the server refuses too: its notice fails in turn, and no
notice about that notice is ever made.  With queue_notify off, none at
all.  A queue that expires a message (queue_max_age) says 4.4.7.
"""

import email
import email.policy
import os
import subprocess
import sys
import tempfile
import time

from qlib import Failure, RealSink, check, free_port  # noqa: E402
from outboxtest import cases  # noqa: E402

REGISTRY = cases.Registry()


def refuse_nobody(address):
    if 'nobody' in address:
        return '550 5.1.1 <%s>: no such user here' % address
    return None


def Server(port):
    return RealSink(refuse_nobody, port).start()


class Setup:
    def __init__(self, outbox, extra=''):
        self.outbox = outbox
        self.dir = tempfile.mkdtemp(prefix='outbox-notice-')
        self.port = free_port()
        self.conf = os.path.join(self.dir, 'config')
        with open(self.conf, 'w') as f:
            f.write('host 127.0.0.1\nport %d\nfrom alice@example.org\n'
                    'queue on-failure\nqueue_dir %s/q\nqueue_background off\n'
                    'queue_retry 1s 1s\ntimeout 5\n%s'
                    % (self.port, self.dir, extra))
        self.env = {'HOME': self.dir, 'PATH': '/usr/bin:/bin', 'LANG': 'C'}

    def run(self, args, stdin=b''):
        return subprocess.run([self.outbox, '-C', self.conf] + args,
                              input=stdin, capture_output=True,
                              env=self.env)

    def failed(self):
        d = os.path.join(self.dir, 'q', 'failed')
        return sorted(f for f in os.listdir(d) if f.endswith('.env')) \
            if os.path.isdir(d) else []


def queue_one(s, sender_args, rcpt):
    msg = (b'From: Alice <alice@example.org>\nTo: ' + rcpt.encode() +
           b'\nSubject: the original\nX-Mark: kept in the notice\n\n'
           b'the body, never quoted\n')
    r = s.run(sender_args + [rcpt], msg)
    check(r.returncode == 0, 'queueing: exit %d %r' % (r.returncode,
                                                     r.stderr))


@REGISTRY.case('notice-after-refusal-well-formed')
def refused_then_notice(outbox):
    s = Setup(outbox)
    queue_one(s, [], 'nobody@example.net')
    srv = Server(s.port)
    try:
        r = s.run(['-q'])
        check(r.returncode != 0, 'the refused run exited 0')
        check(len(s.failed()) == 1, 'failed/: %r' % s.failed())
        check(srv.messages == [], 'delivered: %r' % srv.messages)
        r = s.run(['-q'])
        check(r.returncode == 0, 'the notice run: exit %d %r'
              % (r.returncode, r.stderr))
        check(len(srv.messages) == 1, 'messages: %r'
              % [m[:2] for m in srv.messages])
        frm, rcpt, content = srv.messages[0]
        check(frm == '<>', 'the notice is from %r, not the null sender'
              % frm)
        check(rcpt == ['alice@example.org'], 'the notice went to %r' % rcpt)
        m = email.message_from_bytes(content, policy=email.policy.default)
        check(m.get_content_type() == 'multipart/report',
              'type %s' % m.get_content_type())
        check(m.get_param('report-type') == 'delivery-status',
              'report-type %r' % m.get_param('report-type'))
        check(m['Auto-Submitted'] == 'auto-replied', 'no Auto-Submitted')
        check(m['Date'] is not None and m['Message-ID'] is not None,
              'no Date or Message-ID')
        parts = list(m.iter_parts())
        check([p.get_content_type() for p in parts] ==
              ['text/plain', 'message/delivery-status',
               'text/rfc822-headers'],
              'parts %r' % [p.get_content_type() for p in parts])
        text = parts[0].get_content()
        check('nobody@example.net' in text and '550' in text,
              'the text part:\n' + text)
        status = parts[1].as_string()
        for want in ('Reporting-MTA: dns;', 'Final-Recipient: rfc822; '
                     'nobody@example.net', 'Action: failed',
                     'Status: 5.1.1', 'Diagnostic-Code: smtp; 550 5.1.1',
                     'Remote-MTA: dns; 127.0.0.1'):
            check(want in status, '%r not in the status part:\n%s'
                  % (want, status))
        headers = parts[2].as_string()
        check('X-Mark: kept in the notice' in headers and
              'Subject: the original' in headers, 'header part:\n' + headers)
        check('the body, never quoted' not in content.decode(),
              'the body was quoted')
        # Exactly one: the next run sends nothing more.
        r = s.run(['-q'])
        check(len(srv.messages) == 1, 'a second notice')
    finally:
        srv.stop()


@REGISTRY.case('notice-never-about-a-notice')
def no_notice_about_a_notice(outbox):
    s = Setup(outbox)
    # The sender itself is refused: the notice to it fails as well.
    queue_one(s, ['-f', 'nobody-sender@example.org'], 'nobody@example.net')
    srv = Server(s.port)
    try:
        s.run(['-q'])
        s.run(['-q'])
        check(len(s.failed()) == 2, 'failed/ should hold the message and '
              'its notice: %r' % s.failed())
        for _ in range(2):
            s.run(['-q'])
        check(srv.messages == [], 'delivered: %r' % srv.messages)
        check(len(s.failed()) == 2, 'a notice about a notice: %r'
              % s.failed())
        q = os.path.join(s.dir, 'q')
        check([f for f in os.listdir(q) if f.endswith('.env')] == [],
              'something still queued')
    finally:
        srv.stop()


@REGISTRY.case('notice-queue-notify-off')
def notify_off(outbox):
    s = Setup(outbox, 'queue_notify off\n')
    queue_one(s, [], 'nobody@example.net')
    srv = Server(s.port)
    try:
        s.run(['-q'])
        s.run(['-q'])
        check(srv.messages == [], 'queue_notify off sent %r'
              % srv.messages)
        check(len(s.failed()) == 1, 'failed/: %r' % s.failed())
    finally:
        srv.stop()


@REGISTRY.case('notice-after-expiry-4.4.7')
def expired(outbox):
    s = Setup(outbox, 'queue_max_age 1s\n')
    queue_one(s, [], 'bob@example.net')
    time.sleep(1.2)
    # Still down: the run gives up on it.
    s.run(['-q'])
    check(len(s.failed()) == 1, 'not given up: %r' % s.failed())
    srv = Server(s.port)
    try:
        r = s.run(['-q'])
        check(len(srv.messages) == 1, 'no notice of expiry: %r' % (
            r.stderr,))
        content = srv.messages[0][2].decode()
        check('Status: 4.4.7' in content, 'no 4.4.7:\n' + content)
        check('Final-Recipient: rfc822; bob@example.net' in content,
              'recipient not named')
    finally:
        srv.stop()


def run_one(name, args):
    try:
        REGISTRY.fn(name)(args.outbox)
    except Failure as e:
        print('FAIL %s: %s' % (name, e))
        return False
    print('%s: passed' % name)
    return True


if __name__ == '__main__':
    sys.exit(cases.main(REGISTRY, run_one, __doc__))
