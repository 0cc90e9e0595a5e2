#!/bin/bash
# Guest side of bench/attach (issue 4), run as /mnt/host/run.sh with the
# test library in /mnt/host/lib.  Attach and detach times for 1, 2 and 3
# replicas, first attach (create) and re-attach (assemble), three ways on
# the same nvmet targets:
#   ours      systemctl start/stop nvmf-raid@benchN
#   osbrick   Debian's python3-os-brick NVMe-oF connector, connect_volume /
#             disconnect_volume timed inside one warm python3 process
#             (osbrick_bench.py beside this script)
#   floor     the same steps typed by hand: nvme connect per replica, then
#             mdadm --create / --assemble; mdadm --stop + nvme disconnect
# Each cycle (one method, N replicas): blank the N namespaces on the target
# side, time attach (create), detach, attach (assemble), detach; every step
# is checked (array built, same array re-assembled, everything gone after
# detach) and a step that fails is recorded as FAILED.  Methods take turns
# within each run.  Output: out/attach-results.txt (medians, ratios, min
# and max), out/attach-samples.tsv (every sample), out/attach-debug.log.
# Settings from /mnt/host/bench.conf: RUNS, OSBRICK_UDEV (stock|off: Debian's
# md auto-assembly rule during the os-brick runs), DEADLINE (guest uptime
# in seconds after which remaining cycles are skipped).
# Methods are functions called by name ("${m}_attach"):
# shellcheck disable=SC2317 source-path=SCRIPTDIR
set -u
share=/mnt/host
out=$share/out
# shellcheck source=../../tests/guest/lib/install.sh
. "$share/lib/install.sh"
# shellcheck source=../../tests/guest/lib/target.sh
. "$share/lib/target.sh"
# shellcheck source=../../tests/guest/lib/common.sh
. "$share/lib/common.sh"
# shellcheck source=../lib/guest.sh
. "$share/bench-lib.sh"

RUNS=5
OSBRICK_UDEV=stock
PROFILE=0
DEADLINE=2100
# shellcheck source=/dev/null
[ -f "$share/bench.conf" ] && . "$share/bench.conf"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SIZE_MIB=64
NAMES=(bench-r1 bench-r2 bench-r3)
UUIDS=(b3e1c0a7-0001-4c5e-9a7d-6e0f5a1b2c01 b3e1c0a7-0002-4c5e-9a7d-6e0f5a1b2c02 b3e1c0a7-0003-4c5e-9a7d-6e0f5a1b2c03)
NQNS=()
METHODS=(ours osbrick floor)
OPS=(create detach-created assemble detach-assembled)
VOLDIR=/etc/nvmf-raid/volumes
WORK=/run/nvmf-raid-bench
SAMPLES=$out/attach-samples.tsv
RESULTS=$out/attach-results.txt
DEBUG=$out/attach-debug.log
MD_RULE=/run/udev/rules.d/64-md-raid-assembly.rules

# --- clock -------------------------------------------------------------
# Shell-side steps are timed with bash's $EPOCHREALTIME: microseconds, no
# fork (a python3 or date process per reading would be timed too).  It is
# CLOCK_REALTIME, but nothing steps or slews the clock in this guest (no
# network, systemd-timesyncd masked); the drift against CLOCK_MONOTONIC
# (/proc/uptime, 10 ms) over the whole run is printed as a check.
now_us() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		NOW_US=${EPOCHREALTIME/[.,]/}
	else
		NOW_US=$(date +%s%6N)
	fi
}
fmt_us() { printf -v "$2" '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

# timed CMD... : runs CMD, STEP_S = its wall time in seconds.
timed() {
	local t0 rc
	now_us
	t0=$NOW_US
	"$@"
	rc=$?
	now_us
	fmt_us $((NOW_US - t0)) STEP_S
	return "$rc"
}

# wait_blk SECONDS PATH : until PATH is (or links to) a block device.
wait_blk() {
	local t0
	now_us
	t0=$NOW_US
	while [ ! -b "$2" ]; do
		now_us
		[ $((NOW_US - t0)) -ge $(($1 * 1000000)) ] && return 1
		nap 0.005
	done
}

# Nothing of ours is attached: no controller, no md array, no unit.
quiescent() {
	local i
	for ((i = 0; i < 3; i++)); do
		[ -z "$(ctrls_by_nqn "${NQNS[i]}")" ] || return 1
	done
	! grep -q '^md' /proc/mdstat
}

force_cleanup() {
	local v u
	dbg "cleanup"
	for v in 1 2 3; do
		timeout 60 systemctl stop "nvmf-raid@bench$v" > /dev/null 2>&1
		systemctl reset-failed "nvmf-raid@bench$v" > /dev/null 2>&1
	done
	host_reset
	rm -f /dev/md/floor /dev/md/osb1 /dev/md/osb2 /dev/md/osb3
	# What a failed nvmf-raid-detach may have left (contract.md paths).
	rm -f /run/nvmf-raid/bench1.json /run/nvmf-raid/bench2.json /run/nvmf-raid/bench3.json
	for u in "${UUIDS[@]}"; do rm -f "/run/nvmf-raid/by-uuid/$u"; done
	settle
}

# --- ours --------------------------------------------------------------
ours_prepare() {
	local n=$1 i
	md_autoassembly on || return 1
	# One volume file at a time: bench1..3 share namespaces.
	rm -f "$VOLDIR"/bench*.conf "/var/lib/nvmf-raid/bench$n.json"
	mkdir -p "$VOLDIR"
	{
		printf '[volume]\nauto = no\ndegraded-timeout = 60\n'
		for ((i = 0; i < n; i++)); do
			printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = tcp://127.0.0.1:4420\n' \
				$((i + 1)) "${NQNS[i]}" "${UUIDS[i]}"
		done
	} > "$VOLDIR/bench$n.conf"
}
ours_attach() {
	timeout 150 systemctl start "nvmf-raid@bench$1" 2>> "$DEBUG" && return 0
	WHY="systemctl start failed: $(journalctl -q -o cat -n 1 -u "nvmf-raid@bench$1" 2> /dev/null)"
	journalctl -q -o short-monotonic -n 20 -u "nvmf-raid@bench$1" >> "$DEBUG" 2>&1
	return 1
}
ours_detach() {
	timeout 150 systemctl stop "nvmf-raid@bench$1" 2>> "$DEBUG" && return 0
	WHY="systemctl stop failed: $(journalctl -q -o cat -n 1 -u "nvmf-raid@bench$1" 2> /dev/null)"
	journalctl -q -o short-monotonic -n 20 -u "nvmf-raid@bench$1" >> "$DEBUG" 2>&1
	return 1
}
ours_path() { DEV_PATH=/dev/nvmf-raid/bench$1; }

# --- floor -------------------------------------------------------------
floor_prepare() { md_autoassembly off; }
floor_attach() {
	local n=$1 mode=$2 i devs=()
	for ((i = 0; i < n; i++)); do
		timeout 60 nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "${NQNS[i]}" \
			--ctrl-loss-tmo=-1 --reconnect-delay=2 > /dev/null 2>> "$DEBUG" ||
			{ WHY="nvme connect ${NQNS[i]} failed"; return 1; }
	done
	for ((i = 0; i < n; i++)); do
		devs+=("/dev/disk/by-id/nvme-uuid.${UUIDS[i]}")
		wait_blk 60 "${devs[i]}" || { WHY="${devs[i]} did not appear"; return 1; }
	done
	[ "$n" -gt 1 ] || return 0
	if [ "$mode" = create ]; then
		timeout 120 mdadm --create /dev/md/floor --run --level=1 --raid-devices="$n" \
			--metadata=1.2 --bitmap=internal --bitmap-chunk=1M "${devs[@]}" \
			< /dev/null > /dev/null 2>> "$DEBUG"
	else
		timeout 120 mdadm --assemble /dev/md/floor "${devs[@]}" < /dev/null > /dev/null 2>> "$DEBUG"
	fi || { WHY="mdadm --$mode failed"; return 1; }
	wait_blk 60 /dev/md/floor || { WHY="/dev/md/floor did not appear"; return 1; }
}
floor_detach() {
	local n=$1 i rc=0
	if [ "$n" -gt 1 ]; then
		timeout 120 mdadm --stop /dev/md/floor > /dev/null 2>> "$DEBUG" ||
			{ WHY="mdadm --stop failed"; rc=1; }
	fi
	for ((i = 0; i < n; i++)); do
		timeout 60 nvme disconnect -n "${NQNS[i]}" > /dev/null 2>> "$DEBUG" ||
			{ WHY="nvme disconnect ${NQNS[i]} failed"; rc=1; }
	done
	return "$rc"
}
floor_path() {
	if [ "$1" -gt 1 ]; then DEV_PATH=/dev/md/floor; else DEV_PATH=/dev/disk/by-id/nvme-uuid.${UUIDS[0]}; fi
}

# --- os-brick ----------------------------------------------------------
# One python3 process for the whole run, talking through two FIFOs.  If it
# dies in a command it is started again (at most 3 times in all); if it
# cannot start, os-brick's cells are FAILED.
OSB_PID='' OSB_IN='' OSB_OUT='' OSB_PATH='' OSB_STARTS=0 OSB_GIVEUP='' OSB_INFO=''
osb_stop() {
	if [ -n "$OSB_PID" ]; then
		(trap '' PIPE; echo quit >&"$OSB_IN") 2> /dev/null
		timeout 10 tail --pid="$OSB_PID" -f /dev/null 2> /dev/null || kill "$OSB_PID" 2> /dev/null
		wait "$OSB_PID" 2> /dev/null
	fi
	[ -n "$OSB_IN" ] && exec {OSB_IN}>&-
	[ -n "$OSB_OUT" ] && exec {OSB_OUT}<&-
	OSB_PID='' OSB_IN='' OSB_OUT=''
}
osb_start() {
	local line secs version
	osb_stop
	OSB_STARTS=$((OSB_STARTS + 1))
	[ "$OSB_STARTS" -ge 3 ] && OSB_GIVEUP=1
	rm -f "$WORK/osb.in" "$WORK/osb.out"
	mkfifo "$WORK/osb.in" "$WORK/osb.out" || return 1
	python3 "$share/osbrick_bench.py" "$WORK/osbrick.json" \
		< "$WORK/osb.in" > "$WORK/osb.out" 2>> "$out/osbrick.log" &
	OSB_PID=$!
	exec {OSB_IN}> "$WORK/osb.in" {OSB_OUT}< "$WORK/osb.out"
	if ! read -r -t 600 -u "$OSB_OUT" line || [ "${line%% *}" != ready ]; then
		log "os-brick: the python3 helper did not start: ${line:-no answer} (see out/osbrick.log)"
		OSB_GIVEUP=1
		osb_stop
		return 1
	fi
	read -r _ secs version patch <<< "$line"
	OSB_INFO="os-brick $version imported in $secs s, not counted"
	OSB_PATCH=$([ "$patch" = patched ] && echo "src_addr patch (its address parsing predates kernel 6.1)" ||
		echo "no patch (it parses src_addr itself)")
	log "$OSB_INFO"
}
# osb_cmd COMMAND : one request, one answer line in OSB_REPLY.
osb_cmd() {
	OSB_REPLY=''
	if [ -z "$OSB_PID" ]; then
		if [ -n "$OSB_GIVEUP" ] || ! osb_start; then
			WHY="no os-brick process"
			return 1
		fi
	fi
	if ! (trap '' PIPE; printf '%s\n' "$1" >&"$OSB_IN") 2> /dev/null ||
		! read -r -t 600 -u "$OSB_OUT" OSB_REPLY; then
		WHY="os-brick process did not answer \"$1\""
		kill "$OSB_PID" 2> /dev/null
		osb_stop
		return 1
	fi
}
osbrick_prepare() {
	if [ "$OSBRICK_UDEV" = off ]; then md_autoassembly off; else md_autoassembly on; fi
}
osb_attach() {
	local status secs path
	osb_cmd "connect $1" || return 1
	read -r status secs path <<< "$OSB_REPLY"
	STEP_S=$secs
	[ "$status" = ok ] || { WHY="connect_volume: $path"; return 1; }
	OSB_PATH=$path
}
osb_detach() {
	local status secs rest
	osb_cmd "disconnect $1" || return 1
	read -r status secs rest <<< "$OSB_REPLY"
	STEP_S=$secs
	[ "$status" = ok ] || { WHY="disconnect_volume: $rest"; return 1; }
}
osbrick_path() { DEV_PATH=$OSB_PATH; }

# --- checks ------------------------------------------------------------
# check_attached METHOD N : the method's device is there and is what it
# should be; FP = the array's identity (md UUID and the members' device
# UUIDs, new at every create) to tell a re-assembly from a re-creation.
check_attached() {
	local m=$1 n=$2 real md i dev uuids=()
	# os-brick returns before udev is done with the namespaces; the check
	# needs udev's links (untimed).
	settle
	"${m}_path" "$n"
	FP='' MD_DEV=''
	if [ -z "$DEV_PATH" ] || [ ! -b "$DEV_PATH" ]; then
		WHY="${DEV_PATH:-no device} is not a block device"
		return 1
	fi
	real=$(readlink -f "$DEV_PATH")
	md=${real##*/}
	if [ "$n" -eq 1 ]; then
		[ "$(cat "/sys/block/$md/uuid" 2> /dev/null)" = "${UUIDS[0]}" ] ||
			{ WHY="$DEV_PATH is $real, not namespace ${UUIDS[0]}"; return 1; }
		FP="namespace ${UUIDS[0]}"
		return 0
	fi
	[ "$(cat "/sys/block/$md/md/level" 2> /dev/null)" = raid1 ] || { WHY="$DEV_PATH ($real) is not an md raid1"; return 1; }
	[ "$(cat "/sys/block/$md/md/raid_disks")" = "$n" ] || { WHY="$real has $(cat "/sys/block/$md/md/raid_disks") raid disks, not $n"; return 1; }
	[ "$(cat "/sys/block/$md/md/degraded")" = 0 ] || { WHY="$real is degraded"; return 1; }
	case $(cat "/sys/block/$md/md/array_state") in
	clear|inactive|suspended) WHY="$real is $(cat "/sys/block/$md/md/array_state")"; return 1 ;;
	esac
	for ((i = 0; i < n; i++)); do
		dev=$(dev_by_uuid "${UUIDS[i]}") || { WHY="namespace ${UUIDS[i]} has no device"; return 1; }
		[ -e "/sys/block/$md/md/dev-$dev" ] || { WHY="$dev is not a member of $real"; return 1; }
		uuids+=("$(mdadm --examine --export "/dev/$dev" 2> /dev/null | sed -n 's/^MD_DEV_UUID=//p')")
	done
	FP="$(mdadm --detail --export "$real" 2> /dev/null | sed -n 's/^MD_UUID=//p') $(printf '%s\n' "${uuids[@]}" | sort | tr '\n' ' ')"
	MD_DEV=$real
}

check_detached() {
	local m=$1 n=$2 i c
	for ((i = 0; i < n; i++)); do
		c=$(ctrls_by_nqn "${NQNS[i]}")
		[ -z "$c" ] || { WHY="${NQNS[i]} still connected ($c)"; return 1; }
	done
	if grep -q '^md' /proc/mdstat; then
		WHY="md array left: $(grep '^md' /proc/mdstat | head -1)"
		return 1
	fi
	if [ "$m" = ours ] && [ -e "/dev/nvmf-raid/bench$n" ]; then
		WHY="/dev/nvmf-raid/bench$n left"
		return 1
	fi
}

# --- one cycle ---------------------------------------------------------
# method_attach / method_detach METHOD N [MODE] : STEP_S = the time.
method_attach() {
	if [ "$1" = osbrick ]; then osb_attach "$2"; else timed "${1}_attach" "$2" "$3"; fi
}
method_detach() {
	if [ "$1" = osbrick ]; then osb_detach "$2"; else timed "${1}_detach" "$2"; fi
}

# cycle METHOD N RUN RECORD : blank, attach (create), detach, attach
# (assemble), detach; RECORD=0 for the warm-up.
cycle() {
	local m=$1 n=$2 run=$3 rec=$4 i op line fp='' res=(FAILED FAILED FAILED FAILED) failed=''
	WHY=''
	if ! quiescent; then
		dbg "not quiescent before $m n=$n run $run"
		force_cleanup
	fi
	if ! blank_replicas "$n"; then
		failed="blanking the replicas failed"
	elif ! "${m}_prepare" "$n"; then
		failed="preparing $m failed"
	else
		settle
		for i in 0 1 2 3; do
			op=${OPS[i]}
			WHY='' STEP_S=''
			case $op in
			create|assemble)
				if ! method_attach "$m" "$n" "$op" || ! check_attached "$m" "$n"; then
					failed="$op: $WHY"; break
				fi
				if [ "$op" = create ]; then
					fp=$FP
					# Let the initial resync finish (untimed), as it would
					# long before a real detach.
					[ -n "$MD_DEV" ] && timeout 120 mdadm --wait "$MD_DEV" > /dev/null 2>&1
				elif [ "$FP" != "$fp" ]; then
					failed="assemble: a new array was built instead ($fp -> $FP)"; break
				fi
				;;
			*)
				if ! method_detach "$m" "$n"; then
					failed="$op: $WHY"; break
				fi
				settle
				if ! check_detached "$m" "$n"; then
					failed="$op: $WHY"; break
				fi
				;;
			esac
			res[i]=$STEP_S
			settle
		done
	fi
	[ -n "$failed" ] && force_cleanup
	if [ "$rec" = 1 ]; then
		for i in 0 1 2 3; do
			printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$m" "${OPS[i]}" "$run" "${res[i]}" >> "$SAMPLES"
		done
	fi
	printf -v line '%-7s n=%d %-6s create %-9.9s detach %-9.9s assemble %-9.9s detach %-9.9s' \
		"$m" "$n" "$([ "$rec" = 1 ] && echo "run $run" || echo warmup)" "${res[@]}"
	log "$line${failed:+  FAILED: $failed}"
	[ -n "$failed" ] && dbg "$m n=$n run $run: $failed"
	return 0
}

# --- profile -----------------------------------------------------------
# profile_table : where each systemctl start nvmf-raid@benchN went, from the
# journal: the phases nvmf-raid-attach logs (debug), between systemd's
# "Starting" and "Finished"; medians in ms per replica count and kind.
profile_table() {
	journalctl -b -o json --no-pager 2> /dev/null | python3 -c '
import json, statistics, sys
phases = [("read", "volume file read"), ("locked", "locked, in-sync record read"),
          ("connect", "connecting"), ("connected", "Connected replica"),
          ("members", " is /dev/"), ("mdadm", "creating RAID1"), ("mdadm", ": assembling"),
          ("link", "udev made"), ("attached", ": attached as")]
order = ["start", "read", "locked", "connect", "connected", "members", "mdadm", "link", "attached", "finished"]
runs, cur = {}, {}
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    msg, t = e.get("MESSAGE"), int(e.get("__MONOTONIC_TIMESTAMP", 0)) / 1000.0
    if not isinstance(msg, str):
        continue
    unit = e.get("UNIT") if e.get("_PID") == "1" else e.get("_SYSTEMD_UNIT")
    if not unit or not unit.startswith("nvmf-raid@bench"):
        continue
    n = int(unit[len("nvmf-raid@bench"):].split(".")[0])
    if e.get("_PID") == "1" and msg.startswith("Starting "):
        cur[n] = {"start": t}
        continue
    r = cur.get(n)
    if r is None:
        continue
    if e.get("_PID") == "1" and msg.startswith("Finished "):
        r["finished"] = t
        kind = "create" if "create" in r else ("assemble" if "mdadm" in r else "single")
        runs.setdefault((n, kind), []).append(r)
        del cur[n]
        continue
    for key, pat in phases:
        if pat in msg:
            r[key] = t  # the last of each (several replicas)
            if pat == "creating RAID1":
                r["create"] = t
print()
print("Profile (--profile): ms from the previous phase to this one, medians over the runs of ours;")
print("from systemd starting nvmf-raid@benchN to it finishing (the systemctl client and job queue are the rest).")
cols = order[1:]
print("%-20s %4s" % ("", "runs") + "".join(" %9s" % c for c in cols) + " %9s" % "total")
for (n, kind) in sorted(runs):
    rs = runs[(n, kind)]
    row = "%-20s %4d" % ("%d replica%s %s" % (n, "s" if n > 1 else "", kind), len(rs))
    for i, c in enumerate(cols):
        d = []
        for r in rs:
            if c not in r:
                continue
            prev = max((r[p] for p in order[:order.index(c)] if p in r), default=None)
            if prev is not None:
                d.append(r[c] - prev)
        row += " %9s" % ("%.0f" % statistics.median(d) if d else "-")
    tot = [r["finished"] - r["start"] for r in rs]
    row += " %9.0f" % statistics.median(tot)
    print(row)
'
}

# --- main --------------------------------------------------------------
rm -f "$SAMPLES" "$RESULTS" "$DEBUG" "$out/osbrick.log"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a positive number"
case $OSBRICK_UDEV in stock|off) ;; *) die "OSBRICK_UDEV=$OSBRICK_UDEV: stock or off" ;; esac
mkdir -p "$WORK" || die "mkdir $WORK"
mkfifo "$WORK/nap" || die "no FIFO for nap"
exec {NAP_FD}<> "$WORK/nap"

log "attach benchmark: RUNS=$RUNS, kernel $(uname -r)"
install_project "$share" || die "installing the project"
tgt_modules || die "loading the nvmet / nvme-tcp / raid1 modules"
for i in 0 1 2; do
	tgt_add "${NAMES[i]}" "${SIZE_MIB}M" "${UUIDS[i]}" 1 || die "target ${NAMES[i]}"
	NQNS+=("$(tgt_nqn "${NAMES[i]}")")
done
log "targets: 3 subsystems with one ${SIZE_MIB} MiB namespace each on tcp://127.0.0.1:4420"
# --profile: nvmf-raid-attach logs its phases (debug level, which costs
# time of its own); profile_table reads them back from the journal.
if [ "$PROFILE" = 1 ]; then
	mkdir -p /run/systemd/system/nvmf-raid@.service.d
	printf '[Service]\nEnvironment=NVMF_RAID_LOG_LEVEL=debug\n' \
		> /run/systemd/system/nvmf-raid@.service.d/profile.conf
	systemctl daemon-reload || die "systemctl daemon-reload"
	log "profile: nvmf-raid@ units log at debug level (the timings include that)"
fi

{
	printf '{"lock_path": "%s", "portal": ["127.0.0.1", "4420", "tcp"], "replicas": [' "$WORK/osbrick-locks"
	for i in 0 1 2; do
		printf '%s{"nqn": "%s", "uuid": "%s"}' "$([ "$i" -gt 0 ] && echo ', ')" "${NQNS[i]}" "${UUIDS[i]}"
	done
	printf ']}\n'
} > "$WORK/osbrick.json"
osb_start

clock0_ms=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
now_us
real0_ms=$((NOW_US / 1000))
t_start=$(uptime_s)

# One unrecorded cycle per method: binaries, caches and systemd's first
# network-online.target pull-in are not measured.
log "warm-up (2 replicas, not recorded)"
for m in "${METHODS[@]}"; do cycle "$m" 2 0 0; done

skipped=0
for n in 1 2 3; do
	log "$n replica(s)"
	for ((run = 1; run <= RUNS; run++)); do
		for k in 0 1 2; do
			# The methods take turns, starting with a different one each run.
			m=${METHODS[$(((run + k) % 3))]}
			if past_deadline; then
				skipped=$((skipped + 1))
				continue
			fi
			cycle "$m" "$n" "$run" 1
		done
	done
done
[ "$skipped" -gt 0 ] && log "guest deadline (${DEADLINE}s uptime) reached: $skipped cycles skipped"

now_us
real1_ms=$((NOW_US / 1000))
clock1_ms=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
drift_ms=$((real1_ms - real0_ms - (clock1_ms - clock0_ms)))

osb_stop
force_cleanup
md_autoassembly on
rm -f "$VOLDIR"/bench*.conf
tgt_remove_all

{
	echo "nvmf-raid attach benchmark (bench/attach): attach and detach of one volume"
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), nvme-cli $(pkg nvme-cli), mdadm $(pkg mdadm), python3-os-brick $(pkg python3-os-brick), $(nvmf-raid --version 2> /dev/null | head -1)"
	echo "qemu TCG guest, $(nproc) vCPUs; replicas: nvmet subsystems, one ${SIZE_MIB} MiB file-backed namespace each, tcp://127.0.0.1:4420"
	echo "RUNS=$RUNS cycles per method and replica count; methods take turns; $(awk -v s="$t_start" -v e="$(uptime_s)" 'BEGIN { printf "%.0f", e - s }') s of cycles"
	echo "ours:     systemctl start / stop nvmf-raid@benchN"
	echo "os-brick: connect_volume / disconnect_volume in one warm python3 (${OSB_INFO:-os-brick did not start}),"
	echo "          ${OSB_PATCH:-}; Debian's md auto-assembly udev rule: $([ "$OSBRICK_UDEV" = off ] && echo "masked" || echo "as shipped")"
	echo "floor:    nvme connect per replica, wait for /dev/disk/by-id, mdadm --create|--assemble;"
	echo "          mdadm --stop, nvme disconnect; md auto-assembly udev rule masked"
	echo "1 replica: no md array anywhere (ours and os-brick hand out the namespace itself)"
	echo "shell-side clock: bash EPOCHREALTIME; drift against CLOCK_MONOTONIC over the run: ${drift_ms} ms"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" "$RUNS" > "$RESULTS" <<'PY'
import statistics
import sys

samples, header, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
methods = ('ours', 'osbrick', 'floor')
ops = (('create', 'attach (create)'), ('detach-created', 'detach after create'),
       ('assemble', 'attach (assemble)'), ('detach-assembled', 'detach after assemble'))
goal_osb, goal_floor = 0.7, 1.2

data = {}
try:
    with open(samples) as f:
        for line in f:
            n, m, op, _run, v = line.rstrip('\n').split('\t')
            data.setdefault((int(n), op, m), []).append(None if v == 'FAILED' else float(v))
except FileNotFoundError:
    pass


def cell(n, op, m):
    """(median or None, text, details)"""
    vals = data.get((n, op, m), [])
    good = [v for v in vals if v is not None]
    bad = len(vals) - len(good)
    if not vals:
        return None, 'n/a', 'n/a'
    span = '%.2f-%.2f' % (min(good), max(good)) if good else '-'
    details = span + (' (%d/%d failed)' % (bad, len(vals)) if bad else '')
    if len(vals) < runs and not bad:
        details += ' (%d/%d runs)' % (len(vals), runs)
    if bad:
        return None, 'FAILED', details
    med = statistics.median(good)
    return med, '%.2f%s' % (med, '*' if len(good) < runs else ''), details


def out(fmt, *args):
    print((fmt % args).rstrip())


def ratio(a, b, goal):
    if a is None or b is None or b <= 0:
        return '-', None
    r = a / b
    return '%.2fx %s' % (r, 'ok' if r <= goal else 'over'), r <= goal


print(open(header).read().rstrip('\n'))
print()
print('Median seconds; ratio goals: ours/os-brick <= %.1fx, ours/floor <= %.1fx' % (goal_osb, goal_floor))
fmt = '%-36s %8s %9s %8s   %-14s %-14s'
out(fmt, '', 'ours', 'os-brick', 'floor', 'ours/os-brick', 'ours/floor')
met = {}    # (attach|detach, osb|floor) -> [rows meeting the goal, rows]
for n in (1, 2, 3):
    for op, label in ops:
        (mo, to, _), (mb, tb, _), (mf, tf, _) = (cell(n, op, m) for m in methods)
        rb, okb = ratio(mo, mb, goal_osb)
        rf, okf = ratio(mo, mf, goal_floor)
        kind = 'detach' if op.startswith('detach') else 'attach'
        for key, ok in (('osb', okb), ('floor', okf)):
            if ok is not None:
                m = met.setdefault((kind, key), [0, 0])
                m[0] += ok
                m[1] += 1
        name = '%d replica%s %s' % (n, 's' if n > 1 else '', label)
        out(fmt, name, to, tb, tf, rb, rf)
    print()
if any(len([v for v in vals if v is not None]) < runs for vals in data.values()):
    print('* median of fewer than %d runs (cycles skipped at the guest deadline)' % runs)
for kind in ('attach', 'detach'):
    a, b = met.get((kind, 'osb'), [0, 0]), met.get((kind, 'floor'), [0, 0])
    print('%s rows: ours/os-brick <= %.1fx in %d of %d, ours/floor <= %.1fx in %d of %d'
          % (kind, goal_osb, a[0], a[1], goal_floor, b[0], b[1]))
print()
print('Min-max seconds per cell (FAILED: a step failed or its check did not hold; see attach-debug.log)')
fmt2 = '%-36s %-22s %-22s %-22s'
out(fmt2, '', 'ours', 'os-brick', 'floor')
for n in (1, 2, 3):
    for op, label in ops:
        name = '%d replica%s %s' % (n, 's' if n > 1 else '', label)
        out(fmt2, name, *(cell(n, op, m)[2] for m in methods))
PY
rc=$?
[ "$PROFILE" = 1 ] && profile_table >> "$RESULTS"
journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/attach-results.txt, samples in out/attach-samples.tsv"
exit 0
