#!/bin/bash
# Shared subsystems: a volume on namespace 1 of a subsystem whose
# namespace 2 someone else uses.  Stopping the volume (or a start failing
# half way) must leave the subsystem connected while namespace 2 is in use
# (held open, claimed exclusively, mounted, also through a partition, an
# md member) and disconnect it once nobody uses it.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

CURSOR=/tmp/shared-subsys-test.cursor
VOL=shv
MNT=/mnt/sibling
HOLDER=

oneTimeSetUp() {
	tgt_modules || return 1
}

# Subsystem "sh": namespace 1 ($U1) is the volume's, namespace 2 ($U2) the
# sibling.  The other user connects first, as a plain os-brick attach
# would; $D2 is the sibling's block device (nvmeXnY).
setUp() {
	U1=$(new_uuid) U2=$(new_uuid)
	tgt_add sh 64M "$U1" 1
	tgt_add_ns sh 2 64M "$U2"
	NQN=$(tgt_nqn sh)
	volume_file "$VOL" "$U1" 20
	nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$NQN" > /dev/null
	wait_until 20 dev_by_uuid "$U2" || fail "namespace 2 did not appear"
	D2=$(dev_by_uuid "$U2")
	journal_mark "$CURSOR"
}

tearDown() {
	release_sibling
	systemctl stop "nvmf-raid@$VOL" "nvmf-raid@ghost" > /dev/null 2>&1
	systemctl reset-failed "nvmf-raid@$VOL" "nvmf-raid@ghost" > /dev/null 2>&1
	rm -f "$VOLDIR/$VOL.conf" "$VOLDIR/ghost.conf"
	nvme disconnect -n "$NQN" > /dev/null 2>&1
	tgt_remove_all
}

# volume_file VOL UUID TIMEOUT: one replica, namespace UUID of subsystem sh.
volume_file() {
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = %s\n[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\n' \
		"$3" "$NQN" "$2" "$(tgt_port_uri 1)" > "$VOLDIR/$1.conf"
}

# Whatever a case did to the sibling, undone.
release_sibling() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2> /dev/null && wait "$HOLDER" 2> /dev/null
	HOLDER=
	mountpoint -q "$MNT" && umount "$MNT"
	if [ -e /dev/md/sibling ]; then
		mdadm --stop /dev/md/sibling > /dev/null 2>&1
		mdadm --zero-superblock "/dev/$D2" > /dev/null 2>&1
	fi
	udevadm settle
}

# start_stop: the volume comes up on namespace 1 only, then stops (exit 0,
# runtime files gone).
start_stop() {
	local d1
	systemctl start "nvmf-raid@$VOL"
	assertEquals "start" 0 $?
	d1=$(dev_by_uuid "$U1")
	assertEquals "the volume is namespace 1" "$d1" "$(basename "$(readlink -f "/dev/nvmf-raid/$VOL")")"
	assertFalse "namespace 2 is not the volume's" \
		"udevadm info -q property -n /dev/$D2 | grep -q '^NVMF_RAID_VOLUME='"
	assertFalse "the descriptor does not name namespace 2" "grep -q '\"/dev/$D2\"' /run/nvmf-raid/$VOL.json"
	systemctl stop "nvmf-raid@$VOL"
	assertEquals "stop" 0 $?
	assertEquals "unit stopped cleanly" success "$(unit_result "$VOL")"
	assertFalse "descriptor removed" "[ -e /run/nvmf-raid/$VOL.json ]"
	assertFalse "link removed" "[ -e /dev/nvmf-raid/$VOL ]"
}

# assert_kept WHY: the subsystem is still connected, namespace 2 reads, and
# the journal says why, once.
assert_kept() {
	local why=$1 n
	assertNotEquals "controller kept" "" "$(ctrls_by_nqn "$NQN")"
	assertTrue "namespace 2 still there" "[ -b /dev/$D2 ]"
	dd if="/dev/$D2" of=/dev/null bs=4k count=1 iflag=direct status=none
	assertEquals "namespace 2 reads" 0 $?
	n=$(journal_since "$CURSOR" | grep -cF "$VOL: keeping $NQN connected: $why")
	assertEquals "logged once: keeping ... connected: $why" 1 "$n"
}

# The last user gone, the next stop disconnects.
assert_disconnected_when_released() {
	release_sibling
	journal_mark "$CURSOR"
	start_stop
	assertEquals "controller disconnected" "" "$(ctrls_by_nqn "$NQN")"
	assertFalse "namespace 2 gone with it" "[ -e /dev/$D2 ]"
	assertEquals "nothing kept" 0 "$(journal_since "$CURSOR" | grep -c "keeping .* connected")"
}

# hold_open: a background process holds namespace 2 open, read-only, not
# exclusively (as a VM or a dd would); $HOLDER is its pid.
hold_open() {
	sleep 600 3< "/dev/$D2" &
	HOLDER=$!
	wait_until 20 eval "[ \"\$(readlink /proc/$HOLDER/fd/3)\" = /dev/$D2 ]" || fail "holder"
}

test_sibling_held_open() {
	hold_open
	start_stop
	assert_kept "/dev/$D2 is open by process $HOLDER (sleep)"
	# The helper as the unit runs it: exit 0, the reason on its stderr.
	systemctl start "nvmf-raid@$VOL" || fail "start"
	$DETACH "$VOL" 2> /tmp/detach.err
	assertEquals "detach exits 0" 0 $?
	grep -qF "keeping $NQN connected: /dev/$D2 is open by process $HOLDER (sleep)" /tmp/detach.err
	assertTrue "detach says why" $?
	assertFalse "descriptor removed" "[ -e /run/nvmf-raid/$VOL.json ]"
	assertNotEquals "controller kept" "" "$(ctrls_by_nqn "$NQN")"
	systemctl stop "nvmf-raid@$VOL"
	assert_disconnected_when_released
}

# The holder opens with O_EXCL (as mkfs or a swapon would) and says when.
test_sibling_claimed_exclusively() {
	rm -f /tmp/holder.ready
	# python3 itself, not py3: \$! must be the holder's pid.
	python3 -I -S -c 'import os, sys, time
os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
open("/tmp/holder.ready", "w").close()
time.sleep(600)' "/dev/$D2" &
	HOLDER=$!
	wait_until 30 test -e /tmp/holder.ready || fail "holder"
	start_stop
	assert_kept "/dev/$D2 is claimed exclusively by another user"
	assert_disconnected_when_released
}

test_sibling_mounted() {
	mkfs.ext4 -q "/dev/$D2"
	mkdir -p "$MNT"
	mount "/dev/$D2" "$MNT" || fail "mount"
	start_stop
	assert_kept "/dev/$D2 is mounted on $MNT"
	assertTrue "filesystem still mounted" "mountpoint -q $MNT"
	assert_disconnected_when_released
}

# One Linux partition from sector 2048 to the end (no sfdisk in the guest).
partition_sibling() {
	local sectors
	sectors=$(($(blockdev --getsz "/dev/$D2") - 2048))
	py3 -c 'import struct, sys
entry = struct.pack("<B3sB3sII", 0, bytes(3), 0x83, bytes(3), 2048, int(sys.argv[2]))
with open(sys.argv[1], "r+b") as f:
    f.seek(446)
    f.write(entry + bytes(48) + b"\x55\xaa")' "/dev/$D2" "$sectors"
	udevadm settle
	wait_until 20 blockdev --rereadpt "/dev/$D2"
	wait_until 20 test -b "/dev/${D2}p1"
}

test_sibling_partition_mounted() {
	partition_sibling || fail "partition"
	mkfs.ext4 -q "/dev/${D2}p1"
	mkdir -p "$MNT"
	mount "/dev/${D2}p1" "$MNT" || fail "mount"
	start_stop
	assert_kept "/dev/${D2}p1 is mounted on $MNT"
	assert_disconnected_when_released
}

test_sibling_md_member() {
	local md
	mdadm --create /dev/md/sibling --run --level=1 --raid-devices=2 --metadata=1.2 \
		"/dev/$D2" missing > /dev/null 2>&1 || fail "mdadm --create"
	md=$(basename "$(readlink -f /dev/md/sibling)")
	start_stop
	assert_kept "/dev/$D2 is held by $md"
	assertEquals "the sibling's array is still running" 1 "$(grep -c "^$md : active" /proc/mdstat)"
	assert_disconnected_when_released
}

# A start that fails half way tears down by the same rule: its namespace
# never appears (no such UUID), namespace 2 is held open.  The start fails
# once degraded-timeout (2 s) has passed, on the controller's word (its
# active namespace list), not after the 30 s attach gives a namespace that
# is there but not announced by udev yet.
test_failed_start_keeps_a_used_subsystem() {
	local u t0 t1
	u=$(new_uuid)
	volume_file ghost "$u" 2
	hold_open
	t0=$(uptime_s)
	systemctl start nvmf-raid@ghost 2> /dev/null
	assertNotEquals "start fails" 0 $?
	t1=$(uptime_s)
	echo "FIGURES: the start failed after $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') s (the grace for an unannounced namespace: 30 s)"
	assertTrue "failed without waiting for a namespace the subsystem has not" \
		"awk -v a=$t0 -v b=$t1 'BEGIN {exit !(b - a < 25)}'"
	journal_since "$CURSOR" | grep -qF "ghost: replica a: subsystem $NQN has no namespace uuid $u (its controller's active namespace list)."
	assertTrue "journal: the subsystem has no such namespace" $?
	assertFalse "no descriptor left" "[ -e /run/nvmf-raid/ghost.json ]"
	assertNotEquals "controller kept" "" "$(ctrls_by_nqn "$NQN")"
	assertTrue "namespace 2 still there" "[ -b /dev/$D2 ]"
	journal_since "$CURSOR" | grep -qF "ghost: keeping $NQN connected: /dev/$D2 is open by process $HOLDER (sleep)"
	assertTrue "journal says why" $?
	release_sibling
	systemctl reset-failed nvmf-raid@ghost
	systemctl start nvmf-raid@ghost 2> /dev/null
	assertEquals "unused: the failed start disconnects" "" "$(ctrls_by_nqn "$NQN")"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
