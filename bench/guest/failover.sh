#!/bin/bash
# Guest side of bench/failover (issues 5 and 11), run as /mnt/host/run.sh
# with the test library in /mnt/host/lib.  What an application writing to
# a two-way RAID1 sees when a fault hits the replicas (the longest write
# stall, and any I/O error), three ways on the same nvmet targets (two
# subsystems, one 64 MiB namespace each; r1 on tcp://127.0.0.1:4420, r2 on
# its own port tcp://127.0.0.1:4422 so that its packets alone can be
# dropped):
#   ours      systemctl start nvmf-raid@fo, volume file without nvme keys
#             (the defaults: fast-io-fail-tmo 2 for the monitor's
#             failover, kernel fast_io_fail_tmo off, ctrl-loss-tmo -1,
#             reconnect-delay 2, keep-alive-tmo 5, path io_timeout 3 s)
#   nvme      nvme connect with nvme-cli's defaults (ctrl_loss_tmo 600,
#             reconnect_delay 10, fast_io_fail off) + mdadm --create
#   osbrick   os-brick's connect, 6.1 and 6.11 alike (nvme connect -Q 128 -l -1: ctrl_loss_tmo
#             off, reconnect_delay 10) + mdadm --create --failfast
#             --assume-clean as os-brick does
# Fault kinds (FAULTS), each for every configuration:
#   vanish    r2's target drops the connection (subsystem unlinked from
#             its port)
#   silent    r2 silently partitioned: every packet to or from its port
#             dropped (tc netem loss 100% on lo), no TCP reset
#   total     both replicas' targets vanish at once
# Each run (one fault, one configuration) starts from scratch: blank the
# namespaces, attach, wait for the initial resync, start fio (4k
# randwrite, O_DIRECT, libaio, iodepth 1, every completion latency
# logged), start the fault 3 s later, end it OUTAGE seconds later, wait
# until the replicas it hit have a live controller again, let fio run 5 s
# more, stop it, read whether the array's device still exists and md's
# array_state, detach.  The stall is the longest completion latency in
# fio's clat log.  fio stops on its first I/O error (iodepth 1): the run
# records the error (fio's err=, e.g. 5 = EIO) and when it came, seconds
# into the fault; only a step of the harness that fails leaves a FAILED
# cell, never a hung guest.
# Output: out/failover-results.txt (a block per fault kind, medians,
# ratios, goals), out/failover-samples.tsv (every run),
# out/failover-debug.log.
# Settings from /mnt/host/bench.conf: RUNS, OUTAGE (seconds), FAULTS
# (names, space separated), DEADLINE (guest uptime in seconds after which
# remaining runs are skipped).
# Configurations and faults are functions called by name ("setup_$cfg",
# "fault_start_$fault"):
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
RUNS=3
OUTAGE=20
FAULTS="vanish silent total"
KATO=''			# keep-alive-tmo in ours' volume file; empty: the default
DEADLINE=2400
# shellcheck source=/dev/null
[ -f "$share/bench.conf" ] && . "$share/bench.conf"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

VOL=fo
SIZE_MIB=64
NAMES=(fo-r1 fo-r2)
UUIDS=(f0e1c0a7-0001-4c5e-9a7d-6e0f5a1b2c01 f0e1c0a7-0002-4c5e-9a7d-6e0f5a1b2c02)
PORT_IDS=(1 3)		# tgt_port ids: r1 on 127.0.0.1:4420, r2 alone on 127.0.0.1:4422
PORTS=(4420 4422)
NQNS=()
CONFIGS=(ours nvme osbrick)
LEAD=3			# seconds of fio before the fault
TAIL=5			# seconds of fio after the replicas hit are live again
VOLDIR=/etc/nvmf-raid/volumes
WORK=/run/nvmf-raid-bench
SAMPLES=$out/failover-samples.tsv
RESULTS=$out/failover-results.txt
DEBUG=$out/failover-debug.log
MD_RULE=/run/udev/rules.d/64-md-raid-assembly.rules
MANUAL_MD=/dev/md/$VOL

# wait_blk SECONDS PATH : until PATH is (or links to) a block device.
wait_blk() { wait_for "$1" test -b "$2"; }

# --- the three faults ----------------------------------------------------
# fault_start_F / fault_end_F : set it on / off (WHY on failure).
# away_of F : the indices of the replicas F hits.
away_of() { case $1 in total) echo 0 1 ;; *) echo 1 ;; esac; }

# net_cut PORT : drop every packet to or from tcp PORT on lo, silently (no
# reset, no ICMP): all traffic goes to prio band 1, only the port's
# packets to band 4, whose netem drops them all.
net_cut() {
	modprobe -a sch_prio sch_netem cls_u32 2>> "$DEBUG" || { WHY="modprobe sch_prio sch_netem cls_u32 failed"; return 1; }
	if ! { tc qdisc add dev lo root handle 1: prio bands 4 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 &&
		tc qdisc add dev lo parent 1:4 handle 40: netem loss 100% &&
		tc filter add dev lo parent 1:0 protocol ip prio 1 u32 match ip dport "$1" 0xffff flowid 1:4 &&
		tc filter add dev lo parent 1:0 protocol ip prio 2 u32 match ip sport "$1" 0xffff flowid 1:4; } 2>> "$DEBUG"; then
		WHY="tc could not cut port $1"
		net_heal
		return 1
	fi
}
net_heal() {
	net_is_cut || return 0
	tc qdisc del dev lo root 2>> "$DEBUG"
}
net_is_cut() { [[ $(tc qdisc show dev lo 2> /dev/null) == *netem* ]]; }

fault_start_vanish() { tgt_vanish "${NAMES[1]}" || { WHY="tgt_vanish ${NAMES[1]} failed"; return 1; }; }
fault_end_vanish() { tgt_return "${NAMES[1]}" || { WHY="tgt_return ${NAMES[1]} failed"; return 1; }; }
fault_start_silent() { net_cut "${PORTS[1]}"; }
fault_end_silent() { net_heal || { WHY="tc could not heal the cut"; return 1; }; }
fault_start_total() {
	tgt_vanish "${NAMES[0]}" || { WHY="tgt_vanish ${NAMES[0]} failed"; return 1; }
	tgt_vanish "${NAMES[1]}" || { WHY="tgt_vanish ${NAMES[1]} failed"; return 1; }
}
fault_end_total() {
	tgt_return "${NAMES[0]}" || { WHY="tgt_return ${NAMES[0]} failed"; return 1; }
	tgt_return "${NAMES[1]}" || { WHY="tgt_return ${NAMES[1]} failed"; return 1; }
}

# Nothing attached: no controller, no md array, no fio, no fault on.
quiescent() {
	local i
	[ -z "${FIO_PID:-}" ] || { WHY="fio still running"; return 1; }
	for i in 0 1; do
		[ -z "$(ctrls_by_nqn "${NQNS[i]}")" ] || { WHY="${NQNS[i]} still connected"; return 1; }
		[ ! -e "$TGT_STORE/${NAMES[i]}.vanished" ] || { WHY="${NAMES[i]} still vanished"; return 1; }
	done
	! net_is_cut || { WHY="port ${PORTS[1]} still cut"; return 1; }
	! grep -q '^md' /proc/mdstat || { WHY="md array left: $(grep '^md' /proc/mdstat | head -1)"; return 1; }
}

# faults_off : every fault ended (what a run leaves is undone first).
faults_off() {
	local i
	net_heal
	for i in 0 1; do tgt_return "${NAMES[i]}"; done
}

force_cleanup() {
	local i
	dbg "cleanup"
	[ -n "${FIO_PID:-}" ] && stop_fio
	faults_off
	timeout 150 systemctl stop "nvmf-raid@$VOL" > /dev/null 2>&1
	systemctl reset-failed "nvmf-raid@$VOL" "nvmf-raid-monitor@$VOL" > /dev/null 2>&1
	host_reset
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
		[ -n "$KATO" ] && printf 'keep-alive-tmo = %s\n' "$KATO"
		for i in 0 1; do
			printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = tcp://127.0.0.1:%s\n' \
				$((i + 1)) "${NQNS[i]}" "${UUIDS[i]}" "${PORTS[i]}"
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
		# os-brick's nvmeof.py, the same in 6.1 (Debian 12) and 6.11
		# (Debian 13): nvme connect ... -Q 128 -l -1; mdadm -C ...
		# --bitmap=internal --homehost=any --failfast --assume-clean.
		conn=(-Q 128 -l -1)
		create=(--failfast --assume-clean)
	fi
	for i in 0 1; do
		timeout 60 nvme connect -t tcp -a 127.0.0.1 -s "${PORTS[i]}" -n "${NQNS[i]}" "${conn[@]}" \
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
# sets MD (mdX), MEMBERS (r1's and r2's member devices), C2 (r2's
# controller), RD2 (its reconnect_delay) and OPTS (r2's controller options
# as the kernel has them).
check_array() {
	local real i a v
	settle
	real=$(readlink -f "$DEV")
	MD=${real##*/}
	[ "$(cat "/sys/block/$MD/md/level" 2> /dev/null)" = raid1 ] || { WHY="$DEV ($real) is not an md raid1"; return 1; }
	[ "$(cat "/sys/block/$MD/md/raid_disks")" = 2 ] || { WHY="$real does not have 2 raid disks"; return 1; }
	for i in 0 1; do
		MEMBERS[i]=$(dev_by_uuid "${UUIDS[i]}") || { WHY="r$((i + 1)) has no namespace device"; return 1; }
		[ -e "/sys/block/$MD/md/dev-${MEMBERS[i]}" ] || { WHY="${MEMBERS[i]} is not a member of $MD"; return 1; }
	done
	# The initial resync (not for --assume-clean) is not part of the test.
	timeout 300 mdadm --wait "/dev/$MD" > /dev/null 2>&1
	[ "$(md_sync_action "$MD")" = idle ] || { WHY="$MD still syncing"; return 1; }
	[ "$(md_degraded "$MD")" = 0 ] || { WHY="$MD is degraded"; return 1; }
	for i in 0 1; do
		case $(md_member_state "$MD" "${MEMBERS[i]}") in
		*in_sync*) ;;
		*) WHY="${MEMBERS[i]} is $(md_member_state "$MD" "${MEMBERS[i]}") in $MD"; return 1 ;;
		esac
	done
	C2=$(ctrls_by_nqn "${NQNS[1]}")
	[[ -n $C2 && ! $C2 =~ [[:space:]] ]] || { WHY="r2 has controllers '${C2//$'\n'/ }', want one"; return 1; }
	OPTS=''
	for a in fast_io_fail_tmo ctrl_loss_tmo reconnect_delay kato; do
		v=$(cat "/sys/class/nvme/$C2/$a" 2> /dev/null) || v='?'
		OPTS+="${OPTS:+ }$a=$v"
	done
	# r2's path device nvme<subsystem>c<controller>n<ns>; under ours the
	# monitor sets its io_timeout once the path is there.
	v=$(cat /sys/block/nvme*c"${C2#nvme}"n*/queue/io_timeout 2> /dev/null | head -1)
	OPTS+=" path_io_timeout_ms=${v:-?}"
	RD2=$(cat "/sys/class/nvme/$C2/reconnect_delay" 2> /dev/null)
	[[ $RD2 =~ ^[0-9]+$ ]] || RD2=10
}

# away_live : every replica the fault hit has a live controller.
away_live() {
	local i c ok
	for i in $AWAY; do
		ok=''
		for c in $(ctrls_by_nqn "${NQNS[i]}"); do
			[ "$(ctrl_state "$c")" = live ] && { ok=1; break; }
		done
		[ -n "$ok" ] || return 1
	done
	return 0
}

writes_flowing() {
	path_sum "${UUIDS[0]}" 5
	[ "$PSUM" -gt "$W0" ] && return 0
	proc_gone "$FIO_PID" && return 0	# fio died: measure() sees it
	return 1
}

# array_settled : md's array_state is no longer active or write_pending
# ("broken" shows only in place of "clean", once writes have stopped).
array_settled() {
	ASTATE=$(cat "/sys/block/$MD/md/array_state" 2> /dev/null) || ASTATE=gone
	case $ASTATE in active | write-pending | active-idle) return 1 ;; esac
	return 0
}

# --- fio ---------------------------------------------------------------
start_fio() {
	rm -f "$WORK"/lat_*.log "$WORK/fio.out"
	FIO_END=''
	# setsid: its own process group, so its job process can be stopped by
	# the group's id.  The runtime is only a backstop; stop_fio ends it.
	(cd "$WORK" && exec setsid fio --name=fo --filename="$DEV" --rw=randwrite --bs=4k \
		--direct=1 --ioengine=libaio --iodepth=1 --norandommap --time_based \
		--runtime=$((LEAD + OUTAGE + RD2 + TAIL + 300)) \
		--write_lat_log=lat --log_avg_msec=0 --output=fio.out) > /dev/null 2>> "$DEBUG" &
	FIO_PID=$!
}

# watch_fio SECONDS [CMD...] : naps in 0.1 s steps until CMD succeeds (0) or
# SECONDS have passed (1); notes in FIO_END (uptime, ms) when fio ends by
# itself, which with iodepth 1 is its first I/O error, and in DEG_MAX the
# most members md has had failed at once (TRACK_DEG set).
watch_fio() {
	local end d
	mono_ms
	end=$((MONO_MS + $1 * 1000))
	shift
	while :; do
		# md failing a member is noted too, also after the fault's end.
		if [ -n "$TRACK_DEG" ] && read -r d 2> /dev/null < "/sys/block/$MD/md/degraded" &&
			[[ $d =~ ^[0-9]+$ ]] && [ "$d" -gt "$DEG_MAX" ]; then
			DEG_MAX=$d
		fi
		if [ -z "$FIO_END" ] && proc_gone "$FIO_PID"; then
			mono_ms
			FIO_END=$MONO_MS
		fi
		[ $# -gt 0 ] && "$@" && return 0
		mono_ms
		[ "$MONO_MS" -ge "$end" ] && return 1
		nap 0.1
	done
}

# stop_fio : SIGINT, then escalate; never waits forever.
stop_fio() {
	local pid=$FIO_PID
	[ -n "$pid" ] || return 0
	FIO_PID=''
	fio_end "$pid" "${NQNS[1]}" "${NQNS[0]}"
}

# fio_err : ERR = fio's err= of the job (0, or an errno such as 5 = EIO),
# '' when fio wrote no summary.
fio_err() {
	ERR=$(sed -n 's/.*: err= *\([0-9][0-9]*\).*/\1/p' "$WORK/fio.out" 2> /dev/null | head -1)
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
# measure FAULT CFG : fio, the fault for OUTAGE s, its end; sets the
# sample's fields.  Returns 1 only for a failure of the harness.
measure() {
	local fault=$1 cfg=$2 tv tr w i st ds
	start_fio
	path_sum "${UUIDS[0]}" 5
	W0=$PSUM
	wait_for 60 writes_flowing || { WHY="fio wrote nothing to r1 within 60 s"; return 1; }
	watch_fio "$LEAD"
	[ -z "$FIO_END" ] || { WHY="fio ended before the fault: $(grep -m1 -i 'err' "$WORK/fio.out" 2> /dev/null)"; return 1; }
	mono_ms
	tv=$MONO_MS
	DEG_MAX=0 TRACK_DEG=1
	"fault_start_$fault" || return 1
	dbg "$fault/$cfg: fault on"
	watch_fio "$OUTAGE"
	MDSTATE='' ds=''
	for i in $AWAY; do
		st=$(md_member_state "$MD" "${MEMBERS[i]}")
		MDSTATE+="${MDSTATE:+/}${st:-removed}"
		if [ "$cfg" = ours ]; then
			desc_state "$VOL" "r$((i + 1))" || DSTATE='?'
			ds+="${ds:+/}$DSTATE"
		fi
	done
	DSTATE=${ds:--}
	mono_ms
	tr=$MONO_MS
	"fault_end_$fault" || return 1
	OUTAGE_S=$(ms_to_s $((tr - tv)))
	dbg "$fault/$cfg: fault off after ${OUTAGE_S}s; md members hit: $MDSTATE; descriptor: $DSTATE"
	w=$((RD2 + 30))
	if watch_fio "$w" away_live; then
		mono_ms
		RECONN=$(ms_to_s $((MONO_MS - tr)))
	else
		RECONN=never
		dbg "$fault/$cfg: the replicas hit were not live within ${w}s of the fault's end"
	fi
	watch_fio "$TAIL"
	TRACK_DEG=''
	stop_fio || return 1
	# The state an application is left with once the fault is over.
	if [ -b "$DEV" ]; then DEV_END=yes; else DEV_END=no; fi
	wait_for 5 array_settled
	# "[2/2] [UU]": md's view of its members, "_" for one it has failed.
	MD_END=$(grep -A1 "^$MD " /proc/mdstat | sed -n '2s/.*\[\([U_]*\)\]$/\1/p')
	MD_END=${MD_END:-?}
	dbg "$fault/$cfg: at the end: $DEV $DEV_END, $MD array_state $ASTATE, $(grep -A1 "^$MD " /proc/mdstat | tail -1)"
	fio_err
	if [ -z "$ERR" ]; then
		WHY="fio wrote no summary"
		return 1
	fi
	if [ "$ERR" != 0 ]; then
		# fio stopped at its first error: when, seconds into the fault.
		if [ -n "$FIO_END" ]; then
			ERR_AT=$(ms_to_s $((FIO_END - tv)))
		else
			ERR_AT='?'
		fi
		dbg "$fault/$cfg: fio error $ERR at +${ERR_AT}s"
		cat "$WORK/fio.out" >> "$DEBUG" 2> /dev/null
	elif [ -n "$FIO_END" ]; then
		WHY="fio ended by itself without an error"
		return 1
	fi
	parse_clat
}

# run_one FAULT CFG RUN
run_one() {
	local fault=$1 cfg=$2 run=$3 failed='' note='' result
	AWAY=$(away_of "$fault")
	WHY='' STALL=FAILED STALL_AT=- NIOS=- NSLOW=- MDSTATE=- DSTATE=- RECONN=- OUTAGE_S=- OPTS=-
	ERR=- ERR_AT=- DEV_END=- ASTATE=- DEG_MAX=- MD_END=- TRACK_DEG=''
	if ! quiescent; then
		dbg "not quiescent before $fault/$cfg run $run: $WHY"
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
		dbg "$fault/$cfg run $run: $DEV = $MD, r1 = ${MEMBERS[0]}, r2 = ${MEMBERS[1]} on $C2 ($OPTS)"
		if ! measure "$fault" "$cfg"; then
			failed=$WHY
			STALL=FAILED
		fi
	fi
	[ -n "${FIO_PID:-}" ] && stop_fio
	faults_off
	WHY=''
	if ! "teardown_$cfg" || { settle; ! quiescent; }; then
		note="teardown: $WHY"
		dbg "$fault/$cfg run $run: $note"
		force_cleanup
	fi
	printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$fault" "$cfg" "$run" \
		"$STALL" "$STALL_AT" "$NIOS" "$NSLOW" "$MDSTATE" "$DSTATE" "$RECONN" "$OUTAGE_S" "$OPTS" \
		"$ERR" "$ERR_AT" "$DEV_END" "$ASTATE" "$DEG_MAX" "$MD_END" "${failed:-$note}" >> "$SAMPLES"
	result="stall $STALL"
	[[ $ERR =~ ^[1-9] ]] && result+=", fio error $ERR at +${ERR_AT}s"
	log "$(printf '%-6s %-7s run %d  %-34s  md: %-24s failed %s; dev %s, array %s [%s]; back live after %-6s %s' \
		"$fault" "$cfg" "$run" "$result" "$MDSTATE" "$DEG_MAX" "$DEV_END" "$ASTATE" "$MD_END" "$RECONN" \
		"${failed:+ FAILED: $failed}")"
	[ -n "$failed" ] && dbg "$fault/$cfg run $run FAILED: $failed"
	rm -f "$WORK"/lat_*.log
	return 0
}

# --- main --------------------------------------------------------------
rm -f "$SAMPLES" "$RESULTS" "$DEBUG"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a positive number"
[[ $OUTAGE =~ ^[1-9][0-9]*$ ]] || die "OUTAGE=$OUTAGE is not a positive number"
read -r -a FAULT_LIST <<< "$FAULTS"
[ "${#FAULT_LIST[@]}" -gt 0 ] || die "FAULTS is empty"
for f in "${FAULT_LIST[@]}"; do
	case $f in vanish | silent | total) ;; *) die "unknown fault kind $f" ;; esac
done
command -v fio > /dev/null || die "fio is not installed in the guest"
mkdir -p "$WORK" || die "mkdir $WORK"
rm -f "$WORK/nap"
mkfifo "$WORK/nap" || die "no FIFO for nap"
exec {NAP_FD}<> "$WORK/nap"
FIO_PID='' FIO_END='' TRACK_DEG='' DEG_MAX=0 MD='' MEMBERS=() C2='' RD2=10 W0=0 WHY='' DEV='' AWAY=''

log "failover benchmark: RUNS=$RUNS, OUTAGE=${OUTAGE}s, FAULTS=${FAULT_LIST[*]}, kernel $(uname -r)"
install_project "$share" || die "installing the project"
tgt_modules || die "loading the nvmet / nvme-tcp / raid1 modules"
for i in 0 1; do
	tgt_add "${NAMES[i]}" "${SIZE_MIB}M" "${UUIDS[i]}" "${PORT_IDS[i]}" || die "target ${NAMES[i]}"
	NQNS+=("$(tgt_nqn "${NAMES[i]}")")
done
log "targets: 2 subsystems with one ${SIZE_MIB} MiB namespace each, r1 on tcp://127.0.0.1:${PORTS[0]}, r2 on tcp://127.0.0.1:${PORTS[1]}"
t_start=$(uptime_s)

skipped=0
for ((run = 1; run <= RUNS; run++)); do
	for fault in "${FAULT_LIST[@]}"; do
		for k in 0 1 2; do
			# The configurations take turns, starting with a different one each run.
			cfg=${CONFIGS[$(((run - 1 + k) % 3))]}
			if past_deadline; then
				skipped=$((skipped + 1))
				continue
			fi
			run_one "$fault" "$cfg" "$run"
		done
	done
done
[ "$skipped" -gt 0 ] && log "guest deadline (${DEADLINE}s uptime) reached: $skipped runs skipped"

force_cleanup
md_autoassembly on
tgt_remove_all

{
	echo "nvmf-raid failover benchmark (bench/failover): what a writer sees when replicas fail"
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), nvme-cli $(pkg nvme-cli), python3-os-brick $(pkg python3-os-brick), mdadm $(pkg mdadm), fio $(pkg fio), $(nvmf-raid --version 2> /dev/null | head -1)"
	echo "qemu TCG guest, $(nproc) vCPUs; 2 replicas: nvmet subsystems, one ${SIZE_MIB} MiB file-backed namespace each,"
	echo "r1 on tcp://127.0.0.1:${PORTS[0]}, r2 on tcp://127.0.0.1:${PORTS[1]} (its own port);"
	echo "RAID1, internal bitmap; each run attaches afresh on blanked namespaces and waits for the initial resync"
	echo "fio on the array: 4k randwrite, O_DIRECT, libaio, iodepth 1, every completion latency logged (clat);"
	echo "the fault starts ${LEAD} s in and ends after ${OUTAGE} s; fio stops ${TAIL} s after the replicas hit are live again."
	echo "RUNS=$RUNS per fault and configuration, configurations take turns;"
	echo "$(awk -v s="$t_start" -v e="$(uptime_s)" 'BEGIN { printf "%.0f", e - s }') s of runs"
	if [ -n "$KATO" ]; then
		echo "ours:    systemctl start nvmf-raid@$VOL, volume file with keep-alive-tmo = $KATO, other nvme keys default"
	else
		echo "ours:    systemctl start nvmf-raid@$VOL, volume file without nvme keys (defaults)"
	fi
	echo "nvme:    nvme connect -t tcp -a 127.0.0.1 -s PORT -n NQN (nvme-cli defaults) per replica +"
	echo "         mdadm --create --run --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal --bitmap-chunk=1M;"
	echo "         Debian's md auto-assembly udev rule masked"
	echo "osbrick: os-brick's connect options, nvme connect ... -Q 128 -l -1, + the same mdadm --create"
	echo "         with --failfast --assume-clean (os-brick's flags); md auto-assembly rule masked"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" "$RUNS" "$OUTAGE" "${PORTS[1]}" "${FAULT_LIST[@]}" > "$RESULTS" <<'PY'
import statistics
import sys

samples, header, runs, outage, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
faults = sys.argv[6:]
configs = (('ours', 'ours (nvmf-raid)'), ('nvme', 'nvme-cli defaults'),
           ('osbrick', "os-brick's options"))
what = {
    'vanish': "r2's target drops the connection (subsystem unlinked from its port)",
    'silent': 'r2 silently partitioned: every packet to or from 127.0.0.1:%s dropped '
              '(tc netem loss 100%% on lo), no TCP reset' % port,
    'total': "both replicas' targets vanish at once (unlinked from their ports)",
}
# The goal per fault kind: ('stall', seconds) or ('errors', 0).
goals = {'vanish': ('stall', 3.0), 'silent': ('stall', 5.0), 'total': ('errors', 0)}
# Sample columns (failover.sh run_one).
FAULT, CFG, RUN, STALL, STALL_AT, NIOS, NSLOW, MDSTATE, DSTATE, RECONN, OUTAGE_S, OPTS, ERR, \
    ERR_AT, DEV_END, ASTATE, DEG_MAX, MD_END, NOTE = range(19)

rows = {}
try:
    with open(samples) as f:
        for line in f:
            c = line.rstrip('\n').split('\t')
            if len(c) >= 19:
                rows.setdefault((c[FAULT], c[CFG]), []).append(c)
except FileNotFoundError:
    pass


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def measured(fault, cfg):
    """All runs, and the runs the harness did not fail (stall measured)."""
    got = rows.get((fault, cfg), [])
    return got, [r for r in got if num(r[STALL]) is not None]


def erred(r):
    return r[ERR] not in ('0', '-', '')


def at(r):
    v = num(r[ERR_AT])
    return '%s at +%.1f s' % (r[ERR], v) if v is not None else '%s at ? s' % r[ERR]


def counts(values):
    seen = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    return ', '.join(v if n == 1 and len(seen) == 1 else '%s x%d' % (v, n) for v, n in seen.items())


print(open(header).read().rstrip('\n'))
print()
print("r2's controller as the kernel set it (sysfs, first good run):")
for cfg, label in configs:
    opts = next((r[OPTS] for k, v in rows.items() if k[1] == cfg for r in v if r[OPTS] != '-'), 'n/a')
    print('  %-8s %s' % (cfg, opts))
print()
print('stall: the longest single write completion latency of a run (s); a run that got an I/O error')
print('ends there (fio stops at its first error, iodepth 1): its stall covers the writes before it.')
print('error: fio\'s err= (5 = EIO) and when, seconds after the fault began.  "at the end": once the')
print('fault is over, the replicas hit are live again and fio has stopped.  "md failed ... any time":')
print('md\'s degraded count rose from the fault\'s start until fio stopped, also after the fault ended.')
fmt = '  %-30s' + ' %-20s' * len(configs)
any_failed = False
judged = []
for fault in faults:
    print()
    print('== %s: %s, %d s ==' % (fault, what.get(fault, fault), outage))
    print((fmt % (('',) + tuple(label for _, label in configs))).rstrip())
    cells = {k: [] for k in ('med', 'range', 'ratio', 'runs', 'errs', 'first', 'md', 'deg', 'live', 'dev', 'state', 'mdend')}
    ours_med = None
    for cfg, _ in configs:
        got, good = measured(fault, cfg)
        stalls = [num(r[STALL]) for r in good]
        med = statistics.median(stalls) if stalls else None
        if cfg == 'ours':
            ours_med = med
        if len(got) > len(good):
            any_failed = True
        if not got:
            cells['med'].append('n/a')
            cells['range'].append('-')
        elif not good:
            cells['med'].append('FAILED')
            cells['range'].append('-')
        else:
            cells['med'].append('%.2f' % med)
            cells['range'].append('%.2f-%.2f' % (min(stalls), max(stalls)))
        cells['ratio'].append('%.1fx' % (med / ours_med) if med is not None and ours_med else '-')
        cells['runs'].append('%d/%d' % (len(good), runs) + ('!' if len(got) > len(good) else ''))
        errs = [r for r in good if erred(r)]
        cells['errs'].append('%d of %d runs' % (len(errs), len(good)) if good else '-')
        cells['first'].append(', '.join(at(r) for r in errs) or '-')
        hit = sum(1 for r in good if 'faulty' in r[MDSTATE] or 'removed' in r[MDSTATE])
        cells['md'].append('%d of %d runs' % (hit, len(good)) if good else '-')
        deg = sum(1 for r in good if r[DEG_MAX] not in ('0', '-'))
        cells['deg'].append('%d of %d runs' % (deg, len(good)) if good else '-')
        cells['mdend'].append(counts('[%s]' % r[MD_END] for r in good) or '-')
        recon = [num(r[RECONN]) for r in good if num(r[RECONN]) is not None]
        never = sum(1 for r in good if r[RECONN] == 'never')
        cells['live'].append(('%.1f-%.1f' % (min(recon), max(recon)) if recon else '-')
                             + (' (%d never)' % never if never else ''))
        cells['dev'].append(counts(r[DEV_END] for r in good) or '-')
        cells['state'].append(counts(r[ASTATE] for r in good) or '-')
    for key, label in (('med', 'stall median (s)'), ('range', 'stall min-max (s)'),
                       ('ratio', 'stall vs ours'), ('runs', 'runs measured'),
                       ('errs', 'I/O error'), ('first', '  error at'),
                       ('md', 'md failed one hit, by its end'), ('deg', 'md failed a member, any time'),
                       ('live', 'replicas hit live again (s)'), ('dev', 'array device at the end'),
                       ('state', 'md array_state at the end'), ('mdend', 'md members at the end')):
        print((fmt % ((label,) + tuple(cells[key]))).rstrip())
    kind, limit = goals.get(fault, (None, None))
    _, good = measured(fault, 'ours')
    errs = [r for r in good if erred(r)]
    errs_s = ', '.join('error ' + at(r) for r in errs)
    if not good:
        judgement = 'not measured'
        detail = ' (every run FAILED)' if rows.get((fault, 'ours')) else ''
    elif kind == 'stall':
        stalls = [num(r[STALL]) for r in good]
        over = sum(1 for v in stalls if v > limit)
        # A run that ended in an I/O error did not meet a stall goal either.
        judgement = 'ok' if over == 0 and not errs else 'missed'
        detail = ' (median %.2f s, worst %.2f s, %d of %d runs over%s)' % (
            statistics.median(stalls), max(stalls), over, len(good), '; ' + errs_s if errs else '')
    else:
        judgement = 'ok' if not errs else 'missed'
        detail = ' (%d of %d runs with an error%s)' % (len(errs), len(good), ': ' + errs_s if errs else '')
    if kind == 'stall':
        goal = 'stall <= %.0f s with our defaults' % limit
    elif kind == 'errors':
        goal = 'no I/O error with our defaults'
    else:
        goal = None
    if goal:
        print('  Goal (%s): %s: %s%s' % (fault, goal, judgement, detail))
        judged.append((fault, judgement))
if any_failed:
    print()
    print('! some runs FAILED (harness): see the notes per run below and failover-debug.log')
print()
print('Goals: ' + ', '.join('%s %s' % j for j in judged))
print()
print('Per run (fault; configuration; stall s; fio ms at the stalled completion; I/Os; I/Os >= 1 s;')
print('the members hit in md at the end of the fault; descriptor state (ours); live again after s;')
print('measured fault s; fio err; at +s; array device at the end; array_state at the end; md members')
print('failed at most at once; md members at the end; note)')
for fault in faults:
    for cfg, _ in configs:
        for r in rows.get((fault, cfg), []):
            print(('  %-6s %-8s run %-2s %-7s %-6s %-5s %-3s %-24s %-14s %-6s %-6s err %-2s %-6s %-3s %-8s %-2s %-4s %s'
                  % (r[FAULT], r[CFG], r[RUN], r[STALL], r[STALL_AT], r[NIOS], r[NSLOW], r[MDSTATE],
                     r[DSTATE], r[RECONN], r[OUTAGE_S], r[ERR], r[ERR_AT], r[DEV_END], r[ASTATE],
                     r[DEG_MAX], r[MD_END], r[NOTE])).rstrip())
PY
rc=$?
journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/failover-results.txt, samples in out/failover-samples.tsv"
exit 0
