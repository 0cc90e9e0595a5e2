#!/bin/bash
# Power loss: hard resets of the guest (tests/guest/runner.sh,
# $NVMF_RAID_RESET_FLAG: sysrq b, no sync, no unit stops) while a writer
# runs on a persistent 2-replica volume, one replica stale.
#
#   boot 1  r2 vanished (faulty), writer on the volume    -> reset
#   boot 2  a: back from r1 (the record's), writes verify, r2 heals;
#           then r2 vanishes again, writer, r2 returns and its
#           recovery runs (sync_speed_max held low)       -> reset
#   boot 3  b: the same checks after a reset mid-heal
#
# The targets live in this guest: their backing files are fully written
# and nvmet serves them with direct I/O (TGT_DURABLE, buffered_io 0), and
# a unit re-creates them early at boot (lib/target.sh tgt_boot_unit).
#
# The writer is lib/blockwriter.py, not fio: its header says why.  Each
# completed O_DIRECT|O_DSYNC write is logged to the share, where a reset
# cannot take it back, and every logged block is read back after the boot.
#
# Progress between boots: the runner's NVMF_RAID_BOOT, and $PL/phase on
# the share; writer logs, record snapshots and reset times are in $PL.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

BOOT=${NVMF_RAID_BOOT:-1}
VOL=pl
SIZE=128M			# 128 bitmap chunks of 1 MiB
STATE=/var/lib/nvmf-raid-test-pl
RECORD=/var/lib/nvmf-raid/$VOL.json
PL=${NVMF_RAID_OUT:-/tmp}/powerloss
WRITER=${NVMF_RAID_TESTLIB:-./lib}/blockwriter.py
export TGT_DURABLE=1

# Replica state in the descriptor.
rstate() {
	py3 -c 'import json,sys
d = json.load(open("/run/nvmf-raid/%s.json" % sys.argv[1]))
print([r["state"] for r in d["replicas"] if r["name"] == sys.argv[2]][0])' "$1" "$2" 2>/dev/null
}
is_state() { [ "$(rstate "$1" "$2")" = "$3" ]; }

# The in-sync replicas of the record, by name; fails if it does not parse.
recorded() {
	py3 -c 'import json,sys; print(" ".join(e["name"] for e in json.load(open(sys.argv[1]))["in-sync"]))' "${1:-$RECORD}"
}
recorded_is() { [ "$(recorded 2>/dev/null)" = "$1" ]; }

# The record as nvmf-raid@VOL will read it at boot, copied by a unit
# ordered before it: by the time the suite runs, the monitor may already
# have healed r2 and rewritten the record.
SNAP=/run/nvmf-raid-test-pl
SNAP_UNIT=nvmf-raid-test-pl-record.service

snapshot_unit() {
	cat > "/etc/systemd/system/$SNAP_UNIT" <<UNIT
[Unit]
Description=nvmf-raid test: the in-sync record as the volume's start finds it
DefaultDependencies=no
After=local-fs.target
Before=nvmf-raid@$VOL.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mkdir -p $SNAP && ls -A /var/lib/nvmf-raid > $SNAP/dir; cp $RECORD $SNAP/record.json'

[Install]
WantedBy=sysinit.target
UNIT
	systemctl enable "$SNAP_UNIT" > /dev/null 2>&1
}

# id_time ID : uptime (s) of this boot's first journal entry with MESSAGE_ID.
id_time() {
	journalctl -b -o export --no-pager "MESSAGE_ID=$1" |
		sed -n 's/^__MONOTONIC_TIMESTAMP=//p' | head -1 | awk '{printf "%.3f", $1 / 1e6}'
}

lines() { wc -l < "$1" 2>/dev/null || echo 0; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

# start_writer NAME REGION SEED : the writer, in a session of its own so it
# outlives this suite until the reset; waits for its first 300 writes.
start_writer() {
	setsid python3 -I -S "$WRITER" write "/dev/nvmf-raid/$VOL" "$PL/$1.log" "$2" "$3" \
		> "$PL/$1.err" 2>&1 < /dev/null &
	echo $! > "$PL/$1.pid"
	wait_until 120 lines_gt "$PL/$1.log" 300
	assertTrue "writer $1: 300 writes done" $?
}

# more_writes NAME : 300 more writes by writer NAME (on the degraded array).
more_writes() {
	local n
	n=$(($(lines "$PL/$1.log") + 300))
	wait_until 120 lines_gt "$PL/$1.log" "$n"
	assertTrue "writer $1: 300 writes while degraded" $?
}

# lose_r2 : r2's target vanishes; md fails it and the record drops it.
lose_r2() {
	tgt_vanish "$VOL-r2"
	wait_until 60 is_state "$VOL" r2 faulty
	assertTrue "r2 faulty" $?
	wait_until 30 recorded_is r1
	assertTrue "record: only r1 in sync" $?
}

# request_reset CASE : asks the runner for a hard reset with the writer
# still writing; notes what must come back.
request_reset() {
	local pid
	pid=$(cat "$PL/$1.pid")
	assertTrue "writer $1 still writing at the reset" "kill -0 $pid"
	cp "$RECORD" "$PL/$1-record.json"
	echo "$1" > "$PL/phase"
	date +%s.%N > "$PL/$1-reset-time"
	echo "$1: reset requested at $(uptime_s)s uptime, writer at $(lines "$PL/$1.log") lines"
	touch "$NVMF_RAID_RESET_FLAG"
}

# after_reset CASE : the checks after the reset of CASE: the volume came
# back at boot from the replica the record names, the record is whole and
# the newest, every logged write verifies, r2 heals, the legs agree.
after_reset() {
	local c=$1 t_reset t_up boot_wall up md out rc t0 t1
	assertEquals "progress: case $c was the one reset" "$c" "$(cat "$PL/phase")"
	assertEquals "nvmf-raid@$VOL started at boot" active "$(unit_active "$VOL")"
	t_reset=$(cat "$PL/$c-reset-time")
	up=$(systemctl show -P ExecMainExitTimestampMonotonic "nvmf-raid@$VOL")
	boot_wall=$(awk -v n="$(date +%s.%N)" -v u="$(uptime_s)" 'BEGIN {printf "%.3f", n - u}')
	t_up=$(awk -v b="$boot_wall" -v u="$up" 'BEGIN {printf "%.3f", b + u / 1e6}')
	echo "$c: volume back $(elapsed "$t_reset" "$t_up")s after the reset request" \
		"(uptime $(awk -v u="$up" 'BEGIN {printf "%.1f", u / 1e6}')s)"

	# The record the start found: parses, is exactly what it was at the
	# reset, names r1 and its namespace.
	assertEquals "record at boot parses and names r1 alone" r1 "$(recorded "$SNAP/record.json")"
	assertTrue "record at boot is the version written before the reset" \
		"cmp -s $SNAP/record.json $PL/$c-record.json"
	assertEquals "record at boot: r1's namespace" "$(replica_uuid "$VOL" 1)" \
		"$(py3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["in-sync"][0]["uuid"])' "$SNAP/record.json")"
	echo "$c: record directory at boot: $(tr '\n' ' ' < "$SNAP/dir")(temporary files" \
		"are never read: the reader opens $VOL.json only)"
	journalctl -b --no-pager -q -o cat -u "nvmf-raid@$VOL" | grep -q "assembling /dev/md/.* from 1 of 2 replicas"
	assertTrue "assembled from 1 of 2 replicas, though r2's target was back" $?
	assertTrue "r2's target back at boot" "[ -e $NVMET/ports/1/subsystems/$(tgt_nqn "$VOL-r2") ]"

	out=$(py3 "$WRITER" verify "/dev/nvmf-raid/$VOL" "$PL/$c.log")
	rc=$?
	echo "$c: before the heal: $out"
	assertEquals "every logged write verifies, served by r1" 0 $rc

	wait_until 180 is_state "$VOL" r2 in-sync
	assertTrue "r2 healed to in-sync" $?
	t0=$(id_time 4466a29b6aa84874849dcbfd32d3c3aa)
	t1=$(id_time 73adcdd4e0ad4466b6418dd5d4100791)
	echo "$c: heal (journal: resync started -> back in sync) $(elapsed "$t0" "$t1")s;" \
		"in sync $(elapsed "$(awk -v u="$up" 'BEGIN {print u / 1e6}')" "$t1")s after the volume came back"
	md=$(md_of "$VOL")
	assertEquals "array whole" 0 "$(md_degraded "$md")"
	wait_until 30 recorded_is "r1 r2"
	assertTrue "record: r1 and r2 in sync" $?
	echo check > "/sys/block/$md/md/sync_action"
	wait_until 120 md_idle "$md"
	assertEquals "md check: 0 mismatches" 0 "$(cat "/sys/block/$md/md/mismatch_cnt")"
	out=$(py3 "$WRITER" verify "/dev/nvmf-raid/$VOL" "$PL/$c.log")
	rc=$?
	echo "$c: after the heal: $out"
	assertEquals "every logged write verifies after the heal" 0 $rc
}

# ---- boot 1 --------------------------------------------------------------

test_a_reset_while_degraded() {
	local i img
	rm -rf "$STATE" "$PL" "$RECORD"
	mkdir -p "$STATE" "$PL"
	tgt_modules
	VOL_KEYS="reconnect-delay = 1" new_volume "$VOL" 2 "$SIZE"
	assertTrue "durable targets created" $?
	for i in 1 2; do
		echo "$VOL-r$i $SIZE $(replica_uuid "$VOL" "$i") 1" >> "$STATE/targets"
		assertEquals "r$i: nvmet direct I/O (buffered_io)" 0 \
			"$(cat "$NVMET/subsystems/$(tgt_nqn "$VOL-r$i")/namespaces/1/buffered_io")"
		img=$TGT_STORE/$VOL-r$i-1.img
		assertTrue "r$i: backing file allocated in full" \
			"[ $(($(stat -c %b "$img") * 512)) -ge $(numfmt --from=iec "$SIZE") ]"
		assertFalse "r$i: no unwritten extents" "filefrag -v $img | grep -q unwritten"
	done
	tgt_boot_unit "$STATE" "nvmf-raid@$VOL.service"
	assertTrue "targets unit enabled" "systemctl is-enabled -q $TGT_BOOT_UNIT"
	snapshot_unit
	assertTrue "record snapshot unit enabled" "systemctl is-enabled -q $SNAP_UNIT"
	systemctl start "nvmf-raid@$VOL" || { fail "attach"; return; }
	md_wait "/dev/nvmf-raid/$VOL"
	# The setup is on the disk; from here on only nvmf-raid's own fsyncs.
	sync
	# The writer runs through the loss: md fails a member only on I/O.
	start_writer a $((16 << 20)) 11
	lose_r2
	more_writes a
	request_reset a
}

# ---- boot 2 --------------------------------------------------------------

test_a_back_after_reset() { after_reset a; }

test_b_reset_during_heal() {
	local md
	# 64 MiB of random writes dirty every bitmap chunk of the region; at
	# 2 MB/s their recovery takes half a minute.
	start_writer b $((64 << 20)) 22
	lose_r2
	more_writes b
	md=$(md_of "$VOL")
	echo 2000 > "/sys/block/$md/md/sync_speed_max"
	tgt_return "$VOL-r2"
	wait_until 60 md_recovering "$md"
	assertTrue "r2's recovery running" $?
	echo "b: recovery at $(cat "/sys/block/$md/md/sync_completed"), r2 $(rstate "$VOL" r2)"
	assertEquals "record still names r1 alone while r2 recovers" r1 "$(recorded)"
	request_reset b
}

# ---- boot 3 --------------------------------------------------------------

test_b_back_after_reset() { after_reset b; }

test_cleanup() {
	drop_volume "$VOL"
	systemctl disable "$SNAP_UNIT" > /dev/null 2>&1
	rm -f "/etc/systemd/system/$SNAP_UNIT"
	tgt_boot_unit_remove
	tgt_remove_all
	rm -rf "$STATE" "$RECORD"
	assertEquals "no array left" "" "$(find /sys/block -maxdepth 1 -name 'md*')"
}

suite() {
	case $BOOT in
	1) suite_addTest test_a_reset_while_degraded ;;
	2) suite_addTest test_a_back_after_reset
	   suite_addTest test_b_reset_during_heal ;;
	*) suite_addTest test_b_back_after_reset
	   suite_addTest test_cleanup ;;
	esac
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
