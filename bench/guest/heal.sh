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
#          the bitmap; once it is "rebuilding", md's sync_action is read
#          until idle); fio keeps writing throughout.  Sectors written to
#          r2 (its hidden path devices' stat field 7) from the return to
#          in-sync; the heal's copy rate: r2's sectors less r1's (what
#          fio wrote meanwhile) from the re-add to md idle, over that
#          time.  fio logs every completion (clat, unix ms): its IOPS and
#          p99 latency in the LEAD seconds before r2 vanishes and from the
#          re-add to md idle, on marks of bash's $EPOCHREALTIME.
#   full   fio stopped, the monitor stopped (it would put r2 back itself);
#          mdadm --fail, --remove, --zero-superblock r2; timed from
#          mdadm --add until md's sync_action is idle and the member is
#          in_sync; sectors written to r2 likewise; the monitor restarted.
# Then once, the volume detached: r2's namespace connected by hand and
# written sequentially with fio (1M, iodepth 8, O_DIRECT) for as many
# bytes as a full resync wrote (at least 256 MiB): the member's raw
# write rate, which bounds a resync's.
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
GOAL_RATE_PCT=80	# heal MB/s against a full resync's, at least
GOAL_READD=0.5		# seconds from r2's return to the re-add, at most
RAW_MIN_MIB=256		# the raw write runs long enough to reach its rate
VOLDIR=/etc/nvmf-raid/volumes
WORK=/run/nvmf-raid-bench
SAMPLES=$out/heal-samples.tsv
RESULTS=$out/heal-results.txt
DEBUG=$out/heal-debug.log
DEV=/dev/nvmf-raid/$VOL
MONITOR=nvmf-raid-monitor@$VOL
# Filled through namerefs (sample_paths):
# shellcheck disable=SC2034
declare -A R2_BEFORE R2_AFTER R1_READD R1_AFTER R2_READD R2_IDLE R1_IDLE R2_MDSTART R1_MDSTART

r2_is() { desc_state "$VOL" r2 && [ "$DSTATE" = "$1" ]; }

# epoch_us VAR : VAR = wall clock in microseconds, bash's $EPOCHREALTIME
# (no fork).  The marks are compared with fio's clat log, whose times
# (log_unix_epoch) are CLOCK_REALTIME too; /proc/uptime is another clock.
# Nothing steps the guest's clock (no network, timesyncd masked).
epoch_us() { printf -v "$1" '%s' "${EPOCHREALTIME/[.,]/}"; }

# md_idle_now : md's sync_action reads idle (MD_GONE set when it cannot
# be read at all).
md_idle_now() {
	local a
	MD_GONE=''
	read -r a 2> /dev/null < "/sys/block/$MD/md/sync_action" || { MD_GONE=1; return 1; }
	[ "$a" = idle ]
}

# md_started : md's sync_action was just read busy for the first time
# since r2's return: MDSTART_MS and both replicas' sectors, a second
# start of the heal beside the descriptor's "rebuilding", which the
# monitor writes after its re-add.
md_started() {
	MDSTART_MS=$MONO_MS
	sample_paths "${UUIDS[1]}" R2_MDSTART
	sample_paths "${UUIDS[0]}" R1_MDSTART
}

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
writes_flowing() {
	path_sum "${UUIDS[0]}" 5
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
# Every completion is logged (lat_clat.1.log: unix ms, latency ns, ...);
# fio keeps the log in memory and writes it when it ends.
start_fio() {
	rm -f "$WORK/fio.out" "$WORK"/lat_*.log
	(cd "$WORK" && exec setsid fio --name=heal --filename="$DEV" --rw=randwrite --bs=4k \
		--size="$FIO_SIZE" --direct=1 --ioengine=libaio --iodepth=1 --norandommap \
		--time_based --runtime=1200 --write_lat_log=lat --log_avg_msec=0 \
		--log_unix_epoch=1 --output=fio.out) > /dev/null 2>> "$DEBUG" &
	FIO_PID=$!
}
stop_fio() {
	local pid=$FIO_PID
	[ -n "$pid" ] || return 0
	FIO_PID=''
	fio_end "$pid" "${NQNS[1]}"
}

# clat_windows : what fio saw, from its clat log: completions, IOPS and
# p99 completion latency (ms) from E_S0 to E_S1 (before the outage) into
# A_SN A_SIOPS A_SP99, from E_READD to E_IDLE (the heal) into A_HN
# A_HIOPS A_HP99; '-' for a window the run did not have.
clat_windows() {
	local line
	[ -s "$WORK/lat_clat.1.log" ] || { WHY="fio wrote no clat log"; return 1; }
	line=$(py3 - "$WORK/lat_clat.1.log" "$E_START" "$E_STOP" "$E_S0" "$E_S1" \
		"${E_READD:--}" "${E_IDLE:--}" 2>> "$DEBUG" <<'PY'
import math
import sys

log, start, stop = sys.argv[1], int(sys.argv[2]) / 1e3, int(sys.argv[3]) / 1e3
wins = [tuple(None if v == '-' else int(v) / 1e3 for v in sys.argv[i:i + 2]) for i in (4, 6)]
lat = [[], []]
n, first, last = 0, None, None
with open(log) as f:
    for line in f:
        c = line.split(',')
        if len(c) < 2:
            continue
        t, v = int(c[0]), int(c[1])
        n += 1
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        for i, (a, b) in enumerate(wins):
            if a is not None and b is not None and a <= t < b:
                lat[i].append(v)
# Zero-based times (no log_unix_epoch) would put every window empty.
if not n or first < 1e12:
    sys.exit('clat log: %d completions, first at %s: not unix ms' % (n, first))
print('  clat log: %d completions, the first %.0f ms after fio started, the last %.0f ms before'
      ' its stop; windows (ms) %s' % (n, first - start, stop - last, wins), file=sys.stderr)
out = []
for (a, b), v in zip(wins, lat):
    if a is None or b is None or b <= a:
        out += ['-', '-', '-']
        continue
    v.sort()
    out += ['%d' % len(v), '%.1f' % (len(v) * 1e3 / (b - a)),
            '%.2f' % (v[math.ceil(0.99 * len(v)) - 1] / 1e6) if v else '-']
print(' '.join(out))
PY
	) || { WHY="fio's clat log unreadable (see heal-debug.log)"; return 1; }
	read -r A_SN A_SIOPS A_SP99 A_HN A_HIOPS A_HP99 <<< "$line"
}

# --- heal: bitmap re-add after an outage --------------------------------
heal_measure() {
	local tv tr now end st readd='' e_now MDSTART_MS=''
	epoch_us E_START
	start_fio
	path_sum "${UUIDS[0]}" 5
	W0=$PSUM
	wait_for 60 writes_flowing || { WHY="fio wrote nothing within 60 s"; return 1; }
	proc_gone "$FIO_PID" && { WHY="fio ended early: $(grep -m1 'err=' "$WORK/fio.out" 2> /dev/null)"; return 1; }
	epoch_us E_S0
	nap "$LEAD"
	mono_ms
	tv=$MONO_MS
	epoch_us E_S1
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
		epoch_us e_now
		[ -z "$MDSTART_MS" ] && ! md_idle_now && [ -z "$MD_GONE" ] && md_started
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
	sample_paths "${UUIDS[1]}" R2_READD
	E_READD=$e_now
	H_READD=$(ms_to_s $((now - tr)))
	if [ "$readd" = rebuilding ]; then
		# Polled, not mdadm --wait: its exit costs about 0.1 s under TCG,
		# a tenth or more of a heal of a few bitmap chunks, and the
		# heal's rate is taken on this mark.
		while ! md_idle_now; do
			mono_ms
			[ -n "$MD_GONE" ] && { WHY="$MD's sync_action unreadable during the heal"; return 1; }
			[ -z "$MDSTART_MS" ] && md_started
			[ $((MONO_MS - tr)) -ge 1200000 ] && { WHY="$MD not idle within 1200 s"; return 1; }
			nap 0.02
		done
		mono_ms
		epoch_us E_IDLE
		sample_paths "${UUIDS[1]}" R2_IDLE
		sample_paths "${UUIDS[0]}" R1_IDLE
		H_IDLE=$(ms_to_s $((MONO_MS - tr)))
		sectors_between R2_READD R2_IDLE
		H_W2=$SECT
		sectors_between R1_READD R1_IDLE
		H_W1=$SECT
		if [ -n "$MDSTART_MS" ]; then
			H_MDSTART=$(ms_to_s $((MDSTART_MS - tr)))
			sectors_between R2_MDSTART R2_IDLE
			H_M2=$SECT
			sectors_between R1_MDSTART R1_IDLE
			H_M1=$SECT
		fi
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
	epoch_us E_STOP
	stop_fio || return 1
	if ! grep -q 'err= 0' "$WORK/fio.out" 2> /dev/null; then
		WHY="fio reported an error: $(grep -m1 'err=' "$WORK/fio.out" 2> /dev/null)"
		cat "$WORK/fio.out" >> "$DEBUG" 2> /dev/null
		return 1
	fi
	# The heal's figures stand without fio's.
	clat_windows || APP_WHY="no fio figures: $WHY"
	return 0
}

heal_run() {
	local run=$1 failed='' i
	H_S=FAILED H_SECT=- H_LIVE=- H_READD=- H_IDLE=- H_R1=- H_FAULTY=- H_OUT=- WHY=''
	H_W2=- H_W1=- A_SN=- A_SIOPS=- A_SP99=- A_HN=- A_HIOPS=- A_HP99=- H_MDSTART=- H_M2=- H_M1=-
	E_START='' E_STOP='' E_S0='' E_S1='' E_READD='' E_IDLE='' APP_WHY=''
	if ! ensure_ready; then
		failed="volume not ready: $WHY"
	elif ! heal_measure; then
		failed=$WHY
		H_S=FAILED
	fi
	[ -n "${FIO_PID:-}" ] && stop_fio
	for i in 0 1; do tgt_return "${NAMES[i]}"; done
	printf 'heal\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$run" "$H_S" "$H_SECT" "$H_FAULTY" "$H_OUT" "$H_LIVE" "$H_READD" "$H_IDLE" "$H_R1" \
		"${failed:-$APP_WHY}" "$H_W2" "$H_W1" "$A_SN" "$A_SIOPS" "$A_SP99" "$A_HN" "$A_HIOPS" "$A_HP99" \
		"$H_MDSTART" "$H_M2" "$H_M1" >> "$SAMPLES"
	log "$(printf 'heal run %d: in sync %-8s s after the return (controller live %s, re-added %s, md idle %s); %s sectors to r2%s' \
		"$run" "$H_S" "$H_LIVE" "$H_READD" "$H_IDLE" "$H_SECT" "${failed:+  FAILED: $failed}")"
	log "$(printf '  md busy %s s after the return; re-add to md idle: %s sectors to r2, %s to r1; fio IOPS %s, p99 %s ms before the outage, IOPS %s, p99 %s ms (%s completions) during the heal' \
		"$H_MDSTART" "$H_W2" "$H_W1" "$A_SIOPS" "$A_SP99" "$A_HIOPS" "$A_HP99" "$A_HN")"
	[ -n "$failed" ] && dbg "heal run $run FAILED: $failed"
	[ -n "$APP_WHY" ] && dbg "heal run $run: $APP_WHY"
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
	[ -z "$failed" ] && FULL_SECT=$F_SECT
	printf 'full\t%d\t%s\t%s\t-\t-\t-\t-\t-\t-\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' \
		"$run" "$F_S" "$F_SECT" "$failed" >> "$SAMPLES"
	log "$(printf 'full run %d: in sync %-8s s after mdadm --add; %s sectors to r2%s' \
		"$run" "$F_S" "$F_SECT" "${failed:+  FAILED: $failed}")"
	[ -n "$failed" ] && dbg "full run $run FAILED: $failed"
	return 0
}

# --- raw: r2's namespace written directly, the volume detached --------
# What a full resync writes, as fast as the member takes it: the bound on
# md's resync rate on this target and transport.
raw_measure() {
	local dev h mib line
	mib=$((FULL_SECT / 2048))
	[ "$mib" -ge "$RAW_MIN_MIB" ] || mib=$RAW_MIN_MIB
	[ "$mib" -le "$SIZE_MIB" ] || mib=$SIZE_MIB
	RAW_MIB=$mib
	timeout 60 nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "${NQNS[1]}" >> "$DEBUG" 2>&1 ||
		{ WHY="nvme connect ${NQNS[1]} failed"; return 1; }
	wait_for 60 test -L "/dev/disk/by-id/nvme-uuid.${UUIDS[1]}" || { WHY="r2's namespace did not appear"; return 1; }
	dev=$(dev_by_uuid "${UUIDS[1]}") || { WHY="r2 has no namespace device"; return 1; }
	# nvmf-raid's rule keeps mdadm's incremental assembly off the member;
	# should anything hold it all the same, fio would race it.
	h=("/sys/block/$dev/holders/"*)
	[ -e "${h[0]}" ] && { WHY="/dev/$dev is held by ${h[*]##*/}"; return 1; }
	# Buffers in shm, not malloc's transparent huge pages: nvme-tcp sends
	# them zero-copy over loopback, and nvmet-tcp's copy of a fragment
	# that runs past the end of a 2 MiB folio trips hardened usercopy
	# (kernel BUG in nvmet_tcp_io_work on Debian 12's 6.1.0-57, the
	# guest hung; seen here with fio's default, malloc).
	timeout 240 fio --name=raw --filename="/dev/$dev" --rw=write --bs=1M --iodepth=8 --direct=1 \
		--ioengine=libaio --iomem=shm --size="${mib}M" --output-format=json --output="$WORK/raw.json" \
		> /dev/null 2>> "$DEBUG" || { WHY="fio on /dev/$dev failed"; return 1; }
	line=$(py3 - "$WORK/raw.json" 2>> "$DEBUG" <<'PY'
import json
import sys

w = json.load(open(sys.argv[1]))['jobs'][0]['write']
print('%.3f %d' % (w['runtime'] / 1e3, w['io_bytes'] // 512))
PY
	) || { WHY="fio's JSON output unreadable"; return 1; }
	read -r R_S R_SECT <<< "$line"
}

raw_run() {
	local failed=''
	R_S=FAILED R_SECT=- RAW_MIB=- WHY=''
	raw_measure || failed=$WHY
	timeout 60 nvme disconnect -n "${NQNS[1]}" >> "$DEBUG" 2>&1
	settle
	printf 'raw\t1\t%s\t%s\t-\t-\t-\t-\t-\t-\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' \
		"$R_S" "$R_SECT" "$failed" >> "$SAMPLES"
	log "$(printf 'raw write of r2, detached: %s s for %s sectors (%s MiB asked)%s' \
		"$R_S" "$R_SECT" "$RAW_MIB" "${failed:+  FAILED: $failed}")"
	[ -n "$failed" ] && dbg "raw write FAILED: $failed"
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
FIO_PID='' MD='' D2='' C2='' W0=0 WHY='' FULL_SECT=0 RAW_MIB=-

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
if past_deadline; then
	log "guest deadline (${DEADLINE}s uptime) reached: no raw write of r2"
else
	raw_run
fi
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
	echo "copy rate, MB/s (10^6 bytes): heal = (r2's sectors - r1's, fio's writes being mirrored) x 512 from the"
	echo "      re-add (descriptor rebuilding) to md idle (sync_action read every 20 ms), over that time;"
	echo "      (also from md's recovery start, sync_action first read busy after the return, to idle);"
	echo "      full = sectors to r2 x 512 / its seconds"
	echo "raw: the volume detached, r2's namespace connected by hand (nvme connect, nvme-cli defaults);"
	echo "      fio write, 1M, iodepth 8, O_DIRECT, libaio, $RAW_MIB MiB (a full resync's bytes, >= $RAW_MIN_MIB MiB)"
	echo "fio during the heal: every completion logged (clat, unix ms); before the outage = the $LEAD s before r2"
	echo "      vanishes, during the heal = re-add to md idle, marked with bash's \$EPOCHREALTIME; p99 nearest-rank"
	echo "RUNS=$RUNS; $(awk -v s="$t_start" -v e="$(uptime_s)" 'BEGIN { printf "%.0f", e - s }') s of runs"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" "$RUNS" "$GOAL_PCT" "$ARRAY_SECT" "$GOAL_RATE_PCT" \
	"$GOAL_READD" > "$RESULTS" <<'PY'
import statistics
import sys

samples, header, runs, goal, array = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
goal_rate, goal_readd = float(sys.argv[6]), float(sys.argv[7])
rows = {'heal': [], 'full': [], 'raw': []}
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
mdbusy = [num(r[19]) for r in rows['heal'] if len(r) > 19 and num(r[2]) is not None and num(r[19]) is not None]
print('Heal phases, medians from r2\'s return: controller live %s s, md recovering %s s,'
      % (cell(med(live), '%.2f'), cell(med(mdbusy), '%.2f') if mdbusy else '-'))
print('  re-added (descriptor rebuilding) %s s, md idle %s s,'
      % (cell(med(readd), '%.2f'), cell(med(good('heal', 8)), '%.2f')))
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


# Columns added after the note (index 10); rows of older files lack them.
def col(r, i):
    return num(r[i]) if len(r) > i else None


def heal_rate(r):
    """MB/s md copied to r2 from the re-add to md idle, fio's mirrored writes taken out."""
    w2, w1, t0, t1 = col(r, 11), col(r, 12), num(r[7]), num(r[8])
    if num(r[2]) is None or None in (w2, w1, t0, t1) or t1 <= t0:
        return None
    return (w2 - w1) * 512 / (t1 - t0) / 1e6


def md_rate(r):
    """The same from md's recovery start (sync_action first busy) on."""
    w2, w1, t0, t1 = col(r, 20), col(r, 21), col(r, 19), num(r[8])
    if num(r[2]) is None or None in (w2, w1, t0, t1) or t1 <= t0:
        return None
    return (w2 - w1) * 512 / (t1 - t0) / 1e6


def full_rate(r):
    t, s = num(r[2]), num(r[3])
    return s * 512 / t / 1e6 if t and s is not None else None


hr = [v for v in map(heal_rate, rows['heal']) if v is not None]
mr = [v for v in map(md_rate, rows['heal']) if v is not None]
fr = [v for v in map(full_rate, rows['full']) if v is not None]
rr = [v for v in map(full_rate, rows['raw']) if v is not None]
mhr, mfr, mrr = med(hr), med(fr), med(rr)
print()
fmt = '%-52s %10s %8s %14s'
print(fmt % ('copy rate, median over runs', 'MB/s', 'runs', 'MB/s min-max'))
print(fmt % ('heal: r2 less r1, re-add to md idle', cell(mhr, '%.1f'),
             '%d/%d' % (len(hr), runs), span(hr, '%.1f')))
print(fmt % ('  the same from md\'s recovery start to idle', cell(med(mr), '%.1f'),
             '%d/%d' % (len(mr), runs), span(mr, '%.1f')))
print(fmt % ('full resync of r2', cell(mfr, '%.1f'), '%d/%d' % (len(fr), runs), span(fr, '%.1f')))
print(fmt % ('raw write of r2\'s namespace, volume detached', cell(mrr, '%.1f'),
             '%d/%d' % (len(rr), 1), '-'))
print('heal/full %s; full resync/raw write %s'
      % (cell(mhr and mfr and 100.0 * mhr / mfr, '%.1f%%'), cell(mfr and mrr and 100.0 * mfr / mrr, '%.1f%%')))
print()
if mhr is None or not mfr:
    print('Goal heal MB/s >= %.0f%% of full MB/s: not measured' % goal_rate)
else:
    r = 100.0 * mhr / mfr
    print('Goal heal MB/s >= %.0f%% of full MB/s: %.1f%% %s' % (goal_rate, r, 'ok' if r >= goal_rate else 'under'))
if med(readd) is None:
    print('Goal re-added <= %.1f s after r2\'s return: not measured' % goal_readd)
else:
    print('Goal re-added <= %.1f s after r2\'s return: %.2f s (median) %s'
          % (goal_readd, med(readd), 'ok' if med(readd) <= goal_readd else 'over'))

# What the application saw: fio's completions before the outage against
# those while md copies to r2 beside them.
app = [r for r in rows['heal'] if num(r[2]) is not None]
sn, si, sp = ([col(r, i) for r in app if col(r, i) is not None] for i in (13, 14, 15))
hn, hi, hp = ([col(r, i) for r in app if col(r, i) is not None] for i in (16, 17, 18))
few = [int(v) for v in hn if v < 20]
print()
fmt = '%-44s %18s %18s'
print(fmt % ('fio 4k randwrite, iodepth 1, median over runs', 'before the outage', 'during the heal'))
print(fmt % ('IOPS', cell(med(si), '%.1f'), cell(med(hi), '%.1f')))
print(fmt % ('p99 completion latency, ms', cell(med(sp), '%.2f'),
             cell(med(hp), '%.2f') + (' (n=%.0f)' % med(hn) if few else '')))
print(fmt % ('completions in the window', cell(med(sn), '%.0f'), cell(med(hn), '%.0f')))
print(fmt % ('runs', '%d/%d' % (len(sp), runs), '%d/%d' % (len(hp), runs)))
if few:
    print('(the heal window held fewer than 20 completions in %d of %d runs (%s): its p99 is the slowest one)'
          % (len(few), len(hn), ', '.join(map(str, few))))
print()
print('Per run (heal: s; sectors; r2 faulty after s; outage s; live; re-added; md idle; r1 sectors; note)')
print('  (then: re-add to md idle: r2 sectors, r1 sectors, MB/s; md busy after s, MB/s from then; fio before')
print('   the outage and during the heal: completions, IOPS, p99 ms; full and raw: s; sectors; MB/s; note)')
for kind in ('heal', 'full', 'raw'):
    for r in rows[kind]:
        if kind == 'heal':
            print('  heal run %-3s %-8s %-9s %-6s %-6s %-6s %-6s %-6s %-8s %s' % tuple(r[1:11]))
            x = r[11:22] + ['-'] * (22 - max(len(r), 11))
            print('      %-9s %-9s %-7s md %-6s %-7s before %-6s %-7s %-7s heal %-6s %-7s %s'
                  % (x[0], x[1], cell(heal_rate(r), '%.1f') if heal_rate(r) is not None else '-',
                     x[8], cell(md_rate(r), '%.1f') if md_rate(r) is not None else '-', *x[2:8]))
        else:
            print('  %-4s run %-3s %-8s %-9s %-7s %s' % (kind, r[1], r[2], r[3],
                                                     cell(full_rate(r), '%.1f') if full_rate(r) else '-', r[10]))
PY
rc=$?
journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/heal-results.txt, samples in out/heal-samples.tsv"
exit 0
