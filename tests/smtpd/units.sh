#!/bin/sh
# The localhost SMTP service's units as generated for this build: they
# pass systemd-analyze verify (with ExecStart pointed at the outbox built
# here, as the installed one is not there yet), and the service's
# sandbox keeps systemd-analyze security's exposure at 1.5 or below
# (1.1 when written).
#
# usage: units.sh BUILD_DIR OUTBOX
set -u
build=$1 outbox=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/outbox-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
cp "$build/outbox-smtpd.socket" "$tmp/"
sed "s|^ExecStart=[^ ]*|ExecStart=$outbox|" "$build/outbox-smtpd@.service" \
	>"$tmp/outbox-smtpd@.service"
out=$(cd "$tmp" && systemd-analyze verify --man=no outbox-smtpd.socket \
	outbox-smtpd@.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify says: $out"
sec=$(systemd-analyze security --offline=yes --threshold=15 \
	"$tmp/outbox-smtpd@.service" 2>&1)
rc=$?
echo "$sec" | tail -1
[ $rc -eq 0 ] || fail "exposure above 1.5: $(echo "$sec" | grep '✗')"
for k in DynamicUser=yes ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes NoNewPrivileges=yes SystemCallFilter=@system-service; do
	grep -qx "$k" "$tmp/outbox-smtpd@.service" || fail "no $k"
done
grep -q '^RestrictAddressFamilies=' "$tmp/outbox-smtpd@.service" ||
	fail "no RestrictAddressFamilies="
for l in ListenStream=127.0.0.1:25 'ListenStream=\[::1\]:25' Accept=yes; do
	grep -qx "$l" "$tmp/outbox-smtpd.socket" || fail "the socket lacks $l"
done
grep -q '^WantedBy=sockets.target' "$tmp/outbox-smtpd.socket" ||
	fail "the socket cannot be enabled"
[ $fails -eq 0 ] && echo "PASS the SMTP service's units"
[ $fails -eq 0 ]
