#!/bin/bash
# Growing a volume after the backend grew its namespaces: nvmf-raid extend
# and systemctl reload, with nvmet growing the backing files and announcing
# the new size (revalidate_size) as a real array would.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

MNT=/mnt/extend-test

oneTimeSetUp() {
	tgt_modules || return 1
}

tearDown() {
	local v
	[ -n "${SPEED_MAX:-}" ] && echo "$SPEED_MAX" > /proc/sys/dev/raid/speed_limit_max
	SPEED_MAX=
	mountpoint -q "$MNT" && umount "$MNT"
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_remove_all
	return 0
}


size_of() { blockdev --getsize64 "$1"; }

# extend_to VOL SIZE : both targets of VOL grown to SIZE, then nvmf-raid
# extend; checks that it printed the device's new size and that md uses
# that much of each member.  The size in $size.
extend_to() {
	local vol=$1 md out
	md=$(md_of "$vol")
	tgt_grow "$vol-r1" "$2" && tgt_grow "$vol-r2" "$2"
	out=$(nvmf-raid extend "$vol")
	assertEquals "extend $vol after growing to $2: exit 0" 0 $?
	size=$(size_of "/dev/nvmf-raid/$vol")
	echo "extend printed $out; device $size bytes"
	assertEquals "extend prints the device's new size" "$size" "$out"
	assertEquals "md component size matches" "$size" "$(($(cat "/sys/block/$md/md/component_size") * 1024))"
}

# bitmap_span MDX : "BITS CHUNK_BYTES SYNC_BYTES" of the write-intent bitmap,
# from mdadm -X of a member ("Chunksize : 1 MB", "Sync Size : N (KiB)").
bitmap_span() {
	local md=$1 dev
	dev=$(ls "/sys/block/$md/md" | sed -n 's/^dev-//p' | head -1)
	mdadm -X "/dev/$dev" | awk '/Chunksize/ {c = $3; u = $4} /Sync Size/ {s = $4} /Bitmap :/ {b = $3}
		END {m = (u ~ /^K/) ? 1024 : (u ~ /^M/) ? 1048576 : 1; printf "%d %d %d\n", b, c * m, s * 1024}'
}

test_extend_grows_array_bitmap_and_filesystem() {
	local md before out size bits chunk sync_bytes
	new_volume ext 2 64M
	systemctl start nvmf-raid@ext
	assertEquals "attached" 0 $?
	md=$(md_of ext)
	mkfs.ext4 -q -F /dev/nvmf-raid/ext && mkdir -p "$MNT" && mount /dev/nvmf-raid/ext "$MNT"
	assertTrue "filesystem made and mounted" $?
	dd if=/dev/urandom of="$MNT/data" bs=1M count=24 status=none && sync
	sum=$(md5sum < "$MNT/data")
	before=$(size_of /dev/nvmf-raid/ext)
	fs_before=$(df -B1 --output=size "$MNT" | tail -1)

	extend_to ext 160M
	echo "device $before -> $size bytes"
	assertTrue "grew by the namespaces' 96 MiB (less md's own space)" \
		"[ $size -gt $((before + 90 * 1048576)) ] && [ $size -le $((before + 96 * 1048576)) ]"
	read -r bits chunk sync_bytes < <(bitmap_span "$md")
	echo "bitmap: $bits bits of $chunk bytes, sync size $sync_bytes"
	assertTrue "bitmap covers the grown array ($bits x $chunk >= $size)" "[ $((bits * chunk)) -ge $size ]"
	wait_until 120 md_idle "$md"
	assertTrue "resync of the new region done" $?

	resize2fs -f /dev/nvmf-raid/ext > /dev/null 2>&1
	assertEquals "resize2fs online" 0 $?
	fs_after=$(df -B1 --output=size "$MNT" | tail -1)
	echo "filesystem: $fs_before -> $fs_after bytes"
	assertTrue "filesystem grew" "[ $fs_after -gt $((fs_before + 80 * 1048576)) ]"
	assertEquals "file intact after the grow" "$sum" "$(md5sum < "$MNT/data")"
	dd if=/dev/urandom of="$MNT/more" bs=1M count=64 status=none && sync
	assertEquals "the new space takes data" 0 $?
	umount "$MNT"
	e2fsck -f -n /dev/nvmf-raid/ext > /dev/null 2>&1
	assertEquals "fsck clean" 0 $?
	echo check > "/sys/block/$md/md/sync_action"
	wait_until 120 md_idle "$md"
	assertEquals "replicas identical (md check)" 0 "$(cat "/sys/block/$md/md/mismatch_cnt")"

	out=$(nvmf-raid extend ext)
	assertEquals "extend again: exit 0 (nothing to do)" 0 $?
	assertEquals "extend again: same size" "$size" "$out"
}

test_extend_refused_until_every_replica_grew() {
	local md before out err
	new_volume ext 2 64M
	systemctl start nvmf-raid@ext
	md=$(md_of ext)
	fio_write /dev/nvmf-raid/ext
	before=$(size_of /dev/nvmf-raid/ext)
	tgt_grow ext-r1 128M
	err=$(nvmf-raid extend ext 2>&1 >/dev/null)
	assertEquals "refused: exit 1" 1 $?
	echo "$err"
	assertContains "names the replica not grown" "$err" "replica r2"
	assertContains "says why" "$err" "has not grown yet"
	assertEquals "size unchanged" "$before" "$(size_of /dev/nvmf-raid/ext)"
	assertEquals "not degraded" 0 "$(md_degraded "$md")"

	tgt_grow ext-r2 128M
	out=$(nvmf-raid extend ext)
	assertEquals "then grown: exit 0" 0 $?
	assertTrue "then grown: $out > $before" "[ $out -gt $before ]"
	fio_verify /dev/nvmf-raid/ext
	assertEquals "data verifies" 0 $?
}

# Cinder may extend a volume it has just created: md is still resyncing,
# and the kernel takes the new namespace sizes seconds after the rescan.
# The resync is held at 1000 KiB/s from before the array exists (md's
# sysctl): throttled through the array's own sync_speed_max once it ran,
# the 128 MiB could be in sync before the extend (it was once, in the
# faster guest without ERMS).
test_extend_during_the_initial_resync() {
	local md out size
	new_volume ext 2 128M
	read -r SPEED_MAX < /proc/sys/dev/raid/speed_limit_max
	echo 1000 > /proc/sys/dev/raid/speed_limit_max
	systemctl start nvmf-raid@ext
	md=$(md_of ext)
	assertEquals "resync running" resync "$(cat "/sys/block/$md/md/sync_action")"
	extend_to ext 192M
	assertTrue "grew by about 64 MiB" "[ $size -gt $((128 * 1048576 + 60 * 1048576)) ]"
	wait_until 10 attr_is "/sys/block/$md/md/sync_action" resync
	assertTrue "the resync goes on" $?
}

test_reload_grows_after_the_namespaces_grew() {
	local before after
	new_volume ext 2 64M
	systemctl start nvmf-raid@ext
	fio_write /dev/nvmf-raid/ext
	before=$(size_of /dev/nvmf-raid/ext)
	tgt_grow ext-r1 96M && tgt_grow ext-r2 96M
	systemctl reload nvmf-raid@ext
	assertEquals "systemctl reload: exit 0" 0 $?
	after=$(size_of /dev/nvmf-raid/ext)
	echo "reload: $before -> $after bytes"
	assertTrue "grown by reload" "[ $after -gt $((before + 30 * 1048576)) ]"
	fio_verify /dev/nvmf-raid/ext
	assertEquals "data verifies" 0 $?
}

test_extend_one_replica_volume() {
	local out
	new_volume solo 1 64M
	systemctl start nvmf-raid@solo
	fio_write /dev/nvmf-raid/solo
	tgt_grow solo-r1 100M
	out=$(nvmf-raid extend solo)
	assertEquals "exit 0" 0 $?
	assertEquals "prints the namespace's new size" $((100 * 1048576)) "$out"
	assertEquals "the device has it" $((100 * 1048576)) "$(size_of /dev/nvmf-raid/solo)"
	fio_verify /dev/nvmf-raid/solo
	assertEquals "data verifies" 0 $?
}

test_extend_not_attached_fails_clearly() {
	local err
	err=$(nvmf-raid extend nosuch 2>&1)
	assertEquals "exit 1" 1 $?
	assertContains "says so" "$err" "not attached"
	nvmf-raid extend '../x' > /dev/null 2>&1
	assertEquals "invalid name: exit 2" 2 $?
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
