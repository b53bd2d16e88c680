#!/bin/sh
# outbox --configure against a private DNS server (dns.py) on 127.0.0.1.
#
# usage: configure.sh OUTBOX
#
# Runs as root: each outbox runs in a private mount namespace (unshare -m)
# in which a resolv.conf saying "nameserver 127.0.0.1" is bind-mounted over
# /etc/resolv.conf, so that the machine's own file is never changed and no
# query can go anywhere but to dns.py.  Without root or unshare the test
# fails: it is never skipped.  dns.py is stopped on every path.
set -u

outbox=${1:?usage: configure.sh OUTBOX}
here=$(cd "$(dirname "$0")" && pwd)
python=${INTEGRATION_PYTHON:-/usr/bin/python3}
tmp=
dnspid=
failed=0
passed=0

cleanup() {
	if [ -n "$dnspid" ]; then
		kill "$dnspid" 2>/dev/null
		wait "$dnspid" 2>/dev/null
		dnspid=
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

die() {
	echo "configure.sh: FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (for unshare -m and port 53)"
command -v unshare >/dev/null 2>&1 ||
    die "unshare not found (apt-get install util-linux)"
unshare -m true ||
    die "unshare -m is not permitted here: cannot isolate /etc/resolv.conf"
[ -x "$outbox" ] || die "$outbox is not executable"

tmp=$(mktemp -d) || die "mktemp failed"
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' \
    >"$tmp/resolv.conf"

"$python" "$here/dns.py" --address 127.0.0.1 --port 53 \
    --ready "$tmp/ready" --log "$tmp/queries" 2>"$tmp/dns.err" &
dnspid=$!
i=0
while [ ! -s "$tmp/ready" ]; do
	if ! kill -0 "$dnspid" 2>/dev/null; then
		cat "$tmp/dns.err" >&2
		dnspid=
		die "dns.py did not start"
	fi
	i=$((i + 1))
	[ $i -le 100 ] || die "dns.py not ready after 10 s"
	sleep 0.1
done

# run NAME EXPECTED-EXIT ADDRESS: outbox --configure=ADDRESS in a private
# mount namespace; the mount must succeed before outbox runs at all.
run() {
	name=$1
	want=$2
	addr=$3
	: >"$tmp/queries"
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m sh -c \
	    'mount --bind "$1" /etc/resolv.conf && exec "$2" --configure="$3"' \
	    sh "$tmp/resolv.conf" "$outbox" "$addr" \
	    >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "$name" "exit $got, want $want"
		return 1
	fi
	return 0
}

fail() {
	echo "FAIL $1: $2" >&2
	echo "--- stdout" >&2
	cat "$tmp/out" >&2
	echo "--- stderr" >&2
	cat "$tmp/err" >&2
	echo "--- queries seen by dns.py" >&2
	cat "$tmp/queries" >&2
	failed=$((failed + 1))
}

pass() {
	echo "ok   $1"
	passed=$((passed + 1))
}

# check NAME: stdout must equal $tmp/want.
check_out() {
	if cmp -s "$tmp/out" "$tmp/want"; then
		return 0
	fi
	fail "$1" "unexpected configuration; wanted:"
	cat "$tmp/want" >&2
	return 1
}

# check_err NAME TEXT: stderr must contain TEXT, stdout must be empty.
check_err() {
	if [ -s "$tmp/out" ] || ! grep -qF -- "$2" "$tmp/err"; then
		fail "$1" "wanted no output and \"$2\" on stderr"
		return 1
	fi
	return 0
}

# check_query NAME LINE: dns.py must have seen LINE.
check_query() {
	if ! grep -qxF -- "$2" "$tmp/queries"; then
		fail "$1" "dns.py did not see \"$2\""
		return 1
	fi
	return 0
}

name=implicit-tls
cat >"$tmp/want" <<'EOF'
# outbox configuration for alice@implicit.test, found in DNS:
# _submissions._tcp.implicit.test SRV 0 1 465 mail.implicit.test.
account implicit.test
host mail.implicit.test
port 465
tls on
tls_starttls off
auth on
user alice@implicit.test
from alice@implicit.test
# add: password, or better passwordeval, and chmod 600 this file
EOF
run "$name" 0 alice@implicit.test && check_out "$name" &&
    check_query "$name" "udp _submissions._tcp.implicit.test 33" && pass "$name"

name=starttls-only
cat >"$tmp/want" <<'EOF'
# outbox configuration for bob@starttls.test, found in DNS:
# _submission._tcp.starttls.test SRV 5 60 587 smtp1.starttls.test.
account starttls.test
host smtp1.starttls.test
port 587
tls on
tls_starttls on
auth on
user bob@starttls.test
from bob@starttls.test
# add: password, or better passwordeval, and chmod 600 this file
EOF
run "$name" 0 bob@starttls.test && check_out "$name" &&
    check_query "$name" "udp _submissions._tcp.starttls.test 33" &&
    check_query "$name" "udp _submission._tcp.starttls.test 33" && pass "$name"

name=idn-domain
cat >"$tmp/want" <<'EOF'
# outbox configuration for carol@bücher.test, found in DNS:
# _submissions._tcp.xn--bcher-kva.test SRV 0 0 465 mail.xn--bcher-kva.test.
account xn--bcher-kva.test
host mail.xn--bcher-kva.test
port 465
tls on
tls_starttls off
auth on
user carol@bücher.test
from carol@bücher.test
# add: password, or better passwordeval, and chmod 600 this file
EOF
run "$name" 0 'carol@bücher.test' && check_out "$name" && pass "$name"

name=tcp-fallback
cat >"$tmp/want" <<'EOF'
# outbox configuration for dave@tcp.test, found in DNS:
# _submission._tcp.tcp.test SRV 1 1 2587 mx.tcp.test.
account tcp.test
host mx.tcp.test
port 2587
tls on
tls_starttls on
auth on
user dave@tcp.test
from dave@tcp.test
# add: password, or better passwordeval, and chmod 600 this file
EOF
run "$name" 0 dave@tcp.test && check_out "$name" &&
    check_query "$name" "tcp _submission._tcp.tcp.test 33" && pass "$name"

name=none-found
run "$name" 68 erin@none.test &&
    check_err "$name" "no submission service found for none.test" &&
    check_query "$name" "udp _submission._tcp.none.test 33" && pass "$name"

name=dot-target
run "$name" 68 frank@dot.test && check_err "$name" "no submission service offered for dot.test" &&
    check_query "$name" "udp _submission._tcp.dot.test 33" && pass "$name"

name=servfail
run "$name" 75 grace@servfail.test &&
    check_err "$name" "_submissions._tcp.servfail.test" && pass "$name"

name=no-at-sign
run "$name" 64 nobody.test && check_err "$name" "invalid address" &&
    if [ -s "$tmp/queries" ]; then
	    fail "$name" "a query was sent for an invalid address"
    else
	    pass "$name"
    fi

echo "configure.sh: $passed passed, $failed failed"
[ "$failed" = 0 ]
