#!/usr/bin/python3
"""The throwaway certificates of outbox's tests, made with certtool
(gnutls-bin).  Nothing here is ever committed.

usage: certs.py DIR

Writes into DIR (each NAME.pem with its NAME.key, mode 600):
  ca            the test CA (ca.pem, ca.key)
  server        localhost, 127.0.0.1 and ::1, signed by the CA
  other/        an unrelated CA and its server certificate (the
                untrusted-certificate cases)
and the hostile certificates, signed by the same CA:
  expired       valid for localhost and 127.0.0.1, expired yesterday
  notyet        valid for localhost and 127.0.0.1, from 36 hours on
  wrongname     only other.example (CN and SAN)
  wildcard      only *.localhost: must match neither localhost nor an IP
  wildcard-test only *.example.test: one label, never a.b.example.test
  partial-wildcard  only m*.example.test (not a whole leftmost label)
  cn-only       CN localhost, but the SANs name only other.example and
                ::2: no CN fallback when a SAN exists
  altname       only mail.example.test (for tls_host_override)
  revoked       valid for localhost and 127.0.0.1, but listed in crl.pem
  crl.pem       a CRL from the test CA revoking revoked.pem
  leafsigned    valid for 127.0.0.1, but signed by server.pem (not a CA);
                leafsigned-chain.pem holds it followed by server.pem
  nulname       only "localhost\\0.evil.example" (a NUL inside the SAN,
                CVE-2009-3942): must not match localhost
  ipdns         127.0.0.1 as a DNS name (and CN), no IP address SAN
  ipcn          127.0.0.1 in the CN only, no SAN at all
  selfsigned    localhost and 127.0.0.1, signed by its own key
  client        a TLS client certificate (CN alice)

Everything is valid for two days; a DIR made less than a day ago (and
after this file last changed) is left as it is.  Exit 69 without
certtool.  Standard library only.
"""

import os
import shutil
import subprocess
import sys
import time

DAY = 86400
SERVER = ('tls_www_server\nsigning_key\nencryption_key\n'
          'expiration_days = 2\n')
LOCAL = 'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\n'


def stamp(t):
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t))


def hostile(now):
    """NAME: (template, signer) of every hostile certificate."""
    dated = ('tls_www_server\nsigning_key\nencryption_key\n'
             'activation_date = "%s"\nexpiration_date = "%s"\n')
    return {
        'expired': (LOCAL + dated % (stamp(now - 3 * DAY),
                                     stamp(now - DAY)), 'ca'),
        'notyet': (LOCAL + dated % (stamp(now + 3 * DAY // 2),
                                    stamp(now + 3 * DAY)), 'ca'),
        'wrongname': ('cn = "other.example"\ndns_name = "other.example"\n'
                      + SERVER, 'ca'),
        'wildcard': ('cn = "*.localhost"\ndns_name = "*.localhost"\n'
                     + SERVER, 'ca'),
        'wildcard-test': ('cn = "*.example.test"\n'
                          'dns_name = "*.example.test"\n' + SERVER, 'ca'),
        'partial-wildcard': ('cn = "m*.example.test"\n'
                             'dns_name = "m*.example.test"\n' + SERVER,
                             'ca'),
        'cn-only': ('cn = "localhost"\ndns_name = "other.example"\n'
                    'ip_address = "::2"\n' + SERVER, 'ca'),
        'altname': ('cn = "mail.example.test"\n'
                    'dns_name = "mail.example.test"\n' + SERVER, 'ca'),
        'revoked': (LOCAL + SERVER, 'ca'),
        'selfsigned': (LOCAL + SERVER, None),
        # "Issued" by the server's own leaf certificate, which is not a
        # CA: a chain through it must be refused (basicConstraints).
        'leafsigned': (LOCAL + SERVER, 'server'),
        # subjectAltName = SEQUENCE { [2] "localhost" NUL ".evil.example" }
        # as raw DER, since no template option can hold a NUL.
        'nulname': ('cn = "evil.example"\nadd_extension = "2.5.29.17 '
                    '0x301982176c6f63616c686f7374002e6576696c2e6578616d706c65"'
                    '\n' + SERVER, 'ca'),
        'ipdns': ('cn = "127.0.0.1"\ndns_name = "127.0.0.1"\n' + SERVER,
                  'ca'),
        'ipcn': ('cn = "127.0.0.1"\n' + SERVER, 'ca'),
        'client': ('cn = "alice"\ntls_www_client\nsigning_key\n'
                   'encryption_key\nexpiration_days = 2\n', 'ca'),
    }


def certtool(d, *args):
    subprocess.run(['certtool'] + list(args), cwd=d, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def issue(d, name, template, signer='ca'):
    """NAME.key and NAME.pem signed by SIGNER (ca: self-signed)."""
    with open(os.path.join(d, name + '.tmpl'), 'w') as f:
        f.write(template)
    certtool(d, '--generate-privkey', '--key-type', 'ecdsa',
             '--outfile', name + '.key')
    os.chmod(os.path.join(d, name + '.key'), 0o600)
    if signer is None:
        certtool(d, '--generate-self-signed', '--load-privkey', name + '.key',
                 '--template', name + '.tmpl', '--outfile', name + '.pem')
    else:
        certtool(d, '--generate-certificate', '--load-privkey',
                 name + '.key', '--load-ca-certificate', signer + '.pem',
                 '--load-ca-privkey', signer + '.key', '--template',
                 name + '.tmpl', '--outfile', name + '.pem')


def ca_and_server(d):
    os.makedirs(d, exist_ok=True)
    issue(d, 'ca', 'cn = "outbox test CA"\nca\ncert_signing_key\n'
          'crl_signing_key\nexpiration_days = 2\n', None)
    issue(d, 'server', LOCAL + 'ip_address = "::1"\n' + SERVER)


def fresh(d):
    """DIR was made within the last day, by this version of the file."""
    try:
        made = os.stat(os.path.join(d, 'certs.stamp')).st_mtime
    except FileNotFoundError:
        return False
    return (time.time() - made < DAY and
            made > os.stat(os.path.abspath(__file__)).st_mtime)


def make(d):
    """Make every certificate in D unless it is fresh; True when made."""
    if fresh(d):
        return False
    if shutil.which('certtool') is None:
        raise SystemExit('certs.py: certtool not found '
                         '(apt-get install gnutls-bin)')
    os.makedirs(d, exist_ok=True)
    stampfile = os.path.join(d, 'certs.stamp')
    if os.path.exists(stampfile):
        os.unlink(stampfile)
    ca_and_server(d)
    ca_and_server(os.path.join(d, 'other'))
    for name, (template, signer) in hostile(int(time.time())).items():
        issue(d, name, template, signer)
    with open(os.path.join(d, 'crl.tmpl'), 'w') as f:
        f.write('crl_next_update = 2\ncrl_number = 1\n')
    certtool(d, '--generate-crl', '--load-ca-privkey', 'ca.key',
             '--load-ca-certificate', 'ca.pem', '--load-certificate',
             'revoked.pem', '--template', 'crl.tmpl', '--outfile', 'crl.pem')
    with open(os.path.join(d, 'leafsigned-chain.pem'), 'wb') as out:
        for name in ('leafsigned.pem', 'server.pem'):
            with open(os.path.join(d, name), 'rb') as f:
                out.write(f.read())
    with open(stampfile, 'w') as f:
        f.write('made %s\n' % time.strftime('%Y-%m-%d %H:%M:%S UTC',
                                            time.gmtime()))
    return True


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    try:
        make(argv[1])
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 69
    except subprocess.CalledProcessError as e:
        print('certs.py: %s failed' % ' '.join(e.cmd), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
