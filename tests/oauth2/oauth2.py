#!/usr/bin/python3
"""OAuth2 end to end: outbox and outbox-auth against the fake
authorization server (tests/lib/outboxtest/authserver.py) and the sink
(smtpserver.py --sink) checking each XOAUTH2/OAUTHBEARER token by RFC
7662 introspection at that server.

usage: oauth2.py --list | oauth2.py --outbox PATH [--keep] CASE... | all

Each case makes its own certificates directory (certs.py), servers and
configuration in a scratch directory, and checks what outbox did: exit
code, the one stderr line, the token on the wire being the server's
current access token, the server's counters, the token file and its
mode.  outbox-auth is found next to outbox (the build directory).
Standard library only.
"""

import base64
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'lib'))
from outboxtest import cases, certs  # noqa: E402
from outboxtest.authserver import AuthServer  # noqa: E402
from outboxtest.procs import SinkProcess  # noqa: E402

CASES = cases.Registry()
case = CASES.case
USER = 'alice@example.test'
ACCOUNT = 'work'
MESSAGE = (b'Date: Wed, 02 Dec 2026 12:00:00 +0000\r\n'
           b'From: alice@example.test\r\nTo: bob@example.test\r\n'
           b'Subject: oauth2\r\nMessage-ID: <oauth2@example.test>\r\n\r\n'
           b'Sent with a token.\r\n')


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def long_certs(d):
    """A CA and server certificate valid for 400 days from yesterday (and
    an unrelated pair in other/): GnuTLS checks validity against the
    faked clock of the months case."""
    when = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(time.time() - 86400))
    until = time.strftime('%Y-%m-%d %H:%M:%S',
                          time.gmtime(time.time() + 400 * 86400))
    dated = 'activation_date = "%s"\nexpiration_date = "%s"\n' % (when, until)
    for sub in (d, os.path.join(d, 'other')):
        os.makedirs(sub, exist_ok=True)
        certs.issue(sub, 'ca', 'cn = "outbox test CA"\nca\ncert_signing_key\n'
                    + dated, None)
        certs.issue(sub, 'server', certs.LOCAL + 'tls_www_server\n'
                    'signing_key\nencryption_key\n' + dated)


class World:
    """A scratch directory with certificates, the authorization server,
    the sink, and outbox's configuration and state there."""

    def __init__(self, args, name, sink=True, long_lived=False):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix='outbox-oauth2.%s.' % name)
        self.certs = os.path.join(self.dir, 'certs')
        if long_lived:
            long_certs(self.certs)
        else:
            shared = os.path.join(tempfile.gettempdir(),
                                  'outbox-oauth2-certs')
            certs.make(shared)
            shutil.copytree(shared, self.certs)
        self.auth = AuthServer(self.dir, self.certs)
        self.home = os.path.join(self.dir, 'home')
        self.state = os.path.join(self.home, 'state')
        os.makedirs(self.home, mode=0o700)
        self.qdir = os.path.join(self.dir, 'queue')
        self.token_file = os.path.join(self.state, 'outbox', 'oauth2',
                                       ACCOUNT + '.json')
        self.sink = None
        if sink:
            self.sink = SinkProcess(self.dir, self.sink_rules(),
                                    certs=self.certs)
        self.conf = os.path.join(self.dir, 'outboxrc')
        self.config()

    def sink_rules(self, **more):
        r = {'tls': True, 'auth_tls': True,
             'auth': ['XOAUTH2', 'OAUTHBEARER', 'PLAIN'],
             'introspect': self.auth.url + '/introspect'}
        r.update(more)
        return r

    def config(self, auth='xoauth2', extra='', queue='off',
               endpoint=None, client='outbox-test'):
        url = endpoint or self.auth.url
        text = ('defaults\ntls on\ntls_starttls on\ntls_trust_file %s\n'
                'timeout 20\nqueue %s\nqueue_dir %s\nqueue_background off\n'
                'logfile %s\n\n'
                'account %s\nhost 127.0.0.1\nport %d\nfrom %s\nuser %s\n'
                'auth %s\noauth2_token_endpoint %s/token\n'
                'oauth2_auth_endpoint %s/authorize\n'
                'oauth2_device_endpoint %s/device\n'
                'oauth2_client_id %s\noauth2_scope mail\n'
                'oauth2_trust_file %s\n%s'
                % (os.path.join(self.certs, 'ca.pem'), queue, self.qdir,
                   self.logfile(), ACCOUNT,
                   self.sink.port if self.sink else 25, USER, USER, auth,
                   url, url, url, client,
                   os.path.join(self.certs, 'ca.pem'), extra))
        with open(self.conf, 'w') as f:
            f.write(text)
        os.chmod(self.conf, 0o600)

    def logfile(self):
        return os.path.join(self.dir, 'outbox.log')

    def env(self, **more):
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
             'HOME': self.home, 'XDG_STATE_HOME': self.state,
             'XDG_CONFIG_HOME': os.path.join(self.home, 'config'),
             'LC_ALL': 'C.UTF-8', 'OUTBOX_AUTH_TIMEOUT': '30'}
        e.update(more)
        return e

    def seed(self, expired=False, last_used=None, **kw):
        """A grant made at the server and its tokens in the token file,
        as a finished --authorize leaves them."""
        s = self.auth.call('/seed', dict({'user': USER}, **kw))
        now = int(self.auth.state()['now'])
        doc = {'version': 1, 'access_token': s['access_token'],
               'expires_at': now - 10 if expired else s['expires_at'],
               'refresh_token': s['refresh_token'],
               'refresh_obtained': now,
               'last_used': now if last_used is None else last_used}
        self.write_tokens(doc)
        return s

    def write_tokens(self, doc):
        d = os.path.dirname(self.token_file)
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(os.path.dirname(d), 0o700)
        with open(self.token_file, 'w') as f:
            json.dump(doc, f)
        os.chmod(self.token_file, 0o600)

    def tokens(self):
        with open(self.token_file) as f:
            return json.load(f)

    def outbox(self, *argv, data=MESSAGE, timeout=120, env=None, wrap=()):
        cmd = list(wrap) + [self.args.outbox, '-C', self.conf] + list(argv)
        p = subprocess.run(cmd, input=data, capture_output=True,
                           timeout=timeout, env=env or self.env())
        return p.returncode, p.stdout.decode('utf-8', 'replace'), \
            p.stderr.decode('utf-8', 'replace')

    def send(self, *extra, **kw):
        return self.outbox('-a', ACCOUNT, *extra, 'bob@example.test', **kw)

    def close(self):
        if self.sink:
            self.sink.stop()
        self.auth.stop()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print('kept %s' % self.dir)


def one_line(err, what):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    check(len(lines) == 1, '%s: expected one stderr line, got %r'
          % (what, err))
    check(lines[0].startswith('outbox: '),
          '%s: the line does not start with "outbox: ": %r' % (what, err))
    return lines[0]


def no_secret(w, text, what):
    st = w.auth.state()
    for g in st['grants'].values():
        for k in ('access_token', 'refresh_token'):
            if g[k]:
                check(g[k] not in text, '%s: a %s appears: %r'
                      % (what, k, text[:300]))


def delivered(w, n=1):
    msgs = w.sink.wait_messages(n, 10)
    check(len(msgs) == n, 'expected %d delivered, got %d' % (n, len(msgs)))
    check(msgs[-1]['bytes'].endswith(b'Sent with a token.\r\n'),
          'delivered message differs: %r' % msgs[-1]['bytes'][-80:])
    return msgs


def sink_auths(w):
    """(mechanism, user, token) of every bearer AUTH the sink saw."""
    return [(e['mech'], e['user'], e['token'])
            for e in w.sink.events('auth')]


def sent_ok(w, grant, mech='XOAUTH2', n=1):
    msgs = delivered(w, n)
    auths = sink_auths(w)
    check(auths, 'the sink recorded no AUTH')
    m, user, tok = auths[-1]
    check(m == mech, 'AUTH %s, expected %s' % (m, mech))
    check(user == USER, 'AUTH user %r' % user)
    cur = w.auth.grant(grant)['access_token']
    check(tok == cur, 'the token on the wire is not the server\'s current '
          'access token of %s' % grant)
    return msgs


# ---- the server itself ----------------------------------------------

@case('server-self')
def server_self(w):
    """The fake server's own rules, by plain HTTPS requests."""
    import hashlib
    import ssl
    ctx = ssl.create_default_context(
        cafile=os.path.join(w.certs, 'ca.pem'))

    def post(path, d):
        r = urllib.request.Request(w.auth.url + path,
                                   urllib.parse.urlencode(d).encode())
        try:
            with urllib.request.urlopen(r, context=ctx, timeout=5) as f:
                return f.status, json.loads(f.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
    s = w.auth.call('/seed', {'user': USER})
    rt = {'grant_type': 'refresh_token', 'client_id': 'outbox-test',
          'refresh_token': s['refresh_token']}
    code, r1 = post('/token', rt)
    check(code == 200 and r1['refresh_token'] != s['refresh_token'],
          'refresh does not rotate: %r' % r1)
    code, r2 = post('/token', rt)
    check(code == 400 and r2['error'] == 'invalid_grant',
          'reused refresh token: %r' % r2)
    code, r3 = post('/token', dict(rt, client_id='nobody'))
    check(code == 401 and r3['error'] == 'invalid_client', repr(r3))
    check(post('/introspect', {'token': r1['access_token']})[1]['active'],
          'live token not active')
    w.auth.call('/clock', {'advance': 3601})
    check(not post('/introspect', {'token': r1['access_token']})[1][
        'active'], 'expired token active')
    w.auth.call('/clock', {'advance': 90 * 86400})
    code, r4 = post('/token', dict(rt, refresh_token=r1['refresh_token']))
    check(r4.get('error') == 'invalid_grant', 'idle refresh: %r' % r4)
    v = 'v' * 60
    ch = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()
                                  ).rstrip(b'=').decode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    op = urllib.request.build_opener(NoRedirect,
                                     urllib.request.HTTPSHandler(context=ctx))
    for verifier, want in ((None, 'invalid_grant'), ('w' * 60,
                                                     'invalid_grant'),
                           (v, None)):
        q = urllib.parse.urlencode({
            'response_type': 'code', 'client_id': 'outbox-test',
            'redirect_uri': 'http://127.0.0.1:9/', 'state': 'S1',
            'code_challenge': ch, 'code_challenge_method': 'S256'})
        try:
            op.open(w.auth.url + '/authorize?' + q)
            raise Failure('/authorize did not redirect')
        except urllib.error.HTTPError as e:
            loc = e.headers['Location']
        qs = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
        check(qs['state'] == ['S1'], 'state not returned')
        d = {'grant_type': 'authorization_code', 'code': qs['code'][0],
             'client_id': 'outbox-test',
             'redirect_uri': 'http://127.0.0.1:9/'}
        if verifier:
            d['code_verifier'] = verifier
        code, r = post('/token', d)
        check(r.get('error') == want, 'PKCE verifier %r: %r'
              % (verifier, r))


# ---- sending with a stored token -------------------------------------

@case('send-xoauth2')
def send_xoauth2(w):
    s = w.seed()
    rc, out, err = w.send()
    check(rc == 0, 'exit %d: %s' % (rc, err))
    sent_ok(w, s['grant'])
    check(w.auth.state()['counters']['refreshes'] == 0,
          'refreshed although the access token was fresh')


@case('check-shows-token-state')
def check_token_state(w):
    """--check logs in with the token and says what state it is in; no
    message is sent and no token is shown."""
    w.seed()
    rc, out, err = w.outbox('--check', '-a', ACCOUNT, data=b'')
    check(rc == 0, '--check: exit %d: %s' % (rc, err))
    check('AUTH: XOAUTH2 accepted' in out, 'no AUTH line: %r' % out)
    check('oauth2 token = present' in out, 'no token state: %r' % out)
    check(not w.sink.messages(), '--check sent a message')
    no_secret(w, out + err, '--check')


@case('outbox-auth-set-id-refused')
def auth_set_id(w):
    """outbox-auth holds tokens: installed set-group-ID by mistake it
    refuses to run (exit 78) before it reads its request."""
    if os.geteuid() != 0:
        print('skipped: needs root to make a set-group-ID copy')
        sys.exit(77)
    src = os.path.join(os.path.dirname(w.args.outbox), 'outbox-auth')
    copy = os.path.join(w.dir, 'outbox-auth-sgid')
    shutil.copy(src, copy)
    os.chown(copy, 0, 65534)
    os.chmod(copy, 0o2755)
    p = subprocess.run([copy, 'status'], input=b'account=work\n',
                       capture_output=True, timeout=30)
    err = p.stderr.decode(errors='replace')
    check(p.returncode == 78, 'exit %d, expected 78: %s'
          % (p.returncode, err))
    check('set-user-ID or set-group-ID' in err, 'stderr: %r' % err)
    check(p.stdout == b'', 'it answered: %r' % p.stdout)


@case('send-oauthbearer')
def send_oauthbearer(w):
    w.config(auth='oauthbearer')
    s = w.seed()
    rc, out, err = w.send()
    check(rc == 0, 'exit %d: %s' % (rc, err))
    sent_ok(w, s['grant'], 'OAUTHBEARER')


@case('refresh-expired')
def refresh_expired(w):
    s = w.seed(expired=True)
    rc, out, err = w.send()
    check(rc == 0, 'exit %d: %s' % (rc, err))
    sent_ok(w, s['grant'])
    g = w.auth.grant(s['grant'])
    check(g['refreshes'] == 1, '%d refreshes' % g['refreshes'])
    t = w.tokens()
    check(t['refresh_token'] == g['refresh_token'],
          'the rotated refresh token was not stored')
    check(t['access_token'] == g['access_token'], 'new access token lost')
    mode = stat.S_IMODE(os.stat(w.token_file).st_mode)
    check(mode == 0o600, 'token file mode %o' % mode)
    dmode = stat.S_IMODE(os.stat(os.path.dirname(w.token_file)).st_mode)
    check(dmode == 0o700, 'token directory mode %o' % dmode)


@case('refresh-under-5-minutes')
def refresh_soon(w):
    s = w.seed()
    t = w.tokens()
    t['expires_at'] = int(w.auth.state()['now']) + 200
    w.write_tokens(t)
    rc, out, err = w.send()
    check(rc == 0, 'exit %d: %s' % (rc, err))
    check(w.auth.grant(s['grant'])['refreshes'] == 1,
          'a token with 200 s left was not refreshed')
    sent_ok(w, s['grant'])


@case('reauth-refused-token')
def reauth(w):
    """The server refuses the cached token (revoked early): outbox forces
    one refresh and authenticates again on the same connection."""
    s = w.seed()
    w.auth.call('/expire-access', {'grant': s['grant']})
    rc, out, err = w.send()
    check(rc == 0, 'exit %d: %s' % (rc, err))
    sent_ok(w, s['grant'])
    check(w.auth.grant(s['grant'])['refreshes'] == 1, 'no forced refresh')
    check(w.sink.connections() == 1, '%d connections, expected one'
          % w.sink.connections())


@case('reauth-oauthbearer-error-challenge')
def reauth_bearer(w):
    w.config(auth='oauthbearer')
    s = w.seed()
    w.auth.call('/expire-access', {'grant': s['grant']})
    rc, out, err = w.send()
    check(rc == 0, 'exit %d: %s' % (rc, err))
    sent_ok(w, s['grant'], 'OAUTHBEARER')


def dead_grant(w, queue, codes=(77,)):
    w.config(queue=queue)
    s = w.seed(expired=True)
    w.auth.call('/revoke', {'grant': s['grant']})
    rc, out, err = w.send()
    check(rc in codes, 'exit %d, expected %s: %s' % (rc, codes, err))
    check(not w.sink.messages(), 'a message was sent')
    no_secret(w, err + out, 'stderr')
    if rc == 0:
        return None
    line = one_line(err, 'dead refresh token')
    check('outbox --authorize -a %s' % ACCOUNT in line,
          'the line does not name the command: %r' % line)
    return line


@case('invalid-grant')
def invalid_grant(w):
    dead_grant(w, 'off')


@case('invalid-grant-held')
def invalid_grant_held(w):
    """With queue on-failure the message is held (queued: exit 0, or 77
    with the line), never moved to failed/, and -bp says why it waits."""
    dead_grant(w, 'on-failure', (0, 77))
    failed = os.path.join(w.qdir, 'failed')
    check(not (os.path.isdir(failed) and os.listdir(failed)),
          'the message was moved to failed/')
    rc, out, err = w.outbox('-bp', data=b'')
    check(re.search(r'\b1 message', out + err),
          '-bp does not show one message: %r' % (out + err))
    check('outbox --authorize -a %s' % ACCOUNT in out + err,
          '-bp does not say why it waits: %r' % (out + err))
    no_secret(w, out + err, '-bp')
    # Authorized again (a new grant in the file): the queue run sends it.
    w.seed()
    rc, out, err = w.outbox('-q', data=b'')
    check(rc == 0, 'queue run after re-authorizing: %d %s' % (rc, err))
    delivered(w, 1)


@case('invalid-client')
def invalid_client(w):
    w.seed(expired=True)
    w.config(client='not-registered')
    rc, out, err = w.send()
    check(rc == 77, 'exit %d, expected 77: %s' % (rc, err))
    line = one_line(err, 'invalid_client')
    check('outbox --authorize -a %s' % ACCOUNT in line, line)


@case('idle-90-days', long=True)
def idle_90(w):
    """A refresh token unused for 91 days is dead at the server."""
    w.seed(expired=True)
    w.auth.call('/clock', {'advance': 91 * 86400})
    rc, out, err = w.send(env=w.env(), wrap=faketime_wrap(w))
    check(rc == 77, 'exit %d, expected 77: %s' % (rc, err))


def read_log(w):
    try:
        with open(w.logfile(), errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


def faketime_wrap(w):
    fake = shutil.which('faketime')
    if not fake:
        raise Failure('faketime not installed (scripts/lib.sh lists it)')
    t = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(
        w.auth.state()['now']))
    return [fake, '-f', '@' + t]


@case('no-token-in-traces')
def no_leak(w):
    w.seed(expired=True)
    rc, out, err = w.send('-v')
    check(rc == 0, 'exit %d: %s' % (rc, err))
    no_secret(w, out + err, '-v trace')
    with open(w.logfile()) as f:
        no_secret(w, f.read(), 'log file')
    rc, out, err = w.outbox('-P', '-a', ACCOUNT, data=b'')
    no_secret(w, out + err, '-P')
    check(re.search(r'(?i)oauth', out), '-P shows no OAuth state: %r' % out)


@case('keepalive-queue-run')
def keepalive(w):
    now = int(w.auth.state()['now'])
    s = w.seed(last_used=now - 31 * 86400)
    rc, out, err = w.outbox('--queue-run', data=b'')
    check(rc == 0, 'exit %d: %s' % (rc, err))
    check(w.auth.grant(s['grant'])['refreshes'] == 1,
          'the queue run did not refresh a token unused for 31 days')
    check('refresh token renewed' in read_log(w) + err,
          'keepalive not in the log nor on stderr: %r' % err)
    rc, out, err = w.outbox('--queue-run', data=b'')
    check(w.auth.grant(s['grant'])['refreshes'] == 1,
          'a second queue run refreshed a fresh token')
    # An account that inherits the OAuth settings but was never
    # authorized has nothing to keep alive: no error, no token file.
    w.config(extra='\naccount other : %s\n' % ACCOUNT)
    rc, out, err = w.outbox('--queue-run', data=b'')
    check(rc == 0, 'an unauthorized account failed the run: exit %d: %s'
          % (rc, err))
    check('no token' not in err and 'other' not in err,
          'the run complained of an account never authorized: %r' % err)


# ---- hostile authorization servers -----------------------------------

HOSTILE = {'slow': 75, '500': 75, 'truncated': (75, 76), 'oversized': 76,
           'malformed': 76, 'html': 76, 'endless': 76,
           'redirect-http': 76, 'loop': 76}


def hostile_case(mode, code):
    def run(w):
        w.seed(expired=True)
        w.auth.call('/mode', {'mode': mode})
        t0 = time.monotonic()
        rc, out, err = w.send(timeout=150)
        codes = code if isinstance(code, tuple) else (code,)
        check(rc in codes, 'mode %s: exit %d, expected %s: %s'
              % (mode, rc, '/'.join(map(str, codes)), err))
        one_line(err, 'mode ' + mode)
        check(not w.sink.messages(), 'a message was sent')
        check(not w.auth.events('plain-http'),
              'outbox followed a redirect to plain http')
        check(time.monotonic() - t0 < 120, 'took too long')
    return run


for _m, _c in HOSTILE.items():
    CASES.add('hostile-' + _m, hostile_case(_m, _c))


@case('hostile-untrusted-certificate')
def untrusted(w):
    w.seed(expired=True)
    w.config(endpoint='https://127.0.0.1:%d' % w.auth.untrusted)
    rc, out, err = w.send()
    check(rc in (75, 76, 78), 'exit %d: %s' % (rc, err))
    line = one_line(err, 'untrusted certificate')
    check(re.search(r'(?i)certificate|trust', line),
          'the line does not say it is the certificate: %r' % line)
    check(w.auth.state()['counters']['token_requests'] == 0,
          'a token request reached the server over an untrusted TLS')


# ---- --authorize ------------------------------------------------------

class Running:
    """outbox --authorize as a child, its stderr and stdout read line by
    line in threads."""

    def __init__(self, w, flow, stdin=subprocess.DEVNULL):
        self.p = subprocess.Popen(
            [w.args.outbox, '-C', w.conf, '--authorize', '-a', ACCOUNT,
             '--flow=' + flow], stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=w.env())
        self.lines = []
        self.lock = threading.Lock()
        for s in (self.p.stdout, self.p.stderr):
            threading.Thread(target=self.reader, args=(s,),
                             daemon=True).start()

    def reader(self, stream):
        for ln in stream:
            with self.lock:
                self.lines.append(ln.decode('utf-8', 'replace').rstrip())

    def wait_for(self, rx, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for ln in self.lines:
                    m = re.search(rx, ln)
                    if m:
                        return m
            if self.p.poll() is not None:
                time.sleep(0.2)
                with self.lock:
                    text = '\n'.join(self.lines)
                raise Failure('outbox --authorize ended (%d) before %s: %s'
                              % (self.p.returncode, rx, text))
            time.sleep(0.05)
        raise Failure('no %s in %r' % (rx, self.lines))

    def finish(self, timeout=40):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Failure('outbox --authorize did not end')
        time.sleep(0.1)
        with self.lock:
            return rc, list(self.lines)


def authorized(w, rc, lines):
    check(rc == 0, '--authorize exit %d: %s' % (rc, lines))
    check(any(('account %s now holds a refresh token' % ACCOUNT) in ln
              for ln in lines), 'no success line: %r' % lines)
    check(os.path.exists(w.token_file), 'no token file')
    check(stat.S_IMODE(os.stat(w.token_file).st_mode) == 0o600,
          'token file mode')
    gs = w.auth.state()['grants']
    check(len(gs) == 1, '%d grants' % len(gs))
    gid = list(gs)[0]
    check(w.tokens()['refresh_token'] == gs[gid]['refresh_token'],
          'stored refresh token is not the grant\'s')
    rc, out, err = w.send()
    check(rc == 0, 'send after --authorize: exit %d: %s' % (rc, err))
    sent_ok(w, gid)


@case('authorize-device')
def authorize_device(w):
    r = Running(w, 'device')
    m = r.wait_for(r'\b(\d{4}-\d{4})\b')
    r.wait_for(re.escape(w.auth.url + '/device-login'))
    time.sleep(1.5)
    w.auth.call('/device/approve', {'user_code': m.group(1), 'user': USER})
    rc, lines = r.finish()
    authorized(w, rc, lines)
    d = list(w.auth.state()['devices'].values())[0]
    check(d['slow_downs'] == 0, 'outbox polled faster than the interval')


@case('authorize-device-slow-down')
def device_slow(w):
    """The server answers the first poll with slow_down: the client must
    then wait its interval plus 5 s between polls (RFC 8628 3.5)."""
    w.auth.call('/config', {'interval': 1, 'slow_down_first': True})
    r = Running(w, 'device')
    m = r.wait_for(r'\b(\d{4}-\d{4})\b')
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        d = list(w.auth.state()['devices'].values())[0]
        if d['polls'] >= 2:
            break
        time.sleep(0.2)
    w.auth.call('/device/approve', {'user_code': m.group(1)})
    rc, lines = r.finish(60)
    check(rc == 0, 'exit %d: %s' % (rc, lines))
    d = list(w.auth.state()['devices'].values())[0]
    check(d['slow_downs'] == 1, '%d slow_down answers: the client does '
          'not honour slow_down' % d['slow_downs'])
    gaps = [b - a for a, b in zip(d['poll_times'], d['poll_times'][1:])]
    check(gaps and min(gaps[0:]) >= 5.5, 'polls after slow_down %r' % gaps)


def device_end(w, action, word):
    if action == 'expire':
        w.auth.call('/config', {'device_expires_in': 3})
    r = Running(w, 'device')
    m = r.wait_for(r'\b(\d{4}-\d{4})\b')
    if action == 'deny':
        w.auth.call('/device/deny', {'user_code': m.group(1)})
    rc, lines = r.finish(40)
    check(rc != 0, 'exit 0 after %s' % action)
    check(any(re.search(word, ln) for ln in lines),
          'no line saying %s: %r' % (word, lines))
    check(not os.path.exists(w.token_file), 'a token file was written')


@case('authorize-device-denied')
def device_denied(w):
    device_end(w, 'deny', r'(?i)denied')


@case('authorize-device-expired')
def device_expired(w):
    device_end(w, 'expire', r'(?i)expired')


def browser_url(r, w):
    m = r.wait_for(re.escape(w.auth.url) + r'/authorize\?\S+')
    url = m.group(0)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    check(q.get('code_challenge_method') == ['S256'], 'no PKCE S256')
    check(len(q.get('code_challenge', [''])[0]) >= 43, 'short challenge')
    check(q.get('state'), 'no state')
    return url, q


def play_browser(w, url):
    """GET the authorization URL like a browser, without following the
    redirect: the Location for outbox's listener."""
    import ssl
    ctx = ssl.create_default_context(
        cafile=os.path.join(w.certs, 'ca.pem'))

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    op = urllib.request.build_opener(NoRedirect,
                                     urllib.request.HTTPSHandler(context=ctx))
    try:
        op.open(url, timeout=10)
    except urllib.error.HTTPError as e:
        if e.code == 302:
            return e.headers['Location']
        raise
    raise Failure('no redirect from /authorize')


def follow(loc):
    try:
        with urllib.request.urlopen(loc, timeout=10) as f:
            return f.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


@case('authorize-browser')
def browser(w):
    r = Running(w, 'browser')
    url, q = browser_url(r, w)
    redirect = q['redirect_uri'][0]
    check(re.match(r'http://127\.0\.0\.1:\d+/', redirect),
          'redirect_uri is not a loopback port: %r' % redirect)
    loc = play_browser(w, url)
    check(loc.startswith(redirect), loc)
    follow(loc)
    rc, lines = r.finish()
    authorized(w, rc, lines)


@case('authorize-browser-wrong-state')
def browser_state(w):
    r = Running(w, 'browser')
    url, q = browser_url(r, w)
    loc = play_browser(w, url)
    loc = re.sub(r'state=[^&]*', 'state=forged', loc)
    follow(loc)
    rc, lines = r.finish()
    check(rc != 0, 'a forged state was accepted')
    check(not os.path.exists(w.token_file), 'a token file was written')
    check(not [e for e in w.auth.events('token')
               if e.get('grant_type') == 'authorization_code'],
          'the code was redeemed despite the wrong state')


@case('authorize-paste')
def paste(w):
    r = Running(w, 'paste', stdin=subprocess.PIPE)
    url, q = browser_url(r, w)
    loc = play_browser(w, url)
    r.p.stdin.write(loc.encode() + b'\n')
    r.p.stdin.close()
    rc, lines = r.finish()
    authorized(w, rc, lines)


@case('authorize-discover-register')
def discover(w):
    text = open(w.conf).read()
    text = re.sub(r'oauth2_(token|auth|device)_endpoint .*\n', '', text)
    text = text.replace('oauth2_client_id outbox-test\n',
                        'oauth2_provider discover\noauth2_issuer %s\n'
                        % w.auth.url)
    with open(w.conf, 'w') as f:
        f.write(text)
    r = Running(w, 'device')
    m = r.wait_for(r'\b(\d{4}-\d{4})\b')
    w.auth.call('/device/approve', {'user_code': m.group(1)})
    rc, lines = r.finish()
    check(w.auth.state()['counters']['registrations'] == 1,
          'no dynamic registration')
    cid = w.tokens().get('client_id', '')
    check(cid.startswith('dyn-'), 'registered client_id not kept: %r' % cid)
    authorized(w, rc, lines)


# ---- a real server checking the token -----------------------------------

SERVERS = os.path.join(os.path.dirname(HERE), 'integration', 'servers')


class RealServers:
    """A private Postfix (587, STARTTLS, SASL through Dovecot) whose
    Dovecot checks XOAUTH2 and OAUTHBEARER tokens by introspection at the
    case's authorization server (tests/integration/servers with
    OUTBOX_ITEST_OAUTH2)."""

    def __init__(self, w):
        self.dir = os.path.join(w.dir, 'itest')
        env = dict(os.environ, OUTBOX_ITEST_OAUTH2='%s/introspect %s' % (
            w.auth.url, os.path.join(w.certs, 'ca.pem')))
        p = subprocess.run([SERVERS, 'start', self.dir], env=env,
                           capture_output=True, timeout=90)
        if p.returncode != 0:
            raise Failure('servers start: %s' % p.stderr.decode()[-500:])
        self.ports = {}
        with open(os.path.join(self.dir, 'ports')) as f:
            for ln in f:
                k, _, v = ln.strip().partition('=')
                self.ports[k] = v.strip("'")

    def delivered(self, rcpt, n=1, wait=15):
        d = os.path.join(self.dir, 'mail', rcpt)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            files = sorted(os.path.join(d, f) for f in os.listdir(d)
                           if f.endswith('.msg')) if os.path.isdir(d) else []
            if len(files) >= n:
                return files
            time.sleep(0.1)
        raise Failure('%d messages delivered to %s within %ds' % (
            len(files), rcpt, wait))

    def dovecot_log(self):
        try:
            with open(self.ports['DOVECOT_LOG'], errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        subprocess.run([SERVERS, 'stop', self.dir], capture_output=True,
                       timeout=60)


def with_real(w, mech, prepare=None, want_rc=0):
    real = RealServers(w)
    try:
        text = open(w.conf).read()
        text = re.sub(r'port \d+\n', 'port %s\n' % real.ports[
            'SUBMISSION_PORT'], text)
        text = text.replace('tls_trust_file %s' % os.path.join(
            w.certs, 'ca.pem'), 'tls_trust_file %s' % real.ports['CA_FILE'])
        text = text.replace('auth xoauth2', 'auth ' + mech)
        with open(w.conf, 'w') as f:
            f.write(text)
        s = w.seed()
        if prepare:
            prepare(w, s)
        rc, out, err = w.send()
        check(rc == want_rc, 'exit %d, expected %d: %s' % (rc, want_rc, err))
        if want_rc:
            return s, real, err
        f = real.delivered('bob@example.test')[0]
        with open(f, 'rb') as fh:
            got = fh.read()
        want = MESSAGE.replace(b'\r\n', b'\n')
        # Postfix's own trace field first (ESMTPSA: authenticated), then
        # the message exactly as outbox got it.
        m = re.match(rb'Received: [^\n]*\n(?:[ \t][^\n]*\n)*', got)
        check(m and b'with ESMTPSA' in m.group(0),
              'no Received field with ESMTPSA: %r' % got[:200])
        got = got[m.end():]
        check(got == want, 'delivered message differs:\n%r\n%r'
              % (got, want))
        return s, real, err
    finally:
        real.stop()


@case('dovecot-xoauth2')
def dovecot_xoauth2(w):
    s, real, err = with_real(w, 'xoauth2')
    check(w.auth.state()['counters']['introspections'] >= 1,
          'Dovecot never introspected the token')
    check(w.auth.grant(s['grant'])['refreshes'] == 0, 'needless refresh')


@case('dovecot-oauthbearer')
def dovecot_oauthbearer(w):
    s, real, err = with_real(w, 'oauthbearer')
    check(w.auth.state()['counters']['introspections'] >= 1,
          'Dovecot never introspected the token')


def expire_early(w, s):
    w.auth.call('/expire-access', {'grant': s['grant']})
    t = w.tokens()
    t['expires_at'] = int(w.auth.state()['now']) + 3000
    w.write_tokens(t)


@case('dovecot-expired-recovers')
def dovecot_expired(w):
    """The cached token still looks good to outbox, but the server says
    {"active": false}: Dovecot refuses it, outbox refreshes and delivers."""
    s, real, err = with_real(w, 'xoauth2', expire_early)
    check(w.auth.grant(s['grant'])['refreshes'] == 1,
          'outbox did not refresh after the refusal')
    intro = w.auth.events('introspect')
    check([e['active'] for e in intro][-2:] == [False, True],
          'introspections %r' % intro)


@case('dovecot-oauthbearer-expired-recovers')
def dovecot_bearer_expired(w):
    s, real, err = with_real(w, 'oauthbearer', expire_early)
    check(w.auth.grant(s['grant'])['refreshes'] == 1,
          'outbox did not refresh after the refusal')


@case('dovecot-revoked')
def dovecot_revoked(w):
    """The whole grant revoked: Dovecot refuses the token, the refresh is
    invalid_grant, outbox exits 77 naming the command."""
    def revoke(w, s):
        expire_early(w, s)
        w.auth.call('/revoke', {'grant': s['grant']})
    s, real, err = with_real(w, 'xoauth2', revoke, want_rc=77)
    line = one_line(err, 'revoked')
    check('outbox --authorize -a %s' % ACCOUNT in line, line)


# ---- the keyring ------------------------------------------------------------

KEYRING_PASSWORD = 'keyring-pass-1'
SMTP_PASSWORD = 'from the keyring 42'


def keyring_session(w, script, unlock=True):
    """Run the shell SCRIPT inside a private D-Bus session with a
    gnome-keyring-daemon (Secret Service) whose login keyring lives in
    the case's home: unlocked with a known password on standard input,
    or started locked.  Returns (rc, stdout, stderr)."""
    for tool in ('dbus-run-session', 'gnome-keyring-daemon', 'secret-tool'):
        check(shutil.which(tool), '%s not installed (scripts/lib.sh lists '
              'dbus-daemon, gnome-keyring and libsecret-tools)' % tool)
    start = ('printf %%s %s | gnome-keyring-daemon --unlock '
             '--components=secrets >/dev/null' % KEYRING_PASSWORD
             if unlock else
             'gnome-keyring-daemon --start --components=secrets >/dev/null')
    env = w.env(XDG_DATA_HOME=os.path.join(w.home, 'data'),
                XDG_RUNTIME_DIR=os.path.join(w.dir, 'run'))
    os.makedirs(env['XDG_RUNTIME_DIR'], mode=0o700, exist_ok=True)
    p = subprocess.run(['dbus-run-session', '--', 'sh', '-c',
                        start + ' && ' + script], capture_output=True,
                       timeout=60, env=env)
    return p.returncode, p.stdout.decode(errors='replace'), \
        p.stderr.decode(errors='replace')


def password_config(w):
    w.sink.set_rules(w.sink_rules(user=USER, password=SMTP_PASSWORD))
    text = open(w.conf).read()
    text = re.sub(r'oauth2_\w+ .*\n', '', text)
    text = text.replace('auth xoauth2', 'auth plain')
    with open(w.conf, 'w') as f:
        f.write(text)


STORE = ("printf %%s '%s' | secret-tool store --label='outbox test' "
         "host 127.0.0.1 service smtp user %s" % (SMTP_PASSWORD, USER))


@case('keyring-outbox-and-msmtp')
def keyring_both(w):
    """An entry stored with secret-tool as msmtp's documentation says:
    outbox and msmtp both find it and both deliver."""
    password_config(w)
    ca = os.path.join(w.certs, 'ca.pem')
    msmtp = shutil.which('msmtp')
    check(msmtp, 'msmtp not installed')
    script = (STORE + ' && %s -C %s -a %s bob@example.test <"$1"; '
              'echo "outbox=$?"; %s --host=127.0.0.1 --port=%d --tls=on '
              '--tls-starttls=on --tls-trust-file=%s --auth=plain '
              '--user=%s --from=%s bob@example.test <"$1"; '
              'echo "msmtp=$?"' % (w.args.outbox, w.conf, ACCOUNT, msmtp,
                                  w.sink.port, ca, USER, USER))
    msg = os.path.join(w.dir, 'message')
    with open(msg, 'wb') as f:
        f.write(MESSAGE)
    rc, out, err = keyring_session(w, script.replace('"$1"', msg))
    check('outbox=0' in out, 'outbox failed: %s %s' % (out, err))
    check('msmtp=0' in out, 'msmtp failed: %s %s' % (out, err))
    delivered(w, 2)
    auths = [e for e in w.sink.events('auth')]
    del auths


@case('keyring-locked')
def keyring_locked(w):
    password_config(w)
    # First a session that makes and fills the login keyring, then one
    # whose daemon starts with it locked (no password, no prompter).
    rc, out, err = keyring_session(w, STORE)
    check(rc == 0, 'secret-tool store: %s' % err)
    errf = os.path.join(w.dir, 'outbox.err')
    script = ('%s -C %s -a %s bob@example.test </dev/null 2>%s; '
              'echo "outbox=$?"' % (w.args.outbox, w.conf, ACCOUNT, errf))
    t0 = time.monotonic()
    rc, out, err = keyring_session(w, script, unlock=False)
    check(time.monotonic() - t0 < 30, 'a locked keyring hangs')
    with open(errf, errors='replace') as f:
        err = f.read()
    check('outbox=69' in out, 'expected exit 69: %s %s' % (out, err))
    line = one_line(err, 'locked keyring')
    check(re.search(r'(?i)locked', line), line)
    check(not w.sink.messages(), 'sent without the password')


@case('keyring-no-bus')
def keyring_no_bus(w):
    password_config(w)
    env = w.env()
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    t0 = time.monotonic()
    rc, out, err = w.send(data=MESSAGE, env=env)
    check(time.monotonic() - t0 < 30, 'no session bus hangs')
    check(rc != 0, 'exit 0 without a password')
    line = one_line(err, 'no session bus')
    check(re.search(r'(?i)session bus|d-bus', line), line)


# ---- fifty at once ------------------------------------------------------

@case('concurrent-50')
def concurrent(w):
    w.sink.set_rules(w.sink_rules())
    s = w.seed(expired=True)
    n = 50
    procs = []
    go = time.monotonic()
    for i in range(n):
        procs.append(subprocess.Popen(
            [w.args.outbox, '-C', w.conf, '-a', ACCOUNT, 'bob@example.test'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=w.env()))
    for p in procs:
        p.stdin.write(MESSAGE)
        p.stdin.close()
    bad = []
    for p in procs:
        rc = p.wait(120)
        if rc != 0:
            bad.append((rc, p.stderr.read().decode()[:200]))
    took = time.monotonic() - go
    check(not bad, '%d of %d failed: %r' % (len(bad), n, bad[:3]))
    msgs = w.sink.wait_messages(n, 20)
    check(len(msgs) == n, '%d of %d delivered' % (len(msgs), n))
    g = w.auth.grant(s['grant'])
    check(g['refreshes'] == 1, '%d refreshes, expected exactly one'
          % g['refreshes'])
    check(w.tokens()['refresh_token'] == g['refresh_token'],
          'the stored refresh token is not the newest')
    print('concurrent-50: %d delivered, %d refresh, %.1f s'
          % (len(msgs), g['refreshes'], took))


# ---- months in minutes -------------------------------------------------

@case('months-200-days', long=True)
def months(w):
    """200 simulated days, one process tree per day under faketime with
    the server's clock moved in step: a send each day (its access token
    an hour old or more, so each one refreshes and rotates) and a queue
    run each day; from day 90 to day 185 no mail is sent, longer than
    the server's 90 days of inactivity, so only the keepalive of the
    queue runs (oauth2_keepalive 30d) keeps the refresh token alive."""
    fake = shutil.which('faketime')
    check(fake, 'faketime not installed')
    w.config(extra='oauth2_keepalive 30d\n')
    start = int(time.time()) + 86400
    w.auth.call('/clock', {'now': start})
    s = w.seed()
    failed = []
    qlog = []
    sends = 0
    for day in range(200):
        t = start + day * 86400 + 3600 * 2
        w.auth.call('/clock', {'now': t})
        wrap = [fake, '-f', '@' + time.strftime(
            '%Y-%m-%d %H:%M:%S', time.gmtime(t))]
        quiet = 90 <= day < 185
        if not quiet:
            rc, out, err = w.send(wrap=wrap)
            sends += 1
            if rc != 0:
                failed.append((day, rc, err.strip()))
        rc, out, err = w.outbox('--queue-run', data=b'', wrap=wrap)
        qlog.append(err)
        if rc != 0:
            failed.append((day, 'queue-run', rc, err.strip()))
    g = w.auth.grant(s['grant'])
    quiet_refreshes = [e for e in w.auth.events('token')
                       if e.get('result') == 'ok' and
                       start + 90 * 86400 <= e['t'] < start + 185 * 86400]
    print('months-200-days: %d sends, %d failed, %d refreshes, %d of them '
          'in the 95 quiet days' % (sends, len(failed), g['refreshes'],
                                    len(quiet_refreshes)))
    check(not failed, '%d failures, first: %r' % (len(failed), failed[:3]))
    check(quiet_refreshes, 'no refresh while no mail was sent')
    delivered(w, sends)
    renewed = [d for d, e in enumerate(qlog) if 'refresh token renewed' in
               e] + (['log'] if 'refresh token renewed' in read_log(w) else [])
    check(renewed, 'the keepalive is not in the log')
    check(w.tokens()['refresh_token'] == g['refresh_token'],
          'the stored refresh token is not the newest')


def run_one(name, args):
    w = None
    try:
        w = World(args, name, long_lived=CASES.props(name).get('long'))
        CASES.fn(name)(w)
        print('PASS: %s' % name)
        return True
    except (Failure, subprocess.TimeoutExpired, OSError,
            RuntimeError) as e:
        print('FAIL: %s: %s' % (name, e))
        return False
    finally:
        if w:
            w.close()


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(cases.main(CASES, run_one, __doc__))
