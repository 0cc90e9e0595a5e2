#!/bin/bash
# Replica failure, self-healing, degraded start and split-brain protection,
# with fio --verify running against the volume throughout.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

CURSOR=/tmp/failure-test.cursor
NOTIFY_LOG=/tmp/notify.log
SIZE=256M		# 256 x 1 MiB bitmap chunks
FIO_SIZE=16M		# the region fio writes: at most 16 chunks dirty

oneTimeSetUp() { tgt_modules; }
setUp() { notify_setup; }

tearDown() {
	chattr -i /var/lib/nvmf-raid 2> /dev/null
	fault_teardown
}

# A known pattern at 200 MiB, outside fio's region, to verify after healing.
PATTERN="--name=pat --filename=/dev/nvmf-raid/VOL --rw=write --bs=64k --offset=200M --size=8M
	--direct=1 --ioengine=libaio --iodepth=4 --verify=crc32c --output=/dev/null"
# shellcheck disable=SC2086 # PATTERN is a list of fio options
write_pattern() { fio ${PATTERN//VOL/$1} --do_verify=1 > /dev/null 2>&1; }
# shellcheck disable=SC2086 # PATTERN is a list of fio options
verify_pattern() { fio ${PATTERN//VOL/$1} --verify_only=1 > /dev/null 2>&1; }

# The namespace UUID VOL's record holds for in-sync replica NAME.
recorded_uuid() {
	py3 -c 'import json,sys; print([e["uuid"] for e in json.load(open("/var/lib/nvmf-raid/%s.json" % sys.argv[1]))["in-sync"] if e["name"] == sys.argv[2]][0])' "$1" "$2"
}

# Sectors written to a replica's namespace so far, over its hidden
# multipath path devices (nvmeXcYnZ) only: 6.1's head keeps no I/O
# statistics (queue/iostats 0), 6.12's does, and counted with its paths
# every sector counted twice.
written() {
	local u f n=0
	u=$(replica_uuid "$1" "$2")
	for f in /sys/block/nvme*c*n*/uuid; do
		[ -e "$f" ] && [ "$(cat "$f")" = "$u" ] || continue
		n=$((n + $(awk '{print $7}' "${f%/uuid}/stat")))
	done
	echo "$n"
}

# The monitor's journal shows replica R of VOL rebuilt before it is in sync
# again: "resync ... started" before "... is in sync", which never comes
# alone (a faulty replica reaches in-sync only through rebuilding).
rebuilt_before_in_sync() {
	journalctl --no-pager -q -o cat --after-cursor "$(cat "$CURSOR")" SYSLOG_IDENTIFIER=nvmf-raid-monitor |
		awk -v s="$1: resync of replica $2 started." -v i="$1: replica $2 is in sync." '
			index($0, s) { started = 1 }
			index($0, i) { seen = 1; if (!started) bad = 1 }
			END { exit !(seen && !bad) }'
}

# lose_and_heal VOL N PCT LOST... : N replicas, LOST vanish and return; the
# resync of the first lost one must write under PCT% of a full one.
lose_and_heal() {
	local vol=$1 n=$2 pct=$3; shift 3
	local lost=("$@") i t0 before after total
	new_volume "$vol" "$n" "$SIZE"
	systemctl start "nvmf-raid@$vol" || { fail "attach"; return; }
	md_wait "/dev/nvmf-raid/$vol"
	fio_start "$vol"
	for i in "${lost[@]}"; do tgt_vanish "$vol-r$i"; done
	t0=$(uptime_s)
	for i in "${lost[@]}"; do
		wait_state "$vol" "r$i" faulty 30
		assertTrue "r$i recorded faulty" $?
	done
	echo "faulty after $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN{print b-a}')s"
	journalctl --no-pager -q -o verbose --after-cursor "$(cat "$CURSOR")" SYSLOG_IDENTIFIER=nvmf-raid-monitor |
		grep -E '^ +(MESSAGE|MESSAGE_ID|_TRANSPORT)=' | head -12
	assertTrue "journal: replica lost (MESSAGE_ID)" "journal_has_id f3675bc128d2499a8c1fd939a540608a"
	assertTrue "notify replica-faulty" "grep -q 'replica-faulty $vol r${lost[0]}' $NOTIFY_LOG"
	assertNotEquals "record no longer lists r${lost[0]}" "r${lost[0]}" \
		"$(recorded "$vol" | tr ' ' '\n' | grep -x "r${lost[0]}")"
	sleep 3		# writes go on while the replicas are away
	before=$(written "$vol" "${lost[0]}")
	for i in "${lost[@]}"; do tgt_return "$vol-r$i"; done
	t0=$(uptime_s)
	for i in "${lost[@]}"; do
		wait_state "$vol" "r$i" in-sync 30
		assertTrue "r$i healed back to in-sync" $?
	done
	echo "in sync $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN{print b-a}')s after the target returned"
	for i in "${lost[@]}"; do
		assertTrue "r$i: rebuilding before in-sync, never straight (journal)" "rebuilt_before_in_sync $vol r$i"
	done
	after=$(written "$vol" "${lost[0]}")
	total=$(( $(blockdev --getsz "/dev/nvmf-raid/$vol") ))
	echo "resync wrote $((after - before)) of $total sectors to r${lost[0]}"
	assertTrue "r${lost[0]}'s path devices counted some writes" "[ $after -gt $before ]"
	assertTrue "bitmap resync wrote under $pct% of a full one ($((after - before)) of $total sectors)" \
		"[ $(( (after - before) * 100 )) -lt $((total * pct)) ]"
	assertTrue "journal: resync started" "journal_has_id 4466a29b6aa84874849dcbfd32d3c3aa"
	assertTrue "journal: back in sync" "journal_has_id 73adcdd4e0ad4466b6418dd5d4100791"
	assertTrue "notify replica-in-sync" "grep -q 'replica-in-sync $vol r${lost[0]}' $NOTIFY_LOG"
	assertEquals "array whole" 0 "$(cat "/sys/block/$(md_of "$vol")/md/degraded")"
	fio_stop
}

# fio dirties at most its 16 MiB region, 6.3% of the 256 MiB array, so one
# re-add copies about that much.  When two members are re-added one after
# the other md restarts the recovery and copies the dirty chunks twice.
test_lose_one_of_two_and_heal() { lose_and_heal l12 2 10 2; }
test_lose_one_of_three_and_heal() { lose_and_heal l13 3 10 1; }
test_lose_two_of_three_and_heal() { lose_and_heal l23 3 20 2 3; }

# Two replicas lost half a second apart (one storage node after another,
# or a switch taking its ports down one by one).  md updates its superblock
# when it fails the first, and that write waits for the second, whose I/O
# queues until the monitor fails it over, while the monitor's mdadm run for
# the first waits on md: the monitor keeps failing over while mdadm waits
# (exec_set_wait_hook()).  The figure: fio's longest write, the stall.
test_lose_two_of_three_half_a_second_apart() {
	new_volume ha 3 "$SIZE"
	systemctl start nvmf-raid@ha || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/ha
	fio_start ha
	tgt_vanish ha-r1
	nap 0.5
	tgt_vanish ha-r2
	wait_states 30 ha:r1=faulty ha:r2=faulty
	assertTrue "r1 and r2 failed over, within 30 s" $?
	sleep 2			# writes go on, on r3 alone
	fio_stop
	echo "FIGURE: longest write ${FIO_MAX_LAT}s with r1 and r2 lost 0.5 s apart"
	assertTrue "writes stalled under 15 s (longest ${FIO_MAX_LAT}s)" \
		"awk -v l='$FIO_MAX_LAT' 'BEGIN {exit !(l != \"\" && l < 15)}'"
	tgt_return ha-r1
	tgt_return ha-r2
	wait_states 60 ha:r1=in-sync ha:r2=in-sync
	assertTrue "both healed back to in-sync" $?
	assertEquals "replicas identical (md check)" 0 "$(md_check "$(md_of ha)")"
}

mrec_problems() { nvmf-raid status --json mrec | py3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["volumes"][0]["problems"]))'; }
mrec_stale() { mrec_problems | grep -qw record-stale; }
mrec_fresh() { ! mrec_problems | grep -qw record-stale && [ "$(recorded mrec)" = "r1" ]; }

# The monitor cannot write the in-sync record when a replica is lost: it
# says so once, status shows it, and it writes the record once it can.
# The directory is made immutable (chattr +i: no new file in it, for
# every process): a read-only bind mount made now would not reach the
# monitor, whose sandbox has its own mounts, made when it started.
test_monitor_record_unwritable_then_written() {
	new_volume mrec 2 "$SIZE"
	systemctl start nvmf-raid@mrec || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/mrec
	fio_start mrec
	chattr +i /var/lib/nvmf-raid || { fail "chattr +i"; return; }
	tgt_vanish mrec-r2
	wait_state mrec r2 faulty 30
	assertTrue "r2 recorded faulty" $?
	wait_until 20 mrec_stale
	assertTrue "status: problem record-stale" $?
	assertNotEquals "status: not optimal" optimal "$(nvmf-raid status --json mrec | py3 -c 'import json,sys; print(json.load(sys.stdin)["volumes"][0]["state"])')"
	chattr -i /var/lib/nvmf-raid
	wait_until 20 mrec_fresh
	assertTrue "record rewritten (r1 only), problem gone" $?
	assertEquals "error logged once over the retries" 1 "$(journal_since "$CURSOR" | grep -c 'mrec: cannot write the in-sync record')"
	journal_since "$CURSOR" | grep -q "mrec: in-sync record written again."
	assertTrue "journal: written again" $?
	tgt_return mrec-r2
	wait_state mrec r2 in-sync 40
	assertTrue "r2 healed" $?
	fio_stop
}

test_degraded_start_after_timeout_then_heal() {
	VOL_TIMEOUT=5 new_volume deg 3 "$SIZE"
	systemctl start nvmf-raid@deg || fail "first attach"
	md_wait /dev/nvmf-raid/deg
	systemctl stop nvmf-raid@deg || fail "detach"
	tgt_vanish deg-r3
	journal_mark "$CURSOR"
	local t0
	t0=$(uptime_s)
	systemctl start nvmf-raid@deg
	assertEquals "started degraded" 0 $?
	echo "start returned after $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN{print b-a}')s (degraded-timeout 5)"
	assertEquals "r3 absent" absent "$(rstate deg r3)"
	assertEquals "array degraded by one" 1 "$(cat "/sys/block/$(md_of deg)/md/degraded")"
	assertTrue "journal: degraded start" "journal_has_id ff933a302c9c46358ef8bc08b81fb4cb"
	assertTrue "notify degraded" "grep -q '^degraded deg' $NOTIFY_LOG"
	fio_start deg
	tgt_return deg-r3
	wait_state deg r3 in-sync 40
	assertTrue "r3 connected by the monitor and re-added" $?
	assertEquals "array whole" 0 "$(cat "/sys/block/$(md_of deg)/md/degraded")"
	fio_stop
}

test_start_refused_below_min_replicas() {
	VOL_TIMEOUT=4 VOL_KEYS="min-replicas = 2" new_volume few 3 "$SIZE"
	systemctl start nvmf-raid@few || fail "first attach"
	systemctl stop nvmf-raid@few || fail "detach"
	tgt_vanish few-r2
	tgt_vanish few-r3
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@few 2> /dev/null
	assertNotEquals "start refused" 0 $?
	assertEquals "exit status 1" 1 "$(unit_status few)"
	journal_since "$CURSOR" | grep -q "replica r2 .* did not appear"
	assertTrue "journal lists the missing replica r2" $?
	journal_since "$CURSOR" | grep -q "replica r3 .* did not appear"
	assertTrue "journal lists the missing replica r3" $?
	assertEquals "nothing left connected" "" "$(ctrls_by_nqn "$(tgt_nqn few-r1)")"
}

recorded_is() { [ "$(recorded "$1")" = "$2" ]; }

test_split_brain_is_refused_then_heals() {
	local i sums_before sums_after
	VOL_TIMEOUT=6 new_volume sb 4 "$SIZE"
	systemctl start nvmf-raid@sb || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/sb
	fio_start sb
	tgt_vanish sb-r3
	tgt_vanish sb-r4
	wait_state sb r3 faulty 30 && wait_state sb r4 faulty 30
	assertTrue "c and d failed" $?
	wait_until 10 recorded_is sb "r1 r2"
	assertEquals "record: only a and b in sync" "r1 r2" "$(recorded sb)"
	assertEquals "record: r2 on its namespace" "$(replica_uuid sb 2)" "$(recorded_uuid sb r2)"
	sleep 2		# writes continue on a and b
	fio_stop
	write_pattern sb
	assertEquals "pattern written on a and b alone" 0 $?
	systemctl stop nvmf-raid@sb || fail "detach"
	# Re-attach with only the two lost replicas reachable.
	tgt_vanish sb-r1
	tgt_vanish sb-r2
	tgt_return sb-r3
	tgt_return sb-r4
	sums_before=$(md5sum "$TGT_STORE"/sb-r[34]-1.img)
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@sb 2> /dev/null
	assertNotEquals "start from stale replicas refused" 0 $?
	assertTrue "journal: stale refused (MESSAGE_ID)" "journal_has_id a32e29b027114861a81493ddfb2fa54d"
	journal_since "$CURSOR" | grep -q "replica r3 .* is stale"
	assertTrue "journal names stale replica r3" $?
	assertTrue "notify stale-refused" "grep -q 'stale-refused sb r3' $NOTIFY_LOG"
	assertEquals "no array" 0 "$(arrays_of sb)"
	sums_after=$(md5sum "$TGT_STORE"/sb-r[34]-1.img)
	assertEquals "every byte of the stale replicas untouched" "$sums_before" "$sums_after"
	# The good replicas return: it starts, and the stale ones resync.
	tgt_return sb-r1
	tgt_return sb-r2
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@sb
	assertEquals "starts once the in-sync replicas are back" 0 $?
	journal_since "$CURSOR" | grep -q "assembling .* from 2 of 4"
	assertTrue "assembled from a and b only" $?
	for i in 3 4; do
		wait_state sb "r$i" in-sync 60
		assertTrue "stale r$i resynced from the good ones" $?
	done
	verify_pattern sb
	assertEquals "data written while c and d were away verifies" 0 $?
	# ... also when read from the resynced replicas alone.
	tgt_vanish sb-r1
	tgt_vanish sb-r2
	wait_states 30 sb:r1=faulty sb:r2=faulty
	assertTrue "a and b failed over, within 30 s" $?
	verify_pattern sb
	assertEquals "verifies from c and d alone after their resync" 0 $?
}

test_outdated_replica_is_never_started_from() {
	# degraded-timeout 5 (as deg): the start from r2 alone waits it out
	# for r1 (outdated: left out), 20 s before.
	VOL_TIMEOUT=5 new_volume od 2 "$SIZE"
	systemctl start nvmf-raid@od || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/od
	systemctl stop nvmf-raid@od
	sed -i '/^\[replica.r1\]/a outdated = yes' "$VOLDIR/od.conf"
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@od
	assertEquals "starts from the other replica" 0 $?
	journal_since "$CURSOR" | grep -q "assembling .* from 1 of 2"
	assertTrue "r1 (outdated) left out of the assembly" $?
	wait_state od r1 in-sync 60
	assertTrue "r1 rebuilt from r2" $?
	# Only the outdated one reachable: refused.
	systemctl stop nvmf-raid@od
	tgt_vanish od-r2
	VOL_TIMEOUT=3
	sed -i 's/^degraded-timeout = .*/degraded-timeout = 3/' "$VOLDIR/od.conf"
	systemctl start nvmf-raid@od 2> /dev/null
	assertNotEquals "outdated replica alone: refused" 0 $?
}

test_replica_lost_during_resync() {
	local md
	new_volume rs 2 "$SIZE"
	systemctl start nvmf-raid@rs || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/rs
	md=$(md_of rs)
	fio_start rs
	tgt_vanish rs-r2
	wait_state rs r2 faulty 30 || fail "r2 not faulty"
	# Make the coming recovery slow, so the replica can be lost in it.
	echo 200 > "/sys/block/$md/md/sync_speed_max"
	dd if=/dev/urandom of=/dev/nvmf-raid/rs bs=1M count=64 seek=64 oflag=direct status=none
	tgt_return rs-r2
	wait_state rs r2 rebuilding 30
	assertTrue "r2 rebuilding" $?
	tgt_vanish rs-r2
	wait_state rs r2 faulty 30
	assertTrue "r2 lost again during its resync" $?
	echo system > "/sys/block/$md/md/sync_speed_max"
	tgt_return rs-r2
	wait_state rs r2 in-sync 60
	assertTrue "r2 healed after all" $?
	fio_stop
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
