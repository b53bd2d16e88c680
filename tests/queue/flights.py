"""The pipelined queue flush, flight by flight (qtest.py registers these
cases): queued messages flushed to smtpserver.py playing a script, which
counts the round trips and tags every line with the flight it came in.

With PIPELINING the next transaction goes out behind the current one
(RFC 2920 3.1): with CHUNKING its MAIL, RCPT and BDAT with the content
(after an RSET, since RFC 3030 leaves open whether a refused BDAT ends a
transaction), without it its MAIL, RCPT and DATA right after the dot.
Each transaction keeps its own outcome.

Python 3 standard library only.
"""

import base64
import json
import os
import subprocess
import sys

from qlib import check, message, FROM  # noqa: F401

PY = sys.executable
HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, '..', 'lib', 'outboxtest')

OK = 'ok'
RCPT_550 = 'rcpt-550'      # the recipient refused for good
MAIL_421 = 'mail-421'      # the server closes the session at this MAIL
CLOSE = 'close'            # the server closes before this transaction
BDAT_554 = 'content-554'   # the content refused


def transaction(i, fate, chunking, first):
    """The script lines of one transaction (I counts from 0); FIRST: the
    first of its connection (no RSET before it)."""
    seq = r'C~ MAIL FROM:<alice@example\.org>.*'
    lines = []
    if chunking and not first:
        lines += ['C: RSET', 'S: 250 2.0.0 Ok']
    if fate == CLOSE:
        fate = OK
    if fate == MAIL_421:
        return lines + [seq, 'S: 421 4.7.0 Too many messages, closing',
                        'CLOSE']
    lines += [seq, 'S: 250 2.1.0 Ok', r'C~ RCPT TO:<bob@example\.net>.*']
    if fate == RCPT_550:
        lines += ['S: 550 5.1.1 <bob@example.net>: no such user']
        if chunking:
            return lines + ['BDAT', 'S: 554 5.5.1 Error: no valid '
                            'recipients']
        # The DATA went with the envelope; after its refusal, RSET.
        return lines + ['C: DATA', 'S: 554 5.5.1 Error: no valid '
                        'recipients', 'C: RSET', 'S: 250 2.0.0 Ok']
    lines += ['S: 250 2.1.5 Ok']
    if chunking:
        return lines + ['BDAT', 'S: 554 5.6.0 Content refused'
                        if fate == BDAT_554 else
                        'S: 250 2.0.0 Ok: queued as %d' % i]
    return lines + ['C: DATA', 'S: 354 go ahead', 'DATA',
                    'S: 554 5.6.0 Content refused' if fate == BDAT_554
                    else 'S: 250 2.0.0 Ok: queued as %d' % i]


def session_start(chunking, tls):
    ext = ['S: 250-PIPELINING', 'S: 250-SIZE 10000000']
    ext.append('S: 250-CHUNKING' if chunking else 'S: 250-8BITMIME')
    lines = ['S: 220 mx.example.net ESMTP', r'C~ EHLO \S+',
             'S: 250-mx.example.net']
    if tls:
        lines += ext + ['S: 250 STARTTLS', 'C: STARTTLS',
                        'S: 220 2.0.0 Ready to start TLS', 'TLS',
                        r'C~ EHLO \S+', 'S: 250-mx.example.net']
        return lines + ext + ['S: 250 AUTH PLAIN',
                              'AUTH PLAIN alice@example.org secret']
    return lines + ext + ['S: 250 ENHANCEDSTATUSCODES']


def flush(w, fates, chunking, tls=False, name='flush', parts=None,
          queued=None):
    """Queue one message per entry of FATES, then flush them with one -q
    to a script with one connection per part: PARTS is a list of lists of
    message indexes (default: all on one), and a part may be the string
    'greeting-421' (a server that is going down).  Returns (result of
    the server, the -q run, the entries left, the queue directory).
    QUEUED: flush what the flush of that name left, queueing nothing."""
    res = os.path.join(w.o.dir, 'result-%s.json' % name)
    script = os.path.join(w.o.dir, 'script-%s' % name)
    certs = os.path.join(w.o.dir, 'certs')
    if parts is None:
        parts = [list(range(len(fates)))]
    lines = []
    for n, part in enumerate(parts):
        if n > 0:
            lines.append('NEXT')
        if part == 'greeting-421':
            lines += ['S: 421 4.3.2 Shutting down', 'C? QUIT']
            continue
        lines += session_start(chunking, tls)
        for k, i in enumerate(part):
            lines += transaction(i, fates[i], chunking, k == 0)
        nxt = part[-1] + 1
        if nxt < len(fates) and fates[nxt] == CLOSE:
            # The limit per connection: gone without a word.
            lines += ['CLOSE']
        elif fates[part[-1]] != MAIL_421:
            lines += ['C: QUIT', 'S: 221 2.0.0 Bye']
    with open(script, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    extra = ''
    if tls:
        if not os.path.exists(os.path.join(certs, 'ca.pem')):
            subprocess.run([PY, os.path.join(LIB, 'certs.py'), certs],
                           check=True, stdout=subprocess.DEVNULL)
        extra = ('tls on\ntls_starttls on\ntls_trust_file %s\n'
                 'auth plain\nuser alice@example.org\npassword secret\n'
                 % os.path.join(certs, 'ca.pem'))
    srv = subprocess.Popen(
        [PY, os.path.join(LIB, 'smtpserver.py'),
         '--script', script, '--certs', certs if tls else w.o.dir,
         '--result', res, '--timeout', '20'], stdout=subprocess.PIPE)
    try:
        port = int(srv.stdout.readline().split()[1])
        qdir = os.path.join(w.o.dir, 'q-%s' % (queued or name))
        w.o.config(port, queue='always', qdir=qdir, extra=extra)
        for i in range(0 if queued else len(fates)):
            check(w.o.run(['bob@example.net'],
                          message('%s%03d' % (name, i))).rc == 0,
                  'enqueue')
        r = w.o.run(['-q'], timeout=60)
    finally:
        srv.send_signal(15)
        srv.wait(30)
    with open(res) as f:
        result = json.load(f)
    check(result['script_ok'], 'the server script failed: %s\n%s',
          result['error'], transcript(result, 40))
    check(not result.get('second_connection'), 'a connection too many')
    return result, r, w.o.entries(qdir=qdir), qdir


def transcript(result, last=None):
    t = result['transcript']
    if last:
        t = t[-last:]
    return '\n'.join('%s[f%s] %s' % (x['dir'], x['flight'], x['text'])
                     for x in t)


def flights_of(result, pattern):
    """The flights in which client lines starting with PATTERN came."""
    return [x['flight'] for x in result['transcript']
            if x['dir'] == 'C' and x['text'].startswith(pattern)]


def delivered(result):
    """The X-Seq of each message the server took."""
    out = []
    for d in result['data']:
        for line in base64.b64decode(d).decode('utf-8', 'replace') \
                .splitlines():
            if line.startswith('X-Seq: '):
                out.append(line[7:].strip())
    return out


def register(case):
    @case('flush-round-trips-one-per-message')
    def _(c):
        """Without CHUNKING each extra message costs 1 round trip: its
        content and dot go with the next MAIL, RCPT and DATA."""
        w = c.world(sink=False)
        r1 = flush(w, [OK], False, name='one')[0]
        r4 = flush(w, [OK] * 4, False, name='four')[0]
        c.notes.append('round trips: 1 message %d, 4 messages %d'
                       % (r1['rtt'], r4['rtt']))
        check(r4['rtt'] - r1['rtt'] == 3, 'round trips %d for 1 message, '
              '%d for 4: expected 1 per extra message\n%s', r1['rtt'],
              r4['rtt'], transcript(r4))
        dots = [x['flight'] for x in r4['transcript']
                if x['dir'] == 'D' and x['text'] == '.']
        mails = flights_of(r4, 'MAIL FROM')
        check(dots[:3] == mails[1:], 'a dot and the next MAIL in one '
              'flight: dots %r, MAILs %r', dots, mails)

    @case('flush-chunking-whole-flush-one-flight')
    def _(c):
        """With CHUNKING and PIPELINING four messages cost what one does:
        every MAIL, RCPT and BDAT of the flush goes in one flight."""
        w = c.world(sink=False)
        r1 = flush(w, [OK], True, name='one')[0]
        r4 = flush(w, [OK] * 4, True, name='four')[0]
        c.notes.append('round trips: 1 message %d, 4 messages %d'
                       % (r1['rtt'], r4['rtt']))
        check(r4['rtt'] == r1['rtt'], 'round trips %d for 1 message, %d '
              'for 4\n%s', r1['rtt'], r4['rtt'], transcript(r4))
        f = set(flights_of(r4, 'MAIL FROM') + flights_of(r4, 'BDAT') +
                flights_of(r4, 'RSET'))
        check(len(f) == 1, 'the transactions came in flights %r\n%s',
              sorted(f), transcript(r4))
        check(delivered(r4) == ['four%03d' % i for i in range(4)],
              'delivered %r', delivered(r4))

    @case('flush-100-starttls-auth-chunking-15-round-trips')
    def _(c):
        """100 messages over STARTTLS and AUTH with CHUNKING: at most 15
        round trips in all (the set-up takes 7), one connection."""
        w = c.world(sink=False)
        r, q, left, _ = flush(w, [OK] * 100, True, tls=True, name='c100')
        c.notes.append('round trips: %d, flights %d' % (r['rtt'],
                                                          r['turns']))
        check(q.rc == 0, '-q exit %s: %s', q.rc, q.err)
        check(r['rtt'] <= 15, '%d round trips', r['rtt'])
        check(delivered(r) == ['c100%03d' % i for i in range(100)],
              'delivered out of order or not all: %d', len(delivered(r)))
        check(not left, '%d entries left', len(left))

    @case('flush-100-starttls-auth-data-108-round-trips')
    def _(c):
        """100 messages over STARTTLS and AUTH without CHUNKING: one round
        trip per message beyond the set-up, at most 108 in all."""
        w = c.world(sink=False)
        r, q, left, _ = flush(w, [OK] * 100, False, tls=True, name='d100')
        c.notes.append('round trips: %d' % r['rtt'])
        check(q.rc == 0, '-q exit %s: %s', q.rc, q.err)
        check(r['rtt'] <= 108, '%d round trips', r['rtt'])
        check(len(delivered(r)) == 100, '%d delivered', len(delivered(r)))
        check(not left, '%d entries left', len(left))

    def refused_mid_flush(c, chunking):
        w = c.world(sink=False)
        fates = [OK, OK, RCPT_550, OK, OK]
        r, q, left, qdir = flush(w, fates, chunking, name='r')
        # With CHUNKING the refused one's content went with its envelope
        # (and was refused with it, 554): the server got it, took it not.
        want = ['r000', 'r001'] + (['r002'] if chunking else []) + \
            ['r003', 'r004']
        check(delivered(r) == want,
              'delivered %r\n%s', delivered(r), transcript(r))
        # What is left is the notice to the sender.
        check(len(left) == 1 and left[0].env.get('from', '') == '',
              'entries left: %r', [e.env_text for e in left])
        failed = w.o.entries(qdir=qdir, sub='failed')
        check(len(failed) == 1 and '550' in failed[0].env_text,
              'failed/: %r', [e.env_text for e in failed])
        check(q.rc != 0, '-q exit 0 although a message failed')
        return r

    @case('flush-refused-recipient-mid-flush-chunking')
    def _(c):
        """The third of five messages has its recipient refused (550): it
        alone goes to failed/; the others, sent in the same flight, are
        delivered."""
        r = refused_mid_flush(c, True)
        f = set(flights_of(r, 'MAIL FROM'))
        check(len(f) == 1, 'MAILs in flights %r', sorted(f))

    @case('flush-refused-recipient-mid-flush-data')
    def _(c):
        """Without CHUNKING: the refused transaction's DATA is refused,
        RSET clears it and the next one goes on."""
        refused_mid_flush(c, False)

    @case('flush-421-mid-flush-rest-kept')
    def _(c):
        """The server closes with 421 at the fourth of six messages, with
        all six sent: three delivered, the rest kept (no attempt lost, none
        sent twice); outbox tries a new connection, which the server, going
        down, refuses; the next -q delivers the three."""
        w = c.world(sink=False)
        fates = [OK, OK, OK, MAIL_421, OK, OK]
        r, q, left, qdir = flush(w, fates, True, name='m421',
                                 parts=[[0, 1, 2, 3], 'greeting-421'])
        check(delivered(r) == ['m421000', 'm421001', 'm421002'],
              'delivered %r', delivered(r))
        check(q.rc == 75, '-q exit %s', q.rc)
        check(len(left) == 3, '%d entries left', len(left))
        check('421' in left[0].env_text, 'the 421 is not recorded: %s',
              left[0].env_text)
        r2, q2, left2, _ = flush(w, [OK] * 3, True, name='m421b',
                                 queued='m421')
        check(q2.rc == 0, 'the second -q exited %s', q2.rc)
        check(delivered(r2) == ['m421003', 'm421004', 'm421005'],
              'the second flush delivered %r', delivered(r2))
        check(not left2, 'entries left after the second flush')

    @case('flush-server-closes-after-n-transactions')
    def _(c):
        """A server that takes three messages per connection and then
        closes: the rest, sent behind them, go again on a second
        connection in the same run; all seven delivered once."""
        w = c.world(sink=False)
        fates = [OK] * 7
        fates[3] = CLOSE
        script_fates = list(fates)
        r, q, left, _ = flush(w, script_fates, True, name='n3',
                              parts=[[0, 1, 2], [3, 4, 5, 6]])
        check(q.rc == 0, '-q exit %s: %s', q.rc, q.err)
        got = delivered(r)
        check(sorted(got) == ['n3%03d' % i for i in range(7)] and
              len(set(got)) == 7, 'delivered %r', got)
        check(not left, '%d entries left', len(left))
