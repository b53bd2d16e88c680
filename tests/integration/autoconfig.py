#!/usr/bin/python3
"""outbox --configure's lookup order against test servers on loopback.

usage: autoconfig.py --list | --outbox PATH CASE... | all

Runs as root, in a private mount and network namespace (it re-executes
itself under "unshare -m -n"; without root or unshare it fails, it is
never skipped).  Inside, only loopback exists, and bind mounts replace
  /etc/resolv.conf  with "nameserver 127.0.0.1" (dns.py: SRV and MX),
  /etc/hosts        with the test names on 127.0.0.1,
  /etc/ssl/certs    with a directory trusting only a test CA made now by
                    certtool (the system store HTTPS and SMTP both use),
so that nothing outside is read or changed.  An HTTPS server on port 443
answers for the test names (and a self-signed certificate for the
"untrusted" ones, chosen by SNI), a plain HTTP server on port 80 answers
everything with a valid document (it must never be asked), and an SMTP
server with implicit TLS on port 465 plays smtp.step1.test for the
--check after --write.  Standard library only.
"""

import fcntl
import http.server
import os
import pty
import select
import socket
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'lib'))
from outboxtest import cases, certs  # noqa: E402

NS_FLAG = 'OUTBOX_AUTOCONFIG_NAMESPACE'


def doc(host, port, socket_type, auth='password-cleartext',
        user='%EMAILADDRESS%', extra=''):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<clientConfig version="1.1">\n'
            '  <emailProvider id="test">\n'
            '    <incomingServer type="imap"><hostname>imap.invalid'
            '</hostname><port>993</port><socketType>SSL</socketType>'
            '</incomingServer>\n'
            '    <outgoingServer type="smtp">\n'
            '      <hostname>%s</hostname>\n'
            '      <port>%d</port>\n'
            '      <socketType>%s</socketType>\n'
            '      <authentication>%s</authentication>\n'
            '      <username>%s</username>\n'
            '    </outgoingServer>\n'
            '  </emailProvider>\n%s'
            '</clientConfig>\n'
            % (host, port, socket_type, auth, user, extra)).encode()


WK = '/.well-known/autoconfig/mail/config-v1.1.xml'
AC = '/mail/config-v1.1.xml'
# (host, path) -> (status, body, extra headers) over HTTPS.
HTTPS_DOCS = {
    ('autoconfig.step1.test', AC):
        (200, doc('smtp.step1.test', 465, 'SSL', user='%EMAILLOCALPART%'),
         {}),
    # Never reached: step 1 answers first.
    ('step1.test', WK): (200, doc('wrong.step1.test', 587, 'STARTTLS'), {}),
    ('step2.test', WK): (200, doc('smtp.step2.test', 587, 'STARTTLS'), {}),
    ('autoconfig.provider3.test', AC): (404, b'not here\n', {}),
    ('provider3.test', WK):
        (200, doc('smtp.provider3.test', 465, 'SSL'), {}),
    ('autoconfig.mail.hosted3.test', AC):
        (200, doc('smtp.hosted3.test', 587, 'STARTTLS'), {}),
    ('autoconfig.oauth.test', AC):
        (200, doc('smtp.oauth.test', 465, 'SSL', auth='OAuth2',
                  extra='  <oAuth2><issuer>accounts.google.com</issuer>'
                  '</oAuth2>\n'), {}),
    ('autoconfig.malformed.test', AC):
        (200, b'<?xml version="1.0"?>\n<clientConfig><emailProvider>'
         b'<outgoingServer type="smtp"><hostname>evil.test</hostname>'
         b'</emailProvider></clientConfig>\n', {}),
    ('malformed.test', WK):
        (200, doc('plain.malformed.test', 25, 'plain'), {}),
    ('autoconfig.oversized.test', AC):
        (200, doc('big.oversized.test', 465, 'SSL',
                  extra='<!--' + 'x' * (70 * 1024) + '-->\n'), {}),
    ('autoconfig.plainhttp.test', AC):
        (301, b'', {'Location':
                    'http://autoconfig.plainhttp.test/mail/config-v1.1.xml'}),
    ('plainhttp.test', WK): (404, b'', {}),
    ('autoconfig.untrusted.test', AC):
        (200, doc('rogue.untrusted.test', 465, 'SSL'), {}),
}
UNTRUSTED = {'autoconfig.untrusted.test', 'untrusted.test'}
# Served with a certificate from a second CA, trusted only by
# --tls-trust-file.
PRIVATE = {'autoconfig.private.test'}
HTTPS_DOCS[('autoconfig.private.test', AC)] = (
    200, doc('smtp.private.test', 465, 'SSL'), {})
HOSTS = sorted({h for h, _ in HTTPS_DOCS} | UNTRUSTED | PRIVATE |
               {'smtp.step1.test'})


def lo_up():
    """Bring the namespace's loopback up (SIOCGIFFLAGS, SIOCSIFFLAGS)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = struct.pack('16sH14s', b'lo', 0, b'')
    flags = struct.unpack('16sH', fcntl.ioctl(s, 0x8913, ifr)[:18])[1]
    fcntl.ioctl(s, 0x8914, struct.pack('16sH14s', b'lo', flags | 1, b''))
    s.close()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        host = (self.headers.get('Host') or '').split(':')[0]
        path = self.path.split('?')[0]
        self.server.seen.append('%s %s%s' % (self.server.scheme, host,
                                             self.path))
        if self.server.scheme == 'http':
            entry = (200, doc('plain.http.test', 465, 'SSL'), {})
        else:
            entry = HTTPS_DOCS.get((host, path), (404, b'', {}))
        status, body, headers = entry
        self.send_response(status)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, scheme, ctx=None):
        super().__init__(('127.0.0.1', port), Handler)
        self.scheme = scheme
        self.seen = []
        self.ctx = ctx

    def get_request(self):
        conn, addr = super().get_request()
        if self.ctx is not None:
            conn.settimeout(10)
            conn = self.ctx.wrap_socket(conn, server_side=True)
        return conn, addr

    def handle_error(self, request, client_address):
        pass


class SMTP(threading.Thread):
    """smtp.step1.test on 465 (implicit TLS): EHLO, AUTH PLAIN, RSET,
    QUIT and MAIL are answered; the commands are kept."""

    def __init__(self, ctx):
        super().__init__(daemon=True)
        self.ctx = ctx
        self.seen = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 465))
        self.sock.listen(4)

    def run(self):
        while True:
            try:
                raw, _ = self.sock.accept()
                raw.settimeout(10)
                conn = self.ctx.wrap_socket(raw, server_side=True)
                self.session(conn.makefile('rwb'))
                conn.close()
            except OSError:
                continue

    def session(self, f):
        def say(line):
            f.write(line.encode() + b'\r\n')
            f.flush()
        say('220 smtp.step1.test ESMTP')
        for raw in f:
            line = raw.decode().rstrip('\r\n')
            verb = line.split(' ')[0].upper()
            self.seen.append(line if verb != 'AUTH' else 'AUTH ' +
                             line.split(' ')[1])
            if verb == 'EHLO':
                say('250-smtp.step1.test')
                say('250 AUTH PLAIN')
            elif verb == 'AUTH':
                ok = line.split(' ')[-1] == 'AGFsaWNlAHNlY3JldA=='
                say('235 2.7.0 ok' if ok else '535 5.7.8 no')
            elif verb == 'QUIT':
                say('221 bye')
                return
            else:
                say('250 ok')


class Env:
    def __init__(self, outbox, keep):
        self.outbox = outbox
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix='outbox-autoconfig-')
        self.dns = None

    def mount(self, src, dst):
        if not os.path.exists(dst):
            raise RuntimeError('%s is missing (apt-get install '
                               'ca-certificates): nothing to mount over'
                               % dst)
        subprocess.run(['mount', '--bind', src, dst], check=True)

    def start(self):
        d = os.path.join(self.tmp, 'certs')
        os.makedirs(d)
        certs.issue(d, 'ca', 'cn = "outbox autoconfig test CA"\nca\n'
                    'cert_signing_key\nexpiration_days = 2\n', None)
        names = ''.join('dns_name = "%s"\n' % h for h in HOSTS
                        if h not in UNTRUSTED and h not in PRIVATE)
        certs.issue(d, 'web', 'cn = "autoconfig.step1.test"\n' + names +
                    certs.SERVER)
        certs.issue(d, 'rogue', 'cn = "autoconfig.untrusted.test"\n'
                    'dns_name = "autoconfig.untrusted.test"\n'
                    'dns_name = "untrusted.test"\n' + certs.SERVER, None)
        certs.issue(d, 'privca', 'cn = "outbox autoconfig private CA"\n'
                    'ca\ncert_signing_key\nexpiration_days = 2\n', None)
        certs.issue(d, 'private', 'cn = "autoconfig.private.test"\n'
                    'dns_name = "autoconfig.private.test"\n' + certs.SERVER,
                    'privca')
        self.private_ca = os.path.join(d, 'privca.pem')
        store = os.path.join(self.tmp, 'store')
        os.makedirs(store)
        with open(os.path.join(d, 'ca.pem')) as src, \
                open(os.path.join(store, 'ca-certificates.crt'), 'w') as dst:
            dst.write(src.read())
        with open(os.path.join(self.tmp, 'hosts'), 'w') as f:
            f.write('127.0.0.1 localhost\n')
            for h in HOSTS:
                f.write('127.0.0.1 %s\n' % h)
        with open(os.path.join(self.tmp, 'resolv.conf'), 'w') as f:
            f.write('nameserver 127.0.0.1\noptions timeout:2 attempts:1\n')
        lo_up()
        self.mount(os.path.join(self.tmp, 'resolv.conf'), '/etc/resolv.conf')
        self.mount(os.path.join(self.tmp, 'hosts'), '/etc/hosts')
        self.mount(store, '/etc/ssl/certs')
        ready = os.path.join(self.tmp, 'dns.ready')
        self.queries = os.path.join(self.tmp, 'queries')
        self.dns = subprocess.Popen(
            [sys.executable, os.path.join(HERE, 'dns.py'), '--ready', ready,
             '--log', self.queries])
        web = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        web.load_cert_chain(os.path.join(d, 'web.pem'),
                            os.path.join(d, 'web.key'))
        rogue = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        rogue.load_cert_chain(os.path.join(d, 'rogue.pem'),
                              os.path.join(d, 'rogue.key'))

        private = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        private.load_cert_chain(os.path.join(d, 'private.pem'),
                                os.path.join(d, 'private.key'))

        def sni(sock, name, ctx):
            if name in UNTRUSTED:
                sock.context = rogue
            elif name in PRIVATE:
                sock.context = private
        web.sni_callback = sni
        self.https = Server(443, 'https', web)
        self.http = Server(80, 'http')
        for s in (self.https, self.http):
            threading.Thread(target=s.serve_forever, daemon=True).start()
        self.smtp = SMTP(web)
        self.smtp.start()
        for _ in range(100):
            if os.path.exists(ready):
                break
            if self.dns.poll() is not None:
                raise RuntimeError('dns.py did not start')
            time.sleep(0.1)
        else:
            raise RuntimeError('dns.py not ready after 10 s')

    def stop(self):
        if self.dns is not None:
            self.dns.terminate()
            self.dns.wait()
        if not self.keep:
            subprocess.run(['rm', '-rf', self.tmp])

    def run(self, *args, session=False, env=None):
        self.https.seen.clear()
        self.http.seen.clear()
        e = dict(os.environ, HOME=self.tmp, LC_ALL='C')
        e.pop('XDG_CONFIG_HOME', None)
        e.update(env or {})
        p = subprocess.run([self.outbox] + list(args), capture_output=True,
                           text=True, env=e, start_new_session=session,
                           stdin=subprocess.DEVNULL, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def run_tty(self, args, answer):
        """outbox with a terminal of its own; ANSWER typed at the
        prompt.  (exit, stdout and stderr, what the terminal showed)."""
        master, slave = pty.openpty()

        def ctty():
            os.setsid()
            fcntl.ioctl(slave, 0x540E, 0)  # TIOCSCTTY
        p = subprocess.Popen([self.outbox] + list(args), stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=ctty, text=True,
                             env=dict(os.environ, HOME=self.tmp))
        os.close(slave)
        shown = b''
        deadline = time.time() + 60
        while b'[y/N] ' not in shown and time.time() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    shown += os.read(master, 1024)
                except OSError:
                    break
        os.write(master, answer.encode() + b'\n')
        out, err = p.communicate(timeout=60)
        os.close(master)
        return p.returncode, out, err, shown.decode()


REGISTRY = cases.Registry()


class Fail(Exception):
    pass


def want(cond, what, got):
    if not cond:
        raise Fail('%s\n--- exit, stdout, stderr\n%s' % (what, got))


def account(where, name, host, port, starttls, user, address, tail=None):
    text = ('# outbox configuration for %s, %s'
            'account %s\nhost %s\nport %d\ntls on\ntls_starttls %s\n'
            'auth on\nuser %s\nfrom %s\n'
            % (address, where, name, host, port, starttls, user, address))
    return text + (tail if tail is not None else
                   '# add: password, or better passwordeval, and chmod 600 '
                   'this file\n')


def configure(env, address, *more):
    return env.run('--configure=' + address, '-v', *more)


def parses(env, text, name):
    """The printed account is one outbox reads: -P on it exits 0."""
    path = os.path.join(env.tmp, 'parse-%s.conf' % name)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o600)
    got = env.run('-C', path, '-a', name, '-P')
    want(got[0] == 0 and 'host' in got[1], 'outbox -P refused the account',
         got)


STEP1 = account('found by autoconfig (HTTPS):\n# https://autoconfig.'
                'step1.test/mail/config-v1.1.xml?emailaddress=alice%40'
                'step1.test\n', 'step1.test', 'smtp.step1.test', 465, 'off',
                'alice', 'alice@step1.test')


@REGISTRY.case('step1-autoconfig-subdomain')
def c_step1(env):
    got = configure(env, 'alice@step1.test')
    want(got[0] == 0 and got[1] == STEP1, 'step 1 not used as expected', got)
    want(env.https.seen == ['https autoconfig.step1.test/mail/config-v1.1.'
                            'xml?emailaddress=alice%40step1.test'],
         'unexpected requests %s' % env.https.seen, got)
    parses(env, got[1], 'step1.test')


@REGISTRY.case('step2-well-known')
def c_step2(env):
    got = configure(env, 'bob@step2.test')
    want(got[0] == 0 and got[1] == account(
        'found by autoconfig (HTTPS):\n# https://step2.test/.well-known/'
        'autoconfig/mail/config-v1.1.xml\n', 'step2.test',
        'smtp.step2.test', 587, 'on', 'bob@step2.test', 'bob@step2.test'),
        'step 2 not used as expected', got)
    want('autoconfig: not used: https://autoconfig.step2.test' in got[2],
         'no -v note on the failed step 1', got)
    parses(env, got[1], 'step2.test')


@REGISTRY.case('step3-mx-registrable-domain')
def c_step3(env):
    got = configure(env, 'carol@step3.test')
    want(got[0] == 0 and got[1] == account(
        'found by autoconfig (HTTPS):\n'
        '# https://provider3.test/.well-known/autoconfig/mail/'
        "config-v1.1.xml\n# (for provider3.test, the domain of step3.test's "
        'MX host\n# mx1.mail.provider3.test;\n# DNS answers are not '
        'authenticated: make sure your provider really uses\n# this '
        'server)\n', 'step3.test', 'smtp.provider3.test', 465, 'off',
        'carol@step3.test', 'carol@step3.test'),
        'step 3 not used as expected', got)
    want(env.https.seen == [
        'https autoconfig.provider3.test/mail/config-v1.1.xml?'
        'emailaddress=carol%40step3.test',
        'https provider3.test' + WK], 'requests %s' % env.https.seen, got)
    want('MX of step3.test: mx1.mail.provider3.test' in got[2],
         'no -v line for the MX host', got)
    parses(env, got[1], 'step3.test')


@REGISTRY.case('step3-mx-first-label-removed')
def c_step3a(env):
    got = configure(env, 'dan@step3a.test')
    want(got[0] == 0 and 'host smtp.hosted3.test\nport 587\n' in got[1] and
         '# https://autoconfig.mail.hosted3.test/mail/config-v1.1.xml?'
         'emailaddress=dan%40step3a.test\n' in got[1],
         'step 3 (mail.hosted3.test) not used', got)
    parses(env, got[1], 'step3a.test')


@REGISTRY.case('step4-srv')
def c_step4(env):
    got = configure(env, 'erin@step4.test')
    want(got[0] == 0 and got[1] == account(
        'found in DNS:\n# _submissions._tcp.step4.test SRV 0 0 465 '
        'smtp.step4.test.\n', 'step4.test', 'smtp.step4.test', 465, 'off',
        'erin@step4.test', 'erin@step4.test'), 'SRV not used', got)
    parses(env, got[1], 'step4.test')


@REGISTRY.case('step5-table')
def c_step5(env):
    got = configure(env, 'frank@gmail.com')
    want(got[0] == 0 and got[1] == account(
        "found in outbox's table of providers (Google):\n", 'gmail.com',
        'smtp.gmail.com', 465, 'off', 'frank@gmail.com', 'frank@gmail.com',
        '# the password: an app password (needs 2-Step Verification), or '
        'OAuth2\n# or OAuth2: oauth2_provider google, oauth2_client_id, '
        'then outbox --authorize\n# add: password, or better passwordeval, '
        'and chmod 600 this file\n'), 'the table not used', got)
    parses(env, got[1], 'gmail.com')


@REGISTRY.case('step5-table-by-mx')
def c_step5mx(env):
    got = configure(env, 'grace@contoso.test')
    want(got[0] == 0 and got[1] == account(
        "found in outbox's table of providers\n# (Microsoft 365, by the MX "
        'host contoso-test.mail.protection.outlook.com):\n', 'contoso.test',
        'smtp.office365.com', 587, 'on', 'grace@contoso.test',
        'grace@contoso.test',
        '# the password: OAuth2: password (Basic) authentication is '
        'switched off\noauth2_provider microsoft\n# next: set '
        'oauth2_client_id (outbox ships none), then run\n# outbox '
        '--authorize -a contoso.test\n'), 'the MX table entry not used',
        got)
    parses(env, got[1], 'contoso.test')


@REGISTRY.case('autoconfig-oauth2')
def c_oauth(env):
    got = configure(env, 'heidi@oauth.test')
    want(got[0] == 0 and 'auth on\nuser heidi@oauth.test\nfrom heidi@oauth'
         '.test\noauth2_provider google\n# next: set oauth2_client_id' in
         got[1], 'OAuth2 from the document not used', got)
    parses(env, got[1], 'oauth.test')


@REGISTRY.case('malformed-document')
def c_malformed(env):
    got = configure(env, 'ivan@malformed.test')
    want(got[0] == 0 and 'host smtp.malformed.test\nport 587\n' in got[1] and
         'found in DNS' in got[1] and 'evil' not in got[1] and
         'plain.malformed' not in got[1], 'a bad document was used', got)
    want('malformed autoconfig document' in got[2] and
         'names no SMTP server over TLS' in got[2],
         'no -v note on the bad documents', got)


@REGISTRY.case('oversized-document')
def c_oversized(env):
    got = configure(env, 'judy@oversized.test')
    want(got[0] == 0 and 'host smtp.oversized.test\n' in got[1] and
         'big.oversized' not in got[1], 'the oversized document was used',
         got)
    want('autoconfig document larger than 64 KiB' in got[2],
         'no -v note on the oversized document', got)


@REGISTRY.case('plain-http-not-used')
def c_plainhttp(env):
    got = configure(env, 'ken@plainhttp.test')
    want(got[0] == 68 and got[1] == '' and
         'no submission service found for plainhttp.test' in got[2],
         'a plain-HTTP answer was used', got)
    want('redirected to a URL that is not https://' in got[2],
         'no -v note on the redirect to http://', got)
    want(env.http.seen == [], 'plain HTTP was asked: %s' % env.http.seen, got)


@REGISTRY.case('untrusted-certificate-not-used')
def c_untrusted(env):
    got = configure(env, 'leo@untrusted.test')
    want(got[0] == 68 and got[1] == '' and 'rogue' not in got[1],
         'an untrusted server was used', got)
    for note in ('MX of untrusted.test: none',
                 'SRV: _submissions._tcp.untrusted.test: none',
                 'SRV: _submission._tcp.untrusted.test: none',
                 'table of providers: nothing for untrusted.test\n'):
        want(note in got[2], 'no -v note "%s"' % note, got)
    want(not any('untrusted' in s for s in env.https.seen),
         'a request went through an untrusted certificate', got)
    want('autoconfig: not used: https://autoconfig.untrusted.test' in got[2],
         'no -v note on the untrusted server', got)


@REGISTRY.case('tls-trust-file')
def c_trust_file(env):
    got = configure(env, 'mia@private.test')
    want(got[0] == 68 and got[1] == '', 'a server of an unknown CA was used',
         got)
    got = configure(env, 'mia@private.test',
                    '--tls-trust-file=' + env.private_ca)
    want(got[0] == 0 and 'host smtp.private.test\nport 465\ntls on\n'
         'tls_starttls off\ntls_trust_file %s\n' % env.private_ca in got[1],
         '--tls-trust-file not used for the lookup and the account', got)
    parses(env, got[1], 'private.test')


@REGISTRY.case('write-creates-0600')
def c_write_new(env):
    path = os.path.join(env.tmp, 'new', 'config')
    os.makedirs(os.path.dirname(path))
    old = os.umask(0o022)
    try:
        got = env.run('--configure=alice@step1.test', '--write', '--yes',
                      '-C', path)
    finally:
        os.umask(old)
    want(got[0] == 0 and got[1] == STEP1 + '# appended account step1.test '
         'to %s\n' % path, 'not written', got)
    st = os.stat(path)
    want(stat.S_IMODE(st.st_mode) == 0o600, 'mode %o' % st.st_mode, got)
    with open(path) as f:
        want(f.read() == STEP1, 'the file differs from what was printed',
             got)
    got = env.run('-C', path, '-a', 'step1.test', '-P')
    want(got[0] == 0, 'the written file does not parse', got)


@REGISTRY.case('write-appends-refuses-duplicate')
def c_write_append(env):
    path = os.path.join(env.tmp, 'existing.conf')
    before = 'defaults\ntls on\n\naccount other\nhost other.test\n' \
        'from o@other.test'  # no final newline
    with open(path, 'w') as f:
        f.write(before)
    os.chmod(path, 0o640)
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  '-C', path)
    want(got[0] == 0, 'not appended', got)
    with open(path) as f:
        after = f.read()
    want(after == before + '\n\n' + STEP1, 'appended wrongly:\n' + after,
         got)
    want(stat.S_IMODE(os.stat(path).st_mode) == 0o640,
         'the mode of an existing file changed', got)
    for name in ('other', 'step1.test'):
        got = env.run('-C', path, '-a', name, '-P')
        want(got[0] == 0, 'account %s does not parse' % name, got)
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  '-C', path)
    want(got[0] == 64 and 'has an account step1.test already: nothing '
         'written; choose another name with -a' in got[2],
         'a duplicate was not refused', got)
    with open(path) as f:
        want(f.read() == after, 'the file changed on a duplicate', got)
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  '-a', 'second', '-C', path)
    want(got[0] == 0 and '\naccount second\n' in open(path).read(),
         '-a did not name the account', got)
    # A configuration file that is a symbolic link: its target grows.
    link = os.path.join(env.tmp, 'link.conf')
    os.symlink(path, link)
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  '-a', 'third', '-C', link)
    want(got[0] == 0 and os.path.islink(link) and
         '\naccount third\n' in open(path).read(),
         'not appended through the symbolic link', got)


@REGISTRY.case('write-default-file')
def c_write_default(env):
    home = os.path.join(env.tmp, 'home-default')
    os.makedirs(home)
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  env={'HOME': home})
    path = os.path.join(home, '.config', 'outbox', 'config')
    want(got[0] == 0 and got[1].endswith('# appended account step1.test to '
                                         '%s\n' % path), 'not written', got)
    want(stat.S_IMODE(os.stat(path).st_mode) == 0o600 and
         stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700,
         'wrong modes', got)
    got = env.run('-a', 'step1.test', '-P', env={'HOME': home})
    want(got[0] == 0 and path in got[1] + got[2],
         'outbox does not read the file it wrote', got)
    # A user whose configuration is in ~/.msmtprc: -C is needed.
    home = os.path.join(env.tmp, 'home-msmtp')
    os.makedirs(home)
    with open(os.path.join(home, '.msmtprc'), 'w') as f:
        f.write('account x\nhost x.test\nfrom x@x.test\n')
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  env={'HOME': home})
    want(got[0] == 64 and 'name the file to append to with -C' in got[2] and
         not os.path.exists(os.path.join(home, '.config')),
         'wrote beside ~/.msmtprc', got)


@REGISTRY.case('write-needs-terminal-or-yes')
def c_write_notty(env):
    path = os.path.join(env.tmp, 'notty.conf')
    got = env.run('--configure=alice@step1.test', '--write', '-C', path,
                  session=True)
    want(got[0] == 64 and 'there is no terminal to ask on: add --yes' in
         got[2], 'written without a terminal', got)
    want(not os.path.exists(path), 'the file was created anyway', got)
    code, out, err, shown = env.run_tty(
        ['--configure=alice@step1.test', '--write', '-C', path], 'n')
    want(code == 64 and 'append account step1.test to %s? [y/N] ' % path
         in shown and 'not confirmed: nothing written' in err,
         'the answer "n" was not respected', (code, out, err, shown))
    want(not os.path.exists(path), 'the file was created on "n"', err)
    code, out, err, shown = env.run_tty(
        ['--configure=alice@step1.test', '--write', '-C', path], 'y')
    want(code == 0 and os.path.exists(path) and open(path).read() == STEP1,
         'the answer "y" did not write', (code, out, err, shown))


@REGISTRY.case('write-then-check')
def c_write_check(env):
    path = os.path.join(env.tmp, 'check.conf')
    env.smtp.seen.clear()
    got = env.run('--configure=alice@step1.test', '--write', '--yes',
                  '-C', path, '--passwordeval=echo secret')
    want(got[0] == 0 and 'passwordeval echo secret\n' in got[1] and
         '# checking it: outbox --check -C %s -a step1.test\n' % path in
         got[1] and 'AUTH: PLAIN accepted' in got[1] and
         'ok: a message sent with this account would get past AUTH' in
         got[1], '--check did not pass after --write', got)
    # outbox does not wait for the 221: the server thread may still be
    # reading the QUIT when outbox has exited.
    deadline = time.monotonic() + 5
    while 'QUIT' not in env.smtp.seen and time.monotonic() < deadline:
        time.sleep(0.02)
    verbs = [s.split(' ')[0].upper() for s in env.smtp.seen]
    want(verbs == ['EHLO', 'AUTH', 'RSET', 'QUIT'],
         'the server saw %s' % env.smtp.seen, got)


def check(args):
    if os.geteuid() != 0:
        return 'must run as root (for unshare -m -n and ports 53, 80, 443)'
    return None


def run_all(names, args):
    env = Env(args.outbox, args.keep)
    try:
        try:
            env.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            print('FAIL: cannot set up the test servers: %s' % e)
            return len(names)
        failed = 0
        for name in names:
            try:
                REGISTRY.fn(name)(env)
                print('ok   %s' % name)
            except Fail as e:
                print('FAIL %s: %s' % (name, e))
                failed += 1
        return failed
    finally:
        env.stop()


def main(argv):
    if '--list' in argv or os.environ.get(NS_FLAG) == '1':
        if os.environ.get(NS_FLAG) == '1':
            # Inside the namespaces: one environment for every case named.
            names = []

            def run_one(name, args):
                names.append(name)
                return True
            ap = cases.parser(__doc__)
            args = ap.parse_args(argv)
            if not args.outbox or not os.access(args.outbox, os.X_OK):
                print('FAIL: --outbox %s is not an executable' % args.outbox)
                return 1
            args.outbox = os.path.abspath(args.outbox)
            names = (REGISTRY.names() if args.case == ['all']
                     else args.case)
            unknown = [n for n in names if n not in REGISTRY]
            if unknown or not names:
                print('FAIL: no case %s' % ', '.join(unknown))
                return 1
            failed = run_all(names, args)
            if len(names) > 1:
                print('%d of %d cases passed' % (len(names) - failed,
                                                 len(names)))
            return 1 if failed else 0
        return cases.main(REGISTRY, None, __doc__, argv)
    why = check(None)
    if why:
        print('FAIL: %s' % why)
        return 1
    env = dict(os.environ)
    env[NS_FLAG] = '1'
    return subprocess.run(['unshare', '-m', '-n', '--propagation',
                           'private', sys.executable, '-B',
                           os.path.abspath(__file__)] + argv,
                          env=env).returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
