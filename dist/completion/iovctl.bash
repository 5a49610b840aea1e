# bash completion for iovctl. Commands and global options come from `iovctl --help`, live
# values from the host through iovctl itself: devices (PF and VF addresses, netdevs,
# PF/vfN) from `iovctl list`, pools from `iovctl export cdi`. A --sysroot, --socket or
# --config already on the command line is passed on, so the values match what the command
# will see. Needs no bash-completion package (uses COMP_WORDS/COMP_CWORD only).

# iovctl with the line's --sysroot/--socket; stderr dropped.
_iovctl_run()
{
	local i args=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--sysroot|--socket)
			args+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}") ;;
		esac
	done
	NO_COLOR=1 "${COMP_WORDS[0]}" "${args[@]}" "$@" 2>/dev/null
}

_iovctl_commands()
{
	_iovctl_run --help | awk '/^commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }'
}

# Devices as iovctl takes them: addresses, netdevs, and PF/vfN (netdev of the PF if it has
# one, else its address). $1: all (default) or pfs.
_iovctl_devices()
{
	# Columns by their header (ADDRESS ROLE ... NETDEV ...); every field before NAME is
	# one word.
	_iovctl_run list | awk -v what="${1:-all}" '
		$1 == "ADDRESS" { for (i = 1; i <= NF; i++) if ($i == "NETDEV") nd = i; next }
		!nd || NF < nd { next }
		{ net = ($nd != "-") ? $nd : "" }
		$2 == "pf" { pf = net != "" ? net : $1; print $1; if (net != "") print net; next }
		$2 ~ /^vf[0-9]+$/ { if (what == "all") { print $1; if (net != "") print net
				    if (pf != "") print pf "/" $2 }; next }
		{ pf = ""; if (what == "all") { print $1; if (net != "") print net } }'
}

_iovctl_pools()
{
	local i args=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == --config ]] && args=(--config "${COMP_WORDS[i + 1]}")
	done
	_iovctl_run export cdi "${args[@]}" | sed -n 's/.*"kind": *"iovd\.io\/\([^"]*\)".*/\1/p'
}

# COMPREPLY = the words of $1 (space or newline separated) that start with $2.
# Guests iovd knows (running or stopped), from `iovctl vm list`.
_iovctl_guests()
{
	_iovctl_run vm list | awk 'NR > 1 && $1 != "quarantined:" { print $1 }'
}

_iovctl_reply()
{
	local IFS=$' \t\n'
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

_iovctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local i cmd="" ci=0 sub="" pos=0

	# The command is the first word that is neither a global option nor its argument.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--sysroot|--socket) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; ci=$i; break ;;
		esac
	done

	case $prev in
	--sysroot) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--socket|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--dropin-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--pool) _iovctl_reply "$(_iovctl_pools)" "$cur"; return ;;
	--driver) _iovctl_reply "vfio-pci" "$cur"; return ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_iovctl_reply "$(_iovctl_run --help | grep -oE '(^|[][ ,])--?[a-z][a-z-]*' |
				sed 's/^[][ ,]*//' | sort -u)" "$cur"
		else
			_iovctl_reply "$(_iovctl_commands)" "$cur"
		fi
		return
	fi

	# Words after the command, options left out: sub = the first, pos = how many.
	local -a args=()
	for ((i = ci + 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--pool|--config|--driver|--count|--dropin-dir|--kernel|--initrd|--cmdline|--mem|--cpus|--nic|--restart) ((i++)) ;;
		-*) ;;
		*) args+=("${COMP_WORDS[i]}") ;;
		esac
	done
	pos=${#args[@]}
	sub=${args[0]-}

	case $cmd in
	list)
		((pos == 0)) && _iovctl_reply "pfs vfs groups" "$cur" ;;
	show)
		((pos == 0)) && _iovctl_reply "$(_iovctl_devices)" "$cur" ;;
	verify)
		_iovctl_reply "$(_iovctl_devices)" "$cur" ;;
	release)
		((pos == 0)) && _iovctl_reply "$(_iovctl_devices)" "$cur" ;;
	bind)
		if [[ $cur == -* ]]; then _iovctl_reply "--driver --force" "$cur"
		elif ((pos == 0)); then _iovctl_reply "$(_iovctl_devices)" "$cur"; fi ;;
	vfs)
		if ((pos == 0)); then _iovctl_reply "create destroy show" "$cur"
		elif ((pos == 1)); then _iovctl_reply "$(_iovctl_devices pfs)" "$cur"
		elif [[ $sub == create ]] && ((pos >= 2)); then _iovctl_reply "--vfio --dry-run" "$cur"
		elif [[ $sub == destroy ]]; then _iovctl_reply "--force --dry-run" "$cur"; fi ;;
	vf)
		if ((pos == 0)); then _iovctl_reply "set unquarantine" "$cur"
		elif ((pos == 1)); then _iovctl_reply "$(_iovctl_devices | grep /vf)" "$cur"
		elif [[ $sub == unquarantine ]]; then COMPREPLY=()
		else
			case $prev in
			spoofchk|trust) _iovctl_reply "on off" "$cur" ;;
			state) _iovctl_reply "auto enable disable" "$cur" ;;
			proto) _iovctl_reply "802.1Q 802.1ad" "$cur" ;;
			mac|vlan|qos|min_rate|max_rate|min-rate|max-rate) COMPREPLY=() ;;
			*) _iovctl_reply "mac vlan qos proto spoofchk trust state min_rate max_rate" "$cur" ;;
			esac
		fi ;;
	export)
		if ((pos == 0)); then _iovctl_reply "cdi sriovdp" "$cur"
		elif [[ $sub == cdi ]]; then _iovctl_reply "--pool --config" "$cur"
		else _iovctl_reply "--config" "$cur"; fi ;;
	monitor)
		[[ $prev == --count ]] || _iovctl_reply "--recent --count" "$cur" ;;
	config)
		if ((pos == 0)); then _iovctl_reply "check" "$cur"
		elif [[ $cur == -* ]]; then _iovctl_reply "--dropin-dir --no-dropins" "$cur"
		elif ((pos == 1)); then COMPREPLY=($(compgen -f -- "$cur")); fi ;;
	plan)
		_iovctl_reply "--force" "$cur" ;;
	apply)
		_iovctl_reply "--dry-run --force" "$cur" ;;
	vm)
		if ((pos == 0)); then _iovctl_reply "start stop list show log console" "$cur"
		elif [[ $sub == start ]]; then
			case $prev in
			--kernel|--initrd) COMPREPLY=($(compgen -f -- "$cur")) ;;
			--nic) _iovctl_reply "$(_iovctl_pools; _iovctl_devices | grep /vf)" "$cur" ;;
			--restart) _iovctl_reply "no on-failure always" "$cur" ;;
			--cmdline|--mem|--cpus) COMPREPLY=() ;;
			*) ((pos >= 2)) && _iovctl_reply "--kernel --initrd --cmdline --mem --cpus --nic --restart --save" "$cur" ;;
			esac
		elif [[ $sub == stop && $cur == -* ]]; then _iovctl_reply "--force" "$cur"
		elif [[ $sub == stop || $sub == show || $sub == log || $sub == console ]] && ((pos == 1)); then
			_iovctl_reply "$(_iovctl_guests)" "$cur"
		fi ;;
	esac
}
complete -F _iovctl iovctl
