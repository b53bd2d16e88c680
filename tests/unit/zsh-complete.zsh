# zsh-complete.zsh DIR LINE: what zsh offers for LINE followed by a Tab,
# with the completion functions of DIR first in fpath: an interactive
# zsh -f on a pseudo-terminal, compinit, and compadd wrapped to print
# each match it is given ("@M@" before it), one a line, sorted.
zmodload zsh/zpty || exit 2
fp=$1 line=$2
zpty z "TERM=dumb zsh -f -i"
zpty -w z "PROMPT= RPROMPT=; fpath=(${(q)fp} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() { local -a m; builtin compadd -O m "$@"; (( $#m )) && print -rl -- "" ${m/#/@M@}; builtin compadd "$@" }'
zpty -w z 'zstyle ":completion:*" menu no; print -r -- "@READY@"'
# The echo of the command line, then the output of print.
zpty -r -m z out '*@READY@*' || exit 2
zpty -r -m z out '*@READY@*' || exit 2
zpty -w -n z "$line"$'\t'
sleep 0.5
zpty -w -n z $'\C-c'
zpty -w z 'print -r -- "@DONE@"'
all=
while zpty -r -t z out; do
	all+=$out
	[[ $all == *@DONE@*@DONE@* ]] && break
done
zpty -d z
print -r -- "$all" | tr -d '\r' | sed -n 's/^@M@//p' | sort -u
