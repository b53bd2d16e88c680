# bash completion for outbox (and for sendmail when it is outbox).
# Options, and account names read from the configuration files that
# outbox itself would read (see outbox(1), FILES).

# The system directory; the tests point it elsewhere.
_outbox_sysconfdir=${_outbox_sysconfdir:-/etc}

# The files outbox reads, given the -C/--file argument (or none): that
# file or the first user file that exists, then the first system file.
_outbox_conf_files()
{
	local user xdg=${XDG_CONFIG_HOME:-$HOME/.config} f
	if [[ -n $1 ]]; then
		printf '%s\n' "$1"
	else
		for f in "$xdg/outbox/config" "$HOME/.msmtprc" \
			"$xdg/msmtp/config"; do
			if [[ -r $f ]]; then
				printf '%s\n' "$f"
				break
			fi
		done
	fi
	for f in "$_outbox_sysconfdir/outbox.conf" \
		"$_outbox_sysconfdir/msmtprc"; do
		if [[ -e $f ]]; then
			printf '%s\n' "$f"
			break
		fi
	done
}

# Account names in the files on standard input's list.  Commands before
# the first "account" or "defaults" line make the account "default".
_outbox_accounts()
{
	local f
	while IFS= read -r f; do
		[[ -r $f ]] || continue
		awk '
			/^[ \t]*(#|$)/ { next }
			$1 == "account" {
				n = $2; sub(/:.*/, "", n)
				if (n != "") print n
				seen = 1; next
			}
			$1 == "defaults" { seen = 1; next }
			!seen { print "default"; seen = 1 }
		' "$f" 2>/dev/null
	done < <(_outbox_conf_files "$1") | sort -u
}

_outbox()
{
	local cur prev words cword split
	_init_completion -s || return

	# The -C/--file given so far picks the files the accounts come from.
	local conf= i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-C | --file) conf=${words[i + 1]} ;;
		--file=*) conf=${words[i]#--file=} ;;
		-C?*) conf=${words[i]#-C} ;;
		esac
	done
	conf=${conf/#\~/$HOME}

	case $prev in
	-a | --account)
		COMPREPLY=($(compgen -W "$(_outbox_accounts "$conf")" -- "$cur"))
		return
		;;
	-C | --file | --logfile | --aliases | --tls-trust-file | \
		--tls-cert-file | --tls-key-file | --tls-crl-file | --socket)
		_filedir
		return
		;;
	-b)
		COMPREPLY=($(compgen -W 's p m i' -- "$cur"))
		return
		;;
	-N | --dsn-notify)
		COMPREPLY=($(compgen -W 'off never failure delay success
			failure,delay failure,delay,success' -- "$cur"))
		return
		;;
	-R | --dsn-return)
		COMPREPLY=($(compgen -W 'off headers full' -- "$cur"))
		return
		;;
	--flow)
		COMPREPLY=($(compgen -W 'device browser paste' -- "$cur"))
		return
		;;
	--tls | --tls-starttls | --tls-certcheck | --auto-from | --syslog | \
		--keepbcc | --remove-bcc-headers | --set-date-header | \
		--set-from-header | --set-msgid-header | --set-to-header | \
		--add-missing-date-header | --add-missing-from-header | \
		--undisclosed-recipients | --tls-force-sslv3 | --requiretls)
		if [[ $split == true ]]; then
			COMPREPLY=($(compgen -W 'on off' -- "$cur"))
			return
		fi
		;;
	--auth)
		if [[ $split == true ]]; then
			COMPREPLY=($(compgen -W 'on off plain login cram-md5
				scram-sha-1 scram-sha-1-plus scram-sha-256
				scram-sha-256-plus oauthbearer xoauth2 external
				digest-md5 ntlm gssapi' -- "$cur"))
			return
		fi
		;;
	--protocol)
		COMPREPLY=($(compgen -W 'smtp lmtp' -- "$cur"))
		return
		;;
	-f | -r | --from | -F | -V | -L | -h | -O | -A | -X | -B | -o | \
		--host | --port | --timeout | --connect-timeout | --user | \
		--domain | --maildomain | --passwordeval | --proxy-host | \
		--proxy-port | --source-ip | --tls-fingerprint | \
		--tls-host-override | --tls-priorities | \
		--tls-min-dh-prime-bits | --logfile-time-format | --rmqs | \
		--configure | --queue-drop)
		return
		;;
	esac
	[[ $split == true ]] && return

	case $cur in
	--*)
		# The long options of src/cli.c: "name=" takes a value,
		# "name" takes none or an optional "=value".
		COMPREPLY=($(compgen -W '--account= --add-missing-date-header
			--add-missing-from-header --aliases= --auth --authorize --auto-from
			--check
			--configure= --connect-timeout= --debug --domain=
			--dsn-notify= --dsn-return= --file= --flow= --flush --from= --help
			--host= --keepbcc --logfile= --logfile-time-format=
			--maildomain= --passwordeval= --port= --pretend
			--protocol= --proxy-host= --proxy-port= --queue-drop=
			--queue-run
			--read-envelope-from --read-recipients --remove-bcc-headers
			--requiretls --rmqs= --serverinfo --set-date-header --set-from-header
			--set-msgid-header --set-to-header --socket= --source-ip=
			--syslog --timeout= --tls --tls-cert-file= --tls-certcheck
			--tls-crl-file= --tls-fingerprint= --tls-force-sslv3
			--tls-host-override= --tls-key-file=
			--tls-min-dh-prime-bits= --tls-priorities= --tls-starttls
			--tls-trust-file= --undisclosed-recipients --user=
			--version --warn-days= --write --yes' -- "$cur"))
		[[ ${COMPREPLY-} == *= ]] && compopt -o nospace
		;;
	-*)
		COMPREPLY=($(compgen -W '-C -a -f -r -F -N -R -V -v -d -t -S -P
			-q -bs -bp -bm -bi -i -oi -oem -G -m -n' -- "$cur"))
		;;
	esac
}
complete -F _outbox outbox sendmail
