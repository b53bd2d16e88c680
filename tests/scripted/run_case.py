#!/usr/bin/python3
"""Run one scripted case against outbox.

usage: run_case.py --outbox PATH --certs DIR [--keep] CASE...
       run_case.py --list

CASE is the name of a file cases/CASE.case (or the path of a case file).
Starts the library's smtpserver.py (tests/lib/outboxtest) in script mode
with the case's server script, writes the case's
configuration (mode 600 unless the case says otherwise), runs outbox with
the case's arguments and stdin under a hard timeout, then checks the exit
code, stderr, what the server received and the round trips.  Exits 0 when
every expectation holds, 1 otherwise (with a report saying what differed).

Case file format (UTF-8):

  # Comment lines saying what the case tests.
  args: -C $CONFIG -f alice@example.org bob@example.net
  connect: yes | never | optional      (default yes)
  timeout: SECS                        (hard limit for outbox, default 10)
  server-timeout: SECS                 (server's wait for the client, 5)
  config-mode: 0644                    (default 0600)
  stdin-repeat: N                      the stdin section N times over
                                       (big messages; default 1)
  stdin-file: yes                      give outbox the stdin section as a
                                       regular file ($TMP/stdin), not
                                       through a pipe (the default)
  headers: added                       let outbox add From, Date and
                                       Message-ID as it does by default;
                                       otherwise the runner turns that off
                                       (--set-*-header=off before the args)
                                       so the DATA bytes are exact
  listen: unix                         the server listens on a Unix-domain
                                       socket, $SOCKET, instead of TCP
                                       ($PORT is then 0)
  env: NAME=VALUE [NAME=VALUE...]      more environment for outbox, which
                                       otherwise gets PATH, HOME ($TMP)
                                       and LC_ALL=C only; $ variables are
                                       replaced, words split as args are
  proxy: socks5 [OPTIONS]              also start socks5.py (a SOCKS5
                                       proxy on 127.0.0.1, its port in
                                       $PROXY_PORT) with OPTIONS such as
                                       --refuse N; it logs each request
                                       (see proxy-log~ below)

  --- config             outbox configuration, taken literally
  --- config-escaped     the same, with escapes decoded in each line
                         (lines still end with LF), for control characters
                         inside a value
  --- stdin              the message, taken literally (LF line ends)
  --- stdin-escaped      the message: lines joined with nothing between
                         them, escapes \\r \\n \\t \\0 \\\\ \\xHH decoded
  --- server             the server script (see outboxtest/smtpserver.py)
  --- expect             expectations, one per line (below)
  --- data               the exact DATA bytes the server must receive
                         (still dot-stuffed, without the final dot line):
                         each line here ends with CRLF
  --- data-escaped       the same, written like stdin-escaped
  --- data~              the DATA bytes line by line, for content that
                         varies (Date, Message-ID): each line here stands
                         for one received line without its CRLF; a line
                         starting with "~ " is a regular expression the
                         whole line must match, any other line is literal.
                         The number of lines must agree, and each received
                         line must end with CRLF
  --- stdout~            outbox's standard output line by line, as data~
                         (each line must end with CRLF): the replies of an
                         SMTP dialogue with -bs, whose input is the stdin
                         section (give it with stdin-escaped and \\r\\n)
  --- file NAME          a file written as $TMP/NAME before outbox runs
                         (an aliases file, say), taken literally, with the
                         $ variables replaced
  --- file-escaped NAME  the same, written like stdin-escaped (lines joined
                         with nothing between them, escapes decoded after
                         the $ variables are replaced): for a CR, LF or NUL
                         inside a line

In "literal" sections trailing blank lines are dropped; use the -escaped
form when they matter.  $CONFIG, $PORT, $CA, $OTHER_CA (a CA that did not
sign the server certificate), $CERTS, $TMP, $SOCKET, $PROXY_PORT and
$STUBS (tests/scripted/stubs: stand-ins for companion programs, for
env: OUTBOX_COMPANION_DIR=$STUBS) are replaced in args, config, files and expectations, and so is $FP{FILE}:
the SHA-256 fingerprint of the certificate in FILE (relative to $CERTS),
upper-case hex with colons as tls_fingerprint takes it; args are split
like a shell would, then each word has its escapes decoded.

Expectations:
  exit: N                    outbox's exit status
  stderr: TEXT               stderr contains TEXT (repeatable)
  stderr-not: TEXT           stderr does not contain TEXT
  stderr~ REGEX              stderr matches REGEX somewhere
  stderr-not~ REGEX          stderr matches REGEX nowhere
  stderr-empty: yes          nothing at all on stderr
  rtt: N                     round trips counted by the server
  flight:                    the indented lines below were sent by the
    LINE                     client one after another and arrived in one
    ...                      flight (message lines count too; "." is the
                             final dot)
  alone: LINE                every time the client sent LINE, nothing else
                             arrived in the same flight
  data: none                 no complete message (no final dot) arrived
  data~ REGEX                the DATA received (as UTF-8, CRLF turned into
                             LF; several messages one after another)
                             matches REGEX somewhere (multi-line mode:
                             ^ and $ match at each line)
  data-not~ REGEX            ... matches REGEX nowhere
  stdout: TEXT               outbox's standard output contains TEXT
  stdout-not: TEXT           ... does not contain TEXT
  stdout~ REGEX              ... matches REGEX somewhere (multi-line mode)
  stdout-not~ REGEX          ... matches REGEX nowhere
  stdout-empty: yes          nothing at all on standard output
  proxy-log~ REGEX           a line of the SOCKS5 proxy's request log
                             matches REGEX, e.g.
                             "CONNECT ipv4 127.0.0.1 \\d+ granted"
  client-never~ REGEX        no client line matches REGEX
  command-never~ REGEX       no command line matches REGEX (lines of the
                             message inside DATA do not count)
  never-in-clear: TEXT       TEXT never crossed the wire unencrypted, raw
                             or inside base64
  auth: SUMMARY              the server's account of each AUTH exchange,
                             in order, e.g. "PLAIN initial-response ok"
  max-seconds: N             outbox finished within N seconds
  max-rss-mib: N             outbox's peak resident memory stayed under N
                             MiB (the kernel's rusage of the child, which
                             counts the runner's own pages from before the
                             exec, about 15-25 MiB: a coarse bound that
                             catches a client keeping a huge reply)
  file-absent: PATH          no file PATH exists once outbox has finished
                             (it is removed first if it exists, so a stale
                             one cannot pass or fail the case)
  file-exists: GLOB          some file matches the shell pattern GLOB once
                             outbox has finished (a queued message, say)
  sni: NAME | none           the server name the client sent in its TLS
                             ClientHello(s), or that it sent none
  client-cert: CN | none     the common name of the client certificate the
                             server accepted, or that none was presented
"""

import base64
import difflib
import glob
import hashlib
import json
import os
import re
import resource
import select
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
sys.dont_write_bytecode = True  # keep the source tree clean
from outboxtest import PY, certs, tool  # noqa: E402
from outboxtest import cases as registry  # noqa: E402
from outboxtest.smtpserver import parse_script, show, unescape  # noqa: E402

CASES_DIR = os.path.join(HERE, 'cases')
CASES = registry.Registry()
for _f in sorted(os.listdir(CASES_DIR)):
    if _f.endswith('.case'):
        CASES.add(_f[:-len('.case')])

SECTIONS = ('config', 'config-escaped', 'stdin', 'stdin-escaped', 'server',
            'expect', 'data', 'data-escaped', 'data~', 'stdout~')
SECTION_RE = re.compile(r'^--- (%s|file(?:-escaped)? [A-Za-z0-9._-]+)\s*$'
                        % '|'.join(map(re.escape, SECTIONS)))
HEADER_KEYS = ('args', 'connect', 'timeout', 'server-timeout', 'config-mode',
               'stdin-repeat', 'stdin-file', 'headers', 'listen', 'proxy',
               'env')
# What the runner puts before a case's own arguments unless "headers: added".
NO_ADDED_HEADERS = ['--set-from-header=off', '--set-date-header=off',
                    '--set-msgid-header=off']
EXPECT_KEYS = ('exit', 'stderr', 'stderr-not', 'stderr~', 'stderr-not~',
               'stderr-empty',
               'rtt', 'flight', 'alone', 'data', 'client-never~',
               'never-in-clear', 'auth', 'max-seconds', 'sni',
               'client-cert', 'data~', 'data-not~', 'stdout', 'stdout-not',
               'stdout~', 'stdout-not~', 'stdout-empty', 'proxy-log~',
               'command-never~', 'max-rss-mib', 'file-absent',
               'file-exists')


class CaseError(Exception):
    pass


def parse_case(path):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    header = {}
    sections = {}
    current = None
    for n, line in enumerate(lines, 1):
        m = SECTION_RE.match(line)
        if m:
            current = m.group(1)
            if current in sections:
                raise CaseError('%s:%d: section %s given twice'
                                % (path, n, current))
            sections[current] = []
            continue
        if current is not None:
            sections[current].append(line)
            continue
        if not line.strip() or line.startswith('#'):
            continue
        key, sep, value = line.partition(':')
        if not sep or key not in HEADER_KEYS:
            raise CaseError('%s:%d: unknown header line %r' % (path, n, line))
        header[key] = value.strip()
    for name, body in sections.items():
        if name not in ('server', 'expect', 'stdin-escaped', 'data-escaped',
                        'config-escaped') and \
                not name.startswith('file-escaped '):
            while body and not body[-1].strip():
                body.pop()
    expect = parse_expect(path, sections.get('expect', []))
    if not any(key == 'exit' for key, _ in expect):
        raise CaseError('%s: every case must expect an exit status' % path)
    return header, sections, expect


def parse_expect(path, lines):
    exp = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if line.startswith((' ', '\t')):
            if not exp or exp[-1][0] != 'flight':
                raise CaseError('%s: indented line outside "flight:": %r'
                                % (path, line))
            exp[-1][1].append(line.strip())
            continue
        m = re.match(r'^([a-z-]+)(~|:)\s?(.*)$', line)
        key = m and m.group(1) + ('~' if m.group(2) == '~' else '')
        if not m or key not in EXPECT_KEYS:
            raise CaseError('%s: unknown expectation %r' % (path, line))
        value = m.group(3)
        if key == 'flight':
            exp.append(('flight', [value.strip()] if value.strip() else []))
        else:
            exp.append((key, value))
    return exp


def literal(lines):
    return ''.join(line + '\n' for line in lines).encode('utf-8')


def escaped(lines):
    return b''.join(unescape(line) for line in lines)


class Runner:
    def __init__(self, args, case):
        self.args = args
        self.case = case
        self.name = os.path.basename(self.case).rsplit('.', 1)[0]
        self.failures = []
        self.tmp = tempfile.mkdtemp(prefix='outbox-case-')
        self.vars = {'TMP': self.tmp, 'CERTS': args.certs,
                     'CA': os.path.join(args.certs, 'ca.pem'),
                     'CONFIG': os.path.join(self.tmp, 'config'),
                     'SOCKET': os.path.join(self.tmp, 'smtp.sock'),
                     'STUBS': os.path.join(os.path.dirname(
                         os.path.abspath(__file__)), 'stubs')}
        self.proxy = None

    def fail(self, text):
        self.failures.append(text)

    def subst(self, text):
        text = re.sub(r'\$FP\{([^}]+)\}',
                      lambda m: self.fingerprint(m.group(1)), text)

        def one(m):
            name = m.group(1)
            if name == 'OTHER_CA':
                return self.other_ca()
            return self.vars[name]
        return re.sub(r'\$(CONFIG|PORT|OTHER_CA|CA|CERTS|TMP|SOCKET|'
                      r'PROXY_PORT|STUBS)\b', one, text)

    def fingerprint(self, name):
        """SHA-256 of the (first) certificate in CERTS/NAME."""
        try:
            with open(os.path.join(self.args.certs, name)) as f:
                der = ssl.PEM_cert_to_DER_cert(f.read())
        except (OSError, ValueError) as e:
            raise CaseError('$FP{%s}: %s' % (name, e))
        return ':'.join('%02X' % b for b in hashlib.sha256(der).digest())

    def other_ca(self):
        """A CA that did not sign the server certificate."""
        ready = os.path.join(self.args.certs, 'other', 'ca.pem')
        if os.path.exists(ready):
            return ready
        d = os.path.join(self.tmp, 'certs')
        certs.make(d)
        return os.path.join(d, 'other', 'ca.pem')

    # -- the run ---------------------------------------------------------

    def start_server(self, script, timeout, listen=''):
        try:
            parse_script(script)
        except ValueError as e:
            raise CaseError('server script: %s' % e)
        path = os.path.join(self.tmp, 'script')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(script)
        self.result_path = os.path.join(self.tmp, 'result.json')
        if listen not in ('', 'unix'):
            raise CaseError('listen: takes only "unix"')
        extra = ['--unix', self.vars['SOCKET']] if listen == 'unix' else []
        self.server = subprocess.Popen(
            [PY, tool('smtpserver.py'), '--script', path, '--certs', self.args.certs,
             '--result', self.result_path, '--timeout', str(timeout)] +
            extra, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        r, _, _ = select.select([self.server.stdout], [], [], 10)
        line = self.server.stdout.readline().decode() if r else ''
        m = re.match(r'PORT (\d+)$', line.strip())
        if not m:
            self.server.kill()
            raise CaseError('the test server did not start (got %r)' % line)
        self.vars['PORT'] = m.group(1)

    def start_proxy(self, spec):
        """socks5.py on 127.0.0.1; its port goes to $PROXY_PORT."""
        words = spec.split()
        if not words or words[0] != 'socks5':
            raise CaseError('proxy: takes "socks5" and socks5.py options')
        self.proxy_log = os.path.join(self.tmp, 'socks5.log')
        self.proxy = subprocess.Popen(
            [PY, tool('socks5.py'),
             '--log', self.proxy_log] + words[1:],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        r, _, _ = select.select([self.proxy.stdout], [], [], 10)
        line = self.proxy.stdout.readline().decode() if r else ''
        m = re.match(r'PORT (\d+)$', line.strip())
        if not m:
            self.stop_proxy()
            raise CaseError('the SOCKS5 proxy did not start (got %r)' % line)
        self.vars['PROXY_PORT'] = m.group(1)

    def stop_proxy(self):
        if self.proxy is None:
            return
        self.proxy.terminate()
        try:
            self.proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proxy.kill()
            self.proxy.wait()
        self.proxy = None

    def stop_server(self):
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
            self.fail('the test server did not stop')
        try:
            with open(self.result_path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise CaseError('no result from the test server: %s' % e)

    def run(self):
        header, sec, expect = parse_case(self.case)
        self.expect = expect
        self.header = header
        self.start_server('\n'.join(sec.get('server', [])) + '\n',
                          float(header.get('server-timeout', '5')),
                          header.get('listen', ''))
        try:
            self.run_client(header, sec)
        finally:
            self.stop_proxy()
        self.check(header, sec)

    def run_client(self, header, sec):
        if 'proxy' in header:
            self.start_proxy(header['proxy'])
        for name, body in sec.items():
            if name.startswith('file '):
                text = self.subst('\n'.join(body) + '\n')
                with open(os.path.join(self.tmp, name[5:]), 'wb') as f:
                    f.write(text.encode('utf-8'))
            elif name.startswith('file-escaped '):
                raw = b''.join(unescape(self.subst(line)) for line in body)
                with open(os.path.join(self.tmp, name[13:]), 'wb') as f:
                    f.write(raw)
        for key, value in self.expect:
            if key == 'file-absent':
                path = self.subst(value)
                if os.path.lexists(path):
                    os.unlink(path)
        if 'config' in sec and 'config-escaped' in sec:
            raise CaseError('give config or config-escaped, not both')
        if 'config' in sec or 'config-escaped' in sec:
            cfg = self.vars['CONFIG']
            if 'config' in sec:
                text = self.subst('\n'.join(sec['config']) + '\n')
                text = text.encode('utf-8')
            else:
                text = b''.join(unescape(self.subst(line)) + b'\n'
                                for line in sec['config-escaped'])
            with open(cfg, 'wb') as f:
                f.write(text)
            os.chmod(cfg, int(header.get('config-mode', '0600'), 8))
        lex = shlex.shlex(self.subst(header.get('args', '')), posix=True,
                          punctuation_chars=False)
        lex.whitespace_split = True
        lex.escape = ''
        words = [unescape(w) for w in lex]
        if header.get('headers', '') == 'added':
            argv = [self.args.outbox] + words
        elif header.get('headers', '') == '':
            argv = [self.args.outbox] + NO_ADDED_HEADERS + words
        else:
            raise CaseError('headers: takes only "added"')
        if 'stdin-escaped' in sec:
            stdin = escaped(sec['stdin-escaped'])
        else:
            stdin = literal(sec.get('stdin', []))
        stdin *= int(header.get('stdin-repeat', '1'))
        env = {'PATH': '/usr/bin:/bin', 'HOME': self.tmp, 'LC_ALL': 'C'}
        for word in shlex.split(self.subst(header.get('env', ''))):
            name, sep, value = word.partition('=')
            if not sep or not name:
                raise CaseError('env: takes NAME=VALUE words, not %r' % word)
            env[name] = value
        self.argv = argv
        limit = float(header.get('timeout', '10'))
        start = time.monotonic()
        feed = {'input': stdin}
        if header.get('stdin-file', 'no') == 'yes':
            path = os.path.join(self.tmp, 'stdin')
            with open(path, 'wb') as f:
                f.write(stdin)
            feed = {'stdin': open(path, 'rb')}
        elif header.get('stdin-file', 'no') != 'no':
            raise CaseError('stdin-file: takes yes or no')
        try:
            # A new session has no terminal: outbox must never prompt.
            proc = subprocess.run(argv, capture_output=True,
                                  timeout=limit, env=env, cwd=self.tmp,
                                  start_new_session=True, **feed)
            self.code = proc.returncode
            self.stdout, self.stderr = proc.stdout, proc.stderr
        except OSError as e:
            raise CaseError('cannot run %s: %s' % (argv[0], e))
        except subprocess.TimeoutExpired as e:
            self.code = None
            self.stdout, self.stderr = e.stdout or b'', e.stderr or b''
            self.fail('outbox did not finish within %gs (killed)' % limit)
        finally:
            if 'stdin' in feed:
                feed['stdin'].close()
        self.elapsed = time.monotonic() - start
        # Only outbox has been reaped since the runner started (the
        # server and the proxy are still running), so the children's peak
        # RSS is outbox's (certtool, if it ran, stays far below).
        self.maxrss_kib = resource.getrusage(
            resource.RUSAGE_CHILDREN).ru_maxrss
        self.res = self.stop_server()

    # -- checks ------------------------------------------------------------

    def check(self, header, sec):
        res = self.res
        connect = header.get('connect', 'yes')
        if connect not in ('yes', 'never', 'optional'):
            raise CaseError('connect: takes yes, never or optional')
        if connect == 'never':
            if res['connected']:
                self.fail('outbox connected to the server, but it should '
                          'have stopped before that')
        elif connect == 'yes' and not res['connected']:
            self.fail('outbox never connected to the server')
        if res['connected'] and not res['script_ok']:
            self.fail('server script failed at line %s: %s'
                      % (res.get('step'), res.get('error')))
        if res.get('second_connection'):
            self.fail('outbox opened a second connection')
        err = self.stderr.decode('utf-8', 'replace')
        lines = [e for e in res['transcript'] if e['dir'] in 'CD']
        data = [base64.b64decode(d) for d in res['data']]
        if 'data' in sec or 'data-escaped' in sec:
            want = (escaped(sec['data-escaped']) if 'data-escaped' in sec
                    else literal(sec['data']).replace(b'\n', b'\r\n'))
            if not data:
                self.fail('the server received no complete message')
            elif data[0] != want:
                self.fail('the message the server received differs:\n' +
                          bytes_diff(want, data[0]))
        if 'data~' in sec:
            if not data:
                self.fail('the server received no complete message')
            else:
                self.check_data_lines(sec['data~'], data[0])
        if 'stdout~' in sec:
            self.check_data_lines(sec['stdout~'], self.stdout,
                                  'standard output')
        # Every message received, one after another (-bs sends several).
        text = (b''.join(data).decode('utf-8', 'replace').replace('\r\n',
                                                                   '\n')
                if data else None)
        out = self.stdout.decode('utf-8', 'replace')
        wire = base64.b64decode(res.get('wire_in', ''))
        auths = []
        for key, value in self.expect:
            if key not in ('flight',):
                value = self.subst(value)
            if key == 'exit':
                if self.code != int(value):
                    self.fail('exit status %s, expected %s'
                              % (self.code, value))
            elif key == 'stderr':
                if value not in err:
                    self.fail('stderr does not contain %r' % value)
            elif key == 'stderr-not':
                if value in err:
                    self.fail('stderr contains %r' % value)
            elif key == 'stderr~':
                if not re.search(value, err, re.M):
                    self.fail('stderr does not match /%s/' % value)
            elif key == 'stderr-not~':
                m = re.search(value, err, re.M)
                if m:
                    self.fail('stderr matches /%s/ (%r)'
                              % (value, m.group(0)))
            elif key == 'stderr-empty':
                if err:
                    self.fail('stderr is not empty')
            elif key == 'data~':
                if text is None:
                    self.fail('no message arrived to match /%s/' % value)
                elif not re.search(value, text, re.M):
                    self.fail('the message does not match /%s/' % value)
            elif key == 'data-not~':
                m = re.search(value, text or '', re.M)
                if m:
                    self.fail('the message matches /%s/ (%r)'
                              % (value, m.group(0)))
            elif key == 'stdout':
                if value not in out:
                    self.fail('stdout does not contain %r' % value)
            elif key == 'stdout-not':
                if value in out:
                    self.fail('stdout contains %r' % value)
            elif key == 'stdout~':
                if not re.search(value, out, re.M):
                    self.fail('stdout does not match /%s/' % value)
            elif key == 'stdout-not~':
                m = re.search(value, out, re.M)
                if m:
                    self.fail('stdout matches /%s/ (%r)'
                              % (value, m.group(0)))
            elif key == 'stdout-empty':
                if out:
                    self.fail('stdout is not empty')
            elif key == 'proxy-log~':
                self.check_proxy_log(value)
            elif key == 'rtt':
                if res['rtt'] != int(value):
                    self.fail('%d round trips, expected %s'
                              % (res['rtt'], value))
            elif key == 'flight':
                self.check_flight(lines, value)
            elif key == 'alone':
                self.check_alone(lines, value)
            elif key == 'data':
                if value != 'none':
                    raise CaseError('"data:" takes only "none"')
                if data:
                    self.fail('the server received a complete message '
                              '(final dot), expected none')
            elif key == 'client-never~':
                for e in res['transcript']:
                    if e['dir'] in 'CD' and re.search(value, e['text']):
                        self.fail('client sent %r, which matches /%s/'
                                  % (e['text'], value))
                        break
            elif key == 'command-never~':
                for e in res['transcript']:
                    if e['dir'] == 'C' and re.search(value, e['text']):
                        self.fail('client sent the command %r, which '
                                  'matches /%s/' % (e['text'], value))
                        break
            elif key == 'never-in-clear':
                hit = in_clear(wire, value.encode('utf-8'))
                if hit:
                    self.fail('%r crossed the wire in clear (as %r)'
                              % (value, hit))
            elif key == 'auth':
                auths.append(value)
            elif key == 'sni':
                sent = [t.get('sni') for t in res['tls']]
                if value == 'none':
                    if any(sent):
                        self.fail('the client sent SNI %r, expected none'
                                  % sent)
                elif not sent or any(s != value for s in sent):
                    self.fail('SNI %r, expected %r' % (sent, value))
            elif key == 'client-cert':
                got = [t['client_cert'] for t in res['tls']
                       if t.get('client_cert')]
                if value == 'none':
                    if got:
                        self.fail('the client presented a certificate '
                                  '(CN %r)' % got)
                elif got != [value]:
                    self.fail('client certificate %r, expected CN %r'
                              % (got, value))
            elif key == 'max-rss-mib':
                if self.maxrss_kib > float(value) * 1024:
                    self.fail('outbox peaked at %.1f MiB resident, more '
                              'than %s MiB' % (self.maxrss_kib / 1024, value))
            elif key == 'file-absent':
                if os.path.lexists(value):
                    self.fail('%s exists after the run' % value)
            elif key == 'file-exists':
                if not glob.glob(value):
                    self.fail('no file matches %s after the run' % value)
            elif key == 'max-seconds':
                if self.elapsed > float(value):
                    self.fail('outbox took %.1fs, more than %ss'
                              % (self.elapsed, value))
        if auths and auths != res['auth']:
            self.fail('AUTH exchanges %r, expected %r' % (res['auth'], auths))

    def check_data_lines(self, want, got, what='message'):
        """The --- data~ section: literal lines and "~ REGEX" lines."""
        if got and not got.endswith(b'\r\n'):
            self.fail('the %s does not end with CRLF: %r'
                      % (what, show(got[-40:])))
            return
        lines = got.split(b'\r\n')[:-1] if got else []
        for i, pattern in enumerate(want):
            if i >= len(lines):
                self.fail('the %s has %d lines, expected %d (the next '
                          'one: %r)' % (what, len(lines), len(want),
                                        pattern))
                return
            line = lines[i].decode('utf-8', 'replace')
            if pattern.startswith('~ '):
                ok = re.fullmatch(self.subst(pattern[2:]), line)
            else:
                ok = line == self.subst(pattern)
            if not ok:
                self.fail('line %d of the %s is %r, expected %r'
                          % (i + 1, what, show(lines[i]), pattern))
                return
        if len(lines) > len(want):
            self.fail('the %s has %d lines, expected %d (the next '
                      'one: %r)' % (what, len(lines), len(want),
                                    show(lines[len(want)])))

    def check_proxy_log(self, pattern):
        try:
            with open(self.proxy_log, encoding='utf-8') as f:
                log = f.read()
        except (AttributeError, OSError):
            log = None
        if log is None:
            self.fail('no SOCKS5 proxy log (is there a "proxy:" line?)')
        elif not re.search(pattern, log, re.M):
            self.fail('the SOCKS5 proxy log does not match /%s/; it '
                      'holds %r' % (pattern, log))

    def check_flight(self, lines, want):
        texts = [e['text'] for e in lines]
        for i in range(len(texts) - len(want) + 1):
            if texts[i:i + len(want)] == want:
                flights = {e['flight'] for e in lines[i:i + len(want)]}
                if len(flights) != 1:
                    self.fail('lines %r were sent, but in %d flights, not '
                              'one' % (want, len(flights)))
                return
        self.fail('the client never sent these lines in a row: %r' % want)

    def check_alone(self, lines, want):
        seen = False
        for e in lines:
            if e['text'] != want:
                continue
            seen = True
            others = [o['text'] for o in lines
                      if o['flight'] == e['flight'] and o is not e]
            if others:
                self.fail('%r arrived in one flight with %r' % (want, others))
        if not seen:
            self.fail('the client never sent %r' % want)

    # -- report --------------------------------------------------------------

    def report(self):
        res = getattr(self, 'res', None)
        if not self.failures:
            print('PASS %s (exit %s, %s round trips, %.2fs)'
                  % (self.name, self.code, res['rtt'] if res else '-',
                     self.elapsed))
            return 0
        print('FAIL %s' % self.name)
        for f in self.failures:
            print('  - ' + f.replace('\n', '\n    '))
        print('\n  command: %s' % ' '.join(shlex.quote(show(a) if isinstance(
            a, bytes) else a) for a in self.argv))
        print('  exit status: %s after %.2fs' % (self.code, self.elapsed))
        print('  stderr:')
        for line in self.stderr.decode('utf-8', 'replace').splitlines():
            print('    | ' + line)
        if self.stdout:
            print('  stdout:')
            for line in self.stdout.decode('utf-8',
                                           'replace').splitlines()[:200]:
                print('    | ' + line)
        if res:
            print('  server (round trips %d, connected %s):'
                  % (res['rtt'], res['connected']))
            for e in res['transcript']:
                print('    [f%-2d] %s: %s' % (e['flight'], e['dir'],
                                              e['text']))
            if res.get('error'):
                print('    script stopped at line %s: %s'
                      % (res.get('step'), res['error']))
            for k in ('after_script', 'after_error'):
                if res.get(k):
                    print('    then the client sent: %r' % res[k][:400])
        print('  files kept in %s' % self.tmp)
        return 1


def bytes_diff(want, got):
    a = [show(x) for x in want.splitlines(keepends=True)]
    b = [show(x) for x in got.splitlines(keepends=True)]
    return '\n'.join(difflib.unified_diff(a, b, 'expected', 'received',
                                          lineterm='', n=2))


def in_clear(wire, secret):
    """Find SECRET in WIRE, raw or inside any base64 stream."""
    if secret in wire:
        return secret.decode('latin-1')
    if len(secret) < 3:
        return None
    for pad in range(3):
        enc = base64.b64encode(b'\0' * pad + secret)
        first = -(-8 * pad // 6)                 # first char free of padding
        last = (8 * (pad + len(secret))) // 6    # chars fully from SECRET
        core = enc[first:last]
        if len(core) >= 4 and core in wire:
            return core.decode()
    return None


def run_one(name, args):
    case = name if name.endswith('.case') else os.path.join(
        CASES_DIR, name + '.case')
    runner = Runner(args, case)
    try:
        runner.run()
    except CaseError as e:
        print('ERROR %s: %s' % (runner.name, e))
        return False
    status = runner.report()
    if status == 0 and not args.keep:
        shutil.rmtree(runner.tmp, ignore_errors=True)
    return status == 0


if __name__ == '__main__':
    # A case file given by its path is a case too.
    for _a in sys.argv[1:]:
        if _a.endswith('.case') and os.path.exists(_a):
            CASES.add(_a)
    sys.exit(registry.main(
        CASES, run_one, __doc__,
        check=lambda a: None if a.certs else 'run_case.py needs --certs'))
