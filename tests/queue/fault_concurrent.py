#!/usr/bin/python3
"""Fault injection: four flushes at once over 200 queued messages; every
message must be delivered exactly once.

usage: fault_concurrent.py --outbox PATH [--messages N] [--flushers K]
                           [--rounds R] [--keep] fault-concurrent
(qtest.py runs it too, as case fault-concurrent)

Each round queues N messages ("queue always", no background flush), then
starts K "outbox -q" at the same moment against the recording sink (the
second round with the sink taking 3 ms per message, so that the flushes
overlap longer).  Printed per round: messages, delivered exactly once,
missing, duplicated, how the messages were spread over the connections,
the flushers' exit codes, and the entries left.  Exit 1 on any missing
or duplicated message, or any entry left.

Standard library only.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import Outbox, SinkProcess, message, crlf, check_layout  # noqa
from outboxtest import cases  # noqa: E402

NAME = 'fault-concurrent'


def enqueue(o, seqs):
    """Queue the messages, two outbox processes at a time."""
    sent = {}
    bad = []
    pending = list(seqs)
    running = []
    while pending or running:
        while pending and len(running) < 2:
            seq = pending.pop(0)
            msg = message(seq, size=(len(pending) % 7) * 1500)
            sent[seq] = crlf(msg)
            p = subprocess.Popen([o.outbox, '-C', o.conf, 'bob@example.net'],
                                 stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=o.env())
            running.append((seq, p, msg))
        seq, p, msg = running.pop(0)
        _, err = p.communicate(msg)
        if p.returncode != 0:
            bad.append((seq, p.returncode, err.decode('utf-8', 'replace')))
    return sent, bad


def one_round(o, sink, n, k, delay, label):
    sink.set_rules({'dot_delay': delay} if delay else {})
    before = len(sink.messages())
    conns_before = sink.connections()
    seqs = ['%s%04d' % (label, i) for i in range(n)]
    sent, bad = enqueue(o, seqs)
    for seq, rc, err in bad:
        print('enqueue of %s exited %s: %s' % (seq, rc, err.strip()))
    queued = len(o.entries())
    t0 = time.monotonic()
    procs = [subprocess.Popen([o.outbox, '-C', o.conf, '-q'],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=o.env())
             for _ in range(k)]
    results = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=100)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        results.append((p.returncode, err.decode('utf-8', 'replace')))
    elapsed = time.monotonic() - t0
    time.sleep(0.2)
    msgs = sink.messages()[before:]
    count = {}
    per_conn = {}
    corrupt = 0
    for m in msgs:
        count[m['seq']] = count.get(m['seq'], 0) + 1
        per_conn[m['conn']] = per_conn.get(m['conn'], 0) + 1
        if sent.get(m['seq']) != m['bytes']:
            corrupt += 1
    claimed = [s for s in seqs if s not in {b[0] for b in bad}]
    once = sum(1 for s in claimed if count.get(s) == 1)
    missing = [s for s in claimed if s not in count]
    dups = {s: c for s, c in count.items() if c > 1}
    left = o.entries()
    print('round %s: %d messages queued (%d entries), %d flushers at once, '
          'sink delay %g ms, %.2f s' % (label, len(claimed), queued, k,
                                        delay * 1000, elapsed))
    print('  delivered exactly once %d, missing %d, duplicated %d '
          '(extra copies %d), corrupt %d'
          % (once, len(missing), len(dups),
             sum(c - 1 for c in dups.values()), corrupt))
    print('  connections %d, messages per connection %s'
          % (sink.connections() - conns_before,
             sorted(per_conn.values(), reverse=True)))
    print('  flusher exit codes %s; entries left %d, failed/ %d, layout '
          'problems %s' % ([r[0] for r in results], len(left),
                           len(o.failed()), check_layout(o.qdir) or 'none'))
    for rc, err in results:
        if rc != 0 and err.strip():
            print('  flusher stderr: %s' % err.strip()[:300])
    for s in missing[:10]:
        print('  MISSING %s' % s)
    for s, c in list(dups.items())[:10]:
        print('  DUPLICATE %s delivered %d times' % (s, c))
    return (not missing and not dups and not corrupt and not left and
            not bad and not o.failed())


def options(ap):
    ap.add_argument('--messages', type=int, default=200)
    ap.add_argument('--flushers', type=int, default=4)
    ap.add_argument('--rounds', type=int, default=3)


def run(args):
    o = Outbox(args.outbox, keep=args.keep)
    sink = SinkProcess(o.dir)
    o.config(sink.port, queue='always')
    ok = True
    try:
        for r in range(args.rounds):
            ok &= one_round(o, sink, args.messages, args.flushers,
                            (0, 0.003, 0.01)[r % 3], 'r%d-' % r)
        print('fault_concurrent: %s' % ('PASS' if ok else 'FAIL'))
    finally:
        status = o.finish(ok, sink)
    return status


if __name__ == '__main__':
    sys.exit(cases.main(cases.one(NAME, run), lambda n, a: run(a) == 0,
                        __doc__, options=options))
