#!/bin/bash
# systemctl reload nvmf-raid@VOLUME applies a changed volume file: replicas
# added (connected, added, resynced) or removed (failed, removed,
# disconnected); an invalid file or an unusable replica changes nothing.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

oneTimeSetUp() {
	tgt_modules || return 1
}

tearDown() {
	local v
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_remove_all
	return 0
}


# add_replica VOL I PORT [SIZE] : target VOL-rI (64M) and its section in
# the volume file.
add_replica() {
	local vol=$1 i=$2 port=$3 size=${4:-64M} u
	u=$(new_uuid)
	echo "$u" >> "$TGT_STORE/$vol.uuids"
	tgt_add "$vol-r$i" "$size" "$u" "$port" || return 1
	printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = %s\n' \
		"$i" "$(tgt_nqn "$vol-r$i")" "$u" "$(tgt_port_uri "$port")" >> "$VOLDIR/$vol.conf"
}

# drop_section VOL NAME : removes [replica.NAME] from the volume file.
drop_section() {
	awk -v s="[replica.$2]" '/^\[/ {skip = ($0 == s)} !skip' "$VOLDIR/$1.conf" > "$VOLDIR/$1.conf.new" &&
		mv "$VOLDIR/$1.conf.new" "$VOLDIR/$1.conf"
}


test_reload_adds_a_replica_and_applies_settings() {
	local md u3 d3 c h paths rc
	new_volume rl 2 64M
	systemctl start nvmf-raid@rl
	md=$(md_of rl)
	fio_write /dev/nvmf-raid/rl
	add_replica rl 3 1
	sed -i 's/^degraded-timeout = .*/&\nfast-io-fail-tmo = 3/' "$VOLDIR/rl.conf"
	systemctl reload nvmf-raid@rl
	assertEquals "reload: exit 0" 0 $?
	assertEquals "3 slots" 3 "$(cat "/sys/block/$md/md/raid_disks")"
	u3=$(replica_uuid rl 3)
	d3=$(dev_by_uuid "$u3")
	assertNotNull "r3 connected" "$d3"
	wait_until 120 md_whole "$md"
	assertTrue "r3 recovered, array whole" $?
	assertEquals "r3 in sync" in_sync "$(md_member_state "$md" "$d3")"
	wait_until 20 json_in_sync_is rl 3
	assertTrue "descriptor: 3 replicas in-sync" $?
	assertTrue "index names r3" "grep -q 'NVMF_RAID_REPLICA=r3' /run/nvmf-raid/by-uuid/$u3"
	assertEquals "replicas identical (md check)" 0 "$(md_check "$md")"
	fio_verify /dev/nvmf-raid/rl
	assertEquals "data verifies" 0 $?
	# The monitor applies fast-io-fail-tmo (failover.h): the kernel's
	# timer off, each path's I/O timeout fast-io-fail-tmo + 1 s.
	h=$(dev_by_uuid "$(replica_uuid rl 1)")
	paths="/sys/block/${h%n*}c*n${h##*n}"
	# shellcheck disable=SC2086 # the glob names the paths
	wait_until 10 all_attr_are 4000 $paths
	rc=$?
	# shellcheck disable=SC2086,SC2116 # the glob names the paths
	assertTrue "new fast-io-fail-tmo: path I/O timeout 4000 ms on $(echo $paths)" "$rc"
	for c in $(ctrls_by_nqn "$(tgt_nqn rl-r1)"); do
		assertEquals "kernel fast_io_fail_tmo off on $c (the monitor's)" off "$(cat "/sys/class/nvme/$c/fast_io_fail_tmo")"
	done
}

test_reload_adds_a_replica_to_a_degraded_array() {
	local md d2 d3
	new_volume rl 2 64M
	systemctl start nvmf-raid@rl
	md=$(md_of rl)
	fio_write /dev/nvmf-raid/rl
	d2=$(dev_by_uuid "$(replica_uuid rl 2)")
	tgt_vanish rl-r2
	dd if=/dev/urandom of=/dev/nvmf-raid/rl bs=1M count=1 seek=32 oflag=direct status=none
	wait_until 30 file_has "/sys/block/$md/md/dev-$d2/state" faulty
	assertTrue "r2 failed by md" $?
	add_replica rl 3 1
	systemctl reload nvmf-raid@rl
	assertEquals "reload while degraded: exit 0" 0 $?
	assertEquals "3 slots" 3 "$(cat "/sys/block/$md/md/raid_disks")"
	d3=$(dev_by_uuid "$(replica_uuid rl 3)")
	wait_until 120 eval "md_idle $md && file_has /sys/block/$md/md/dev-$d3/state in_sync"
	assertTrue "r3 recovered" $?
	assertEquals "still short of r2" 1 "$(md_degraded "$md")"
	tgt_return rl-r2
	wait_until 120 md_whole "$md"
	assertTrue "r2 back in its slot: array whole" $?
	wait_until 20 json_in_sync_is rl 3
	assertTrue "descriptor: 3 replicas in-sync" $?
	assertEquals "replicas identical (md check)" 0 "$(md_check "$md")"
	fio_verify /dev/nvmf-raid/rl
	assertEquals "data verifies" 0 $?
}

test_reload_removes_a_replica() {
	local md u3 d3
	new_volume rl 3 64M
	systemctl start nvmf-raid@rl
	md=$(md_of rl)
	fio_write /dev/nvmf-raid/rl
	u3=$(replica_uuid rl 3)
	d3=$(dev_by_uuid "$u3")
	drop_section rl r3
	systemctl reload nvmf-raid@rl
	assertEquals "reload: exit 0" 0 $?
	assertEquals "2 slots" 2 "$(cat "/sys/block/$md/md/raid_disks")"
	assertEquals "not degraded" 0 "$(md_degraded "$md")"
	assertFalse "r3 no longer a member" "[ -e /sys/block/$md/md/dev-$d3 ]"
	assertEquals "r3 disconnected" "" "$(ctrls_by_nqn "$(tgt_nqn rl-r3)")"
	assertFalse "r3's index entry gone" "[ -e /run/nvmf-raid/by-uuid/$u3 ]"
	assertFalse "descriptor no longer lists r3" "grep -q '\"r3\"' /run/nvmf-raid/rl.json"
	assertTrue "in-sync record without r3" "! grep -q '\"r3\"' /var/lib/nvmf-raid/rl.json"
	fio_verify /dev/nvmf-raid/rl
	assertEquals "data verifies" 0 $?
	systemctl stop nvmf-raid@rl
	systemctl start nvmf-raid@rl
	assertEquals "restarts from the 2 replicas left" 0 $?
	fio_verify /dev/nvmf-raid/rl
	assertEquals "data verifies after restart" 0 $?
}

test_reload_invalid_file_changes_nothing() {
	local md before err
	new_volume rl 2 64M
	systemctl start nvmf-raid@rl
	md=$(md_of rl)
	before=$(md5sum < /run/nvmf-raid/rl.json)
	add_replica rl 3 1
	echo "bogus-key = 1" >> "$VOLDIR/rl.conf"
	systemctl reload nvmf-raid@rl 2> /dev/null
	assertNotEquals "reload fails" 0 $?
	err=$(journalctl -q -o cat -u nvmf-raid@rl -n 20 --no-pager)
	assertContains "journal names file, section and key" "$err" "rl.conf:"
	assertContains "journal names the key" "$err" "bogus-key"
	assertEquals "still 2 slots" 2 "$(cat "/sys/block/$md/md/raid_disks")"
	assertEquals "descriptor unchanged" "$before" "$(md5sum < /run/nvmf-raid/rl.json)"
	assertEquals "r3 not connected" "" "$(ctrls_by_nqn "$(tgt_nqn rl-r3)")"
	assertEquals "unit still active" active "$(systemctl is-active nvmf-raid@rl)"
}

test_reload_unreachable_replica_changes_nothing() {
	local md before u
	VOL_TIMEOUT=4 new_volume rl 2 64M
	systemctl start nvmf-raid@rl
	md=$(md_of rl)
	before=$(md5sum < /run/nvmf-raid/rl.json)
	u=$(new_uuid)
	# A subsystem nobody serves.
	printf '\n[replica.r9]\nnqn = %s\nuuid = %s\nportals = tcp://127.0.0.1:4428\n' \
		"$(tgt_nqn rl-r9)" "$u" >> "$VOLDIR/rl.conf"
	systemctl reload nvmf-raid@rl 2> /dev/null
	assertNotEquals "reload fails" 0 $?
	assertContains "journal says which replica" \
		"$(journalctl -q -o cat -u nvmf-raid@rl -n 20 --no-pager)" "added replica r9"
	assertEquals "still 2 slots" 2 "$(cat "/sys/block/$md/md/raid_disks")"
	assertEquals "not degraded" 0 "$(md_degraded "$md")"
	assertEquals "descriptor unchanged" "$before" "$(md5sum < /run/nvmf-raid/rl.json)"
	assertFalse "no index entry left for r9" "[ -e /run/nvmf-raid/by-uuid/$u ]"
}

test_reload_too_small_replica_changes_nothing() {
	local md before u3 err
	new_volume rl 2 64M
	systemctl start nvmf-raid@rl
	md=$(md_of rl)
	before=$(md5sum < /run/nvmf-raid/rl.json)
	add_replica rl 3 1 32M
	u3=$(replica_uuid rl 3)
	systemctl reload nvmf-raid@rl 2> /dev/null
	assertNotEquals "reload fails" 0 $?
	err=$(journalctl -q -o cat -u nvmf-raid@rl -n 20 --no-pager)
	assertContains "journal names the replica and its size" "$err" "added replica r3 (/dev/"
	assertContains "journal says what a member needs" "$err" "bytes; a member of"
	assertNotContains "refused before mdadm was asked" "$err" "not large enough"
	assertEquals "still 2 slots" 2 "$(cat "/sys/block/$md/md/raid_disks")"
	assertEquals "not degraded" 0 "$(md_degraded "$md")"
	assertEquals "descriptor unchanged" "$before" "$(md5sum < /run/nvmf-raid/rl.json)"
	assertEquals "r3 disconnected again" "" "$(ctrls_by_nqn "$(tgt_nqn rl-r3)")"
	assertFalse "no index entry left for r3" "[ -e /run/nvmf-raid/by-uuid/$u3 ]"
	assertEquals "unit still active" active "$(systemctl is-active nvmf-raid@rl)"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
