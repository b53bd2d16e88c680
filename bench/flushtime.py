#!/usr/bin/python3
"""Benchmark (scripts/bench runs it in its section 5): one flush of 100
queued messages against 100 separate runs, both through a proxy adding
50 ms of round trip on loopback, to the sink of the test library
(tests/lib/outboxtest), which also records every message.

usage: flushtime.py --outbox PATH [--messages N] [--rtt-ms MS]
                    [--no-chunking]

Prints the total time of each (and, unless --no-chunking, of a flush to a
server offering CHUNKING), the connections the proxy saw and the messages
the sink recorded, then one line of KEY=VALUE figures for scripts/bench:
flush_s, separate_s, chunking_s (seconds), flush_conns.  Not a pass/fail
on time: it fails only when a message is missing or outbox fails.

Standard library only.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'queue'))
sys.dont_write_bytecode = True  # keep the source tree clean
from qlib import Outbox, SinkProcess, DelayProxy, message  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--outbox', required=True)
    ap.add_argument('--messages', type=int, default=100)
    ap.add_argument('--rtt-ms', type=float, default=50)
    ap.add_argument('--no-chunking', action='store_true')
    args = ap.parse_args()
    n = args.messages
    o = Outbox(args.outbox)
    sink = SinkProcess(o.dir)
    proxy = DelayProxy(o.dir, sink.port, rtt_ms=args.rtt_ms)
    ok = True
    lines = []
    try:
        def flush(label, prefix):
            o.config(proxy.port, queue='always')
            for i in range(n):
                r = o.run(['bob@example.net'], message('%s%03d' % (prefix, i)))
                if r.rc != 0:
                    raise SystemExit('enqueue exited %s: %s' % (r.rc, r.err))
            c0 = proxy.connections()
            r = o.run(['-q'], timeout=200)
            got = [m for m in sink.messages() if m['seq'].startswith(prefix)]
            lines.append('%s: %.2f s for %d messages (exit %s, %d '
                         'connection(s), %d delivered)'
                         % (label, r.elapsed, n, r.rc,
                            proxy.connections() - c0, len(got)))
            ok = r.rc == 0 and len(got) == n and not o.entries()
            return ok, r.elapsed, proxy.connections() - c0

        ok1, t_flush, conns = flush('one flush', 'q')
        o.config(proxy.port, queue='off')
        c0 = proxy.connections()
        t0 = time.monotonic()
        rcs = set()
        for i in range(n):
            r = o.run(['bob@example.net'], message('s%03d' % i))
            rcs.add(r.rc)
        t_sep = time.monotonic() - t0
        got = [m for m in sink.messages() if m['seq'].startswith('s')]
        lines.append('separate runs: %.2f s for %d messages (exit codes %s, '
                     '%d connections, %d delivered)'
                     % (t_sep, n, sorted(rcs), proxy.connections() - c0,
                        len(got)))
        ok2 = rcs == {0} and len(got) == n
        ok3, t_chunk = True, float('nan')
        if not args.no_chunking:
            sink.set_rules({'chunking': True})
            ok3, t_chunk, _ = flush('one flush with CHUNKING', 'c')
        print('flushtime (%d ms round trip added by the proxy):'
              % args.rtt_ms)
        for ln in lines:
            print('  ' + ln)
        print('flushtime: one flush: %.2f s, separate runs: %.2f s '
              '(%.1fx)' % (t_flush, t_sep, t_sep / t_flush if t_flush else 0))
        ok = ok1 and ok2 and ok3
        print('flushtime: flush_s=%.2f separate_s=%.2f chunking_s=%.2f '
              'flush_conns=%d ok=%d' % (t_flush, t_sep, t_chunk, conns, ok))
    finally:
        proxy.stop()
        sink.stop()
        o.cleanup()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
