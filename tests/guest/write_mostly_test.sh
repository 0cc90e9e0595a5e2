#!/bin/bash
# Issue 15, item 6: a replica key write-mostly = yes gives the array
# member md's write-mostly flag (md's own dev-X/state says so), reads then
# avoid it (its path devices' read counters do not move while 16 MiB are
# read through the volume, r1's do), writes still reach it, and a reload
# sets and clears the flag on the running array.  A member that is lost
# and re-added keeps it.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

oneTimeSetUp() { tgt_modules; }

tearDown() { fault_teardown; }

# paths_stat UUID FIELD : FIELD (1-based, /sys/block/DEV/stat) summed over
# the path devices of namespace UUID; the multipath head counts nothing.
paths_stat() {
	local f u s n=0
	for f in /sys/block/nvme*c*n*/uuid; do
		[ -e "$f" ] || continue
		read -r u < "$f" || continue
		[ "$u" = "$1" ] || continue
		read -r -a s < "${f%/uuid}/stat" || continue
		n=$((n + s[$2 - 1]))
	done
	echo "$n"
}

# set_write_mostly VOL REPLICA yes|no : the key in REPLICA's section.
set_write_mostly() {
	local f=$VOLDIR/$1.conf
	sed -i "/^write-mostly = /d" "$f"
	sed -i "/^\[replica\.$2\]\$/a write-mostly = $3" "$f"
}

# member_flag VOL I : r I's md member state has write_mostly.
member_flag() {
	local dev
	dev=$(dev_by_uuid "$(replica_uuid "$1" "$2")") || return 1
	[[ $(md_member_state "$(md_of "$1")" "$dev") == *write_mostly* ]]
}

test_write_mostly() {
	local u1 u2 r1 r2 w2
	new_volume wm 2 64M || fail "targets"
	set_write_mostly wm r2 yes
	systemctl start nvmf-raid@wm || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/wm
	u1=$(replica_uuid wm 1) u2=$(replica_uuid wm 2)
	echo "members: r1 $(md_member_state "$(md_of wm)" "$(dev_by_uuid "$u1")"), r2 $(md_member_state "$(md_of wm)" "$(dev_by_uuid "$u2")")"
	assertTrue "r2 write-mostly in md" "member_flag wm 2"
	assertFalse "r1 not" "member_flag wm 1"

	r1=$(paths_stat "$u1" 1) r2=$(paths_stat "$u2" 1) w2=$(paths_stat "$u2" 5)
	dd if=/dev/nvmf-raid/wm of=/dev/null bs=64k count=256 iflag=direct 2> /dev/null
	fio_write /dev/nvmf-raid/wm 4M
	r1=$(($(paths_stat "$u1" 1) - r1)) r2=$(($(paths_stat "$u2" 1) - r2)) w2=$(($(paths_stat "$u2" 5) - w2))
	echo "16 MiB read, 4 MiB written: r1 $r1 reads, r2 $r2 reads and $w2 writes"
	assertTrue "r1 served the reads ($r1)" "[ $r1 -ge 256 ]"
	assertEquals "r2 served no read" 0 "$r2"
	assertTrue "writes still reach r2 ($w2)" "[ $w2 -gt 0 ]"

	tgt_vanish wm-r2
	wait_state wm r2 faulty 30
	tgt_return wm-r2
	wait_state wm r2 in-sync 90
	assertTrue "r2 back in sync" $?
	assertTrue "r2 re-added: still write-mostly" "member_flag wm 2"

	set_write_mostly wm r2 no
	systemctl reload nvmf-raid@wm
	assertFalse "reload, write-mostly = no: flag cleared on the running array" "member_flag wm 2"
	set_write_mostly wm r1 yes
	systemctl reload nvmf-raid@wm
	assertTrue "reload, r1 write-mostly = yes: set" "member_flag wm 1"
	assertTrue "journal says so" \
		"journalctl -q -o cat -t nvmf-raid-reload | grep -q 'wm: replica r1 is write-mostly'"
	fio_verify /dev/nvmf-raid/wm 4M
	assertTrue "data written before reads back" $?
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
