#!/bin/bash
# Harness self-test: proves the kernel path with plain tools (nvme-cli,
# mdadm, fio), before any nvmf-raid code is involved.  The tests form one
# scenario and run in file order: 3 replicas, RAID1, one replica lost and
# returned, teardown.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"

UUIDS=(3a1c7e52-0b1d-4c55-9e3f-6a0d2b7c0001 3a1c7e52-0b1d-4c55-9e3f-6a0d2b7c0002 3a1c7e52-0b1d-4c55-9e3f-6a0d2b7c0003)
NAMES=(st1 st2 st3)
MD=/dev/md/selftest

oneTimeSetUp() {
	tgt_modules || return 1
	tgt_add st1 128M "${UUIDS[0]}" 1 || return 1
	tgt_add st2 128M "${UUIDS[1]}" 2 || return 1	# over IPv6
	tgt_add st3 128M "${UUIDS[2]}" 3 || return 1
}

oneTimeTearDown() {
	mdadm --stop "$MD" > /dev/null 2>&1
	for n in "${NAMES[@]}"; do nvme disconnect -n "$(tgt_nqn "$n")" > /dev/null 2>&1; done
	tgt_remove_all
}

md_kname() { basename "$(readlink -f "$MD")"; }

test_connect_three_replicas() {
	local i port addr svc
	for i in 0 1 2; do
		port=$((i + 1))
		addr=$(cat "$NVMET/ports/$port/addr_traddr")
		svc=$(cat "$NVMET/ports/$port/addr_trsvcid")
		nvme connect -t tcp -a "$addr" -s "$svc" -n "$(tgt_nqn "${NAMES[$i]}")" \
			--ctrl-loss-tmo=-1 --reconnect-delay=1 > /dev/null
		assertEquals "nvme connect ${NAMES[$i]}" 0 $?
	done
	for i in 0 1 2; do
		wait_until 20 dev_by_uuid "${UUIDS[$i]}"
		assertTrue "namespace ${UUIDS[$i]} found by its UUID through udev" $?
	done
	local dev
	dev=$(dev_by_uuid "${UUIDS[1]}")
	assertEquals "udev ID_WWN carries the namespace UUID" "uuid.${UUIDS[1]}" \
		"$(udevadm info -q property -n "/dev/$dev" | sed -n 's/^ID_WWN=//p')"
	assertEquals "not a hidden path device" 0 "$(cat "/sys/block/$dev/hidden" 2>/dev/null || echo 0)"
	assertEquals "the IPv6 replica's controller is live" live "$(ctrl_state "$(ctrls_by_nqn "$(tgt_nqn st2)")")"
}

test_raid1_with_bitmap_and_fio_verify() {
	local devs=() i
	for i in 0 1 2; do devs+=("/dev/$(dev_by_uuid "${UUIDS[$i]}")"); done
	mdadm --create "$MD" --run --level=1 --raid-devices=3 --metadata=1.2 \
		--bitmap=internal --bitmap-chunk=4M "${devs[@]}" > /dev/null 2>&1
	assertEquals "mdadm --create" 0 $?
	# mdadm 4.4 returns before udev made $MD, and mdadm --wait on a
	# missing node returns at once.
	wait_until 30 test -b "$MD"
	assertTrue "$MD made by udev within 30 s" $?
	md_wait "$MD"
	assertEquals "raid1" raid1 "$(cat "/sys/block/$(md_kname)/md/level")"
	local loc
	loc=$(cat "/sys/block/$(md_kname)/md/bitmap/location" 2>/dev/null)
	assertTrue "internal bitmap (location $loc)" "[ '${loc#+}' != '$loc' ]"
	fio --name=selftest --filename="$MD" --rw=write --bs=64k --size=32M --direct=1 \
		--ioengine=libaio --iodepth=4 --verify=crc32c --do_verify=1 \
		--output=/tmp/fio-write.log > /dev/null 2>&1
	assertEquals "fio write + verify through md" 0 $?
	assertEquals "array not degraded" 0 "$(md_degraded "$(md_kname)")"
}

test_replica_lost_degrades_array() {
	local ctrl dev md
	md=$(md_kname)
	ctrl=$(ctrls_by_nqn "$(tgt_nqn st3)")
	dev=$(dev_by_uuid "${UUIDS[2]}")
	# Without fast_io_fail_tmo, I/O on a lost path is requeued for
	# ctrl_loss_tmo instead of failing over to md (notes/guest.md).
	echo 2 > "/sys/class/nvme/$ctrl/fast_io_fail_tmo"
	tgt_vanish st3
	dd if=/dev/urandom of="$MD" bs=64k count=16 seek=1024 oflag=direct status=none
	assertEquals "writes go on while a replica is gone" 0 $?
	wait_until 30 file_has "/sys/block/$md/md/dev-$dev/state" faulty
	assertTrue "md marked the lost member faulty" $?
	assertEquals "array degraded by one" 1 "$(md_degraded "$md")"
}

test_replica_returns_and_is_readded() {
	local ctrl dev md
	md=$(md_kname)
	ctrl=$(ctrls_by_nqn "$(tgt_nqn st3)")
	dev=$(dev_by_uuid "${UUIDS[2]}")
	tgt_return st3
	wait_until 30 attr_is "/sys/class/nvme/$ctrl/state" live
	assertTrue "controller reconnected by itself" $?
	mdadm "$MD" --remove failed > /dev/null 2>&1
	mdadm "$MD" --re-add "/dev/$dev" > /dev/null 2>&1
	assertEquals "mdadm --re-add with the bitmap" 0 $?
	md_wait "$MD"
	wait_until 30 attr_is "/sys/block/$md/md/degraded" 0
	assertTrue "array whole again" $?
	fio --name=selftest --filename="$MD" --rw=read --bs=64k --size=32M --direct=1 \
		--ioengine=libaio --iodepth=4 --verify=crc32c --verify_only=1 \
		--output=/tmp/fio-verify.log > /dev/null 2>&1
	assertEquals "data written before the loss still verifies" 0 $?
}

test_namespace_disable_and_enable() {
	local md dev
	md=$(md_kname)
	dev=$(dev_by_uuid "${UUIDS[0]}")
	tgt_ns_disable st1
	wait_until 20 gone "/sys/block/$dev"
	assertTrue "disabled namespace removed from the host" $?
	wait_until 20 eval "file_has /sys/block/$md/md/dev-$dev/state faulty || gone /sys/block/$md/md/dev-$dev"
	assertTrue "md dropped the vanished member" $?
	tgt_ns_enable st1
	wait_until 20 dev_by_uuid "${UUIDS[0]}"
	assertTrue "re-enabled namespace back (AEN + rescan)" $?
	mdadm "$MD" --remove failed > /dev/null 2>&1
	mdadm "$MD" --remove detached > /dev/null 2>&1
	mdadm "$MD" --re-add "/dev/$(dev_by_uuid "${UUIDS[0]}")" > /dev/null 2>&1
	assertEquals "re-added" 0 $?
	md_wait "$MD"
	wait_until 30 attr_is "/sys/block/$md/md/degraded" 0
	assertTrue "array whole again" $?
}

test_namespace_grow_is_announced() {
	local dev before after
	dev=$(dev_by_uuid "${UUIDS[1]}")
	before=$(cat "/sys/block/$dev/size")
	tgt_grow st2 192M
	assertEquals "revalidate_size accepted" 0 $?
	wait_until 20 attr_gt "/sys/block/$dev/size" "$before"
	after=$(cat "/sys/block/$dev/size")
	assertEquals "host sees the new size (512-byte sectors)" $((192 * 2048)) "$after"
}

test_stop_and_disconnect() {
	local n
	mdadm --stop "$MD" > /dev/null 2>&1
	assertEquals "mdadm --stop" 0 $?
	assertFalse "array gone" "[ -e $MD ]"
	for n in "${NAMES[@]}"; do
		nvme disconnect -n "$(tgt_nqn "$n")" > /dev/null
		assertEquals "nvme disconnect $n" 0 $?
	done
	udevadm settle
	for n in "${NAMES[@]}"; do
		assertEquals "no controller left for $n" "" "$(ctrls_by_nqn "$(tgt_nqn "$n")")"
	done
	assertFalse "namespace link gone" "[ -e /dev/disk/by-id/nvme-uuid.${UUIDS[0]} ]"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
