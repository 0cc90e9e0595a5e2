#!/bin/bash
# Guest side of bench/failover (issue 5), run as /mnt/host/run.sh with the
# test library in /mnt/host/lib.  The longest write stall an application
# sees when one replica of a two-way RAID1 vanishes under fio, three ways
# on the same nvmet targets (two subsystems, one 64 MiB namespace each,
# tcp://127.0.0.1:4420):
#   ours      systemctl start nvmf-raid@fo, volume file without nvme keys
#             (the defaults: fast-io-fail-tmo 2, ctrl-loss-tmo -1,
#             reconnect-delay 2, keep-alive-tmo 5)
#   nvme      nvme connect with nvme-cli's defaults (ctrl_loss_tmo 600,
#             reconnect_delay 10, fast_io_fail off) + mdadm --create
#   osbrick   os-brick's connect (nvme connect -Q 128 -l -1: ctrl_loss_tmo
#             off, reconnect_delay 10) + mdadm --create --failfast
#             --assume-clean as os-brick does
# Each run (one configuration) starts from scratch: blank the namespaces,
# attach, wait for the initial resync, start fio (4k randwrite, O_DIRECT,
# libaio, iodepth 1, every completion latency logged), make r2 vanish 3 s
# later (the target drops the connection), bring it back OUTAGE seconds
# later, wait until r2's controller is live again, let fio run 5 s more,
# stop it, detach.  The stall is the longest completion latency in fio's
# clat log.  A step that fails leaves a FAILED cell, never a hung guest.
# Output: out/failover-results.txt (medians, ratios), out/failover-samples.tsv
# (every run), out/failover-debug.log.
# Settings from /mnt/host/bench.conf: RUNS, OUTAGE (seconds), DEADLINE
# (guest uptime in seconds after which remaining runs are skipped).
# Configurations are functions called by name ("setup_$cfg"):
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
# shellcheck source=lib.sh
. "$share/bench-lib.sh"

RUNS=3
OUTAGE=20
DEADLINE=2400
# shellcheck source=/dev/null
[ -f "$share/bench.conf" ] && . "$share/bench.conf"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

VOL=fo
SIZE_MIB=64
NAMES=(fo-r1 fo-r2)
UUIDS=(f0e1c0a7-0001-4c5e-9a7d-6e0f5a1b2c01 f0e1c0a7-0002-4c5e-9a7d-6e0f5a1b2c02)
NQNS=()
CONFIGS=(ours nvme osbrick)
LEAD=3			# seconds of fio before r2 vanishes
TAIL=5			# seconds of fio after r2's controller is live again
VOLDIR=/etc/nvmf-raid/volumes
WORK=/run/nvmf-raid-bench
SAMPLES=$out/failover-samples.tsv
RESULTS=$out/failover-results.txt
DEBUG=$out/failover-debug.log
MD_RULE=/run/udev/rules.d/64-md-raid-assembly.rules
MANUAL_MD=/dev/md/$VOL

# wait_blk SECONDS PATH : until PATH is (or links to) a block device.
wait_blk() { wait_for "$1" test -b "$2"; }

# Nothing attached: no controller, no md array, no fio, r2 not vanished.
quiescent() {
	local i
	[ -z "${FIO_PID:-}" ] || { WHY="fio still running"; return 1; }
	for i in 0 1; do
		[ -z "$(ctrls_by_nqn "${NQNS[i]}")" ] || { WHY="${NQNS[i]} still connected"; return 1; }
		[ ! -e "$TGT_STORE/${NAMES[i]}.vanished" ] || { WHY="${NAMES[i]} still vanished"; return 1; }
	done
	! grep -q '^md' /proc/mdstat || { WHY="md array left: $(grep '^md' /proc/mdstat | head -1)"; return 1; }
}

force_cleanup() {
	local i
	dbg "cleanup"
	[ -n "${FIO_PID:-}" ] && stop_fio
	for i in 0 1; do tgt_return "${NAMES[i]}"; done
	timeout 150 systemctl stop "nvmf-raid@$VOL" > /dev/null 2>&1
	systemctl reset-failed "nvmf-raid@$VOL" "nvmf-raid-monitor@$VOL" > /dev/null 2>&1
	timeout 60 mdadm --stop --scan >> "$DEBUG" 2>&1
	timeout 60 nvme disconnect-all >> "$DEBUG" 2>&1
	settle
	# udev may have assembled something from the members meanwhile.
	timeout 60 mdadm --stop --scan >> "$DEBUG" 2>&1
	rm -f "$MANUAL_MD" "$VOLDIR/$VOL.conf" "/var/lib/nvmf-raid/$VOL.json" "/run/nvmf-raid/$VOL.json"
	# What a failed nvmf-raid-detach may have left (contract.md paths).
	for i in 0 1; do rm -f "/run/nvmf-raid/by-uuid/${UUIDS[i]}"; done
	rm -f /run/nvmf-raid/by-md-uuid/*
	settle
}

# --- the three configurations -----------------------------------------
# setup_CFG : attaches; DEV = the array's device.  teardown_CFG : detaches.
setup_ours() {
	local i
	md_autoassembly on || { WHY="restoring the md udev rule failed"; return 1; }
	rm -f "/var/lib/nvmf-raid/$VOL.json"
	mkdir -p "$VOLDIR"
	{
		printf '[volume]\nauto = no\ndegraded-timeout = 60\n'
		for i in 0 1; do
			printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = tcp://127.0.0.1:4420\n' \
				$((i + 1)) "${NQNS[i]}" "${UUIDS[i]}"
		done
	} > "$VOLDIR/$VOL.conf"
	if ! timeout 150 systemctl start "nvmf-raid@$VOL" 2>> "$DEBUG"; then
		WHY="systemctl start nvmf-raid@$VOL failed: $(journalctl -q -o cat -n 1 -u "nvmf-raid@$VOL" 2> /dev/null)"
		journalctl -q -o short-monotonic -n 20 -u "nvmf-raid@$VOL" >> "$DEBUG" 2>&1
		return 1
	fi
	DEV=/dev/nvmf-raid/$VOL
	wait_blk 30 "$DEV" || { WHY="$DEV did not appear"; return 1; }
}
teardown_ours() {
	local rc=0
	if ! timeout 150 systemctl stop "nvmf-raid@$VOL" 2>> "$DEBUG"; then
		WHY="systemctl stop nvmf-raid@$VOL failed"
		journalctl -q -o short-monotonic -n 20 -u "nvmf-raid@$VOL" >> "$DEBUG" 2>&1
		rc=1
	fi
	systemctl reset-failed "nvmf-raid@$VOL" "nvmf-raid-monitor@$VOL" > /dev/null 2>&1
	rm -f "$VOLDIR/$VOL.conf" "/var/lib/nvmf-raid/$VOL.json"
	return "$rc"
}

# setup_manual nvme|osbrick : nvme connect per replica + mdadm --create.
setup_manual() {
	local i devs=() conn=() create=()
	md_autoassembly off || { WHY="masking the md udev rule failed"; return 1; }
	if [ "$1" = osbrick ]; then
		# os-brick 6.1 nvmeof.py: nvme connect ... -Q 128 -l -1; mdadm -C
		# ... --bitmap=internal --homehost=any --failfast --assume-clean.
		conn=(-Q 128 -l -1)
		create=(--failfast --assume-clean)
	fi
	for i in 0 1; do
		timeout 60 nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "${NQNS[i]}" "${conn[@]}" \
			> /dev/null 2>> "$DEBUG" || { WHY="nvme connect ${NQNS[i]} failed"; return 1; }
	done
	for i in 0 1; do
		devs+=("/dev/disk/by-id/nvme-uuid.${UUIDS[i]}")
		wait_blk 60 "${devs[i]}" || { WHY="${devs[i]} did not appear"; return 1; }
	done
	timeout 120 mdadm --create "$MANUAL_MD" --run --level=1 --raid-devices=2 --metadata=1.2 \
		--bitmap=internal --bitmap-chunk=1M "${create[@]}" "${devs[@]}" \
		< /dev/null > /dev/null 2>> "$DEBUG" || { WHY="mdadm --create failed"; return 1; }
	DEV=$MANUAL_MD
	wait_blk 60 "$DEV" || { WHY="$DEV did not appear"; return 1; }
}
teardown_manual() {
	local rc=0 i
	if [ -e "$MANUAL_MD" ]; then
		timeout 120 mdadm --stop "$MANUAL_MD" > /dev/null 2>> "$DEBUG" ||
			{ WHY="mdadm --stop failed"; rc=1; }
	fi
	for i in 0 1; do
		timeout 60 nvme disconnect -n "${NQNS[i]}" > /dev/null 2>> "$DEBUG" ||
			{ WHY="nvme disconnect ${NQNS[i]} failed"; rc=1; }
	done
	rm -f "$MANUAL_MD"
	return "$rc"
}
setup_nvme() { setup_manual nvme; }
setup_osbrick() { setup_manual osbrick; }
teardown_nvme() { teardown_manual; }
teardown_osbrick() { teardown_manual; }

# --- checks ------------------------------------------------------------
# check_array : DEV is a whole, synced two-way RAID1 of both namespaces;
# sets MD (mdX), D2 (r2's member device), C2 (r2's controller), RD2 (its
# reconnect_delay) and OPTS (r2's controller options as the kernel has them).
check_array() {
	local real d1 a v
	settle
	real=$(readlink -f "$DEV")
	MD=${real##*/}
	[ "$(cat "/sys/block/$MD/md/level" 2> /dev/null)" = raid1 ] || { WHY="$DEV ($real) is not an md raid1"; return 1; }
	[ "$(cat "/sys/block/$MD/md/raid_disks")" = 2 ] || { WHY="$real does not have 2 raid disks"; return 1; }
	d1=$(dev_by_uuid "${UUIDS[0]}") || { WHY="r1 has no namespace device"; return 1; }
	D2=$(dev_by_uuid "${UUIDS[1]}") || { WHY="r2 has no namespace device"; return 1; }
	[ -e "/sys/block/$MD/md/dev-$d1" ] && [ -e "/sys/block/$MD/md/dev-$D2" ] ||
		{ WHY="$d1 and $D2 are not both members of $MD"; return 1; }
	# The initial resync (not for --assume-clean) is not part of the test.
	timeout 300 mdadm --wait "/dev/$MD" > /dev/null 2>&1
	[ "$(md_sync_action "$MD")" = idle ] || { WHY="$MD still syncing"; return 1; }
	[ "$(md_degraded "$MD")" = 0 ] || { WHY="$MD is degraded"; return 1; }
	case $(md_member_state "$MD" "$D2") in
	*in_sync*) ;;
	*) WHY="$D2 is $(md_member_state "$MD" "$D2") in $MD"; return 1 ;;
	esac
	C2=$(ctrls_by_nqn "${NQNS[1]}")
	[[ -n $C2 && ! $C2 =~ [[:space:]] ]] || { WHY="r2 has controllers '${C2//$'\n'/ }', want one"; return 1; }
	OPTS=''
	for a in fast_io_fail_tmo ctrl_loss_tmo reconnect_delay kato; do
		v=$(cat "/sys/class/nvme/$C2/$a" 2> /dev/null) || v='?'
		OPTS+="${OPTS:+ }$a=$v"
	done
	RD2=$(cat "/sys/class/nvme/$C2/reconnect_delay" 2> /dev/null)
	[[ $RD2 =~ ^[0-9]+$ ]] || RD2=10
}

# r2_ctrl_live : some controller of r2's subsystem is live.
r2_ctrl_live() {
	local c
	for c in $(ctrls_by_nqn "${NQNS[1]}"); do
		[ "$(ctrl_state "$c")" = live ] && return 0
	done
	return 1
}

# PSUM = the sum of stat field $2 (5: writes completed) over the hidden
# multipath path devices of namespace $1 (the head keeps no statistics).
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
writes_flowing() {
	path_sum "${UUIDS[0]}" 5
	[ "$PSUM" -gt "$W0" ] && return 0
	proc_gone "$FIO_PID" && return 0	# fio died: measure() sees it
	return 1
}

# --- fio ---------------------------------------------------------------
start_fio() {
	rm -f "$WORK"/lat_*.log "$WORK/fio.out"
	# setsid: its own process group, so its job process can be stopped by
	# the group's id.  The runtime is only a backstop; stop_fio ends it.
	(cd "$WORK" && exec setsid fio --name=fo --filename="$DEV" --rw=randwrite --bs=4k \
		--direct=1 --ioengine=libaio --iodepth=1 --norandommap --time_based \
		--runtime=$((LEAD + OUTAGE + RD2 + TAIL + 300)) \
		--write_lat_log=lat --log_avg_msec=0 --output=fio.out) > /dev/null 2>> "$DEBUG" &
	FIO_PID=$!
}

# stop_fio : SIGINT, then escalate; never waits forever.
stop_fio() {
	local pid=$FIO_PID
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2> /dev/null
	if ! wait_for 120 proc_gone "$pid"; then
		dbg "fio did not stop within 120 s of SIGINT: SIGKILL to its group"
		kill -KILL -- "-$pid" 2> /dev/null
		if ! wait_for 60 proc_gone "$pid"; then
			# An I/O stuck on r2's head: deleting the controller fails it.
			dbg "fio still there: nvme disconnect ${NQNS[1]}"
			timeout 60 nvme disconnect -n "${NQNS[1]}" >> "$DEBUG" 2>&1
			wait_for 60 proc_gone "$pid" || { FIO_PID=''; WHY="fio would not stop"; return 1; }
		fi
	fi
	wait "$pid" 2> /dev/null
	FIO_PID=''
	return 0
}

# parse_clat : STALL (s), STALL_AT (fio ms at completion), NIOS, NSLOW
# (latencies of 1 s or more) from the clat log (fio 3.33: "time_ms,
# latency_ns, direction, block size, offset, priority").
parse_clat() {
	local f line
	f=$(ls "$WORK"/lat_clat*.log 2> /dev/null | head -1)
	[ -n "$f" ] && [ -s "$f" ] || { WHY="fio wrote no clat log"; return 1; }
	line=$(awk -F, '{ v = $2 + 0; n++; if (v > m) { m = v; t = $1 + 0 } if (v >= 1e9) s++ }
		END { printf "%.3f %d %d %d\n", m / 1e9, t, n, s }' "$f")
	read -r STALL STALL_AT NIOS NSLOW <<< "$line"
	{
		echo "  clat log $f: $NIOS completions, longest (ms since fio start, ns):"
		# sed (not head) ends the pipe: sort is not cut off mid-write.
		sort -t, -k2,2nr "$f" | sed -n '1,3s/^/    /p'
	} >> "$DEBUG"
}

# --- one run -----------------------------------------------------------
# measure CFG : fio, r2 vanishes, returns; sets the sample's fields.
measure() {
	local cfg=$1 tv tr w
	start_fio
	path_sum "${UUIDS[0]}" 5
	W0=$PSUM
	wait_for 60 writes_flowing || { WHY="fio wrote nothing to r1 within 60 s"; return 1; }
	proc_gone "$FIO_PID" && { WHY="fio ended before r2 vanished: $(grep -m1 -i 'err' "$WORK/fio.out" 2> /dev/null)"; return 1; }
	nap "$LEAD"
	mono_ms
	tv=$MONO_MS
	tgt_vanish "${NAMES[1]}" || { WHY="tgt_vanish failed"; return 1; }
	dbg "$cfg: r2 vanished"
	nap "$OUTAGE"
	MDSTATE=$(md_member_state "$MD" "$D2")
	MDSTATE=${MDSTATE:-removed}
	DSTATE=-
	[ "$cfg" = ours ] && { desc_state "$VOL" r2 || DSTATE='?'; }
	mono_ms
	tr=$MONO_MS
	tgt_return "${NAMES[1]}" || { WHY="tgt_return failed"; return 1; }
	OUTAGE_S=$(ms_to_s $((tr - tv)))
	dbg "$cfg: r2 back after ${OUTAGE_S}s; md member $D2: $MDSTATE; descriptor: $DSTATE"
	w=$((RD2 + 30))
	if wait_for "$w" r2_ctrl_live; then
		mono_ms
		RECONN=$(ms_to_s $((MONO_MS - tr)))
	else
		RECONN=never
		dbg "$cfg: r2's controller not live within ${w}s of its return"
	fi
	nap "$TAIL"
	stop_fio || return 1
	if ! grep -q 'err= 0' "$WORK/fio.out" 2> /dev/null; then
		WHY="fio reported an error: $(grep -m1 'err=' "$WORK/fio.out" 2> /dev/null)"
		cat "$WORK/fio.out" >> "$DEBUG" 2> /dev/null
		parse_clat
		return 1
	fi
	parse_clat
}

# run_one CFG RUN
run_one() {
	local cfg=$1 run=$2 failed='' note='' i
	WHY='' STALL=FAILED STALL_AT=- NIOS=- NSLOW=- MDSTATE=- DSTATE=- RECONN=- OUTAGE_S=- OPTS=-
	if ! quiescent; then
		dbg "not quiescent before $cfg run $run: $WHY"
		force_cleanup
	fi
	if ! quiescent; then
		failed="could not clean up: $WHY"
	elif ! blank_replicas 2; then
		failed="blanking the replicas failed"
	elif ! "setup_$cfg"; then
		failed="setup: $WHY"
	elif ! check_array; then
		failed="array: $WHY"
	else
		dbg "$cfg run $run: $DEV = $MD, r2 = $D2 on $C2 ($OPTS)"
		if ! measure "$cfg"; then
			failed=$WHY
			STALL=FAILED
		fi
	fi
	[ -n "${FIO_PID:-}" ] && stop_fio
	for i in 0 1; do tgt_return "${NAMES[i]}"; done
	WHY=''
	if ! "teardown_$cfg" || { settle; ! quiescent; }; then
		note="teardown: $WHY"
		dbg "$cfg run $run: $note"
		force_cleanup
	fi
	printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$run" "$STALL" "$STALL_AT" \
		"$NIOS" "$NSLOW" "$MDSTATE" "$DSTATE" "$RECONN" "$OUTAGE_S" "$OPTS" "${failed:-$note}" >> "$SAMPLES"
	log "$(printf '%-7s run %d  stall %-8s  r2 in md at outage end: %-20s back live after %-6s %s' \
		"$cfg" "$run" "$STALL" "$MDSTATE" "$RECONN" "${failed:+ FAILED: $failed}")"
	[ -n "$failed" ] && dbg "$cfg run $run FAILED: $failed"
	rm -f "$WORK"/lat_*.log
	return 0
}

# --- main --------------------------------------------------------------
rm -f "$SAMPLES" "$RESULTS" "$DEBUG"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a positive number"
[[ $OUTAGE =~ ^[1-9][0-9]*$ ]] || die "OUTAGE=$OUTAGE is not a positive number"
command -v fio > /dev/null || die "fio is not installed in the guest"
mkdir -p "$WORK" || die "mkdir $WORK"
rm -f "$WORK/nap"
mkfifo "$WORK/nap" || die "no FIFO for nap"
exec {NAP_FD}<> "$WORK/nap"
FIO_PID='' MD='' D2='' C2='' RD2=10 W0=0 WHY='' DEV=''

log "failover benchmark: RUNS=$RUNS, OUTAGE=${OUTAGE}s, kernel $(uname -r)"
install_project "$share" || die "installing the project"
tgt_modules || die "loading the nvmet / nvme-tcp / raid1 modules"
for i in 0 1; do
	tgt_add "${NAMES[i]}" "${SIZE_MIB}M" "${UUIDS[i]}" 1 || die "target ${NAMES[i]}"
	NQNS+=("$(tgt_nqn "${NAMES[i]}")")
done
log "targets: 2 subsystems with one ${SIZE_MIB} MiB namespace each on tcp://127.0.0.1:4420"
t_start=$(uptime_s)

skipped=0
for ((run = 1; run <= RUNS; run++)); do
	for k in 0 1 2; do
		# The configurations take turns, starting with a different one each run.
		cfg=${CONFIGS[$(((run - 1 + k) % 3))]}
		if past_deadline; then
			skipped=$((skipped + 1))
			continue
		fi
		run_one "$cfg" "$run"
	done
done
[ "$skipped" -gt 0 ] && log "guest deadline (${DEADLINE}s uptime) reached: $skipped runs skipped"

force_cleanup
md_autoassembly on
tgt_remove_all

{
	echo "nvmf-raid failover benchmark (bench/failover): longest write stall when a replica vanishes"
	echo "kernel $(uname -r), nvme-cli $(pkg nvme-cli), mdadm $(pkg mdadm), fio $(pkg fio), $(nvmf-raid --version 2> /dev/null | head -1)"
	echo "qemu TCG guest, $(nproc) vCPUs; 2 replicas: nvmet subsystems, one ${SIZE_MIB} MiB file-backed namespace each, tcp://127.0.0.1:4420;"
	echo "RAID1, internal bitmap; each run attaches afresh on blanked namespaces and waits for the initial resync"
	echo "fio on the array: 4k randwrite, O_DIRECT, libaio, iodepth 1, every completion latency logged (clat);"
	echo "r2 vanishes ${LEAD} s in (subsystem unlinked from the port: the target drops the connection), returns after ${OUTAGE} s;"
	echo "fio stops ${TAIL} s after r2's controller is live again.  RUNS=$RUNS per configuration, configurations take turns;"
	echo "$(awk -v s="$t_start" -v e="$(uptime_s)" 'BEGIN { printf "%.0f", e - s }') s of runs"
	echo "ours:    systemctl start nvmf-raid@$VOL, volume file without nvme keys (defaults)"
	echo "nvme:    nvme connect -t tcp -a 127.0.0.1 -s 4420 -n NQN (nvme-cli defaults) per replica +"
	echo "         mdadm --create --run --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal --bitmap-chunk=1M;"
	echo "         Debian's md auto-assembly udev rule masked"
	echo "osbrick: os-brick's connect options, nvme connect ... -Q 128 -l -1, + the same mdadm --create"
	echo "         with --failfast --assume-clean (os-brick's flags); md auto-assembly rule masked"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" "$RUNS" "$OUTAGE" > "$RESULTS" <<'PY'
import statistics
import sys

samples, header, runs, outage = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
configs = (('ours', 'ours (nvmf-raid defaults)'), ('nvme', 'nvme-cli defaults'),
           ('osbrick', "os-brick's options"))
goal = 3.0

rows = {}
try:
    with open(samples) as f:
        for line in f:
            c = line.rstrip('\n').split('\t')
            if len(c) >= 12:
                rows.setdefault(c[0], []).append(c)
except FileNotFoundError:
    pass


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def stats(cfg):
    got = rows.get(cfg, [])
    good = [num(r[2]) for r in got if num(r[2]) is not None]
    return got, good


print(open(header).read().rstrip('\n'))
print()
print('r2\'s controller as the kernel set it (sysfs, first good run):')
for cfg, label in configs:
    opts = next((r[10] for r in rows.get(cfg, []) if r[10] != '-'), 'n/a')
    print('  %-8s %s' % (cfg, opts))
print()
print('Stall = the longest single write completion latency of a run, seconds')
fmt = '%-27s %8s %8s %8s %6s %9s   %-21s %s'
print(fmt % ('', 'median', 'min', 'max', 'runs', 'vs ours', 'md failed r2 (runs)', 'r2 live again after (s)'))
ours_med = None
for cfg, label in configs:
    got, good = stats(cfg)
    med = statistics.median(good) if good else None
    if cfg == 'ours':
        ours_med = med
    failed = len(got) - len(good)
    if not got:
        cells = ('n/a', '-', '-')
    elif not good:
        cells = ('FAILED', '-', '-')
    else:
        cells = ('%.2f' % med, '%.2f' % min(good), '%.2f' % max(good))
    ratio = '-'
    if med is not None and ours_med:
        ratio = '%.1fx' % (med / ours_med)
    faulty = sum(1 for r in got if num(r[2]) is not None and 'faulty' in r[6])
    recon = [num(r[8]) for r in got if num(r[8]) is not None]
    recon_s = ('%.1f-%.1f' % (min(recon), max(recon))) if recon else '-'
    runs_s = '%d/%d' % (len(good), runs) + ('!' if failed else '')
    print(fmt % (label, cells[0], cells[1], cells[2], runs_s, ratio,
                 '%d of %d' % (faulty, len(good)), recon_s))
if any(len(stats(c)[0]) > len(stats(c)[1]) for c, _ in configs):
    print('! some runs FAILED: see the notes per run below and failover-debug.log')
print()
got, good = stats('ours')
if good:
    over = sum(1 for v in good if v > goal)
    print('Goal: stall <= %.0f s with our defaults: %s (median %.2f s, worst %.2f s, %d of %d runs over)'
          % (goal, 'ok' if over == 0 else 'over', statistics.median(good), max(good), over, len(good)))
else:
    print('Goal: stall <= %.0f s with our defaults: not measured (every run FAILED)' % goal)
_, gn = stats('nvme')
if gn:
    print('nvme-cli defaults: expected about the whole %d s outage plus up to reconnect_delay (10 s):'
          % outage)
    print('  I/O is requeued on the multipath head while the controller reconnects and md never')
    print('  fails the member; measured median %.2f s.' % statistics.median(gn))
_, go = stats('osbrick')
if go:
    print("os-brick's options: ctrl_loss_tmo off and md --failfast do not fail the I/O either;")
    print('  measured median %.2f s.' % statistics.median(go))
print()
print('Per run (stall s; fio ms at the stalled completion; I/Os; I/Os >= 1 s; r2 in md at the end')
print('of the outage; descriptor state (ours); r2 live again after s; measured outage s; note)')
for cfg, _ in configs:
    for r in rows.get(cfg, []):
        print('  %-8s run %-3s %-8s %-7s %-6s %-4s %-22s %-9s %-7s %-7s %s'
              % (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[11]))
PY
rc=$?
journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/failover-results.txt, samples in out/failover-samples.tsv"
exit 0
