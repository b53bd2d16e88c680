#!/usr/bin/python3
"""Fault injection: kill -9 at random instants during enqueue and during
flush, then a clean flush; count messages lost, corrupted and duplicated.

usage: fault_kill.py --outbox PATH [--enqueue-trials N] [--flush-trials N]
                     [--seed S] [--keep] fault-kill
(qtest.py runs it too, as case fault-kill)

Enqueue: N runs (half "queue always", half "queue on-failure" after a
refused connection), each killed with SIGKILL at a random instant between
its start and a little past the time a normal run takes.  A run that
exited 0 before the kill claimed its message: it must be delivered.

Flush: N rounds, each queueing 1 to 5 new messages (some to recipients the
sink answers 451, so that the flush rewrites entries) and then killing
"outbox -q" at a random instant.

Then the sink accepts everything, and "-q", then "-qS" (entries refused
earlier wait an hour) and -qI for anything left deliver the rest.  Counts printed:

  lost        claimed (exit 0) but never delivered          -> must be 0
  corrupt     delivered bytes differ from the message sent  -> must be 0
  duplicates  delivered more than once; each extra copy is classified by
              the killed flush it came from: "kill after the server's 250"
              (the kill fell between the reply and the entry's removal) or
              "kill with the dot in flight" (the process died after sending
              the dot, before the server's reply went out); an extra copy
              delivered by a flush that was not killed is "unexplained"
                                                            -> must be 0
Exit 1 on any lost, corrupt or unexplained duplicate.

Standard library only.
"""

import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlib import (Outbox, SinkProcess, message, crlf, free_port,  # noqa
                  check_layout)
from outboxtest import cases  # noqa: E402

NAME = 'fault-kill'


class Run:
    """One outbox process, possibly killed."""

    def __init__(self, kind, seqs):
        self.kind = kind
        self.seqs = seqs
        self.start = self.end = None
        self.t_kill_before = self.t_kill_after = None
        self.rc = None


def spawn(o, args, stdin_path=None):
    stdin = open(stdin_path, 'rb') if stdin_path else subprocess.DEVNULL
    try:
        return subprocess.Popen([o.outbox, '-C', o.conf] + args,
                                stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=o.env(),
                                cwd=o.dir)
    finally:
        if stdin_path:
            stdin.close()


def run_killed(o, args, delay, stdin_path=None):
    """Start outbox, SIGKILL it DELAY seconds later unless it finished.
    Returns (rc, start, t_kill_before, t_kill_after, end)."""
    start = time.monotonic()
    p = spawn(o, args, stdin_path)
    deadline = start + delay
    t_before = t_after = None
    while True:
        if p.poll() is not None:
            break
        now = time.monotonic()
        if now >= deadline:
            t_before = time.monotonic()
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            t_after = time.monotonic()
            break
        time.sleep(min(0.0005, deadline - now))
    p.wait()
    p.stderr.read()
    p.stderr.close()
    end = time.monotonic()
    if p.returncode != -signal.SIGKILL:
        t_before = t_after = None       # it finished before the kill
    return p.returncode, start, t_before, t_after, end


def run_plain(o, args, stdin_path=None):
    start = time.monotonic()
    p = spawn(o, args, stdin_path)
    _, err = p.communicate()
    return p.returncode, start, time.monotonic(), err.decode('utf-8',
                                                             'replace')


class Trial:
    def __init__(self, o, sink, rng):
        self.o = o
        self.sink = sink
        self.rng = rng
        self.sent = {}          # seq -> bytes as they must arrive
        self.claimed = set()    # seqs whose enqueue exited 0
        # flush runs: (start, end, killed, t_before_kill, t_after_kill, rc,
        # delay)
        self.runs = []
        self.n = 0
        self.enqueue_stats = {'always': [0, 0, 0], 'on-failure': [0, 0, 0]}

    def new_message(self, prefix, rcpt='bob@example.net'):
        self.n += 1
        seq = '%s%05d' % (prefix, self.n)
        size = self.rng.choice([0, 0, 2000, 20000, 120000])
        msg = message(seq, rcpt=rcpt, size=size)
        path = os.path.join(self.o.dir, 'in.eml')
        with open(path, 'wb') as f:
            f.write(msg)
        self.sent[seq] = crlf(msg)
        return seq, path, rcpt

    def config(self, mode, port):
        # A refused entry waits an hour: each is rewritten once in the
        # flush phase, not at every run (the clean flush forces them).
        self.o.config(port, queue=mode, defaults='queue_retry 1h 2h\n')

    def calibrate_enqueue(self, mode):
        times = []
        for _ in range(8):
            seq, path, rcpt = self.new_message('c')
            rc, start, end, err = run_plain(self.o, [rcpt], path)
            if rc == 0:
                self.claimed.add(seq)
            else:
                print('calibration enqueue exited %s: %s' % (rc, err.strip()))
            times.append(end - start)
        return sorted(times)[len(times) // 2]

    def enqueue_phase(self, trials):
        for mode, port in (('always', self.sink.port),
                           ('on-failure', free_port())):
            self.config(mode, port)
            recent = [self.calibrate_enqueue(mode)]
            stats = self.enqueue_stats[mode]
            for i in range(trials // 2):
                if i % 10 == 9:
                    # A run left alone now and then keeps the range of
                    # kill instants matched to how long a run takes now.
                    seq, path, rcpt = self.new_message('c')
                    rc, start, end, err = run_plain(self.o, [rcpt], path)
                    if rc == 0:
                        self.claimed.add(seq)
                    recent = (recent + [end - start])[-5:]
                d = sorted(recent)[len(recent) // 2]
                seq, path, rcpt = self.new_message('e')
                delay = self.rng.uniform(0, d * 1.4)
                rc, start, tb, ta, end = run_killed(self.o, [rcpt], delay,
                                                    path)
                if rc == 0:
                    self.claimed.add(seq)
                    stats[0] += 1
                elif rc == -signal.SIGKILL:
                    stats[1] += 1
                else:
                    stats[2] += 1
            print('enqueue (%s): %d trials, median run %.1f ms; finished '
                  'before the kill %d, killed %d, other exits %d'
                  % (mode, trials // 2, d * 1000, stats[0], stats[1],
                     stats[2]))

    def enqueue_some(self, k):
        for _ in range(k):
            rcpt = ('retry-%d@example.net' % self.n
                    if self.rng.random() < 0.25 else 'bob@example.net')
            seq, path, rcpt = self.new_message('f', rcpt)
            rc, start, end, err = run_plain(self.o, [rcpt], path)
            if rc == 0:
                self.claimed.add(seq)
            else:
                print('enqueue for the flush phase exited %s: %s'
                      % (rc, err.strip()))

    def flush_phase(self, trials):
        self.config('always', self.sink.port)
        self.sink.set_rules({'rcpt_by': {'retry-': '451 4.3.0 later'}})
        durations = []
        for _ in range(6):
            self.enqueue_some(3)
            rc, start, end, err = run_plain(self.o, ['-q'])
            self.runs.append((start, end, False, None, None, rc, None))
            durations.append(end - start)
        recent = durations[-5:]
        killed = finished = 0
        for i in range(trials):
            self.enqueue_some(self.rng.randint(1, 5))
            if i % 10 == 9:
                rc, start, end, err = run_plain(self.o, ['-q'])
                self.runs.append((start, end, False, None, None, rc, None))
                recent = (recent + [end - start])[-5:]
                self.enqueue_some(self.rng.randint(1, 5))
            f = sorted(recent)[len(recent) // 2]
            delay = self.rng.uniform(0, f * 1.4)
            rc, start, tb, ta, end = run_killed(self.o, ['-q'], delay)
            self.runs.append((start, end, tb is not None, tb, ta, rc,
                              delay))
            if tb is not None:
                killed += 1
            else:
                finished += 1
        print('flush: %d trials, median flush %.1f ms; killed %d, finished '
              'before the kill %d' % (trials, f * 1000, killed, finished))

    def clean_flush(self):
        self.sink.set_rules({})
        rc, start, end, err = run_plain(self.o, ['-q'])
        self.runs.append((start, end, False, None, None, rc, None))
        print('clean flush: -q exit %s%s' % (rc, (': ' + err.strip()[:300])
                                             if rc else ''))
        # Entries refused earlier wait an hour: -qS (every message is from
        # alice) sends them now.
        rc, start, end, err = run_plain(self.o, ['-qSalice@example.org'])
        self.runs.append((start, end, False, None, None, rc, None))
        print('clean flush: -qS exit %s%s' % (rc, (': ' + err.strip()[:300])
                                              if rc else ''))
        left = self.o.entries()
        for e in left:
            rc, start, end, err = run_plain(self.o, ['-qI' + e.id])
            self.runs.append((start, end, False, None, None, rc, None))
        if left:
            print('entries still queued after -q and -qS, sent with -qI: '
                  '%d' % len(left))
        return len(left)

    def account(self):
        msgs = self.sink.messages()
        by_seq = {}
        corrupt = 0
        for m in msgs:
            by_seq.setdefault(m['seq'], []).append(m)
            if m['seq'] not in self.sent or m['bytes'] != self.sent[m['seq']]:
                corrupt += 1
                print('CORRUPT: delivered %s (%d bytes) differs from what '
                      'was sent' % (m['seq'], len(m['bytes'])))
        lost = sorted(s for s in self.claimed if s not in by_seq)
        for s in lost:
            print('LOST: %s was claimed (exit 0) but never delivered' % s)
        after_reply = in_flight = unexplained = 0
        dup_msgs = 0
        # A copy belongs to the run that opened its connection: the sink
        # logs the connection before its greeting, and a client that got
        # as far as sending a message was alive and waiting for that
        # greeting, so the time lies inside the run (the time of the dot
        # does not: a loaded sink may read a killed client's dot late).
        opened = {e['conn']: e['t'] for e in self.sink.events('connect')}
        for seq, copies in sorted(by_seq.items()):
            if len(copies) < 2:
                continue
            dup_msgs += 1
            copies.sort(key=lambda m: m['t_dot'])
            for m in copies[:-1]:
                t = opened.get(m['conn'], m['t_dot'])
                run = None
                for r in self.runs:
                    if r[0] <= t <= r[1]:
                        run = r
                        break
                if run is None or not run[2]:
                    unexplained += 1
                    print('UNEXPLAINED DUPLICATE: %s delivered %d times; a '
                          'copy (connection %d opened at %.4f, dot at %.4f, '
                          'reply at %.4f) came from %s'
                          % (seq, len(copies), m['conn'], t, m['t_dot'],
                             m['t_reply'], 'no run' if run is None else
                             'a run that was not killed: %r' % (run,)))
                elif m['t_reply'] <= run[3]:
                    after_reply += 1
                else:
                    in_flight += 1
        delivered_once = sum(1 for c in by_seq.values() if len(c) == 1)
        return dict(messages=len(self.sent), claimed=len(self.claimed),
                    delivered=len(by_seq), delivered_once=delivered_once,
                    lost=len(lost), corrupt=corrupt,
                    duplicated_messages=dup_msgs,
                    extra_copies_kill_after_250=after_reply,
                    extra_copies_kill_dot_in_flight=in_flight,
                    extra_copies_unexplained=unexplained)


def options(ap):
    ap.add_argument('--enqueue-trials', type=int, default=200)
    ap.add_argument('--flush-trials', type=int, default=200)
    ap.add_argument('--seed', type=int, default=None)


def run(args):
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print('fault_kill: seed %d' % seed)
    rng = random.Random(seed)
    o = Outbox(args.outbox, keep=args.keep)
    sink = SinkProcess(o.dir)
    t = Trial(o, sink, rng)
    ok = False
    try:
        t0 = time.monotonic()
        t.enqueue_phase(args.enqueue_trials)
        t.flush_phase(args.flush_trials)
        t.clean_flush()
        time.sleep(0.3)
        counts = t.account()
        problems = check_layout(o.qdir)
        left = o.entries()
        failed = o.failed()
        tmp = os.path.join(o.qdir, 'tmp')
        tmp_left = len(os.listdir(tmp)) if os.path.isdir(tmp) else 0
        print('queue afterwards: %d entries, %d in failed/, %d files in '
              'tmp/, layout problems: %s' % (len(left), len(failed),
                                             tmp_left, problems or 'none'))
        print('counts: ' + ', '.join('%s %d' % kv for kv in counts.items()))
        print('time: %.1f s' % (time.monotonic() - t0))
        ok = (counts['lost'] == 0 and counts['corrupt'] == 0 and
              counts['extra_copies_unexplained'] == 0 and not left and
              not failed)
        if left or failed:
            print('FAIL: entries left after the clean flush: %r %r'
                  % (left, failed))
        print('fault_kill: %s' % ('PASS' if ok else 'FAIL'))
    finally:
        status = o.finish(ok, sink)
    return status


if __name__ == '__main__':
    sys.exit(cases.main(cases.one(NAME, run), lambda n, a: run(a) == 0,
                        __doc__, options=options))
