#!/bin/bash
# The bash completion, sourced under bash-completion as an interactive
# shell would: the candidates for "outbox --a" (the long options, which
# must be src/cli.c's whole table) and "outbox -a " (the account names of
# the configuration outbox would read: the user's file, -C's file, the
# msmtp names, the system file); and the same in an interactive zsh.
#
# usage: completion.sh SOURCE_DIR
set -u
src=$1
bc=/usr/share/bash-completion/bash_completion
if [ ! -r "$bc" ]; then
	echo "SKIP: $bc not found (apt-get install bash-completion)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/outbox-completion.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

. "$bc"
. "$src/completions/outbox.bash"
# Outside a real completion compopt refuses to run; what it would set
# (no space after "--account=") is not what is tested here.
compopt() { :; }
_outbox_sysconfdir=$tmp/etc
export HOME=$tmp/home
unset XDG_CONFIG_HOME
mkdir -p "$HOME/.config/outbox" "$_outbox_sysconfdir"

# candidates WORD...: what completing the last WORD offers, sorted, one a
# line.  The words are as bash splits them (COMP_WORDBREAKS has "=").
candidates() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=
	local w prev=
	for w in "$@"; do
		if [ "$w" = "=" ] || [ "$prev" = "=" ]; then
			COMP_LINE+=$w
		else
			COMP_LINE+=${COMP_LINE:+ }$w
		fi
		prev=$w
	done
	[ -z "${COMP_WORDS[COMP_CWORD]}" ] &&
	    [ "${COMP_WORDS[COMP_CWORD - 1]}" != "=" ] &&
		COMP_LINE+=" "
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_outbox outbox "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect WANT WORD...: the candidates are exactly WANT (lines, sorted).
expect() {
	local want=$1 got
	shift
	got=$(candidates "$@")
	[ "$got" = "$want" ] ||
		fail "'$*' offered [$(echo $got)], expected [$(echo $want)]"
}

cat >"$HOME/.config/outbox/config" <<'CONF'
# two accounts, the second built on the first
defaults
tls on

account work
host smtp.work.example
from alice@work.example

account  home : work
host smtp.home.example
CONF

expect "--account=
--add-missing-date-header
--add-missing-from-header
--aliases=
--auth
--authorize
--auto-from" outbox --a
expect "home
work" outbox -a ""
expect "home" outbox -a h
expect "home
work" outbox --account = ""
expect "work" outbox --account = w
expect "home
work" outbox -t -f bob@example.org -a ""

# The system file's accounts are there too; -C names another user file.
printf 'host relay.example\n\naccount backup\nhost b.example\n' \
	>"$_outbox_sysconfdir/outbox.conf"
printf 'account alpha\nhost a.example\naccount beta\nhost b.example\n' \
	>"$tmp/other.conf"
expect "backup
default
home
work" outbox -a ""
expect "alpha
backup
beta
default" outbox -C "$tmp/other.conf" -a ""
expect "alpha
backup
beta
default" outbox --file = "$tmp/other.conf" --account = ""

# Without outbox's own files, msmtp's: ~/.msmtprc, then /etc/msmtprc.
rm "$HOME/.config/outbox/config" "$_outbox_sysconfdir/outbox.conf"
printf 'account gmail\nhost g.example\n' >"$HOME/.msmtprc"
printf 'account relay\nhost r.example\n' >"$_outbox_sysconfdir/msmtprc"
expect "gmail
relay" outbox -a ""
XDG_CONFIG_HOME=$tmp/xdg
mkdir -p "$XDG_CONFIG_HOME/outbox"
printf 'account xdg\nhost x.example\n' >"$XDG_CONFIG_HOME/outbox/config"
expect "relay
xdg" outbox -a ""
unset XDG_CONFIG_HOME

# Every long option of src/cli.c's table is offered, and nothing else.
table=$(awk '
	/^} longopts\[\] = \{/ { on = 1; next }
	on && /^};/ { exit }
	on && match($0, /\{ "[a-z0-9-]+", [0-2],/) {
		s = substr($0, RSTART, RLENGTH)
		split(s, f, "\"")
		n = f[2]; sub(/^, /, "", f[3]); a = substr(f[3], 1, 1)
		print "--" n (a == "1" ? "=" : "")
	}' "$src/src/cli.c" | sort)
[ "$(echo "$table" | wc -l)" -gt 40 ] ||
	fail "could not read the long options of src/cli.c"
offered=$(candidates outbox --)
[ "$offered" = "$table" ] || fail "the long options differ from src/cli.c:
$(diff <(echo "$table") <(echo "$offered"))"

# -b's modes, and short options.
expect "s" outbox -b s
expect "-bi
-bm
-bp
-bs" outbox -b

# The zsh completion, in an interactive zsh on a pseudo-terminal.
zexpect() {
	local want=$1 got
	got=$(timeout 20 zsh -f "$src/tests/unit/zsh-complete.zsh" \
		"$src/completions" "$2")
	[ "$got" = "$want" ] ||
		fail "zsh: '$2' offered [$(echo $got)], expected [$(echo $want)]"
}
if command -v zsh >/dev/null; then
	rm -f "$HOME/.msmtprc" "$_outbox_sysconfdir/msmtprc"
	printf 'defaults\ntls on\naccount work\nhost w.example\naccount home : work\n' \
		>"$HOME/.config/outbox/config"
	printf 'account zed\n' >"$tmp/z.conf"
	export _outbox_sysconfdir
	zexpect "--account
--add-missing-date-header
--add-missing-from-header
--aliases
--auth
--authorize
--auto-from" "outbox --a"
	zexpect "home
work" "outbox -a "
	zexpect "zed" "outbox -C $tmp/z.conf -a "
	zexpect "home
work" "sendmail --account="
	zexpect "off
on" "outbox --tls="
else
	fail "zsh is not installed (apt-get install zsh)"
fi

[ $fails -eq 0 ] && echo "PASS bash and zsh completion"
[ $fails -eq 0 ]
