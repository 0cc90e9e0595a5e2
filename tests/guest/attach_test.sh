#!/bin/bash
# Attach and detach through nvmf-raid@.service with real nvmet targets.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

CURSOR=/tmp/attach-test.cursor

oneTimeSetUp() {
	tgt_modules || return 1
}

setUp() {
	journal_mark "$CURSOR"
}

tearDown() {
	local v
	mountpoint -q /var/lib/nvmf-raid && umount /var/lib/nvmf-raid
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_remove_all
}


assert_attached_md() {
	local vol=$1 n=$2 md
	assertTrue "$vol: /dev/nvmf-raid/$vol is a block device" "[ -b /dev/nvmf-raid/$vol ]"
	md=$(md_of "$vol")
	assertEquals "$vol: md raid1" raid1 "$(cat "/sys/block/$md/md/level" 2>/dev/null)"
	assertEquals "$vol: $n members" "$n" "$(cat "/sys/block/$md/md/raid_disks" 2>/dev/null)"
	assertEquals "$vol: internal bitmap" "+8" "$(cat "/sys/block/$md/md/bitmap/location" 2>/dev/null)"
	assertEquals "$vol: not degraded" 0 "$(cat "/sys/block/$md/md/degraded" 2>/dev/null)"
	assertTrue "$vol: descriptor written" "[ -f /run/nvmf-raid/$vol.json ]"
}

test_attach_one_replica_is_the_namespace() {
	new_volume one 1
	systemctl start nvmf-raid@one
	assertEquals "unit started" 0 $?
	assertEquals "link points at the namespace" "$(dev_by_uuid "$(replica_uuid one 1)")" \
		"$(basename "$(readlink -f /dev/nvmf-raid/one)")"
	assertEquals "no md array" 0 "$(arrays_of one)"
	fio_write /dev/nvmf-raid/one
	assertEquals "fio write+verify" 0 $?
	grep -q '"state": "in-sync"' /run/nvmf-raid/one.json
	assertTrue "descriptor says in-sync" $?
	systemctl stop nvmf-raid@one
	assertFalse "link gone after stop" "[ -e /dev/nvmf-raid/one ]"
	assertEquals "controller disconnected" "" "$(ctrls_by_nqn "$(tgt_nqn one-r1)")"
	assertFalse "descriptor removed" "[ -e /run/nvmf-raid/one.json ]"
}

test_attach_two_and_three_replicas() {
	new_volume two 2
	new_volume three 3
	systemctl start nvmf-raid@two nvmf-raid@three
	assertEquals "units started" 0 $?
	assert_attached_md two 2
	assert_attached_md three 3
}

# Names longer than the 22 bytes an md name keeps: one over, a Cinder
# volume id, the longest allowed.  Their arrays get a shortened name, which
# mdadm 4.3 and later refuse to create unless it is POSIX portable: Debian
# 13 failed every such start with '"volum~..." cannot be set as name'.
test_long_names_make_arrays() {
	local v names=(abcdefghijklmnopqrstuvw volume-0e5f3b2a-6c1d-4e8f-9a7b-2c3d4e5f6a7b
		v234567890123456789012345678901234567890123456789012345678901234)
	for v in "${names[@]}"; do
		new_volume "$v" 2 || fail "$v: volume"
		systemctl start "nvmf-raid@$v"
		assertEquals "${#v} bytes: started" 0 $?
		assert_attached_md "$v" 2
		echo "FIGURE: ${#v}-byte name: md name $(mdadm --detail --export "/dev/nvmf-raid/$v" 2>/dev/null | sed -n 's/^MD_NAME=//p')"
		systemctl stop "nvmf-raid@$v"
		assertEquals "${#v} bytes: stopped" 0 $?
		systemctl start "nvmf-raid@$v"
		assertEquals "${#v} bytes: assembled again" 0 $?
		assert_attached_md "$v" 2
		drop_volume "$v"
	done
}

test_data_survives_detach_and_reattach() {
	local md1 md2
	new_volume data 3
	systemctl start nvmf-raid@data || fail "first attach"
	md1=$(md_of data)
	fio_write /dev/nvmf-raid/data 32M
	assertEquals "fio write+verify on first attach (create)" 0 $?
	systemctl stop nvmf-raid@data
	assertEquals "detach" 0 $?
	assertEquals "array stopped" 0 "$(arrays_of data)"
	for i in 1 2 3; do
		assertEquals "replica $i disconnected" "" "$(ctrls_by_nqn "$(tgt_nqn data-r$i)")"
	done
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@data
	assertEquals "re-attach" 0 $?
	journal_since "$CURSOR" | grep -q "data: assembling"
	assertTrue "second attach assembled instead of creating" $?
	assert_attached_md data 3
	fio_verify /dev/nvmf-raid/data 32M
	assertEquals "data written before detach verifies" 0 $?
	md2=$(md_of data)
	echo "first attach $md1, re-attach $md2"
}

test_two_volumes_on_one_subsystem() {
	local ua ub nqn
	ua=$(new_uuid) ub=$(new_uuid)
	tgt_add shared 64M "$ua" 1
	tgt_add_ns shared 2 64M "$ub"
	nqn=$(tgt_nqn shared)
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = 20\n[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\n' \
		"$nqn" "$ua" "$(tgt_port_uri 1)" > "$VOLDIR/sa.conf"
	printf '[volume]\ndegraded-timeout = 20\n[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\n' \
		"$nqn" "$ub" "$(tgt_port_uri 1)" > "$VOLDIR/sb.conf"
	systemctl start nvmf-raid@sa nvmf-raid@sb
	assertEquals "both attached" 0 $?
	assertTrue "sa link" "[ -b /dev/nvmf-raid/sa ]"
	assertTrue "sb link" "[ -b /dev/nvmf-raid/sb ]"
	systemctl stop nvmf-raid@sa
	assertEquals "sa detached" 0 $?
	assertNotEquals "subsystem still connected for sb" "" "$(ctrls_by_nqn "$nqn")"
	assertFalse "sa link gone" "[ -e /dev/nvmf-raid/sa ]"
	fio_write /dev/nvmf-raid/sb
	assertEquals "sb keeps working" 0 $?
	systemctl stop nvmf-raid@sb
	assertEquals "subsystem disconnected with its last volume" "" "$(ctrls_by_nqn "$nqn")"
	rm -f "$VOLDIR/sa.conf" "$VOLDIR/sb.conf"
}

test_signature_refuses_create() {
	local u dev before after
	new_volume sig 2
	u=$(replica_uuid sig 2)
	# An ext4 filesystem on replica 2, made through a plain connection.
	nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$(tgt_nqn sig-r2)" > /dev/null
	wait_until 20 dev_by_uuid "$u" || fail "namespace did not appear"
	dev=/dev/$(dev_by_uuid "$u")
	mkfs.ext4 -q -F -L keepme "$dev"
	before=$(dd if="$dev" bs=1M count=4 status=none | md5sum)
	nvme disconnect -n "$(tgt_nqn sig-r2)" > /dev/null
	udevadm settle
	systemctl start nvmf-raid@sig 2> /dev/null
	assertNotEquals "start refused" 0 $?
	journal_since "$CURSOR" | grep -q "holds a signature (ext4)"
	assertTrue "journal names the signature" $?
	assertEquals "no array created" 0 "$(arrays_of sig)"
	assertEquals "replica 1 disconnected again" "" "$(ctrls_by_nqn "$(tgt_nqn sig-r1)")"
	after=$(dd if="$TGT_STORE/sig-r2-1.img" bs=1M count=4 status=none | md5sum)
	assertEquals "signature area untouched" "$before" "$after"
	cmp -s -n $((64 << 20)) "$TGT_STORE/sig-r1-1.img" /dev/zero
	assertTrue "blank replica untouched (still all zeroes)" $?
}

# /var/lib/nvmf-raid read-only (a bind mount over itself): records are read
# as before, none can be written.
record_dir_ro() {
	mkdir -p /var/lib/nvmf-raid &&
		mount --bind /var/lib/nvmf-raid /var/lib/nvmf-raid &&
		mount -o remount,bind,ro /var/lib/nvmf-raid
}

# The in-sync record is what keeps a stale replica from ever being
# assembled: an array whose record cannot be written is not used.
test_unwritable_record_fails_the_start() {
	new_volume rec 2
	record_dir_ro || { fail "read-only bind mount"; return; }
	systemctl start nvmf-raid@rec 2> /dev/null
	assertNotEquals "start failed" 0 $?
	assertEquals "exit status 1" 1 "$(unit_status rec)"
	assertEquals "no array left" 0 "$(arrays_of rec)"
	assertFalse "no device link" "[ -e /dev/nvmf-raid/rec ]"
	assertFalse "no descriptor" "[ -e /run/nvmf-raid/rec.json ]"
	assertEquals "journal says why, once" 1 \
		"$(journal_since "$CURSOR" | grep -c "rec: cannot write the in-sync record /var/lib/nvmf-raid/rec.json (.*); not using /dev/md")"
	umount /var/lib/nvmf-raid
	systemctl start nvmf-raid@rec
	assertEquals "starts once the record can be written" 0 $?
	assert_attached_md rec 2
	assertEquals "record names both replicas" "r1 r2" "$(py3 -c 'import json; print(" ".join(e["name"] for e in json.load(open("/var/lib/nvmf-raid/rec.json"))["in-sync"]))')"
}

test_invalid_volume_file_fails_before_connecting() {
	new_volume bad 2
	sed -i 's/^uuid = \(.*\)$/uuid = not-a-uuid/' "$VOLDIR/bad.conf"
	systemctl start nvmf-raid@bad 2> /dev/null
	assertNotEquals "start failed" 0 $?
	assertEquals "exit status 2" 2 "$(unit_status bad)"
	journal_since "$CURSOR" | grep -q "bad.conf:[0-9]* \[replica.r1\] uuid"
	assertTrue "journal names file, line, section and key" $?
	assertEquals "nothing connected" "" "$(ctrls_by_nqn "$(tgt_nqn bad-r1)")$(ctrls_by_nqn "$(tgt_nqn bad-r2)")"
	assertFalse "no descriptor" "[ -e /run/nvmf-raid/bad.json ]"
}

test_missing_mdadm_exits_3() {
	new_volume nomd 2
	mv /usr/sbin/mdadm /usr/sbin/mdadm.away
	systemctl start nvmf-raid@nomd 2> /dev/null
	local rc=$?
	mv /usr/sbin/mdadm.away /usr/sbin/mdadm
	assertNotEquals "start failed" 0 "$rc"
	assertEquals "exit status 3" 3 "$(unit_status nomd)"
	journal_since "$CURSOR" | grep -q "mdadm not found: install the Debian package mdadm"
	assertTrue "journal names mdadm and its package" $?
	assertEquals "nothing connected" "" "$(ctrls_by_nqn "$(tgt_nqn nomd-r1)")"
}

# A stop right after the start reaches the monitor while its first pass
# runs.  It once missed that SIGTERM (a one-replica volume's monitor
# waits without a timeout) and systemd killed it after its 90 s stop
# timeout.  The figure: each stop's seconds, well under that.
test_stop_right_after_start() {
	local i t0
	new_volume quick 1
	for i in 1 2 3; do
		systemctl start nvmf-raid@quick || { fail "start $i"; return; }
		uptime_cs
		t0=$UPTIME_CS
		systemctl stop nvmf-raid@quick
		assertEquals "stop $i: exit 0" 0 $?
		uptime_cs
		echo "stop $i: $(((UPTIME_CS - t0) / 100)).$(printf '%02d' $(((UPTIME_CS - t0) % 100))) s"
		assertTrue "stop $i within 20 s, not at systemd's 90 s SIGKILL" "[ $((UPTIME_CS - t0)) -lt 2000 ]"
		assertEquals "stop $i: the monitor was not killed" "" \
			"$(journal_since "$CURSOR" | grep "nvmf-raid-monitor@quick.service: State 'stop-sigterm' timed out")"
	done
}

test_start_and_stop_are_idempotent() {
	new_volume idem 2
	systemctl stop nvmf-raid@idem
	assertEquals "stop without start" 0 $?
	$DETACH idem
	assertEquals "detach helper without start" 0 $?
	systemctl start nvmf-raid@idem
	assertEquals "first start" 0 $?
	local md
	md=$(md_of idem)
	$ATTACH idem
	assertEquals "attach helper again: success" 0 $?
	systemctl restart nvmf-raid@idem
	assertEquals "restart" 0 $?
	assertEquals "still one array" 1 "$(arrays_of idem)"
	systemctl stop nvmf-raid@idem
	assertEquals "stop" 0 $?
	systemctl stop nvmf-raid@idem
	assertEquals "stop twice" 0 $?
	$DETACH idem
	assertEquals "detach helper after stop" 0 $?
	assertEquals "nothing left" 0 "$(arrays_of idem)"
	echo "array was $md"
}

test_stop_refused_while_mounted() {
	new_volume busy 2
	systemctl start nvmf-raid@busy || fail "attach"
	mkfs.ext4 -q /dev/nvmf-raid/busy
	mkdir -p /mnt/busy && mount /dev/nvmf-raid/busy /mnt/busy
	$DETACH busy 2> /tmp/detach.err
	assertEquals "detach refused with exit 1" 1 $?
	grep -q "mounted on /mnt/busy" /tmp/detach.err
	assertTrue "message says where it is mounted" $?
	assertTrue "array still there" "[ -b /dev/nvmf-raid/busy ]"
	umount /mnt/busy
	exec 7< /dev/nvmf-raid/busy
	$DETACH busy 2> /tmp/detach.err
	assertEquals "detach refused while held open" 1 $?
	assertTrue "array still there" "[ -b /dev/nvmf-raid/busy ]"
	exec 7<&-
	systemctl stop nvmf-raid@busy
	assertEquals "stop once released" 0 $?
	assertEquals "array stopped" 0 "$(arrays_of busy)"
}

test_four_volumes_in_parallel() {
	local v
	for v in p1 p2 p3 p4; do new_volume "$v" 2; done
	systemctl start nvmf-raid@p1 nvmf-raid@p2 nvmf-raid@p3 nvmf-raid@p4
	assertEquals "all four started" 0 $?
	for v in p1 p2 p3 p4; do assert_attached_md "$v" 2; done
	systemctl stop nvmf-raid@p1 nvmf-raid@p2 nvmf-raid@p3 nvmf-raid@p4
	for v in p1 p2 p3 p4; do assertEquals "$v stopped" 0 "$(arrays_of "$v")"; done
}

test_trigger_storm_while_attaching() {
	new_volume storm 3
	systemctl start --no-block nvmf-raid@storm
	local i
	for i in $(seq 1 15); do
		udevadm trigger --action=change --subsystem-match=block
		udevadm trigger --action=add --subsystem-match=nvme
	done
	# shellcheck disable=SC2016 # expanded by the inner sh, at each try
	wait_until 60 unit_is nvmf-raid@storm active
	assertTrue "unit active" $?
	udevadm settle
	assertEquals "exactly one array" 1 "$(arrays_of storm)"
	assertEquals "created once" 1 "$(journal_since "$CURSOR" | grep -c "storm: creating")"
	assert_attached_md storm 3
}

test_debian_incremental_assembly_leaves_our_members_alone() {
	new_volume own 2
	systemctl start nvmf-raid@own || fail "attach"
	systemctl stop nvmf-raid@own || fail "detach"
	# An admin connects the replicas by hand: Debian's 64-md-raid-assembly
	# would assemble any linux_raid_member; ours must stay untouched.
	for i in 1 2; do nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$(tgt_nqn own-r$i)" > /dev/null; done
	for i in 1 2; do wait_until 20 dev_by_uuid "$(replica_uuid own $i)"; done
	udevadm settle
	assertEquals "no array assembled behind our back" 0 "$(arrays_of own)"
	assertEquals "udev marks it ours" nvmf_raid_member \
		"$(udevadm info -q property -n "/dev/$(dev_by_uuid "$(replica_uuid own 1)")" | sed -n 's/^ID_FS_TYPE=//p')"
	for i in 1 2; do nvme disconnect -n "$(tgt_nqn own-r$i)" > /dev/null; done
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
