#!/bin/bash
# Guest side of bench/heal (issue 5), run as /mnt/host/run.sh with the test
# library in /mnt/host/lib.  How long a replica that was away for a short
# outage takes to be in sync again through the md write-intent bitmap,
# against a full resync of the same member.  One volume "heal" of two
# replicas (nvmet subsystems, one 1 GiB sparse file-backed namespace each,
# 512 MiB when the guest disk is short), attached with
# systemctl start nvmf-raid@heal and fully synced.  RUNS times:
#   heal   fio (4k randwrite, O_DIRECT, iodepth 1) on the first 32 MiB of
#          the volume; r2 vanishes (the target drops the connection) for
#          OUTAGE seconds and returns; timed from its return until the
#          descriptor shows r2 "in-sync" again (the monitor re-adds it with
#          the bitmap; mdadm --wait blocks once it is "rebuilding"); fio
#          keeps writing throughout.  Sectors written to r2 (its hidden
#          path devices' stat field 7) from the return to in-sync.
#   full   fio stopped, the monitor stopped (it would put r2 back itself);
#          mdadm --fail, --remove, --zero-superblock r2; timed from
#          mdadm --add until md's sync_action is idle and the member is
#          in_sync; sectors written to r2 likewise; the monitor restarted.
# A step that fails leaves a FAILED cell; the volume is rebuilt from
# scratch when it is not whole and in sync before a run.
# Output: out/heal-results.txt, out/heal-samples.tsv, out/heal-debug.log.
# Settings from /mnt/host/bench.conf: RUNS, SIZE (auto|1G|512M), OUTAGE,
# DEADLINE (guest uptime in seconds after which remaining runs are skipped).
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

RUNS=3
SIZE=auto
OUTAGE=10
DEADLINE=1500
# shellcheck source=/dev/null
[ -f "$share/bench.conf" ] && . "$share/bench.conf"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

VOL=heal
NAMES=(heal-r1 heal-r2)
UUIDS=(4ea1c0a7-0001-4c5e-9a7d-6e0f5a1b2c01 4ea1c0a7-0002-4c5e-9a7d-6e0f5a1b2c02)
NQNS=()
FIO_SIZE=32M		# the region fio writes while r2 is away
LEAD=2			# seconds of fio before r2 vanishes
GOAL_PCT=5
VOLDIR=/etc/nvmf-raid/volumes
WORK=/run/nvmf-raid-bench
SAMPLES=$out/heal-samples.tsv
RESULTS=$out/heal-results.txt
DEBUG=$out/heal-debug.log
DEV=/dev/nvmf-raid/$VOL
MONITOR=nvmf-raid-monitor@$VOL
# Filled through namerefs (sample_paths):
# shellcheck disable=SC2034
declare -A R2_BEFORE R2_AFTER R1_READD R1_AFTER

r2_is() { desc_state "$VOL" r2 && [ "$DSTATE" = "$1" ]; }

# sample_paths UUID ARRAY : ARRAY (associative) = write sectors (stat
# field 7) per hidden multipath path device of namespace UUID; the head
# keeps no statistics.
sample_paths() {
	local -n _to=$2
	local f u s
	_to=()
	for f in /sys/block/nvme*c*n*/uuid; do
		[ -e "$f" ] || continue
		read -r u 2> /dev/null < "$f" || continue
		[ "$u" = "$1" ] || continue
		read -r -a s 2> /dev/null < "${f%/uuid}/stat" || continue
		f=${f%/uuid}
		_to[${f##*/}]=${s[6]}
	done
}
# sectors_between BEFORE AFTER : SECT = sectors written in between (a path
# device that is new, or whose counter restarted, counts from zero).
sectors_between() {
	local -n _b=$1 _a=$2
	local k v
	SECT=0
	for k in "${!_a[@]}"; do
		v=${_a[$k]}
		if [ -n "${_b[$k]+x}" ] && [ "$v" -ge "${_b[$k]}" ]; then
			v=$((v - ${_b[$k]}))
		fi
		SECT=$((SECT + v))
	done
}
# PSUM = writes completed (stat field 5) over r1's path devices.
r1_writes() {
	local f u s
	PSUM=0
	for f in /sys/block/nvme*c*n*/uuid; do
		[ -e "$f" ] || continue
		read -r u 2> /dev/null < "$f" || continue
		[ "$u" = "${UUIDS[0]}" ] || continue
		read -r -a s 2> /dev/null < "${f%/uuid}/stat" || continue
		PSUM=$((PSUM + s[4]))
	done
}
writes_flowing() {
	r1_writes
	[ "$PSUM" -gt "$W0" ] && return 0
	proc_gone "$FIO_PID"
}

# ready : the volume is attached, whole and in sync, its monitor runs; sets
# MD (mdX), D2 (r2's member device) and C2 (r2's controller).
ready() {
	local real
	[ -b "$DEV" ] || { WHY="$DEV missing"; return 1; }
	real=$(readlink -f "$DEV")
	MD=${real##*/}
	systemctl is-active -q "$MONITOR" || { WHY="$MONITOR is not active"; return 1; }
	desc_state "$VOL" r1 && [ "$DSTATE" = in-sync ] || { WHY="descriptor: r1 ${DSTATE:-unreadable}"; return 1; }
	desc_state "$VOL" r2 && [ "$DSTATE" = in-sync ] || { WHY="descriptor: r2 ${DSTATE:-unreadable}"; return 1; }
	[ "$(md_degraded "$MD")" = 0 ] || { WHY="$MD degraded"; return 1; }
	[ "$(md_sync_action "$MD")" = idle ] || { WHY="$MD: $(md_sync_action "$MD")"; return 1; }
	D2=$(dev_by_uuid "${UUIDS[1]}") || { WHY="r2 has no namespace device"; return 1; }
	case $(md_member_state "$MD" "$D2") in
	*in_sync*) ;;
	*) WHY="$D2 is '$(md_member_state "$MD" "$D2")' in $MD"; return 1 ;;
	esac
	C2=$(ctrls_by_nqn "${NQNS[1]}")
	[[ -n $C2 && ! $C2 =~ [[:space:]] ]] || { WHY="r2 has controllers '${C2//$'\n'/ }', want one"; return 1; }
	[ "$(ctrl_state "$C2")" = live ] || { WHY="$C2 is $(ctrl_state "$C2")"; return 1; }
}

force_cleanup() {
	local i
	dbg "cleanup"
	[ -n "${FIO_PID:-}" ] && stop_fio
	for i in 0 1; do tgt_return "${NAMES[i]}"; done
	timeout 150 systemctl stop "nvmf-raid@$VOL" > /dev/null 2>&1
	systemctl reset-failed "nvmf-raid@$VOL" "$MONITOR" > /dev/null 2>&1
	host_reset
	rm -f "/var/lib/nvmf-raid/$VOL.json" "/run/nvmf-raid/$VOL.json"
	for i in 0 1; do rm -f "/run/nvmf-raid/by-uuid/${UUIDS[i]}"; done
	rm -f /run/nvmf-raid/by-md-uuid/*
	settle
}

# attach_fresh : blank namespaces, attach, wait for the initial resync.
attach_fresh() {
	local i t0
	force_cleanup
	blank_replicas 2 || { WHY="blanking the replicas failed"; return 1; }
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
	wait_for 30 test -b "$DEV" || { WHY="$DEV did not appear"; return 1; }
	MD=$(readlink -f "$DEV")
	MD=${MD##*/}
	mono_ms
	t0=$MONO_MS
	timeout 1800 mdadm --wait "/dev/$MD" > /dev/null 2>&1
	wait_for 60 ready || { WHY="not in sync after attach: $WHY"; return 1; }
	mono_ms
	log "attached: $DEV = $MD, initial resync $(ms_to_s $((MONO_MS - t0))) s, bitmap chunk $(cat "/sys/block/$MD/md/bitmap/chunksize" 2> /dev/null) bytes"
	{
		echo "backing files and free space after the initial resync:"
		du -h --apparent-size "$TGT_STORE"/*.img
		du -h "$TGT_STORE"/*.img
		df -h "$TGT_STORE"
		mdadm --detail "/dev/$MD"
	} >> "$DEBUG" 2>&1
}

# ensure_ready : ready, after a short wait, or after attaching afresh.
ensure_ready() {
	ready && return 0
	dbg "not ready: $WHY; waiting"
	systemctl is-active -q "$MONITOR" || timeout 60 systemctl start "$MONITOR" >> "$DEBUG" 2>&1
	wait_for 60 ready && return 0
	log "volume not whole and in sync ($WHY): attaching afresh"
	attach_fresh
}

# --- fio ---------------------------------------------------------------
start_fio() {
	rm -f "$WORK/fio.out"
	(cd "$WORK" && exec setsid fio --name=heal --filename="$DEV" --rw=randwrite --bs=4k \
		--size="$FIO_SIZE" --direct=1 --ioengine=libaio --iodepth=1 --norandommap \
		--time_based --runtime=1200 --output=fio.out) > /dev/null 2>> "$DEBUG" &
	FIO_PID=$!
}
stop_fio() {
	local pid=$FIO_PID
	[ -n "$pid" ] || return 0
	FIO_PID=''
	fio_end "$pid" "${NQNS[1]}"
}

# --- heal: bitmap re-add after an outage --------------------------------
heal_measure() {
	local tv tr now end st readd=''
	start_fio
	r1_writes
	W0=$PSUM
	wait_for 60 writes_flowing || { WHY="fio wrote nothing within 60 s"; return 1; }
	proc_gone "$FIO_PID" && { WHY="fio ended early: $(grep -m1 'err=' "$WORK/fio.out" 2> /dev/null)"; return 1; }
	nap "$LEAD"
	mono_ms
	tv=$MONO_MS
	tgt_vanish "${NAMES[1]}" || { WHY="tgt_vanish failed"; return 1; }
	if ! wait_for $((OUTAGE + 30)) r2_is faulty; then
		WHY="r2 not recorded faulty within $((OUTAGE + 30)) s (descriptor: ${DSTATE:-?})"
		return 1
	fi
	mono_ms
	H_FAULTY=$(ms_to_s $((MONO_MS - tv)))
	end=$((tv + OUTAGE * 1000 - MONO_MS))
	[ "$end" -gt 0 ] && nap "$(ms_to_s "$end")"
	sample_paths "${UUIDS[1]}" R2_BEFORE
	mono_ms
	tr=$MONO_MS
	tgt_return "${NAMES[1]}" || { WHY="tgt_return failed"; return 1; }
	H_OUT=$(ms_to_s $((tr - tv)))
	# Until the monitor has put r2 back (rebuilding), or it is in sync
	# already; r2's controller going live on the way.
	while :; do
		mono_ms
		now=$MONO_MS
		if [ "$H_LIVE" = - ] && read -r st 2> /dev/null < "/sys/class/nvme/$C2/state" &&
			[ "$st" = live ]; then
			H_LIVE=$(ms_to_s $((now - tr)))
		fi
		if desc_state "$VOL" r2 && [[ $DSTATE == rebuilding || $DSTATE == in-sync ]]; then
			readd=$DSTATE
			break
		fi
		[ $((now - tr)) -ge 120000 ] &&
			{ WHY="r2 not re-added within 120 s of its return (descriptor: ${DSTATE:-?})"; return 1; }
		nap 0.02
	done
	sample_paths "${UUIDS[0]}" R1_READD
	H_READD=$(ms_to_s $((now - tr)))
	if [ "$readd" = rebuilding ]; then
		timeout 1200 mdadm --wait "/dev/$MD" > /dev/null 2>&1
		mono_ms
		H_IDLE=$(ms_to_s $((MONO_MS - tr)))
		while ! r2_is in-sync; do
			mono_ms
			[ $((MONO_MS - tr)) -ge 1320000 ] && { WHY="r2 not in sync within 1320 s"; return 1; }
			nap 0.02
		done
	fi
	mono_ms
	H_S=$(ms_to_s $((MONO_MS - tr)))
	sample_paths "${UUIDS[1]}" R2_AFTER
	sample_paths "${UUIDS[0]}" R1_AFTER
	sectors_between R2_BEFORE R2_AFTER
	H_SECT=$SECT
	sectors_between R1_READD R1_AFTER
	H_R1=$SECT
	[ "$H_LIVE" = - ] && [ "$(ctrl_state "$C2")" = live ] && H_LIVE="<=$H_S"
	stop_fio || return 1
	if ! grep -q 'err= 0' "$WORK/fio.out" 2> /dev/null; then
		WHY="fio reported an error: $(grep -m1 'err=' "$WORK/fio.out" 2> /dev/null)"
		cat "$WORK/fio.out" >> "$DEBUG" 2> /dev/null
		return 1
	fi
}

heal_run() {
	local run=$1 failed='' i
	H_S=FAILED H_SECT=- H_LIVE=- H_READD=- H_IDLE=- H_R1=- H_FAULTY=- H_OUT=- WHY=''
	if ! ensure_ready; then
		failed="volume not ready: $WHY"
	elif ! heal_measure; then
		failed=$WHY
		H_S=FAILED
	fi
	[ -n "${FIO_PID:-}" ] && stop_fio
	for i in 0 1; do tgt_return "${NAMES[i]}"; done
	printf 'heal\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$H_S" "$H_SECT" "$H_FAULTY" \
		"$H_OUT" "$H_LIVE" "$H_READD" "$H_IDLE" "$H_R1" "$failed" >> "$SAMPLES"
	log "$(printf 'heal run %d: in sync %-8s s after the return (controller live %s, re-added %s, md idle %s); %s sectors to r2%s' \
		"$run" "$H_S" "$H_LIVE" "$H_READD" "$H_IDLE" "$H_SECT" "${failed:+  FAILED: $failed}")"
	[ -n "$failed" ] && dbg "heal run $run FAILED: $failed"
	return 0
}

# --- full: resync of the same member from scratch ----------------------
md_remove_r2() {
	[ -e "/sys/block/$MD/md/dev-$D2" ] || return 0
	timeout 30 mdadm "/dev/$MD" --remove "/dev/$D2" >> "$DEBUG" 2>&1
}
r2_back_in_sync() {
	[ "$(md_sync_action "$MD")" = idle ] && [[ $(md_member_state "$MD" "$D2") == *in_sync* ]]
}
full_measure() {
	local t0
	timeout 60 systemctl stop "$MONITOR" 2>> "$DEBUG" || { WHY="systemctl stop $MONITOR failed"; return 1; }
	timeout 60 mdadm "/dev/$MD" --fail "/dev/$D2" >> "$DEBUG" 2>&1 || { WHY="mdadm --fail failed"; return 1; }
	wait_for 30 md_remove_r2 || { WHY="mdadm --remove failed"; return 1; }
	timeout 60 mdadm --zero-superblock "/dev/$D2" >> "$DEBUG" 2>&1 || { WHY="mdadm --zero-superblock failed"; return 1; }
	[ ! -e "/sys/block/$MD/md/dev-$D2" ] && [ "$(md_degraded "$MD")" = 1 ] ||
		{ WHY="$D2 still in $MD or $MD not degraded"; return 1; }
	sample_paths "${UUIDS[1]}" R2_BEFORE
	mono_ms
	t0=$MONO_MS
	timeout 60 mdadm "/dev/$MD" --add "/dev/$D2" >> "$DEBUG" 2>&1 || { WHY="mdadm --add failed"; return 1; }
	timeout 1800 mdadm --wait "/dev/$MD" > /dev/null 2>&1
	while ! r2_back_in_sync; do
		mono_ms
		[ $((MONO_MS - t0)) -ge 1900000 ] && { WHY="$D2 not in sync within 1900 s"; return 1; }
		nap 0.02
	done
	mono_ms
	F_S=$(ms_to_s $((MONO_MS - t0)))
	sample_paths "${UUIDS[1]}" R2_AFTER
	sectors_between R2_BEFORE R2_AFTER
	F_SECT=$SECT
}

full_run() {
	local run=$1 failed=''
	F_S=FAILED F_SECT=- WHY=''
	if ! ensure_ready; then
		failed="volume not ready: $WHY"
	elif ! full_measure; then
		failed=$WHY
		F_S=FAILED
	fi
	# The monitor back; a member left out is put back by it (or by the
	# next ensure_ready).
	systemctl is-active -q "$MONITOR" || timeout 60 systemctl start "$MONITOR" >> "$DEBUG" 2>&1
	printf 'full\t%d\t%s\t%s\t-\t-\t-\t-\t-\t-\t%s\n' "$run" "$F_S" "$F_SECT" "$failed" >> "$SAMPLES"
	log "$(printf 'full run %d: in sync %-8s s after mdadm --add; %s sectors to r2%s' \
		"$run" "$F_S" "$F_SECT" "${failed:+  FAILED: $failed}")"
	[ -n "$failed" ] && dbg "full run $run FAILED: $failed"
	return 0
}

# --- main --------------------------------------------------------------
rm -f "$SAMPLES" "$RESULTS" "$DEBUG"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a positive number"
[[ $OUTAGE =~ ^[1-9][0-9]*$ ]] || die "OUTAGE=$OUTAGE is not a positive number"
command -v fio > /dev/null || die "fio is not installed in the guest"
mkdir -p "$WORK" "$TGT_STORE" || die "mkdir $WORK $TGT_STORE"
rm -f "$WORK/nap"
mkfifo "$WORK/nap" || die "no FIFO for nap"
exec {NAP_FD}<> "$WORK/nap"
FIO_PID='' MD='' D2='' C2='' W0=0 WHY=''

# Replica size: the initial resync and every full resync write all of r2's
# namespace, so its sparse backing file ends up fully allocated; r1 stays
# sparse but for fio's region and md's metadata.
avail=$(df -Pm "$TGT_STORE" | awk 'NR == 2 { print $4 }')
case $SIZE in
auto)
	if [ "${avail:-0}" -ge $((1024 + 400)) ]; then
		SIZE_MIB=1024 SIZE_NOTE="1 GiB"
	else
		SIZE_MIB=512 SIZE_NOTE="512 MiB: only ${avail} MiB free on the guest disk, 1 GiB replicas need about 1424"
	fi
	;;
1G) SIZE_MIB=1024 SIZE_NOTE="1 GiB (forced)" ;;
512M) SIZE_MIB=512 SIZE_NOTE="512 MiB (forced)" ;;
*) die "SIZE=$SIZE: auto, 1G or 512M" ;;
esac
[ "${avail:-0}" -ge $((SIZE_MIB + 200)) ] || die "only ${avail} MiB free on the guest disk for ${SIZE_MIB} MiB replicas"

log "heal benchmark: RUNS=$RUNS, OUTAGE=${OUTAGE}s, replicas of $SIZE_NOTE (${avail} MiB free), kernel $(uname -r)"
install_project "$share" || die "installing the project"
tgt_modules || die "loading the nvmet / nvme-tcp / raid1 modules"
for i in 0 1; do
	tgt_add "${NAMES[i]}" "${SIZE_MIB}M" "${UUIDS[i]}" 1 || die "target ${NAMES[i]}"
	NQNS+=("$(tgt_nqn "${NAMES[i]}")")
done
# A failed first attach is retried before each run (ensure_ready); runs
# that cannot get a whole volume are FAILED cells.
attach_fresh || log "attaching $VOL failed: $WHY"
CHUNK=$(cat "/sys/block/${MD:-none}/md/bitmap/chunksize" 2> /dev/null || echo '?')
ARRAY_SECT=$(blockdev --getsz "$DEV" 2> /dev/null || echo 0)
t_start=$(uptime_s)

skipped=0
for ((run = 1; run <= RUNS; run++)); do
	if past_deadline; then
		skipped=$((skipped + 1))
		continue
	fi
	heal_run "$run"
	past_deadline && { skipped=$((skipped + 1)); continue; }
	full_run "$run"
done
[ "$skipped" -gt 0 ] && log "guest deadline (${DEADLINE}s uptime) reached: $skipped runs (partly) skipped"

force_cleanup
rm -f "$VOLDIR/$VOL.conf"
tgt_remove_all

{
	echo "nvmf-raid heal benchmark (bench/heal): bitmap heal after an outage vs a full resync of the same member"
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), mdadm $(pkg mdadm), fio $(pkg fio), $(nvmf-raid --version 2> /dev/null | head -1)"
	echo "qemu TCG guest, $(nproc) vCPUs; volume $VOL: 2 replicas, nvmet file-backed namespaces of $SIZE_NOTE,"
	echo "tcp://127.0.0.1:4420, attached with nvmf-raid@$VOL (defaults), md bitmap chunk $CHUNK bytes, array $ARRAY_SECT sectors"
	echo "heal: fio 4k randwrite, O_DIRECT, iodepth 1 on the first $FIO_SIZE (keeps running through the heal);"
	echo "      r2 vanishes (target drops the connection) for $OUTAGE s; timed from its return to the descriptor"
	echo "      showing it in-sync; clock: guest uptime (monotonic, 10 ms steps)"
	echo "full: fio and the monitor stopped; mdadm --fail, --remove, --zero-superblock r2; timed from mdadm --add"
	echo "      until sync_action is idle and r2 is in_sync"
	echo "sectors: written to r2's namespace (stat field 7 of its hidden path devices), 512 bytes each"
	echo "RUNS=$RUNS; $(awk -v s="$t_start" -v e="$(uptime_s)" 'BEGIN { printf "%.0f", e - s }') s of runs"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" "$RUNS" "$GOAL_PCT" "$ARRAY_SECT" > "$RESULTS" <<'PY'
import statistics
import sys

samples, header, runs, goal, array = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
rows = {'heal': [], 'full': []}
try:
    with open(samples) as f:
        for line in f:
            c = line.rstrip('\n').split('\t')
            if len(c) >= 11 and c[0] in rows:
                rows[c[0]].append(c)
except FileNotFoundError:
    pass


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def good(kind, col, need_time=True):
    return [num(r[col]) for r in rows[kind]
            if num(r[col]) is not None and (not need_time or num(r[2]) is not None)]


def med(vals):
    return statistics.median(vals) if vals else None


def cell(v, fmt):
    return fmt % v if v is not None else 'FAILED'


def span(vals, fmt):
    return (fmt + '-' + fmt) % (min(vals), max(vals)) if vals else '-'


print(open(header).read().rstrip('\n'))
print()
ht, hs = good('heal', 2), good('heal', 3)
ft, fs = good('full', 2), good('full', 3)
mht, mhs, mft, mfs = med(ht), med(hs), med(ft), med(fs)
fmt = '%-34s %12s %16s %8s %14s'
print(fmt % ('median over runs', 'seconds', 'sectors to r2', 'runs', 'seconds min-max'))
print(fmt % ('heal (bitmap re-add after outage)', cell(mht, '%.2f'), cell(mhs, '%.0f'),
             '%d/%d' % (len(ht), runs), span(ht, '%.2f')))
print(fmt % ('full resync of r2', cell(mft, '%.2f'), cell(mfs, '%.0f'),
             '%d/%d' % (len(ft), runs), span(ft, '%.2f')))
if array:
    print('(array: %d sectors; heal wrote %s of it, full %s)'
          % (array, cell(mhs and 100.0 * mhs / array, '%.1f%%'), cell(mfs and 100.0 * mfs / array, '%.1f%%')))
print()


def verdict(what, a, b):
    if a is None or b is None or b <= 0:
        print('Goal heal/full <= %.0f%%, %s: not measured' % (goal, what))
        return
    r = 100.0 * a / b
    print('Goal heal/full <= %.0f%%, %s: %.1f%% %s' % (goal, what, r, 'ok' if r <= goal else 'over'))


verdict('time', mht, mft)
verdict('sectors', mhs, mfs)

# Where the heal's time goes: the nvme reconnect (reconnect-delay) comes
# first, then the monitor's re-add, then md's bitmap resync.
live = [num(r[6]) for r in rows['heal'] if num(r[2]) is not None and num(r[6]) is not None]
readd = good('heal', 7)
after_live = [num(r[2]) - num(r[6]) for r in rows['heal'] if num(r[2]) is not None and num(r[6]) is not None]
r1 = good('heal', 9)
print()
print('Heal phases, medians from r2\'s return: controller live %s s, re-added (descriptor rebuilding) %s s,'
      % (cell(med(live), '%.2f'), cell(med(readd), '%.2f')))
print('  in sync %s s; from the controller live to in sync: %s s (%s of the full resync)'
      % (cell(mht, '%.2f'), cell(med(after_live), '%.2f'),
         cell(med(after_live) and mft and 100.0 * med(after_live) / mft, '%.1f%%')))
if r1 and hs:
    adj = [num(r[3]) - num(r[9]) for r in rows['heal']
           if num(r[2]) is not None and num(r[3]) is not None and num(r[9]) is not None]
    print('  fio kept writing during the heal: %s sectors went to r1 from the re-add on; r2\'s sectors'
          % cell(med(r1), '%.0f'))
    print('  less those (resync alone, roughly): %s, %s of the full resync'
          % (cell(med(adj), '%.0f'), cell(med(adj) and mfs and 100.0 * med(adj) / mfs, '%.1f%%')))
print()
print('Per run (heal: s; sectors; r2 faulty after s; outage s; live; re-added; md idle; r1 sectors; note)')
for kind in ('heal', 'full'):
    for r in rows[kind]:
        if kind == 'heal':
            print('  heal run %-3s %-8s %-9s %-6s %-6s %-6s %-6s %-6s %-8s %s' % tuple(r[1:11]))
        else:
            print('  full run %-3s %-8s %-9s %s' % (r[1], r[2], r[3], r[10]))
PY
rc=$?
journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/heal-results.txt, samples in out/heal-samples.tsv"
exit 0
