#!/bin/bash
# Faults of the real world (issue 11): every replica unreachable at once, one
# after the other, the last one while another rebuilds; a silent partition;
# a flapping replica; the monitor killed during a heal.  fio writes with
# crc32c verify on /dev/nvmf-raid/VOL through each fault; each case prints
# the figure it asserts (errors, longest stall in seconds).
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

CURSOR=/tmp/outage-test.cursor
NOTIFY_LOG=/tmp/outage-notify.log

oneTimeSetUp() { tgt_modules; }
setUp() { notify_setup; }

tearDown() {
	netheal
	fault_teardown
}

notified() { file_has_line "$NOTIFY_LOG" "$1"; }
array_state() { cat "/sys/block/$(md_of "$1")/md/array_state"; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN{printf "%.1f", b-a}'; }

attach() {
	systemctl start "nvmf-raid@$1" || { fail "attach $1"; return 1; }
	md_wait "/dev/nvmf-raid/$1"
	return 0
}

# The volume is whole again: link, array writable, every replica in sync,
# md's check finds no difference between them.  fio (fio_stop: its figures
# in FIO_MAX_LAT, FIO_IOS) wrote through the fault and the heal and stops
# once every replica is back in sync, before the check: md runs a check
# beside other I/O at sync_speed_min (it took 12-19 s of 64 MiB under fio,
# the initial resync 3 s), and the check compares the same copies either way.
assert_whole() {
	local vol=$1 n=$2 i mm
	for i in $(seq 1 "$n"); do
		wait_state "$vol" "r$i" in-sync 60
		assertTrue "$vol: r$i back in sync" $?
	done
	fio_stop
	assertTrue "$vol: /dev/nvmf-raid/$vol exists" "[ -b /dev/nvmf-raid/$vol ]"
	assertNotEquals "$vol: array not broken" broken "$(array_state "$vol")"
	mm=$(md_check "$(md_of "$vol")")
	assertEquals "$vol: md check mismatches" 0 "$mm"
}

# Both replicas of a volume unreachable at once for 12 s (a switch reboot):
# I/O waits, never fails; resumes when they return.
test_total_outage() {
	local t0
	new_volume tot 2 64M 3 4
	attach tot || return
	fio_start tot
	tgt_vanish tot-r1; tgt_vanish tot-r2
	t0=$(uptime_s)
	wait_until 15 notified "suspended tot "
	assertTrue "notify: suspended ($(since "$t0")s after the outage began)" $?
	sleep 12		# the outage lasts 12 s
	assertEquals "fio still writing during the outage (no EIO)" 0 "$(kill -0 "$FIO_PID"; echo $?)"
	assertNotEquals "array not broken during the outage" broken "$(array_state tot)"
	tgt_return tot-r1; tgt_return tot-r2
	t0=$(uptime_s)
	wait_until 30 notified "resumed tot "
	assertTrue "notify: resumed ($(since "$t0")s after the return)" $?
	journalctl --no-pager -q -o cat --after-cursor "$(cat "$CURSOR")" SYSLOG_IDENTIFIER=nvmf-raid-monitor | tail -8
	assert_whole tot 2
	assertTrue "the writes waited for the outage (longest stall ${FIO_MAX_LAT}s >= 10 s), not failed" \
		"awk 'BEGIN{exit !($FIO_MAX_LAT >= 10)}'"
}

# One replica lost and failed over; then the last in-sync one goes: I/O
# waits.  The stale one returning first does not resume it (it lacks the
# writes since); the in-sync one returning does.
test_outage_one_after_other() {
	new_volume seq 2 64M 3 4
	attach seq || return
	fio_start seq
	tgt_vanish seq-r1
	wait_state seq r1 faulty 30
	assertTrue "r1 failed over" $?
	tgt_vanish seq-r2
	wait_until 15 notified "suspended seq "
	assertTrue "notify: suspended" $?
	tgt_return seq-r1
	sleep 10		# r1 is back, stale: it must not serve I/O
	assertFalse "stale r1 back: not resumed" "notified 'resumed seq '"
	assertNotEquals "r1 not in sync while r2 is away" in-sync "$(rstate seq r1)"
	assertEquals "fio still writing (no EIO)" 0 "$(kill -0 "$FIO_PID"; echo $?)"
	tgt_return seq-r2
	wait_until 30 notified "resumed seq "
	assertTrue "notify: resumed once r2 returned" $?
	assert_whole seq 2
}

# The last in-sync replica goes while the other is rebuilding.
test_outage_during_rebuild() {
	local md
	new_volume reb 2 128M 3 4
	attach reb || return
	md=$(md_of reb)
	# 32 MiB at 1000 KiB/s: a rebuild that lasts while r2 goes
	FIO_DURING_HEAL=1 FIO_SIZE=32M slow_heal reb r1 1000 || return
	tgt_vanish reb-r2
	wait_until 15 notified "suspended reb "
	assertTrue "notify: suspended (the only in-sync replica went during the rebuild)" $?
	assertEquals "fio still writing (no EIO)" 0 "$(kill -0 "$FIO_PID"; echo $?)"
	assertNotEquals "array not broken" broken "$(array_state reb)"
	tgt_return reb-r2
	wait_until 30 notified "resumed reb "
	assertTrue "notify: resumed" $?
	echo system > "/sys/block/$md/md/sync_speed_max"
	assert_whole reb 2
	# The heal ran with sync_speed_min at the array's maximum then (1000,
	# slow_heal): put back once it ended.
	wait_until 10 file_has "/sys/block/$md/md/sync_speed_min" '(system)'
	assertTrue "heal over: sync_speed_min back to md's ($(cat "/sys/block/$md/md/sync_speed_min"))" $?
}

# A silent partition of one replica (every packet dropped, no reset): the
# monitor sees I/O stop completing and fails the replica over after
# fast-io-fail-tmo (2 s); the kernel fails its requests once the
# outstanding keep-alive times out (1.5 x keep-alive-tmo + 1 s: 8.5 s at
# the default 5 s), not after keep-alive detection and teardown (16.5 s
# before).  Heals back afterwards, soon: the failed-over controller's
# deletion waits for the kernel's admin timeout (60 s) on the silent
# target before it lets go (Debian 13), and the new controller must not
# wait for that (it did: 45.7 s from the end of the partition to in sync).
test_silent_partition() {
	local t0 heal
	new_volume sil 2 64M 3 4
	attach sil || return
	fio_start sil
	netcut 4423
	wait_state sil r2 faulty 30
	assertTrue "silently cut r2 failed over" $?
	sleep 20		# the partition lasts 20 s more
	netheal
	t0=$(uptime_s)
	wait_state sil r2 in-sync 60
	heal=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}')
	echo "FIGURES: r2 in sync ${heal} s after the partition ended"
	assertTrue "r2 in sync ${heal} s after the partition ended, < 30 s (not after the kernel's 60 s admin timeout)" \
		"awk 'BEGIN{exit !($heal < 30)}'"
	assert_whole sil 2
	assertTrue "longest write stall ${FIO_MAX_LAT}s < 10 s (keep-alive detection and teardown took 16.5 s)" \
		"awk 'BEGIN{exit !($FIO_MAX_LAT < 10)}'"
}

# wakeups PID : WAKES = the process's voluntary context switches (each
# poll() that slept, /proc/PID/status).
wakeups() { WAKES=$(awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$1/status"); }

# Nothing happens on a whole volume: its monitor samples every
# fast-io-fail-tmo (2 s), not every 250 ms.  Then r2 is cut silently and
# writes start from that quiet spell: md's array_state wakes the monitor
# at the first write, r2 fails over as under constant I/O.
test_quiet_monitor() {
	local pid w0 t0 spell
	new_volume qui 2 64M 3 4
	attach qui || return
	wait_states 60 qui:r1=in-sync qui:r2=in-sync
	assertTrue "qui: both replicas in sync" $?
	wait_until 60 md_idle "$(md_of qui)"
	pid=$(systemctl show -P MainPID nvmf-raid-monitor@qui)
	assertTrue "qui: its monitor runs" "[ ${pid:-0} -gt 0 ]"
	nap 3			# four quiet samples start the spell
	wakeups "$pid"
	w0=$WAKES
	t0=$(uptime_s)
	nap 20
	wakeups "$pid"
	spell=$(since "$t0")
	echo "FIGURES: an idle volume's monitor woke $((WAKES - w0)) times in ${spell} s (80 at 250 ms samples)"
	assertTrue "monitor woke $((WAKES - w0)) times in ${spell} s of quiet, <= 15" "[ $((WAKES - w0)) -le 15 ]"
	netcut 4423
	fio_start qui
	wait_state qui r2 faulty 30
	assertTrue "qui: r2, cut during the quiet spell, failed over once writes came" $?
	netheal
	assert_whole qui 2
	assertTrue "longest write stall ${FIO_MAX_LAT}s < 10 s" "awk 'BEGIN{exit !($FIO_MAX_LAT < 10)}'"
}

# Away 4 s, back 4 s, six times, under fio: no error, no full resync,
# in sync after.
test_flapping() {
	local i full
	new_volume flap 2 64M 3 4
	attach flap || return
	fio_start flap
	for i in 1 2 3 4 5 6; do
		tgt_vanish flap-r2; sleep 4
		tgt_return flap-r2; sleep 4
	done
	assert_whole flap 2
	full=$(journal_since "$CURSOR" | grep -c "added back in full")
	assertEquals "no full resync (bitmap re-adds only)" 0 "$full"
	echo "flapping: $(journal_since "$CURSOR" | grep -c 're-added with the write-intent bitmap') bitmap re-adds, longest stall ${FIO_MAX_LAT}s"
}

# kill -9 of the monitor during a heal: systemd restarts it, the heal
# completes, descriptor and record end true.
test_monitor_killed_during_heal() {
	local md pid
	new_volume kil 2 128M 3 4
	attach kil || return
	md=$(md_of kil)
	FIO_DURING_HEAL=1 FIO_SIZE=32M slow_heal kil r2 1000 || return
	pid=$(systemctl show -P MainPID nvmf-raid-monitor@kil)
	kill -9 "$pid"
	wait_until 15 monitor_restarted kil "$pid"
	assertTrue "monitor restarted after kill -9" $?
	echo system > "/sys/block/$md/md/sync_speed_max"
	assert_whole kil 2
	assertEquals "record: both in sync" "r1 r2" "$(recorded kil)"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
