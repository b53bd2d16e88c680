#!/usr/bin/python3
"""A fake OAuth2 authorization server for outbox's tests: HTTPS on
127.0.0.1 with the test CA (certs.py), the real expiry and rotation
rules against its own clock, and a control API on loopback HTTP.

usage: authserver.py --certs DIR [--log FILE]

Prints "PORT N CONTROL M UNTRUSTED U" once it listens: N the HTTPS port
(server.pem of DIR), M the plain-HTTP control port, U a second HTTPS
port serving the same endpoints with DIR/other/server.pem, a certificate
from a CA the client must not trust.

Endpoints (HTTPS, all answers JSON):
  GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
  POST /register     RFC 7591 dynamic registration of a public client
  POST /device       RFC 8628 device authorization
  GET  /authorize    authorization code + PKCE S256 (RFC 7636): the
                     "browser" is answered with a 302 to redirect_uri
                     carrying code and state (access_denied when the
                     control API said "deny")
  POST /token        grant_type device_code, authorization_code,
                     refresh_token (each refresh token single-use: a new
                     one every refresh, a reused one is invalid_grant)
  POST /introspect   RFC 7662, for Dovecot's passdb oauth2
                     ({"active": false} for expired, revoked, unknown)

Rules: access tokens live 3600 s; a refresh token dies after 90 days
unused; a device code after 600 s (expired_token); polling faster than
the interval is slow_down.  Known clients: "outbox-test" (public),
"outbox-secret" with secret "s3cret" (confidential), and any registered
one; another client_id is invalid_client.

Control API (HTTP on 127.0.0.1, POST bodies JSON, answers JSON):
  GET  /state              grants (user, refreshes, current tokens,
                           revoked), device codes, clock, counters
  POST /seed {user, client_id?}     a grant made without a flow: tokens
  POST /device/approve {user_code?, user?}  (no user_code: all pending)
  POST /device/deny {user_code?}
  POST /authorize {deny: bool, user}        how /authorize answers next
  POST /revoke {grant?}    revoke one grant (or all): its tokens die
  POST /expire-access {grant?}   its access tokens expire now
  POST /clock {now: EPOCH} or {advance: SECONDS}
  POST /mode {mode, paths?}  hostile answers for PATHS (default /token,
                           /device, /register and the metadata): none,
                           slow, oversized, truncated, malformed, html,
                           endless, redirect-http, loop, 500
  POST /config {interval?, device_expires_in?, access_lifetime?,
                rotate?, refresh_idle?, slow_down_first?}
Standard library only.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DAY = 86400
OAUTH_PATHS = ['/token', '/device', '/register',
               '/.well-known/oauth-authorization-server']


class State:
    def __init__(self, log):
        self.lock = threading.RLock()
        self.offset = 0.0
        self.log_path = log
        self.clients = {'outbox-test': None, 'outbox-secret': 's3cret'}
        self.grants = {}        # id -> grant dict
        self.refresh = {}       # refresh token -> (grant id, used?)
        self.access = {}        # access token -> (grant id, exp)
        self.devices = {}       # device_code -> dict
        self.codes = {}         # auth code -> dict
        self.mode = 'none'
        self.mode_paths = list(OAUTH_PATHS)
        self.authorize_deny = False
        self.authorize_user = 'alice@example.test'
        self.cfg = {'interval': 1, 'device_expires_in': 600,
                    'access_lifetime': 3600, 'rotate': True,
                    'refresh_idle': 90 * DAY, 'slow_down_first': False}
        self.counters = {'token_requests': 0, 'refreshes': 0,
                         'introspections': 0, 'registrations': 0,
                         'device_polls': 0, 'requests': 0}
        self.next_grant = 1

    def now(self):
        return time.time() + self.offset

    def log(self, **ev):
        if not self.log_path:
            return
        ev['t'] = int(self.now())
        with self.lock, open(self.log_path, 'a') as f:
            f.write(json.dumps(ev) + '\n')

    def new_grant(self, user, client_id, scope='mail'):
        gid = 'g%d' % self.next_grant
        self.next_grant += 1
        g = {'id': gid, 'user': user, 'client_id': client_id,
             'scope': scope, 'refreshes': 0, 'revoked': False,
             'refresh_token': None, 'access_token': None, 'expires_at': 0,
             'refresh_used_at': self.now(), 'created': self.now()}
        self.grants[gid] = g
        return g

    def issue(self, g, new_refresh=True):
        now = self.now()
        at = 'at-' + secrets.token_urlsafe(24)
        exp = int(now + self.cfg['access_lifetime'])
        self.access[at] = (g['id'], exp)
        g['access_token'] = at
        g['expires_at'] = exp
        out = {'access_token': at, 'token_type': 'Bearer',
               'expires_in': self.cfg['access_lifetime'],
               'scope': g['scope']}
        if new_refresh:
            rt = 'rt-' + secrets.token_urlsafe(24)
            self.refresh[rt] = [g['id'], False]
            g['refresh_token'] = rt
            out['refresh_token'] = rt
        g['refresh_used_at'] = now
        return out

    def snapshot(self):
        return {'now': self.now(), 'offset': self.offset,
                'mode': self.mode, 'counters': dict(self.counters),
                'grants': {k: dict(v) for k, v in self.grants.items()},
                'devices': {k: dict(v) for k, v in self.devices.items()},
                'clients': sorted(self.clients)}


def form(body):
    return {k: v[0] for k, v in urllib.parse.parse_qs(
        body.decode('utf-8', 'replace'), keep_blank_values=True).items()}


class OAuthHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'authserver'
    sys_version = ''

    def log_message(self, fmt, *args):
        pass

    @property
    def st(self):
        return self.server.st

    def base(self):
        return 'https://127.0.0.1:%d' % self.server.server_address[1]

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def send_json(self, obj, code=200, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-store')
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, err, code=400, desc=None):
        obj = {'error': err}
        if desc:
            obj['error_description'] = desc
        self.send_json(obj, code)

    def hostile(self, path):
        """Answer in the hostile mode; True when it did."""
        st = self.st
        mode = st.mode
        if mode == 'none' or path not in st.mode_paths:
            return False
        st.log(ev='hostile', mode=mode, path=path)
        if mode == 'slow':
            time.sleep(60)
            self.error('temporarily_unavailable', 503)
        elif mode == 'oversized':
            data = b'{"access_token":"' + b'A' * (4 << 20) + b'"}'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif mode == 'truncated':
            data = b'{"access_token":"at-cut","expires_in":3600,'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data) + 40))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True
        elif mode == 'malformed':
            data = b'{"access_token": at-x, "expires_in": }'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif mode == 'html':
            data = (b'<!DOCTYPE html><html><head><title>Sign in</title>'
                    b'</head><body><p>Please sign in.</p></body></html>\n')
            self.send_response(200)
            self.send_header('Content-Type', 'text/html; charset=utf-8')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif mode == 'endless':
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            chunk = b'{"a":' * 1024
            line = b'%x\r\n' % len(chunk) + chunk + b'\r\n'
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    self.wfile.write(line)
            except OSError:
                pass
            self.close_connection = True
        elif mode == 'redirect-http':
            self.send_response(307)
            self.send_header('Location', 'http://127.0.0.1:%d%s' % (
                self.server.control_port, path))
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif mode == 'loop':
            self.send_response(307)
            self.send_header('Location', self.base() + path + '?n=%d' %
                             secrets.randbelow(1 << 30))
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif mode == '500':
            self.error('server_error', 500)
        return True

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        with self.st.lock:
            self.st.counters['requests'] += 1
        self.st.log(ev='request', method='GET', path=u.path)
        if self.hostile(u.path):
            return
        if u.path == '/.well-known/oauth-authorization-server':
            b = self.base()
            return self.send_json({
                'issuer': b,
                'authorization_endpoint': b + '/authorize',
                'token_endpoint': b + '/token',
                'device_authorization_endpoint': b + '/device',
                'registration_endpoint': b + '/register',
                'introspection_endpoint': b + '/introspect',
                'response_types_supported': ['code'],
                'grant_types_supported': [
                    'authorization_code', 'refresh_token',
                    'urn:ietf:params:oauth:grant-type:device_code'],
                'code_challenge_methods_supported': ['S256'],
                'token_endpoint_auth_methods_supported': [
                    'none', 'client_secret_post', 'client_secret_basic'],
                'scopes_supported': ['mail', 'offline_access']})
        if u.path == '/authorize':
            return self.authorize(form(u.query.encode()))
        self.error('not_found', 404)

    def authorize(self, q):
        st = self.st
        redirect = q.get('redirect_uri', '')
        if q.get('client_id') not in st.clients:
            return self.error('invalid_client', 400, 'unknown client_id')
        if not redirect:
            return self.error('invalid_request', 400, 'no redirect_uri')
        sep = '&' if '?' in redirect else '?'
        params = {}
        if 'state' in q:
            params['state'] = q['state']
        if q.get('response_type') != 'code':
            params['error'] = 'unsupported_response_type'
        elif (q.get('code_challenge_method') != 'S256' or
              not q.get('code_challenge')):
            params['error'] = 'invalid_request'
            params['error_description'] = 'PKCE S256 required'
        elif st.authorize_deny:
            params['error'] = 'access_denied'
        else:
            code = 'ac-' + secrets.token_urlsafe(16)
            with st.lock:
                st.codes[code] = {'client_id': q['client_id'],
                                  'redirect_uri': redirect,
                                  'challenge': q['code_challenge'],
                                  'scope': q.get('scope', 'mail'),
                                  'user': st.authorize_user,
                                  'exp': st.now() + 600}
            params['code'] = code
        st.log(ev='authorize', result=params.get('error', 'code'))
        self.send_response(302)
        self.send_header('Location', redirect + sep +
                         urllib.parse.urlencode(params))
        self.send_header('Content-Length', '0')
        self.end_headers()

    def client_of(self, f):
        """The client_id when the client authenticates, else None."""
        cid, secret = f.get('client_id'), f.get('client_secret')
        auth = self.headers.get('Authorization', '')
        if auth.startswith('Basic '):
            try:
                cid, _, secret = base64.b64decode(
                    auth[6:]).decode().partition(':')
                cid = urllib.parse.unquote_plus(cid)
                secret = urllib.parse.unquote_plus(secret)
            except Exception:
                return None
        if cid not in self.st.clients:
            return None
        want = self.st.clients[cid]
        if want is not None and secret != want:
            return None
        return cid

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        data = self.body()
        st = self.st
        with st.lock:
            st.counters['requests'] += 1
        st.log(ev='request', method='POST', path=u.path)
        if self.hostile(u.path):
            return
        if u.path == '/register':
            return self.register(data)
        f = form(data)
        if u.path == '/introspect':
            return self.introspect(f)
        if u.path == '/device':
            cid = self.client_of(f)
            if cid is None:
                return self.error('invalid_client', 401)
            with st.lock:
                dc = 'dc-' + secrets.token_urlsafe(16)
                uc = '%04d-%04d' % (secrets.randbelow(10000),
                                    secrets.randbelow(10000))
                st.devices[dc] = {'user_code': uc, 'client_id': cid,
                                  'scope': f.get('scope', 'mail'),
                                  'state': 'pending',
                                  'exp': st.now() + st.cfg[
                                      'device_expires_in'],
                                  'last_poll': 0, 'polls': 0,
                                  'poll_times': [],
                                  'slow_downs': 0,
                                  'interval': st.cfg['interval']}
            st.log(ev='device', user_code=uc)
            return self.send_json({
                'device_code': dc, 'user_code': uc,
                'verification_uri': self.base() + '/device-login',
                'verification_uri_complete':
                    self.base() + '/device-login?code=' + uc,
                'expires_in': st.cfg['device_expires_in'],
                'interval': st.cfg['interval']})
        if u.path == '/token':
            return self.token(f)
        self.error('not_found', 404)

    def register(self, data):
        st = self.st
        try:
            meta = json.loads(data or b'{}')
            if not isinstance(meta, dict):
                raise ValueError
        except ValueError:
            return self.error('invalid_client_metadata', 400)
        with st.lock:
            cid = 'dyn-' + secrets.token_urlsafe(8)
            st.clients[cid] = None
            st.counters['registrations'] += 1
        st.log(ev='register', client_id=cid)
        out = dict(meta)
        out.update(client_id=cid, client_id_issued_at=int(st.now()),
                   token_endpoint_auth_method='none')
        self.send_json(out, 201)

    def introspect(self, f):
        st = self.st
        tok = f.get('token', '')
        with st.lock:
            st.counters['introspections'] += 1
            hit = st.access.get(tok)
            g = st.grants.get(hit[0]) if hit else None
            active = bool(g and not g['revoked'] and hit[1] > st.now())
        st.log(ev='introspect', active=active)
        if not active:
            return self.send_json({'active': False})
        self.send_json({'active': True, 'username': g['user'],
                        'sub': g['user'], 'email': g['user'],
                        'scope': g['scope'], 'client_id': g['client_id'],
                        'token_type': 'Bearer', 'exp': hit[1]})

    def token(self, f):
        st = self.st
        gt = f.get('grant_type')
        with st.lock:
            st.counters['token_requests'] += 1
            cid = self.client_of(f)
            if cid is None:
                st.log(ev='token', grant_type=gt, result='invalid_client')
                return self.error('invalid_client', 401)
            if gt == 'refresh_token':
                return self.refresh(f, cid)
            if gt == 'urn:ietf:params:oauth:grant-type:device_code':
                return self.device_poll(f, cid)
            if gt == 'authorization_code':
                return self.code(f, cid)
        self.error('unsupported_grant_type')

    def refresh(self, f, cid):
        st = self.st
        rt = f.get('refresh_token', '')
        ent = st.refresh.get(rt)
        g = st.grants.get(ent[0]) if ent else None
        why = None
        if g is None:
            why = 'unknown refresh token'
        elif g['client_id'] != cid:
            why = 'refresh token of another client'
        elif g['revoked']:
            why = 'revoked'
        elif ent[1]:
            why = 'refresh token already used'
        elif st.now() - g['refresh_used_at'] > st.cfg['refresh_idle']:
            why = 'refresh token expired after inactivity'
        if why:
            st.log(ev='token', grant_type='refresh_token',
                   result='invalid_grant', why=why,
                   grant=g['id'] if g else None)
            return self.error('invalid_grant', 400, why)
        rotate = st.cfg['rotate']
        if rotate:
            ent[1] = True
        st.counters['refreshes'] += 1
        g['refreshes'] += 1
        out = st.issue(g, new_refresh=rotate)
        st.log(ev='token', grant_type='refresh_token', result='ok',
               grant=g['id'], refreshes=g['refreshes'])
        self.send_json(out)

    def device_poll(self, f, cid):
        st = self.st
        st.counters['device_polls'] += 1
        d = st.devices.get(f.get('device_code', ''))
        if d is None or d['client_id'] != cid:
            return self.error('invalid_grant')
        now = st.now()
        d['polls'] += 1
        d['poll_times'].append(now)
        if st.cfg['slow_down_first'] and d['polls'] == 1:
            d['interval'] += 5
            d['slow_downs'] += 1
            d['last_poll'] = now
            return self.error('slow_down')
        if now > d['exp']:
            d['state'] = 'expired'
            return self.error('expired_token')
        if d['state'] == 'denied':
            return self.error('access_denied')
        if d['state'] == 'done':
            return self.error('invalid_grant', 400, 'device code used')
        if now - d['last_poll'] < d['interval'] - 0.2:
            d['interval'] += 5
            d['slow_downs'] += 1
            d['last_poll'] = now
            return self.error('slow_down')
        d['last_poll'] = now
        if d['state'] == 'pending':
            return self.error('authorization_pending')
        d['state'] = 'done'
        g = st.new_grant(d.get('user', 'alice@example.test'), cid,
                         d['scope'])
        st.log(ev='token', grant_type='device_code', result='ok',
               grant=g['id'])
        self.send_json(st.issue(g))

    def code(self, f, cid):
        st = self.st
        c = st.codes.pop(f.get('code', ''), None)
        verifier = f.get('code_verifier', '')
        why = None
        if c is None:
            why = 'unknown or used code'
        elif c['client_id'] != cid:
            why = 'code of another client'
        elif c['redirect_uri'] != f.get('redirect_uri'):
            why = 'redirect_uri differs'
        elif st.now() > c['exp']:
            why = 'code expired'
        elif not verifier:
            why = 'no code_verifier'
        else:
            digest = base64.urlsafe_b64encode(hashlib.sha256(
                verifier.encode()).digest()).rstrip(b'=').decode()
            if digest != c['challenge']:
                why = 'code_verifier does not match'
        if why:
            st.log(ev='token', grant_type='authorization_code',
                   result='invalid_grant', why=why)
            return self.error('invalid_grant', 400, why)
        g = st.new_grant(c['user'], cid, c['scope'])
        st.log(ev='token', grant_type='authorization_code', result='ok',
               grant=g['id'])
        self.send_json(st.issue(g))


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def reply(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.st
        if self.path == '/state':
            with st.lock:
                return self.reply(st.snapshot())
        # The target of the redirect-http mode: it must never be reached.
        st.log(ev='plain-http', path=self.path)
        self.reply({'error': 'plain http reached'}, 400)

    def do_POST(self):
        st = self.server.st
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        if self.path not in CONTROL:
            st.log(ev='plain-http', path=self.path)
            return self.reply({'error': 'plain http reached'}, 400)
        try:
            req = json.loads(raw or b'{}')
        except ValueError:
            return self.reply({'error': 'bad json'}, 400)
        with st.lock:
            try:
                out = CONTROL[self.path](st, req)
            except (KeyError, ValueError) as e:
                return self.reply({'error': str(e)}, 400)
        self.reply(out)


def c_seed(st, req):
    cid = req.get('client_id', 'outbox-test')
    if cid not in st.clients:
        st.clients[cid] = None
    g = st.new_grant(req.get('user', 'alice@example.test'), cid,
                     req.get('scope', 'mail'))
    out = st.issue(g)
    out['grant'] = g['id']
    out['expires_at'] = g['expires_at']
    return out


def _devices(st, req):
    uc = req.get('user_code')
    ds = [d for d in st.devices.values()
          if d['state'] == 'pending' and (uc is None or d['user_code'] == uc)]
    if not ds:
        raise KeyError('no pending device code')
    return ds


def c_approve(st, req):
    ds = _devices(st, req)
    for d in ds:
        d['state'] = 'approved'
        d['user'] = req.get('user', 'alice@example.test')
    return {'approved': len(ds)}


def c_deny(st, req):
    ds = _devices(st, req)
    for d in ds:
        d['state'] = 'denied'
    return {'denied': len(ds)}


def c_authorize(st, req):
    st.authorize_deny = bool(req.get('deny'))
    st.authorize_user = req.get('user', st.authorize_user)
    return {'deny': st.authorize_deny}


def c_revoke(st, req):
    gs = [st.grants[req['grant']]] if 'grant' in req else \
        list(st.grants.values())
    for g in gs:
        g['revoked'] = True
    return {'revoked': [g['id'] for g in gs]}


def c_expire(st, req):
    n = 0
    for at, (gid, exp) in list(st.access.items()):
        if 'grant' not in req or gid == req['grant']:
            st.access[at] = (gid, int(st.now()) - 1)
            st.grants[gid]['expires_at'] = int(st.now()) - 1
            n += 1
    return {'expired': n}


def c_clock(st, req):
    if 'now' in req:
        st.offset = float(req['now']) - time.time()
    elif 'advance' in req:
        st.offset += float(req['advance'])
    else:
        raise KeyError('now or advance')
    return {'now': st.now(), 'offset': st.offset}


MODES = ('none', 'slow', 'oversized', 'truncated', 'malformed', 'html',
         'endless', 'redirect-http', 'loop', '500')


def c_mode(st, req):
    if req.get('mode') not in MODES:
        raise ValueError('mode must be one of ' + ' '.join(MODES))
    st.mode = req['mode']
    st.mode_paths = list(req.get('paths') or OAUTH_PATHS)
    return {'mode': st.mode, 'paths': st.mode_paths}


def c_config(st, req):
    for k, v in req.items():
        if k not in st.cfg:
            raise KeyError('no setting ' + k)
        st.cfg[k] = v
    return dict(st.cfg)


CONTROL = {'/seed': c_seed, '/device/approve': c_approve,
           '/device/deny': c_deny, '/authorize': c_authorize,
           '/revoke': c_revoke, '/expire-access': c_expire,
           '/clock': c_clock, '/mode': c_mode, '/config': c_config}


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, st, ctx, control_port):
        self.st = st
        self.control_port = control_port
        self.ctx = ctx
        super().__init__(('127.0.0.1', 0), OAuthHandler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return sock, addr

    def finish_request(self, request, client_address):
        # The handshake in the request's own thread, so a client that
        # never finishes it (or refuses the certificate) blocks no one.
        try:
            request.settimeout(30)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.st.log(ev='tls-failed', port=self.server_address[1],
                        error=str(e)[:200])
            return
        self.RequestHandlerClass(tls, client_address, self)


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def serve(certs, log):
    st = State(log)
    control = ThreadingHTTPServer(('127.0.0.1', 0), ControlHandler)
    control.daemon_threads = True
    control.st = st
    cport = control.server_address[1]
    main = TLSServer(st, context(os.path.join(certs, 'server.pem'),
                                 os.path.join(certs, 'server.key')), cport)
    bad = TLSServer(st, context(os.path.join(certs, 'other', 'server.pem'),
                                os.path.join(certs, 'other', 'server.key')),
                    cport)
    for s in (control, bad):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print('PORT %d CONTROL %d UNTRUSTED %d' % (
        main.server_address[1], cport, bad.server_address[1]), flush=True)
    main.serve_forever()


# ---- used by the runners ------------------------------------------------

class AuthServer:
    """authserver.py as a child process (stopped at exit, see procs.py),
    and a client of its control API."""

    def __init__(self, workdir, certs, name='authserver'):
        import re
        from . import procs, PY
        self.log = os.path.join(workdir, name + '.log')
        self.certs = certs
        self.proc = procs.spawn([PY, os.path.abspath(__file__), '--certs',
                                 certs, '--log', self.log])
        line = self.proc.stdout.readline().decode()
        m = re.match(r'PORT (\d+) CONTROL (\d+) UNTRUSTED (\d+)', line)
        if not m:
            self.proc.kill()
            raise procs.Failure('authserver.py did not start: %r' % line)
        self.port, self.control, self.untrusted = map(int, m.groups())
        self.url = 'https://127.0.0.1:%d' % self.port

    def call(self, path, req=None):
        import urllib.request
        data = None if req is None else json.dumps(req).encode()
        r = urllib.request.Request('http://127.0.0.1:%d%s' % (
            self.control, path), data=data,
            headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(r, timeout=10) as f:
                return json.loads(f.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError('control %s: %s' % (path, e.read().decode()))

    def state(self):
        return self.call('/state')

    def grant(self, gid):
        return self.state()['grants'][gid]

    def events(self, ev=None):
        from . import procs
        return procs.read_events(self.log, ev)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--certs', required=True)
    ap.add_argument('--log')
    args = ap.parse_args(argv)
    try:
        serve(args.certs, args.log)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
