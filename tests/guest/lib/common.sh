# shellcheck shell=bash
# Host-side (initiator) helpers for the guest suites.

# Guest uptime in seconds: the clock of dmesg and udevadm monitor.
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# wait_until SECONDS CMD... : runs CMD whenever udev has settled or a
# quarter second passed, until it succeeds or SECONDS of uptime elapse.
# Deadlines use uptime, not loop counts, which stretch under load.
wait_until() {
	local limit=$1 end
	shift
	end=$(awk -v u="$(uptime_s)" -v l="$limit" 'BEGIN {print u + l}')
	while :; do
		"$@" > /dev/null && return 0
		awk -v u="$(uptime_s)" -v e="$end" 'BEGIN {exit !(u >= e)}' && return 1
		udevadm settle -t 1 2>/dev/null
		sleep 0.25
	done
}

# md_wait DEV : mdadm --wait for DEV's resync/recovery, bounded: a resync
# that never starts (md's resync=PENDING on an auto-read-only array) would
# block the suite until its timeout.  Return 1 (with /proc/mdstat) if it
# did not end within 300 s; what the array must be, the caller asserts.
md_wait() {
	timeout 300 mdadm --wait "$1" > /dev/null 2>&1
	[ $? != 124 ] && return 0
	echo "md_wait $1: resync/recovery still not done after 300 s:"
	cat /proc/mdstat
	return 1
}

# The visible namespace block device (nvmeXnY) of a namespace UUID, found
# by udev's by-id link; hidden multipath path devices have no such link.
dev_by_uuid() {
	local l=/dev/disk/by-id/nvme-uuid.$1
	[ -L "$l" ] || return 1
	basename "$(readlink -f "$l")"
}

# Controllers (nvmeX) connected to a subsystem NQN.
ctrls_by_nqn() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[ -e "$c/subsysnqn" ] || continue
		[ "$(cat "$c/subsysnqn")" = "$1" ] && basename "$c"
	done
}

# nqn_connected NQN : a controller of subsystem NQN exists (builtins only).
nqn_connected() {
	local c s
	for c in /sys/class/nvme/nvme*; do
		[ -r "$c/subsysnqn" ] && read -r s < "$c/subsysnqn" && [ "$s" = "$1" ] && return 0
	done
	return 1
}

# ns_dev NQN NSID : the visible namespace device of NSID in subsystem NQN.
ns_dev() {
	local b
	for b in /sys/block/nvme*; do
		[ "$(cat "$b/hidden" 2>/dev/null)" = 1 ] && continue
		[ "$(cat "$b/nsid" 2>/dev/null)" = "$2" ] || continue
		[ "$(cat "$b/../subsysnqn" 2>/dev/null)" = "$1" ] || continue
		basename "$b"
		return 0
	done
	return 1
}

# osb ACTION JSON [ARGS...] : nvmf-raid os-brick ACTION with JSON on stdin;
# stdout in $OUT, stderr in $ERR, the exit status in $RC (an assertion's
# message may run commands, which would change $? before it is read).
osb() {
	local action=$1 json=$2
	shift 2
	printf '%s\n' "$json" | nvmf-raid os-brick "$action" "$@" > "$OUT" 2> "$ERR"
	RC=$?
	return $RC
}

ctrl_state() { cat "/sys/class/nvme/$1/state" 2>/dev/null; }

# md member state ("in_sync", "faulty", ...) of block device DEV in mdX.
md_member_state() {
	cat "/sys/block/$1/md/dev-$2/state" 2>/dev/null
}

md_degraded() { cat "/sys/block/$1/md/degraded"; }
md_sync_action() { cat "/sys/block/$1/md/sync_action"; }

# fio_write DEV [SIZE] : writes SIZE (16M) with crc32c checksums and reads it
# back; fio_verify DEV [SIZE] checks what fio_write left there, later.
fio_write() {
	fio --name=w --filename="$1" --rw=write --bs=64k --size="${2:-16M}" --direct=1 \
		--ioengine=libaio --iodepth=4 --verify=crc32c --do_verify=1 \
		--output=/dev/null > /dev/null 2>&1
}

fio_verify() {
	fio --name=w --filename="$1" --rw=read --bs=64k --size="${2:-16M}" --direct=1 \
		--ioengine=libaio --iodepth=4 --verify=crc32c --verify_only=1 \
		--output=/dev/null > /dev/null 2>&1
}

# jget KEY... : the value at that path of $ST (list indexes as numbers):
# strings bare, everything else as JSON (null, true, 67108864, [...]).
jget() {
	python3 - "$ST" "$@" <<-'PY'
	import json, sys
	v = json.load(open(sys.argv[1]))
	for k in sys.argv[2:]:
	    v = v[int(k)] if isinstance(v, list) else v[k]
	print(v if isinstance(v, str) else json.dumps(v))
	PY
}
