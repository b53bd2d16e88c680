#!/usr/bin/python3
"""Run "outbox ARGS" the way outbox-smtpd.socket does, and talk to it.

usage: over_tcp.py --outbox PATH [--] ARGS...

Starts systemd-socket-activate --inetd --accept on an unused loopback
port with outbox and ARGS as the service (no systemd as PID 1 needed),
connects once, sends everything on standard input, shuts down the
sending side (the client's end of input), copies what comes back to
standard output, and exits with the service's exit status; outbox's
standard error is passed on (the activator's own lines are not).  So
run_case.py can play the -bs cases through TCP: give it this program as
--outbox (a wrapper made at configure time supplies --outbox PATH).
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'lib'))
sys.dont_write_bytecode = True  # keep the source tree clean
from outboxtest.procs import free_port  # noqa: E402

ACTIVATOR = 'systemd-socket-activate'
# The activator's own lines on standard error (not outbox's).
OWN = re.compile(r'^(Listening on |Communication attempt on fd |'
                 r'Connection from |Spawned |Execing |Child \d+ died |'
                 r'Received SIG|Failed to )')
DIED = re.compile(r'^Child \d+ died with code (-?\d+)$', re.M)
# The variables run_case.py sets for outbox, and the sanitizers' options
# of the sanitizer build.
PASSED_ENV = ('PATH', 'HOME', 'LC_ALL', 'TMPDIR', 'XDG_STATE_HOME',
              'ASAN_OPTIONS', 'UBSAN_OPTIONS')
LIMIT = 30.0


class Activator:
    """systemd-socket-activate serving ARGV on 127.0.0.1."""

    def __init__(self, argv, host='127.0.0.1'):
        self.err = b''
        for _ in range(20):
            self.port = free_port()
            env_args = []
            for k in PASSED_ENV:
                if k in os.environ:
                    env_args += ['-E', k]
            self.proc = subprocess.Popen(
                [ACTIVATOR, '--inetd', '--accept',
                 '-l', '%s:%d' % (host, self.port)] + env_args + argv,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True)
            if self.wait_for(b'Listening on ', 10):
                return
            self.stop()
        raise RuntimeError('%s did not start: %r' % (ACTIVATOR, self.err))

    def read_err(self, timeout):
        """Collect standard error for up to TIMEOUT seconds."""
        r, _, _ = select.select([self.proc.stderr], [], [], timeout)
        if not r:
            return False
        chunk = os.read(self.proc.stderr.fileno(), 65536)
        if not chunk:
            return None
        self.err += chunk
        return True

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while text not in self.err:
            left = deadline - time.monotonic()
            if left <= 0 or self.read_err(left) is None:
                return text in self.err
        return True

    def exits(self):
        return [int(c) for c in DIED.findall(self.err.decode('utf-8',
                                                             'replace'))]

    def wait_exits(self, n, timeout):
        """Wait until N children have died; their exit codes."""
        deadline = time.monotonic() + timeout
        while len(self.exits()) < n:
            left = deadline - time.monotonic()
            if left <= 0 or self.read_err(left) is None:
                break
        return self.exits()

    def service_stderr(self):
        return b''.join(line for line in self.err.splitlines(True)
                        if not OWN.match(line.decode('utf-8', 'replace')))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        while self.read_err(0):
            pass
        self.proc.stderr.close()


def converse(port, data, timeout=LIMIT):
    """Send DATA, half-close, and return all that comes back."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        sock.close()


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] != '--outbox':
        sys.stderr.write(__doc__)
        return 64
    argv = [args[1]] + args[2:]
    if argv[1:2] == ['--']:
        del argv[1]
    data = sys.stdin.buffer.read()
    act = Activator(argv)
    try:
        out = converse(act.port, data)
        codes = act.wait_exits(1, LIMIT)
    finally:
        act.stop()
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.buffer.write(act.service_stderr())
    if not codes:
        sys.stderr.write('over_tcp.py: the service did not exit\n')
        return 70
    return codes[0]


if __name__ == '__main__':
    sys.exit(main())
