#!/bin/bash
# The Debian packages, built and installed as a user would, without
# touching this machine's own mail system:
#   1. dpkg-buildpackage -us -uc -b in a scratch copy of the tree (the
#      build runs the unit and scripted tests; OUTBOX_PACKAGE_NOCHECK=1
#      skips them);
#   2. lintian on the .changes: any error or warning not overridden
#      fails; hardening-check on the programs (PIE, stack protector,
#      FORTIFY, RELRO, BIND_NOW) and blhc on the build log;
#   3. in new mount, PID and network namespaces, a throwaway root that
#      is this machine's own tree under an overlay whose writes go to a
#      tmpfs: apt installs both packages there (putting aside whatever
#      mail system the machine has, in the overlay only), then the
#      links, the manual links, the conffile, the units (not enabled),
#      and /usr/sbin/sendmail -t delivering to the scripted SMTP server
#      on the namespace's loopback; the system queue (group, set-group-ID
#      outbox-drop, drop directory) and a user's message through it sent
#      by root's outbox --queue-run; removal and purge leave nothing of
#      the packages (dpkg -L against the tree, and no file named
#      *outbox* left in the overlay's writes).
#
# usage: package.sh SOURCE_DIR
set -u
src=$(cd "$1" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: the install test needs root (unshare, mount, chroot)"
	exit 77
fi
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
for t in dpkg-buildpackage lintian hardening-check blhc unshare chroot ip; do
	command -v "$t" >/dev/null || {
		fail "$t not found (see scripts/lib.sh)"
		exit 1
	}
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/outbox-package.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# -- 1. build -----------------------------------------------------------
tree=$tmp/build/outbox
mkdir -p "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	# What git knows or would add: never build directories.
	(cd "$src" && git ls-files -z -co --exclude-standard |
		tar --null --ignore-failed-read -cf - -T - 2>/dev/null) |
		tar -xf - -C "$tree"
else
	tar -C "$src" --exclude='./build*' --exclude=./obj-deb \
		--exclude=./debian/.debhelper --exclude=./debian/tmp -cf - . |
		tar -xf - -C "$tree"
fi
opts="parallel=$(nproc)"
[ -n "${OUTBOX_PACKAGE_NOCHECK:-}" ] && opts="$opts nocheck"
start=$(date +%s)
if ! (cd "$tree" && DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b) \
	>"$tmp/build.log" 2>&1; then
	tail -60 "$tmp/build.log"
	fail "dpkg-buildpackage -us -uc -b"
	exit 1
fi
echo "built in $(($(date +%s) - start)) s (DEB_BUILD_OPTIONS=$opts)"
grep -E '^[0-9]+% tests passed' "$tmp/build.log"
changes=$(ls "$tmp"/build/outbox_*.changes)
deb=$(ls "$tmp"/build/outbox_*_*.deb)
mta=$(ls "$tmp"/build/outbox-mta_*_*.deb)

# -- 2. lintian, hardening ----------------------------------------------
lintian --display-info --fail-on error,warning "$changes" \
	>"$tmp/lintian.log" 2>&1
rc=$?
grep -v 'running with root privileges' "$tmp/lintian.log"
[ $rc -eq 0 ] || fail "lintian reports an error or warning (exit $rc)"
grep -q '^[EW]: ' "$tmp/lintian.log" && fail "lintian: error or warning tags"
mkdir "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
dpkg-deb -x "$mta" "$tmp/x"
hardening-check --nocfprotection "$tmp/x/usr/bin/outbox" \
	"$tmp/x/usr/libexec/outbox/outbox-drop" || fail "hardening-check"
# Every compiler and linker line of the build got the flags (PIE is the
# compiler's default on Debian, which blhc knows without --all).
if blhc "$tmp/build.log" >"$tmp/blhc.log" 2>&1; then
	echo "blhc: every compile and link line has the hardening flags"
else
	head -20 "$tmp/blhc.log"
	fail "blhc: hardening flags missing from the build log"
fi

# -- 3. install, use, remove, purge in a throwaway root -----------------
host_mta=$(stat -c '%i %s %Y' /usr/sbin/sendmail 2>/dev/null)
cat >"$tmp/inner.sh" <<'INNER'
set -u
tmp=$1 src=$2 deb=$3 mta=$4
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
root=$tmp/root
mkdir -p "$tmp/t" "$root"
mount -t tmpfs tmpfs "$tmp/t" || exit 1
mkdir "$tmp/t/upper" "$tmp/t/work"
mount -t overlay overlay \
	-o "lowerdir=/,upperdir=$tmp/t/upper,workdir=$tmp/t/work" "$root" ||
	exit 1
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
ip link set lo up
# No daemon may start or stop from a maintainer script in here.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
in_root() {
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
}

# Install as a user would; apt puts any other mail system aside.
mkdir "$root/tmp/debs"
cp "$deb" "$mta" "$root/tmp/debs/"
if ! in_root apt-get install -y -q --no-install-recommends \
	"/tmp/debs/${deb##*/}" "/tmp/debs/${mta##*/}" >"$tmp/apt.log" 2>&1; then
	cat "$tmp/apt.log"
	fail "apt-get install of the two packages"
	exit 1
fi
removed=$(sed -n '/^The following packages will be REMOVED:/,/^[^ ]/p' \
	"$tmp/apt.log" | sed '1d;$d' | xargs)
echo "apt put aside: ${removed:-nothing}"
for p in $removed; do
	in_root dpkg-query -W -f='${Provides}\n' "$p" 2>/dev/null |
		grep -q mail-transport-agent ||
		case $p in postfix | exim4* | sendmail* | msmtp-mta | nullmailer | dma | opensmtpd | ssmtp | courier-mta | masqmail | esmtp-run) ;;
		*) fail "apt removed $p, which is not a mail system" ;;
		esac
done
in_root dpkg-query -W -f='${Status}\n' outbox outbox-mta |
	grep -vc 'install ok installed' | grep -qx 0 ||
	fail "the packages are not both installed"
in_root dpkg-query -W -f='${Provides}' outbox-mta |
	grep -q mail-transport-agent || fail "outbox-mta provides no MTA"

for l in usr/sbin/sendmail:../bin/outbox usr/lib/sendmail:../bin/outbox \
	usr/bin/mailq:outbox usr/sbin/newaliases:../bin/outbox \
	usr/share/man/man8/sendmail.8.gz:../man1/outbox.1.gz \
	usr/share/man/man1/mailq.1.gz:outbox.1.gz \
	usr/share/man/man8/newaliases.8.gz:../man1/outbox.1.gz \
	usr/share/bash-completion/completions/sendmail:outbox; do
	p=${l%%:*} want=${l#*:}
	got=$(readlink "$root/$p")
	[ "$got" = "$want" ] || fail "/$p -> '$got', expected $want"
	[ -e "$root/$p" ] || fail "/$p leads nowhere"
done
[ "$(in_root dpkg-query -W -f='${Conffiles}' outbox | awk '{print $1}')" \
	= /etc/outbox.conf ] || fail "/etc/outbox.conf is not outbox's conffile"
[ "$(stat -c '%a %U %G' "$root/etc/outbox.conf")" = "644 root root" ] ||
	fail "/etc/outbox.conf is $(stat -c '%a %U %G' "$root/etc/outbox.conf")"
grep -Eq '^[[:space:]]*[^#[:space:]]' "$root/etc/outbox.conf" &&
	fail "/etc/outbox.conf has an uncommented line"
grep -Eiq '^[#[:space:]]*password[[:space:]]' "$root/etc/outbox.conf" &&
	fail "/etc/outbox.conf has a password line"
for u in lib/systemd/system/outbox-smtpd.socket \
	lib/systemd/system/outbox-smtpd@.service \
	usr/lib/systemd/user/outbox-queue.timer \
	usr/share/doc/outbox/examples/outbox-queue.cron \
	usr/share/bash-completion/completions/outbox \
	usr/share/zsh/vendor-completions/_outbox; do
	[ -f "$root/$u" ] || fail "/$u is not installed"
done
# Enabled: the system queue's timer, nothing else.
enabled=$(cd "$root/etc/systemd" && find . -name '*outbox*' | sort | xargs)
[ "$enabled" = "./system/timers.target.wants/outbox-system-queue.timer" ] ||
	fail "units enabled by the installation: [$enabled], expected the system queue's timer only"

# The system queue, with the modes outbox(1) gives.
in_root getent group outbox >/dev/null || fail "no group outbox"
m=$(in_root stat -c '%a %U %G' /usr/libexec/outbox/outbox-drop)
[ "$m" = "2755 root outbox" ] || fail "outbox-drop is $m"
in_root dpkg-statoverride --list /usr/libexec/outbox/outbox-drop \
	>/dev/null || fail "no dpkg-statoverride for outbox-drop"
m=$(in_root stat -c '%a %U %G' /var/spool/outbox-drop)
[ "$m" = "1730 root outbox" ] || fail "/var/spool/outbox-drop is $m"

# A message through /usr/sbin/sendmail -t, from the account in
# /etc/outbox.conf, to the scripted SMTP server on this namespace's
# loopback.
sinkdir=$tmp/t/sink
mkdir "$sinkdir"
/usr/bin/python3 -B "$src/tests/lib/outboxtest/smtpserver.py" --sink \
	--transcript "$sinkdir/log" \
	--message "$sinkdir/msg" >"$sinkdir/port" &
sink=$!
for _ in $(seq 50); do
	[ -s "$sinkdir/port" ] && break
	sleep 0.1
done
port=$(sed -n 's/^PORT //p' "$sinkdir/port")
[ -n "$port" ] || fail "the test server did not start"
printf '# test account\naccount default\nhost 127.0.0.1\nport %s\ntls off\nfrom root@pkg.example\nmaildomain pkg.example\n' \
	"$port" >"$root/etc/outbox.conf"
printf 'To: bob@example.net\nSubject: through the package\n\nIt works.\n' |
	in_root /usr/sbin/sendmail -t >"$tmp/send.out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "/usr/sbin/sendmail -t exited $rc: $(cat "$tmp/send.out")"
grep -qx 'C: RCPT TO:<bob@example.net>' "$sinkdir/log" ||
	fail "the server got no RCPT TO:<bob@example.net>"
grep -Eq '^C: MAIL FROM:<root@pkg\.example>( |$)' "$sinkdir/log" ||
	fail "the server got no MAIL FROM:<root@pkg.example>: $(grep 'MAIL FROM' "$sinkdir/log")"
grep -q '^It works\.' "$sinkdir/msg" 2>/dev/null ||
	fail "the message did not arrive"
grep -q '^Subject: through the package' "$sinkdir/msg" 2>/dev/null ||
	fail "the message arrived without its Subject"

# A user without a configuration of their own: the message goes through
# outbox-drop into the system queue, and root's outbox --queue-run (what
# the timer runs) sends it with the account in /etc/outbox.conf.
in_root useradd -m dropper || fail "useradd dropper"
printf 'Subject: from a user\n\nDropped.\n' |
	chroot --userspec=dropper:dropper "$root" env -i PATH=/usr/bin:/bin \
	HOME=/home/dropper LC_ALL=C /usr/sbin/sendmail carol@example.net \
	>"$tmp/drop.out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "sendmail as a user exited $rc: $(cat "$tmp/drop.out")"
n=$(in_root find /var/spool/outbox-drop -type f -user dropper | wc -l)
[ "$n" -eq 1 ] || fail "$n files of dropper's in the drop directory, expected 1"
grep -q 'carol@example.net' "$sinkdir/log" &&
	fail "the user's message went out before root's queue run"
out=$(in_root /usr/bin/outbox --queue-run 2>&1) ||
	fail "root's outbox --queue-run: $out"
grep -qx 'C: RCPT TO:<carol@example.net>' "$sinkdir/log" ||
	fail "root's outbox --queue-run did not send the user's message: $out"
grep -q '^Dropped\.' "$sinkdir/msg" 2>/dev/null ||
	fail "the user's message did not arrive whole"
from=$(grep -o 'C: MAIL FROM:<[^>]*>' "$sinkdir/log" | tail -1)
[ "$from" = "C: MAIL FROM:<dropper@pkg.example>" ] ||
	fail "the user's message was sent as '$from', not from dropper@pkg.example"
[ -z "$(ls -A "$root/var/spool/outbox-drop")" ] ||
	fail "the drop directory is not empty after the run"
in_root userdel -r dropper 2>/dev/null
kill "$sink"
wait "$sink" 2>/dev/null
out=$(in_root /usr/bin/mailq 2>&1)
[ "$out" = "/var/spool/outbox: 0 messages queued" ] ||
	fail "mailq printed: $out"
out=$(in_root /usr/sbin/newaliases 2>&1) || fail "newaliases failed: $out"

# Remove, then purge: nothing of the packages stays.  (The programs that
# need some mail system, mutt and the like, would have apt install
# another one; here dpkg is told to go ahead without.)
in_root dpkg-query -L outbox outbox-mta | sort -u >"$tmp/files"
in_root dpkg -r --force-depends outbox-mta outbox >"$tmp/remove.log" 2>&1 ||
	fail "dpkg -r: $(cat "$tmp/remove.log")"
[ -e "$root/etc/outbox.conf" ] ||
	fail "dpkg -r removed the conffile (only purge may)"
[ -e "$root/usr/bin/outbox" ] && fail "dpkg -r left /usr/bin/outbox"
in_root dpkg -P --force-depends outbox-mta outbox >"$tmp/purge.log" 2>&1 ||
	fail "dpkg -P: $(cat "$tmp/purge.log")"
left=
while IFS= read -r p; do
	[ -n "$p" ] && [ "$p" != /. ] || continue
	if [ -e "$root$p" ] || [ -L "$root$p" ]; then
		# Directories that were there before (the machine's own)
		# stay; anything else is a leftover.
		[ -e "$p" ] || [ -L "$p" ] || left="$left $p"
	fi
done <"$tmp/files"
[ -z "$left" ] || fail "left after purge:$left"
stray=$(cd "$tmp/t/upper" && find . -name '*outbox*' | grep -v '^\./tmp/')
[ -z "$stray" ] || fail "files named *outbox* left after purge: $stray
$(cd "$tmp/t/upper" && ls -laR $stray)"
[ -e "$root/etc/outbox.conf" ] && fail "purge left /etc/outbox.conf"
in_root getent group outbox >/dev/null && fail "purge left the group outbox"
in_root dpkg-statoverride --list /usr/libexec/outbox/outbox-drop \
	>/dev/null && fail "purge left the statoverride of outbox-drop"
exit $((fails > 0))
INNER
unshare --mount --pid --net --uts --ipc --fork --mount-proc \
	bash "$tmp/inner.sh" "$tmp" "$src" "$deb" "$mta" || fail "the install test"
[ "$(stat -c '%i %s %Y' /usr/sbin/sendmail 2>/dev/null)" = "$host_mta" ] ||
	fail "this machine's /usr/sbin/sendmail changed"

[ $fails -eq 0 ] && echo "PASS Debian packages: build, lintian, install, purge"
[ $fails -eq 0 ]
