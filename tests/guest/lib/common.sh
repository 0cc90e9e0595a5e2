# shellcheck shell=bash
# Host-side (initiator) helpers for the guest suites.

# Under TCG every process costs: a fork and exec of /bin/true takes
# 40-70 ms of guest CPU, sh -c with a cat 90-120 ms, udevadm or systemctl
# 110-190 ms (measured in both guests).  A wait that forks four times a
# second eats most of a vCPU that the kernel, udev and the helpers under
# test need, so everything it waits for comes later.  The waits below and
# the conditions they poll use shell builtins only.

# Background fio writers run at nice $FIO_NICE.  On the guest's one TCG
# vCPU a writer at full speed takes the CPU from what a test is about: the
# monitor, mdadm and md's heal wait behind it, and the test waits for
# them.  At nice 10 fio still writes all through a fault and measures its
# stalls; only its throughput drops while the CPU is contended.
# failure_test, Debian 12, two guests side by side: 357.1 s at nice 0
# (1171-6483 writes per test), 265.7 s at nice 10 (262-1375 writes), every
# figure within its assertion.
# shellcheck disable=SC2034 # fault.sh and the suites use it
FIO_NICE=10

# py3 ARG... : python3 for the tests' own snippets (standard library only),
# isolated (-I) and without the site module (-S), which reads every .pth
# file of the image's dist-packages (os-brick's dependencies): 0.23 s a
# start against 0.46 s (Debian 13 guest under TCG), and the suites start
# it hundreds of times.
py3() { python3 -I -S "$@"; }

# Guest uptime in seconds: the clock of dmesg and udevadm monitor.
uptime_s() {
	local u
	read -r u _ < /proc/uptime
	echo "$u"
}

# uptime_cs : sets UPTIME_CS to the guest uptime in hundredths of a second
# (/proc/uptime always has two decimals), without a process.
uptime_cs() {
	local u
	read -r u _ < /proc/uptime
	UPTIME_CS=$((10#${u/./}))
}

# nap SECONDS : sleeps without a process: read times out on a pipe that
# nobody writes to (opened read-write, so it never sees end of file).
nap() {
	[ -n "${NAP_FD:-}" ] || exec {NAP_FD}<> <(:)
	read -r -t "$1" -u "$NAP_FD" _
	return 0
}

# The file commands target.sh and the suites run most (mkdir, rmdir, rm
# and ln on nvmet's configfs, hundreds per suite; basename, realpath and
# seq, 600, 750 and 230 in one run) as bash's loadable builtins (Debian's
# bash-builtins, in the image); they take the options used here (mkdir -p,
# rm -rf, ln -sf, seq -f).  Without the package, the programs.
for b in mkdir rmdir rm ln basename dirname realpath seq; do
	enable -f "$b" "$b" 2> /dev/null || :
done
unset b

# expr, for shunit2 (2.1.8 on both releases): it counts every assertion
# and test with `expr N + 1` and reads assertTrue's condition with
# `expr COND : '\([0-9]*\)'` (Debian 12) or `expr ( COND + 0 ) = COND`
# (Debian 13), two or three processes per assertion (283 in
# failure_test).  The same arithmetic and match in the shell; any other
# form goes to expr(1).  Exit status as expr's: 1 if the result is empty
# or zero ("00" too), 2 for a non-integer argument.
expr() {
	local v
	if [ $# = 3 ] && [[ $1 =~ ^(0|-?[1-9][0-9]*)$ && $3 =~ ^(0|-?[1-9][0-9]*)$ ]] &&
		{ [ "$2" = + ] || { [ "$2" = / ] && [ "$3" != 0 ]; }; }; then
		if [ "$2" = + ]; then v=$(($1 + $3)); else v=$(($1 / $3)); fi
	elif [ $# = 3 ] && [ "$2" = : ] && [ "$3" = '\([0-9]*\)' ]; then
		[[ $1 =~ ^[0-9]* ]]
		v=${BASH_REMATCH[0]}
	elif [ $# = 7 ] && [ "$1" = '(' ] && [ "$3 $4 $5 $6" = '+ 0 ) =' ] && [ "$2" = "$7" ] &&
		[[ $2 =~ ^-?[0-9]+$ || $2 =~ [^-+0-9[:space:]] ]]; then
		# Debian 13's shunit2 asks whether a condition is a number with
		# `expr ( COND + 0 ) = COND`: 1 if it is, an error if not.
		if [[ $2 =~ ^-?[0-9]+$ ]]; then
			v=1
		else
			echo "expr: non-integer argument" >&2
			return 2
		fi
	else
		command expr "$@"
		return
	fi
	echo "$v"
	[ -n "$v" ] && ! [[ $v =~ ^-?0+$ ]]
}

# wait_until SECONDS CMD... : runs CMD every 0.2 s until it succeeds or
# SECONDS of uptime elapse.  Deadlines use uptime, not loop counts, which
# stretch under load.  CMD is best a function of builtins (attr_is, ...).
wait_until() {
	local end
	uptime_cs
	end=$((UPTIME_CS + $1 * 100))
	shift
	while :; do
		"$@" > /dev/null && return 0
		uptime_cs
		[ "$UPTIME_CS" -ge "$end" ] && return 1
		nap 0.2
	done
}

# attr_is FILE VALUE... : FILE's first line (a sysfs attribute) is one of
# the VALUEs.  False if FILE cannot be read.
attr_is() {
	local f=$1 v w
	shift
	read -r v < "$f" 2> /dev/null || [ -n "$v" ] || return 1
	for w; do [ "$v" = "$w" ] && return 0; done
	return 1
}

# attr FILE : the first line of FILE (a sysfs or configfs attribute), as
# `cat FILE 2>/dev/null` prints it but without a process (polled in loops);
# status 1 if FILE cannot be read.
attr() {
	local v
	{ IFS= read -r v || [ -n "$v" ]; } 2> /dev/null < "$1" || return 1
	printf '%s\n' "$v"
}

# attr_gt FILE N : FILE's first number is greater than N.
attr_gt() {
	local v
	read -r v _ < "$1" 2> /dev/null || [ -n "$v" ] || return 1
	[ "$v" -gt "$2" ] 2> /dev/null
}

# file_has FILE TEXT : FILE contains TEXT.
file_has() {
	local s
	read -r -d '' s < "$1" 2> /dev/null
	[[ $s == *"$2"* ]]
}

# file_count_is FILE TEXT N : TEXT occurs exactly N times in FILE.
file_count_is() {
	local s rest
	read -r -d '' s < "$1" 2> /dev/null || [ -n "$s" ] || return 1
	rest=${s//"$2"/}
	[ $(((${#s} - ${#rest}) / ${#2})) -eq "$3" ]
}

# gone PATH : PATH does not exist (any more).
gone() { ! [ -e "$1" ]; }

# md_whole MD : md array MD (md127) is not degraded and not syncing.
md_whole() {
	attr_is "/sys/block/$1/md/degraded" 0 && attr_is "/sys/block/$1/md/sync_action" idle
}

# md_idle MD : md array MD does no resync, recovery or check.
md_idle() { attr_is "/sys/block/$1/md/sync_action" idle; }

# json_in_sync_is VOL N : the descriptor of VOL lists N replicas in-sync.
json_in_sync_is() { file_count_is "/run/nvmf-raid/$1.json" '"state": "in-sync"' "$2"; }

# record_count_is VOL N : the in-sync record of VOL names N replicas.
record_count_is() { file_count_is "/var/lib/nvmf-raid/$1.json" '"name"' "$2"; }

# file_has_line FILE LINE : FILE has the line LINE.
file_has_line() {
	local l
	while IFS= read -r l; do [ "$l" = "$2" ] && return 0; done < "$1"
	return 1
}

# journal_has_id ID : the journal has an entry with MESSAGE_ID=ID after
# the cursor kept in $CURSOR (journal_mark).  One process: journalctl
# prints that one field.  Not journalctl's own match (MESSAGE_ID=ID):
# --after-cursor skips the first entry after the cursor that the match
# lets through, taking it for the cursor's own.
journal_has_id() {
	local c
	read -r c < "$CURSOR"
	[[ $'\n'$(journalctl --no-pager -q -o cat --output-fields=MESSAGE_ID --after-cursor "$c")$'\n' == *$'\n'"$1"$'\n'* ]]
}

# all_attr_are VALUE DIR... : every DIR/queue/io_timeout is VALUE.
all_attr_are() {
	local v=$1 d
	shift
	for d; do attr_is "$d/queue/io_timeout" "$v" || return 1; done
}

# lines_gt FILE N : FILE has more than N lines.
lines_gt() {
	local lines=()
	mapfile -t lines < "$1" 2> /dev/null
	[ "${#lines[@]}" -gt "$2" ]
}

# mdstat_shows MD TEXT : the line after "MD : ..." in /proc/mdstat (its
# members' status, [UU]) contains TEXT.
mdstat_shows() {
	local l found=0
	while IFS= read -r l; do
		if [ "$found" = 1 ]; then
			[[ $l == *"$2"* ]]
			return
		fi
		[[ $l == "$1 "* ]] && found=1
	done < /proc/mdstat
	return 1
}

# md_recovering MD : md recovers a member of MD and has copied some of it.
md_recovering() {
	attr_is "/sys/block/$1/md/sync_action" recover && attr_gt "/sys/block/$1/md/sync_completed" 0
}

# unit_is UNIT STATE... : UNIT's ActiveState is one of the STATEs.
unit_is() {
	local u=$1 s w
	shift
	s=$(systemctl show -P ActiveState "$u")
	for w; do [ "$s" = "$w" ] && return 0; done
	return 1
}

# monitor_restarted VOL PID : VOL's monitor runs again, not as PID.
monitor_restarted() {
	local p
	p=$(systemctl show -P MainPID "nvmf-raid-monitor@$1")
	[ "$p" != 0 ] && [ "$p" != "$2" ]
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
	l=$(realpath "$l") && echo "${l##*/}"
}

# Controllers (nvmeX) connected to a subsystem NQN.
ctrls_by_nqn() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[ -r "$c/subsysnqn" ] && attr_is "$c/subsysnqn" "$1" && echo "${c##*/}"
	done
	return 0
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
		attr_is "$b/hidden" 1 && continue
		attr_is "$b/nsid" "$2" || continue
		attr_is "$b/../subsysnqn" "$1" || continue
		echo "${b##*/}"
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

ctrl_state() { attr "/sys/class/nvme/$1/state"; }

# md member state ("in_sync", "faulty", ...) of block device DEV in mdX.
md_member_state() { attr "/sys/block/$1/md/dev-$2/state"; }

md_degraded() { attr "/sys/block/$1/md/degraded"; }
md_sync_action() { attr "/sys/block/$1/md/sync_action"; }

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
# strings bare, everything else as JSON (null, true, 67108864, [...]);
# nothing, and 1, if there is no such path.  One python run flattens $ST
# into $ST.flat (its identity, then every path and its value) when $ST is
# new or changed; the lookups are the shell's: status_test asks for 60
# values, and a python start each took 0.2-0.4 s under TCG.
jget() {
	local id k v
	id=$(stat -c '%n %i %s %y' "$ST") || return 1
	{ IFS= read -r -d '' v < "$ST.flat" && [ "$v" = "$id" ]; } 2> /dev/null ||
		py3 - "$ST" "$id" > "$ST.flat" <<-'PY' || return 1
		import json, sys
		out = [sys.argv[2]]
		def walk(v, path):
		    out.extend((" ".join(path), v if isinstance(v, str) else json.dumps(v)))
		    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
		    for k, w in items:
		        walk(w, path + [str(k)])
		walk(json.load(open(sys.argv[1])), [])
		sys.stdout.write("".join(x + "\0" for x in out))
		PY
	{
		IFS= read -r -d '' v
		while IFS= read -r -d '' k && IFS= read -r -d '' v; do
			[ "$k" = "$*" ] && { printf '%s\n' "$v"; return 0; }
		done
	} < "$ST.flat"
	return 1
}
