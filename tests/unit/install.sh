#!/bin/sh
# Installation with the sendmail links: a scratch configuration of the
# source tree with OUTBOX_SENDMAIL_LINKS=ON and prefix /usr, given the
# outbox already built (nothing is compiled again), installed under
# DESTDIR.  Checks the files, that each link leads to outbox, that
# newaliases says it has nothing to do and that mailq lists an empty queue.
#
# usage: install.sh CMAKE SOURCE_DIR OUTBOX
set -u
cmake=$1 src=$2 outbox=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/outbox-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

if ! "$cmake" -S "$src" -B "$tmp/build" -DOUTBOX_TESTS=OFF \
	-DOUTBOX_SENDMAIL_LINKS=ON -DCMAKE_INSTALL_PREFIX=/usr \
	>"$tmp/configure.log" 2>&1; then
	cat "$tmp/configure.log"
	fail "configuring the scratch build"
	exit 1
fi
cp "$outbox" "$tmp/build/outbox" || exit 1
# Its companion programs, built beside it.
for prog in outbox-drop; do
	cp "$(dirname "$outbox")/$prog" "$tmp/build/$prog" || exit 1
done
if ! DESTDIR="$tmp/root" "$cmake" --install "$tmp/build" \
	>"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	fail "cmake --install"
	exit 1
fi

root=$tmp/root/usr
for f in bin/outbox libexec/outbox/outbox-drop share/man/man1/outbox.1 \
	share/man/man5/outbox.conf.5; do
	[ -f "$root/$f" ] || fail "$f is not installed"
done
[ -x "$root/bin/outbox" ] || fail "bin/outbox is not executable"
for l in sbin/sendmail sbin/mailq sbin/newaliases lib/sendmail; do
	if [ ! -L "$root/$l" ]; then
		fail "$l is not a symbolic link"
		continue
	fi
	target=$(readlink "$root/$l")
	[ "$target" = ../bin/outbox ] || fail "$l points to $target"
	cmp -s "$root/$l" "$outbox" || fail "$l does not lead to outbox"
done

home=$tmp/home
mkdir -p "$home/state"
out=$(env -i PATH=/usr/bin:/bin HOME="$home" XDG_STATE_HOME="$home/state" \
	"$root/sbin/newaliases" 2>&1)
[ $? -eq 0 ] || fail "newaliases exited $?: $out"
case $out in
"outbox has no alias database: aliases are read from the file named by the aliases setting") ;;
*) fail "newaliases printed: $out" ;;
esac

out=$(env -i PATH=/usr/bin:/bin HOME="$home" XDG_STATE_HOME="$home/state" \
	"$root/sbin/mailq" 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "mailq exited $rc: $out"
# Root's queue is /var/spool/outbox whatever HOME says.
if [ "$(id -u)" -eq 0 ]; then
	want="/var/spool/outbox: 0 messages queued"
else
	want="$home/state/outbox/queue: 0 messages queued"
fi
[ "$out" = "$want" ] || fail "mailq printed: $out (expected: $want)"

[ $fails -eq 0 ] && echo "PASS install with the sendmail links"
[ $fails -eq 0 ]
