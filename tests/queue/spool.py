#!/usr/bin/python3
"""The system queue: users without a configuration of their own hand
their mail to outbox-drop, root's queue run takes it.

Usage: spool.py --outbox PATH system-spool   (ctest: queue/system-spool)
       spool.py --list

Runs as root (CI does); otherwise it exits 77 saying why.  Everything
happens in a private mount namespace: a tmpfs over the spool directories,
and private copies of /etc/passwd and /etc/group naming the test users,
so the machine's own files and users are never touched.  The server is
aiosmtpd, recording each message's envelope and content.

Checks: three users and www-data submit while the server is down (so
nothing could be sent directly); root's mailq lists the four; one flush
delivers all four with the right senders; a sender a user may not claim is
refused and delivered to nobody; a user cannot list, read, change or
remove another's drop file; a symlink or a second hard link planted in
the drop directory is removed unread; outbox-drop refuses an envelope
with a control character and a drop directory with a loose mode.
"""

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

from qlib import Failure, RealSink, check  # noqa: E402
from outboxtest import cases  # noqa: E402

NAME = 'system-spool'
GID = 60100
USERS = {'alice': 60001, 'bob': 60002, 'carol': 60003}


def in_namespace(argv):
    """Re-run this script in a private mount namespace."""
    if os.environ.get('OUTBOX_SPOOL_NS') == '1':
        return
    env = dict(os.environ, OUTBOX_SPOOL_NS='1')
    r = subprocess.run(['unshare', '--mount', '--propagation', 'private',
                        sys.executable] + argv, env=env)
    sys.exit(r.returncode)


def drop_dir(outbox):
    out = subprocess.run([outbox, '--version'], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("System queue's drop directory: "):
            return line.split(': ', 1)[1].split(' (')[0]
    raise Failure('outbox --version names no drop directory:\n' + out)


def deepest_existing(path):
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    return path


def private_tree(drop):
    """tmpfs over the spools; passwd and group with the test users."""
    for top in {'/var/spool', deepest_existing(os.path.dirname(drop))}:
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'tmpfs',
                        top], check=True)
    etc = tempfile.mkdtemp(prefix='outbox-spool-etc-')
    with open('/etc/passwd') as f:
        passwd = f.read()
    with open('/etc/group') as f:
        group = f.read()
    for name, uid in USERS.items():
        passwd += '%s:x:%d:%d::/nonexistent:/bin/sh\n' % (name, uid, uid)
        group += '%s:x:%d:\n' % (name, uid)
    group += 'outboxdrop:x:%d:\n' % GID
    for name, text in (('passwd', passwd), ('group', group)):
        p = os.path.join(etc, name)
        with open(p, 'w') as f:
            f.write(text)
        os.chmod(p, 0o644)
        subprocess.run(['mount', '--bind', p, '/etc/' + name], check=True)


def as_user(name, argv, stdin=b'', env=None, groups=None):
    uid = USERS.get(name) or pwd.getpwnam(name).pw_uid
    gid = pwd.getpwuid(uid).pw_gid
    cmd = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid] + \
        (['--groups=%s' % groups] if groups else ['--clear-groups']) + \
        ['--'] + argv
    e = {'PATH': '/usr/bin:/bin', 'HOME': '/nonexistent', 'USER': name,
         'LANG': 'C'}
    e.update(env or {})
    return subprocess.run(cmd, input=stdin, capture_output=True, env=e)


def run(args):
    if os.geteuid() != 0:
        print('skipped: the system queue test needs root (users, a '
              'set-group-ID program, a private mount namespace)')
        sys.exit(77)
    in_namespace([os.path.abspath(__file__), '--outbox', args.outbox, NAME])
    outbox = args.outbox
    drop = drop_dir(outbox)
    private_tree(drop)

    # The installation: outbox and a set-group-ID outbox-drop beside it.
    bindir = '/var/spool/outbox-test-bin'
    os.makedirs(bindir)
    os.chmod(bindir, 0o755)
    for prog in ('outbox', 'outbox-drop'):
        shutil.copy(os.path.join(os.path.dirname(outbox), prog), bindir)
    ob = os.path.join(bindir, 'outbox')
    dp = os.path.join(bindir, 'outbox-drop')
    os.chown(dp, 0, GID)
    os.chmod(dp, 0o2755)
    os.makedirs(drop)
    os.chown(drop, 0, GID)

    # A loose drop directory is refused, naming itself.
    os.chmod(drop, 0o1777)
    r = as_user('alice', [ob, 'bob@example.net'], b'Subject: x\n\nx\n')
    check(r.returncode != 0, 'a 1777 drop directory was used')
    check(b'must have mode 1730' in r.stderr,
          'the loose mode is not named: %r' % r.stderr)
    check(os.listdir(drop) == [], 'a file was left in a loose directory')
    os.chmod(drop, 0o1730)

    # root's configuration; the server is down for now.
    sink = RealSink()
    roothome = '/var/spool/outbox-test-root'
    os.makedirs(roothome + '/.config/outbox')
    senders = roothome + '/drop-senders'
    with open(senders, 'w') as f:
        f.write('# who may send as whom\nwww-data: *@shop.example\n')
    with open(roothome + '/.config/outbox/config', 'w') as f:
        f.write('host 127.0.0.1\nport %d\nfrom root@example.org\n'
                'maildomain example.org\ndrop_senders %s\n'
                'queue on-failure\nqueue_background off\ntimeout 5\n'
                % (sink.port, senders))
    rootenv = {'HOME': roothome, 'PATH': '/usr/bin:/bin', 'LANG': 'C'}

    # Three users and www-data submit.
    subs = [
        ('alice', [ob, 'dave@example.net'], 'alice@example.org'),
        ('bob', [ob, '-f', 'bob@example.org', '-oi', 'erin@example.net'],
         'bob@example.org'),
        ('carol', [ob, '-t'], 'carol@example.org'),
        ('www-data', [ob, '-t', '-i', '-f', 'orders@shop.example'],
         'orders@shop.example'),
    ]
    for user, argv, _ in subs:
        msg = ('To: %s-rcpt@example.net\nSubject: from %s\n\nbody of %s\n'
               % (user, user, user)).encode()
        r = as_user(user, argv, msg)
        check(r.returncode == 0, '%s: exit %d: %r' % (user, r.returncode,
                                                    r.stderr))
        check(r.stderr == b'', '%s: stderr %r' % (user, r.stderr))
    # carol claims an address she may not use.
    r = as_user('carol', [ob, '-f', 'ceo@example.org', 'x@example.net'],
                b'Subject: forged\n\nforged\n')
    check(r.returncode == 0, 'the forged drop was not accepted for pickup')
    # A control character never reaches the drop directory.
    r = as_user('alice', [ob, 'a@example.net\r\nRCPT TO:<b@example.net>'],
                b'Subject: x\n\nx\n')
    check(r.returncode == 64, 'a CR LF recipient: exit %d' % r.returncode)

    files = sorted(os.listdir(drop))
    check(len(files) == 5, 'drop files: %r' % files)
    owners = {}
    for name in files:
        st = os.lstat(os.path.join(drop, name))
        check(stat.S_IMODE(st.st_mode) == 0o600, '%s mode %o' % (
            name, stat.S_IMODE(st.st_mode)))
        check(st.st_gid == GID, '%s group %d' % (name, st.st_gid))
        owners.setdefault(pwd.getpwuid(st.st_uid).pw_name, []).append(name)
    check(sorted(owners) == ['alice', 'bob', 'carol', 'www-data'],
          'owners %r' % owners)

    # Another user cannot list, read, change or remove bob's file.
    bobs = os.path.join(drop, owners['bob'][0])
    before = open(bobs, 'rb').read()
    for argv in (['ls', drop], ['cat', bobs], ['rm', '-f', bobs],
                 ['sh', '-c', 'echo x >> ' + bobs],
                 ['mv', bobs, drop + '/stolen.drop']):
        r = as_user('alice', argv)
        check(r.returncode != 0, 'alice could run %r' % argv)
    check(open(bobs, 'rb').read() == before, "bob's drop file changed")
    # Only outbox-drop creates files there: not a user by hand.
    planted = drop + '/1.1.00000001.drop'
    target = roothome + '/.config/outbox/config'
    r = as_user('alice', ['ln', '-s', target, planted])
    check(r.returncode != 0, 'alice created a file in the drop directory')
    # A member of the drop group (or a flaw in outbox-drop) could plant
    # a symlink to root's configuration, or a second link of a file:
    # both are removed unread.
    r = as_user('alice', ['ln', '-s', target, planted], groups=str(GID))
    check(r.returncode == 0, 'could not plant a symlink: %r' % r.stderr)
    alices = os.path.join(drop, owners['alice'][0])
    r = as_user('alice', ['ln', alices, drop + '/1.1.00000002.drop'],
                groups=str(GID))
    check(r.returncode == 0, 'could not plant a link: %r' % r.stderr)

    # root's mailq takes the drops and lists the four.
    r = subprocess.run([ob, '-bp'], capture_output=True, env=rootenv)
    out = r.stdout.decode()
    check(r.returncode == 0, '-bp exit %d: %r' % (r.returncode, r.stderr))
    check('4 messages queued' in out, '-bp:\n%s\nstderr: %s'
          % (out, r.stderr.decode()))
    for _, _, sender in subs:
        check('from <%s>' % sender in out, '%s not listed:\n%s'
              % (sender, out))
    check('ceo@example.org' not in out, 'the forged sender is queued')
    err = r.stderr.decode()
    check('may not send as <ceo@example.org>' in err,
          'the refusal is not said: %r' % err)
    check(err.count('not a regular file with one link') == 2,
          'the planted files are not named: %r' % err)
    left = os.listdir(drop)
    check(len(left) == 1 and left[0].endswith('.bad'), 'left: %r' % left)
    # The hard link was removed; alice's own file went to the queue.
    check(not os.path.exists(alices), "alice's drop file is still there")
    check(not os.path.lexists(drop + '/1.1.00000001.drop'), 'symlink left')

    # One flush delivers the four, each with its sender.
    sink.start()
    try:
        r = subprocess.run([ob, '-q'], capture_output=True, env=rootenv)
        check(r.returncode == 0, '-q exit %d: %r' % (r.returncode,
                                                   r.stderr))
        got = {m[0]: m for m in sink.messages}
        check(len(sink.messages) == 4, 'delivered %d: %r'
              % (len(sink.messages), [m[:2] for m in sink.messages]))
        for user, _, sender in subs:
            check(sender in got, '%s: nothing from <%s>' % (user, sender))
            frm, rcpt, content = got[sender]
            check(('body of %s' % user).encode() in content,
                  '%s: wrong content' % user)
            want = 'dave@example.net' if user == 'alice' else \
                'erin@example.net' if user == 'bob' else \
                '%s-rcpt@example.net' % user
            check(rcpt == [want], '%s: recipients %r' % (user, rcpt))
        r = subprocess.run([ob, '-bp'], capture_output=True, env=rootenv)
        check('0 messages queued' in r.stdout.decode(),
              'left in the queue:\n' + r.stdout.decode())
    finally:
        sink.stop()
    print('system queue: 4 users dropped, 4 delivered with their senders, '
          '1 forged sender refused, 2 planted files removed, 5 attacks on '
          "another user's file refused")
    return True


if __name__ == '__main__':
    def run_one(name, args):
        try:
            return run(args)
        except Failure as e:
            print('FAIL: %s' % e)
            return False

    sys.exit(cases.main(cases.one(NAME), run_one, __doc__))
