# shellcheck shell=bash
# What the guest sides of the benchmarks share (bench/guest/*.sh), installed
# beside them as /mnt/host/bench-lib.sh.  The caller sets DEBUG (a log
# file), DEADLINE (guest uptime in seconds), MD_RULE (where to mask mdadm's
# incremental assembly rule), NAMES (the replicas' target names), opens
# NAP_FD (a FIFO nobody writes: a sleep without forking) and sources
# tests/guest/lib/{target,common}.sh first.

log() { printf '[%7.1fs] %s\n' "$(uptime_s)" "$*"; }

dbg() { printf '[%s] %s\n' "$(uptime_s)" "$*" >> "$DEBUG"; }

die() { log "benchmark failed: $*"; exit 1; }

# nap SECONDS : a sleep without a fork (read on a FIFO nobody writes to).
nap() { read -r -t "$1" -u "$NAP_FD" _ 2> /dev/null; return 0; }

past_deadline() { awk -v u="$(uptime_s)" -v d="$DEADLINE" 'BEGIN { exit !(u >= d) }'; }

settle() { udevadm settle -t 60 2> /dev/null; }

# md_autoassembly on|off : Debian's 64-md-raid-assembly.rules as shipped, or
# masked through /run/udev/rules.d (as bench/guest/attach.sh does).
md_autoassembly() {
	if [ "$1" = off ]; then
		[ -L "$MD_RULE" ] && return 0
		mkdir -p "${MD_RULE%/*}" && ln -sf /dev/null "$MD_RULE"
	else
		[ -L "$MD_RULE" ] || return 0
		rm -f "$MD_RULE"
	fi
	udevadm control --reload || return 1
	settle
	return 0
}

pkg() { dpkg-query -W -f='${Version}' "$1" 2> /dev/null || echo unknown; }

# --- clock and waiting -------------------------------------------------
# MONO_MS: guest uptime (CLOCK_BOOTTIME, 10 ms steps, the clock of dmesg
# and of the log lines) in milliseconds, read without a fork.
mono_ms() {
	local a
	read -r a _ < /proc/uptime
	MONO_MS=$((10#${a%.*} * 1000 + 10#${a#*.} * 10))
}

# ms_to_s MS : "S.sss"
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# wait_for SECONDS CMD... : runs CMD every 0.1 s until it succeeds (0) or
# SECONDS of uptime have passed (1).
wait_for() {
	local end
	mono_ms
	end=$((MONO_MS + $1 * 1000))
	shift
	while :; do
		"$@" && return 0
		mono_ms
		[ "$MONO_MS" -ge "$end" ] && return 1
		nap 0.1
	done
}

# proc_gone PID : the process has exited (or is a zombie).
proc_gone() {
	local s
	[ -r "/proc/$1/stat" ] || return 0
	read -r s 2> /dev/null < "/proc/$1/stat" || return 0
	s=${s##*) }
	[ "${s%% *}" = Z ]
}

# path_sum UUID FIELD : PSUM = the sum of stat field FIELD (1: reads
# completed, 5: writes completed) over the hidden multipath path devices
# of namespace UUID (the head keeps no statistics).
path_sum() {
	local f u s
	PSUM=0
	for f in /sys/block/nvme*c*n*/uuid; do
		[ -e "$f" ] || continue
		read -r u 2> /dev/null < "$f" || continue
		[ "$u" = "$1" ] || continue
		read -r -a s 2> /dev/null < "${f%/uuid}/stat" || continue
		PSUM=$((PSUM + s[$2 - 1]))
	done
}

# desc_state VOLUME REPLICA : DSTATE = the replica's state in the
# descriptor /run/nvmf-raid/VOLUME.json (written atomically), read without
# a fork: a python3 start costs about half a second under TCG.
desc_state() {
	local f=/run/nvmf-raid/$1.json c='' re
	DSTATE=''
	[ -r "$f" ] || return 1
	IFS= read -r -d '' c 2> /dev/null < "$f"
	re="\"name\"[[:space:]]*:[[:space:]]*\"$2\"[^}]*\"state\"[[:space:]]*:[[:space:]]*\"([a-z-]+)\""
	[[ $c =~ $re ]] && DSTATE=${BASH_REMATCH[1]}
	[ -n "$DSTATE" ]
}

# The namespaces of the first N replicas carry nothing: zero the first and
# last 8 MiB of the nvmet backing files (md superblocks, bitmap, any other
# signature) while no host is connected.
blank_replicas() {
	local i f size
	for ((i = 0; i < $1; i++)); do
		f=$TGT_STORE/${NAMES[i]}-1.img
		size=$(stat -c %s "$f") || return 1
		dd if=/dev/zero of="$f" bs=1M count=8 conv=notrunc oflag=direct status=none &&
			dd if=/dev/zero of="$f" bs=1M count=8 seek=$((size / 1048576 - 8)) \
				conv=notrunc oflag=direct status=none || return 1
	done
}

# host_reset : every md array stopped and every NVMe controller
# disconnected, arrays stopped again after udev settles (udev may have
# assembled something from the members meanwhile).
host_reset() {
	timeout 60 mdadm --stop --scan >> "$DEBUG" 2>&1
	timeout 60 nvme disconnect-all >> "$DEBUG" 2>&1
	settle
	timeout 60 mdadm --stop --scan >> "$DEBUG" 2>&1
}

# fio_end PID NQN... : stops the fio started with setsid as PID: SIGINT;
# after 120 s SIGKILL to its process group; after 60 s more the NQNs
# disconnected (an I/O stuck on a head fails when its controllers go).
# 1 (WHY set) when it would not stop.
fio_end() {
	local pid=$1 nqn
	shift
	kill -INT "$pid" 2> /dev/null
	if ! wait_for 120 proc_gone "$pid"; then
		dbg "fio did not stop within 120 s of SIGINT: SIGKILL to its group"
		kill -KILL -- "-$pid" 2> /dev/null
		if ! wait_for 60 proc_gone "$pid"; then
			dbg "fio still there: nvme disconnect $*"
			for nqn in "$@"; do
				timeout 60 nvme disconnect -n "$nqn" >> "$DEBUG" 2>&1
			done
			# shellcheck disable=SC2034 # the caller reports WHY
			wait_for 60 proc_gone "$pid" || { WHY="fio would not stop"; return 1; }
		fi
	fi
	wait "$pid" 2> /dev/null
	return 0
}
