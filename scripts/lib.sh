# Shared helpers for the scripts in this folder; sourced, not run.

# The packages that building outbox needs.
OUTBOX_BUILD_PKGS="build-essential cmake pkg-config libgnutls28-dev libgsasl-dev libidn2-dev libcurl4-gnutls-dev libjson-c-dev libsecret-1-dev libexpat1-dev"
# The packages that the unit and scripted tests need on top of those
# (scripts/test installs only these when it runs nothing else).
OUTBOX_UNIT_PKGS="libcmocka-dev gnutls-bin mandoc python3 clang-format"
# The packages that all the test suites need on top of the build's.
OUTBOX_TEST_PKGS="$OUTBOX_UNIT_PKGS postfix dovecot-core time msmtp strace"
# integration/autoconfig mounts its test CA over /etc/ssl/certs.
OUTBOX_TEST_PKGS="$OUTBOX_TEST_PKGS ca-certificates"
# The real callers and servers of tests/integration/callers.py. git
# send-email needs Mail::Address (libmailtools-perl, only recommended).
# cron, systemd-cron, at and fail2ban are not installed: cron and
# systemd-cron conflict, and each installs a daemon whose mail comes a
# minute after a job; their exact argv and input are run instead.
OUTBOX_TEST_PKGS="$OUTBOX_TEST_PKGS mutt neomutt alpine git git-email
    libmailtools-perl bsd-mailx s-nail php-cli python3-aiosmtpd dante-server
    dovecot-lmtpd"
# The PKCS#11 cases (scripted) keep a client certificate in a SoftHSM token.
OUTBOX_UNIT_PKGS="$OUTBOX_UNIT_PKGS softhsm2"
OUTBOX_TEST_PKGS="$OUTBOX_TEST_PKGS softhsm2"
# The OAuth2 layer (tests/oauth2): libfaketime for months in minutes, a
# real Secret Service (gnome-keyring under a private D-Bus session) and
# secret-tool for the keyring cases.
OUTBOX_TEST_PKGS="$OUTBOX_TEST_PKGS faketime gnome-keyring libsecret-tools
    dbus-daemon dbus-bin"

# The shell completions' test (unit/completion) sources bash-completion
# and drives zsh; the smtpd tests need systemd's systemd-socket-activate
# and systemd-analyze; the package test needs the Debian tools (devscripts
# has hardening-check, blhc checks the build log) and iproute2 to bring
# up the loopback of its namespace.
OUTBOX_UNIT_PKGS="$OUTBOX_UNIT_PKGS bash-completion zsh"
OUTBOX_TEST_PKGS="$OUTBOX_TEST_PKGS bash-completion zsh systemd debhelper
    dpkg-dev fakeroot lintian devscripts blhc iproute2 git"

# need_packages PKG...: install whatever is missing, with apt-get when we are
# root, or say exactly what to install and fail otherwise.
need_packages()
{
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages:$missing" >&2
		echo "install them with: sudo apt-get install$missing" >&2
		exit 1
	fi
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# Postfix must not set itself up as this machine's mail system: the
	# tests run their own private instance.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections 2>/dev/null || true
	# No package may start its daemon here (dante-server, Dovecot, ...):
	# the tests start private instances on loopback. A policy-rc.d that
	# exits 101 (Debian policy 9.3.3) denies every start while we install,
	# unless the machine has one of its own already.
	guard=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# installed by outbox scripts/lib.sh\nexit 101\n' \
		    >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
		    guard=1
	fi
	ok=1
	if ! apt-get install -y -q --no-install-recommends $missing >&2; then
		apt-get update -q >&2 || true
		apt-get install -y -q --no-install-recommends $missing >&2 || ok=
	fi
	[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
	if [ -z "$ok" ]; then
		echo "apt-get could not install:$missing" >&2
		exit 1
	fi
}

# build [CMAKE-ARGS...]: configure and build in build/ (or $OUTBOX_BUILD).
build()
{
	b=${OUTBOX_BUILD:-build}
	cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$b" -j "$(nproc)"
}
