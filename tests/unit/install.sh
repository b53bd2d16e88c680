#!/bin/sh
# Installation with the sendmail links: a scratch configuration of the
# source tree with OUTBOX_SENDMAIL_LINKS=ON and prefix /usr, given the
# outbox already built (nothing is compiled again), installed under
# DESTDIR.  Checks the files, that each link leads to outbox, that
# newaliases says it has nothing to do and that mailq lists an empty queue;
# that the queue's systemd user units and crontab line name the outbox
# installed (prefix /usr, then /usr/local) and keep its output; and the
# shell completions.
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
for prog in outbox-drop outbox-auth; do
	cp "$(dirname "$outbox")/$prog" "$tmp/build/$prog" || exit 1
done
if ! DESTDIR="$tmp/root" "$cmake" --install "$tmp/build" \
	>"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	fail "cmake --install"
	exit 1
fi

root=$tmp/root/usr
for f in bin/outbox libexec/outbox/outbox-drop libexec/outbox/outbox-auth \
	share/man/man1/outbox.1 \
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

# unit_path FILE KEY: the program that the line KEY=PROGRAM ARGS runs.
unit_path() {
	sed -n "s/^$2=\([^ ]*\).*/\1/p" "$1"
}
# check_queue_files DESTROOT PREFIX: the user units and the crontab line
# under DESTROOT name PREFIX/bin/outbox, which is the outbox installed.
check_queue_files() {
	d=$1 p=$2
	u=$d$p/lib/systemd/user
	ex=$d$p/share/doc/outbox/examples
	for f in "$u/outbox-queue.service" "$u/outbox-queue.timer" \
		"$ex/outbox-queue.service" "$ex/outbox-queue.timer" \
		"$ex/outbox-queue.cron"; do
		[ -f "$f" ] || fail "${f#$d} is not installed"
	done
	exe=$(unit_path "$u/outbox-queue.service" ExecStart)
	[ "$exe" = "$p/bin/outbox" ] ||
		fail "outbox-queue.service runs '$exe', not $p/bin/outbox"
	cmp -s "$d$exe" "$outbox" || fail "$exe is not the outbox installed"
	grep -q '^\[Install\]' "$u/outbox-queue.timer" ||
		fail "outbox-queue.timer cannot be enabled (no [Install])"
	grep -q '^StandardOutput\|^StandardError' "$u/outbox-queue.service" &&
		fail "outbox-queue.service sends its output elsewhere"
	line=$(grep -v '^#' "$ex/outbox-queue.cron")
	[ "$line" = "*/10 * * * * $p/bin/outbox --queue-run" ] ||
		fail "the crontab line is '$line'"
	sy=$d$p/lib/systemd/system
	[ -f "$sy/outbox-smtpd.socket" ] || fail "outbox-smtpd.socket is not installed"
	exe=$(unit_path "$sy/outbox-smtpd@.service" ExecStart)
	[ "$exe" = "$p/bin/outbox" ] ||
		fail "outbox-smtpd@.service runs '$exe', not $p/bin/outbox"
	exe=$(unit_path "$sy/outbox-system-queue.service" ExecStart)
	[ "$exe" = "$p/bin/outbox" ] ||
		fail "outbox-system-queue.service runs '$exe', not $p/bin/outbox"
	# The timers' runs keep the retry schedule (--queue-run, not -q).
	for f in "$u/outbox-queue.service" "$sy/outbox-system-queue.service"; do
		grep -qx "ExecStart=$p/bin/outbox --queue-run" "$f" ||
			fail "${f#$d} does not run outbox --queue-run"
	done
	grep -q '^WantedBy=timers.target' "$sy/outbox-system-queue.timer" ||
		fail "outbox-system-queue.timer is not installed or cannot be enabled"
	grep -q "@[A-Z_]*@" "$u/outbox-queue.service" "$ex/outbox-queue.cron" \
		"$sy/outbox-smtpd@.service" "$sy/outbox-system-queue.service" &&
		fail "a @VARIABLE@ was left in the generated files"
}
check_queue_files "$tmp/root" /usr
bc=$root/share/bash-completion/completions
cmp -s "$bc/outbox" "$src/completions/outbox.bash" ||
	fail "the bash completion is not installed as $bc/outbox"
[ "$(readlink "$bc/sendmail")" = outbox ] ||
	fail "the bash completion for sendmail is not a link to outbox's"
cmp -s "$root/share/zsh/vendor-completions/_outbox" "$src/completions/_outbox" ||
	fail "the zsh completion is not in share/zsh/vendor-completions"

# A second scratch build, prefix /usr/local and no links (the README's
# way): the units name /usr/local/bin/outbox, and no sendmail appears.
if "$cmake" -S "$src" -B "$tmp/build2" -DOUTBOX_TESTS=OFF \
	>"$tmp/configure2.log" 2>&1 &&
	cp "$outbox" "$(dirname "$outbox")/outbox-drop" \
	    "$(dirname "$outbox")/outbox-auth" "$tmp/build2/" &&
	DESTDIR="$tmp/root2" "$cmake" --install "$tmp/build2" \
	>"$tmp/install2.log" 2>&1; then
	check_queue_files "$tmp/root2" /usr/local
	[ -e "$tmp/root2/usr/local/sbin/sendmail" ] &&
		fail "sendmail installed without OUTBOX_SENDMAIL_LINKS"
	[ -f "$tmp/root2/usr/local/share/bash-completion/completions/outbox" ] ||
		fail "no bash completion under /usr/local"
	[ -e "$tmp/root2/usr/local/share/bash-completion/completions/sendmail" ] &&
		fail "sendmail's completion installed without OUTBOX_SENDMAIL_LINKS"
	[ -f "$tmp/root2/usr/local/share/zsh/site-functions/_outbox" ] ||
		fail "no zsh completion in /usr/local/share/zsh/site-functions"
else
	cat "$tmp/configure2.log" "$tmp/install2.log" 2>/dev/null
	fail "the build with prefix /usr/local"
fi

[ $fails -eq 0 ] && echo "PASS install with the sendmail links"
[ $fails -eq 0 ]
