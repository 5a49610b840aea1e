# bash completion for iovctl. Commands, options and which options take a value come from
# iovctl itself (`iovctl --help`, `iovctl help CMD [SUB]`), live values from the host through
# iovctl: devices (PF and VF addresses, netdevs, PF/vfN) from the device lines of `iovctl
# list`, pools from `iovctl export cdi`, guests from `iovctl vm list`. A --sysroot, --socket
# or --config already on the line is passed on, so the values match what the command will
# see. The line is split on blanks only, whatever COMP_WORDBREAKS holds (a PCI address has
# ':' in it), and the replies are trimmed to what bash replaces. Needs no bash-completion
# package.

# _iovctl_w: the line's words up to the cursor (split on blanks); the last is the one
# being completed ("" after a blank).
_iovctl_split()
{
	local line=${COMP_LINE:0:COMP_POINT}
	read -r -a _iovctl_w <<< "$line"
	[[ -z $line || $line == *[[:blank:]] ]] && _iovctl_w+=("")
	[[ ${#_iovctl_w[@]} -gt 0 ]] || _iovctl_w=("")
}

# iovctl with the line's --sysroot/--socket; stderr dropped.
_iovctl_run()
{
	local i args=() n=$((${#_iovctl_w[@]} - 1))
	for ((i = 1; i < n; i++)); do
		case ${_iovctl_w[i]} in
		--sysroot|--socket) args+=("${_iovctl_w[i]}" "${_iovctl_w[i + 1]}") ;;
		--sysroot=*|--socket=*) args+=("${_iovctl_w[i]}") ;;
		esac
	done
	NO_COLOR=1 "${_iovctl_w[0]}" "${args[@]}" "$@" 2>/dev/null
}

_iovctl_commands()
{
	_iovctl_run --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }'
}

# Options of `iovctl help ARGS...` (--help alone: the global ones), one per line as
# "--name" or "--name ARG"; short aliases as their own line.
_iovctl_opts()
{
	_iovctl_run "$@" | awk '/^options/ { on = 1; next } on && NF == 0 { exit }
		on { sub(/^ +/, ""); if ($1 ~ /^-[a-z],$/) { print substr($1, 1, 2); $1 = "" ; sub(/^ /, "") }
		     if ($2 ~ /^[A-Z]+$/) print $1, $2; else print $1 }'
}

# Devices as iovctl takes them: addresses, netdevs, and PF/vfN (netdev of the PF if it has
# one, else its address), only from device lines (an address in the first column). $1: all
# (default) or pfs.
_iovctl_devices()
{
	_iovctl_run list | awk -v what="${1:-all}" '
		$1 == "ADDRESS" { for (i = 1; i <= NF; i++) if ($i == "NETDEV") nd = i; next }
		!nd || NF < nd || $1 !~ /^[0-9a-f]+:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]\.[0-7]$/ { next }
		{ net = ($nd != "-") ? $nd : "" }
		$2 == "pf" { pf = net != "" ? net : $1; print $1; if (net != "") print net; next }
		$2 ~ /^vf[0-9]+$/ { if (what == "all") { print $1; if (net != "") print net
				    if (pf != "") print pf "/" $2 }; next }
		{ pf = ""; if (what == "all") { print $1; if (net != "") print net } }'
}

_iovctl_pools()
{
	local i args=()
	for ((i = 1; i < ${#_iovctl_w[@]} - 1; i++)); do
		[[ ${_iovctl_w[i]} == --config ]] && args=(--config "${_iovctl_w[i + 1]}")
	done
	_iovctl_run export cdi "${args[@]}" | sed -n 's/.*"kind": *"iovd\.io\/\([^"]*\)".*/\1/p'
}

# Guests iovd knows (running or stopped), from `iovctl vm list`.
_iovctl_guests()
{
	_iovctl_run vm list | awk 'NR > 1 && $1 != "quarantined:" { print $1 }'
}

# COMPREPLY = the words of $1 (blank or newline separated) that start with $2, less what
# bash keeps of the word before the last COMP_WORDBREAKS character in it (a ':' in a PCI
# address), as bash-completion's __ltrim_colon_completions does.
_iovctl_reply()
{
	local IFS=$' \t\n' cur=$2 keep="" c i
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
	for ((i = ${#cur} - 1; i >= 0; i--)); do
		c=${cur:i:1}
		if [[ $c != [[:blank:]\"\'] && ${COMP_WORDBREAKS-} == *"$c"* ]]; then
			keep=${cur:0:i + 1}
			break
		fi
	done
	[[ -n $keep ]] && for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$keep"}; done
}

_iovctl_files() { _iovctl_reply "$(compgen -f -- "$1")" "$1"; }
_iovctl_dirs() { _iovctl_reply "$(compgen -d -- "$1")" "$1"; }

_iovctl()
{
	local _iovctl_w
	_iovctl_split
	local n=$((${#_iovctl_w[@]} - 1))
	local cur=${_iovctl_w[n]} prev="" i cmd="" sub="" pos=0 valopts o
	((n > 0)) && prev=${_iovctl_w[n - 1]}
	COMPREPLY=()

	# Options that take a value (any command's; the same name always does), once per
	# iovctl binary.
	if [[ ${_iovctl_valopts_of-} != "${_iovctl_w[0]}" ]]; then
		_iovctl_valopts=" $( { _iovctl_opts --help; for o in $(_iovctl_commands); do
			_iovctl_opts help "$o"; done; } | awk 'NF == 2 { print $1 }' | sort -u | tr '\n' ' ')"
		_iovctl_valopts_of=${_iovctl_w[0]}
	fi
	valopts=$_iovctl_valopts

	case $prev in
	--sysroot) _iovctl_dirs "$cur"; return ;;
	--socket|--config|--kernel|--initrd) _iovctl_files "$cur"; return ;;
	--config-dir) _iovctl_dirs "$cur"; return ;;
	--pool) _iovctl_reply "$(_iovctl_pools)" "$cur"; return ;;
	--driver) _iovctl_reply "vfio-pci" "$cur"; return ;;
	--restart) _iovctl_reply "no on-failure always" "$cur"; return ;;
	--nic) _iovctl_reply "$(_iovctl_pools; _iovctl_devices | grep /vf)" "$cur"; return ;;
	esac
	[[ $valopts == *" $prev "* ]] && return	# a value: nothing to offer

	# The command is the first word that is neither an option nor an option's value; the
	# words after it that are not options: sub = the first, pos = how many. Options go
	# anywhere, so they are skipped wherever they are.
	local -a args=()
	for ((i = 1; i < n; i++)); do
		o=${_iovctl_w[i]}
		if [[ $o == -- ]]; then continue
		elif [[ $o == -* ]]; then [[ $o != *=* && $valopts == *" $o "* ]] && ((i++))
		elif [[ -z $cmd ]]; then cmd=$o
		else args+=("$o"); fi
	done
	pos=${#args[@]}
	sub=${args[0]-}

	if [[ $cur == -* ]]; then
		# The command's (and subcommand's) options, and --json and --help; before a
		# command, the global options.
		if [[ -z $cmd ]]; then
			_iovctl_reply "$(_iovctl_opts --help | awk '{ print $1 }')" "$cur"
		else
			_iovctl_reply "$(_iovctl_opts help "$cmd" ${sub:+"$sub"} | awk '{ print $1 }'
				echo --json --help)" "$cur"
		fi
		return
	fi
	if [[ -z $cmd ]]; then
		_iovctl_reply "$(_iovctl_commands)" "$cur"
		return
	fi

	case $cmd in
	help)
		((pos == 0)) && _iovctl_reply "$(_iovctl_commands)" "$cur" ;;
	list)
		((pos == 0)) && _iovctl_reply "pfs vfs groups" "$cur" ;;
	show|release)
		((pos == 0)) && _iovctl_reply "$(_iovctl_devices)" "$cur" ;;
	verify)
		_iovctl_reply "$(_iovctl_devices)" "$cur" ;;
	bind)
		((pos == 0)) && _iovctl_reply "$(_iovctl_devices)" "$cur" ;;
	vfs)
		if ((pos == 0)); then _iovctl_reply "create destroy show" "$cur"
		elif ((pos == 1)); then _iovctl_reply "$(_iovctl_devices pfs)" "$cur"; fi ;;
	vf)
		if ((pos == 0)); then _iovctl_reply "set unquarantine" "$cur"
		elif ((pos == 1)); then _iovctl_reply "$(_iovctl_devices | grep /vf)" "$cur"
		elif [[ $sub == set ]]; then
			case $prev in
			spoofchk|trust) _iovctl_reply "on off" "$cur" ;;
			state) _iovctl_reply "auto enable disable" "$cur" ;;
			proto) _iovctl_reply "802.1Q 802.1ad" "$cur" ;;
			mac|vlan|qos|min_rate|max_rate|min-rate|max-rate) ;;
			*) _iovctl_reply "mac vlan qos proto spoofchk trust state min_rate max_rate" "$cur" ;;
			esac
		fi ;;
	export)
		((pos == 0)) && _iovctl_reply "cdi sriovdp" "$cur" ;;
	config)
		if ((pos == 0)); then _iovctl_reply "check" "$cur"
		elif ((pos == 1)); then _iovctl_files "$cur"; fi ;;
	vm)
		if ((pos == 0)); then _iovctl_reply "start stop restart reboot list show log console attach detach" "$cur"
		elif [[ " stop restart reboot show log console attach detach " == *" $sub "* ]] && ((pos == 1)); then
			_iovctl_reply "$(_iovctl_guests)" "$cur"
		fi ;;
	esac
}
complete -F _iovctl iovctl
