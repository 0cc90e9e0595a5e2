#!/bin/bash
# Reassembly at boot, with a real reboot of the guest (tests/guest/runner.sh).
#
# Boot 1 sets up four /etc volumes and their nvmet targets, attaches two,
# writes data and asks for a reboot.  The targets live in this same
# kernel, so a unit of the test (lib/target.sh tgt_boot_unit) puts them
# back early at boot, as a storage array would simply be there — except the
# replicas listed as down, which stay away across the reboot.
#
#   bootA  2 replicas, both back           -> attached, data intact
#   bootB  2 replicas, r2 down             -> degraded after its timeout,
#                                             healed once r2's target returns
#   bootF  1 replica, down                 -> its unit fails, boot goes on
#   bootN  auto = no                       -> not started
#
# Boot 2 checks each.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

BOOT=${NVMF_RAID_BOOT:-1}
STATE=/var/lib/nvmf-raid-test
DEGRADED_START_ID=ff933a302c9c46358ef8bc08b81fb4cb
SIZE=64M


# add_target NAME PORT : a replica target, remembered for the next boot.
add_target() {
	local name=$1 port=$2 uuid
	uuid=$(new_uuid)
	tgt_add "$name" "$SIZE" "$uuid" "$port" || return 1
	echo "$name $SIZE $uuid $port" >> "$STATE/targets"
	echo "$uuid"
}

# volume_file VOL KEYS REPLICA... : /etc/nvmf-raid/volumes/VOL.conf
volume_file() {
	local vol=$1 keys=$2 name uuid port i=0
	shift 2
	printf '[volume]\n%b\n' "$keys" > "$VOLDIR/$vol.conf"
	for name in "$@"; do
		i=$((i + 1))
		read -r _ _ uuid port < <(grep "^$name " "$STATE/targets")
		printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = %s\n' \
			"$i" "$(tgt_nqn "$name")" "$uuid" "$(tgt_port_uri "$port")" >> "$VOLDIR/$vol.conf"
	done
}

# ---- boot 1 --------------------------------------------------------------

test_boot1_prepare_volumes_and_reboot() {
	rm -rf "$STATE"
	mkdir -p "$STATE" "$VOLDIR"
	: > "$STATE/targets"
	tgt_modules
	add_target bootA-r1 3 > /dev/null && add_target bootA-r2 4 > /dev/null &&
		add_target bootB-r1 5 > /dev/null && add_target bootB-r2 6 > /dev/null &&
		add_target bootF-r1 7 > /dev/null && add_target bootN-r1 8 > /dev/null
	assertTrue "targets created" $?
	volume_file bootA 'degraded-timeout = 20' bootA-r1 bootA-r2
	volume_file bootB 'degraded-timeout = 5' bootB-r1 bootB-r2
	volume_file bootF 'degraded-timeout = 5' bootF-r1
	volume_file bootN 'auto = no\ndegraded-timeout = 5' bootN-r1
	nvmf-raid check bootA bootB bootF bootN
	assertEquals "volume files valid" 0 $?
	tgt_boot_unit "$STATE" nvmf-raid@bootA.service nvmf-raid@bootB.service \
		nvmf-raid@bootF.service nvmf-raid@bootN.service
	assertTrue "targets unit enabled" "systemctl is-enabled -q $TGT_BOOT_UNIT"
	assertTrue "nvmf-raid.target enabled by its preset" "systemctl is-enabled -q nvmf-raid.target"

	systemctl start nvmf-raid@bootA nvmf-raid@bootB
	assertEquals "bootA and bootB attached" 0 $?
	fio_write /dev/nvmf-raid/bootA
	assertEquals "bootA: data written" 0 $?
	fio_write /dev/nvmf-raid/bootB
	assertEquals "bootB: data written" 0 $?
	wait_until 60 md_idle "$(md_of bootA)" && wait_until 60 md_idle "$(md_of bootB)"
	assertTrue "initial resyncs done before the reboot" $?
	# Down across the reboot: bootB's second replica and bootF's only one.
	printf 'bootB-r2\nbootF-r1\n' > "$STATE/down"
	sync
	touch "$NVMF_RAID_REBOOT_FLAG"
}

# ---- boot 2 --------------------------------------------------------------

test_boot2_generator_wants_auto_volumes_only() {
	local wants
	wants=$(systemctl show -P Wants nvmf-raid.target)
	echo "nvmf-raid.target wants: $wants"
	assertContains "bootA pulled in" "$wants" "nvmf-raid@bootA.service"
	assertContains "bootB pulled in" "$wants" "nvmf-raid@bootB.service"
	assertContains "bootF pulled in" "$wants" "nvmf-raid@bootF.service"
	assertNotContains "bootN (auto = no) not pulled in" "$wants" "nvmf-raid@bootN.service"
	assertEquals "bootN not started" inactive "$(systemctl is-active nvmf-raid@bootN)"
	assertEquals "nvmf-raid.target reached" active "$(systemctl is-active nvmf-raid.target)"
	assertEquals "multi-user.target reached" active "$(systemctl is-active multi-user.target)"
}

test_boot2_volume_back_with_its_data() {
	local md
	assertEquals "bootA active" active "$(systemctl is-active nvmf-raid@bootA)"
	assertTrue "/dev/nvmf-raid/bootA exists" "[ -b /dev/nvmf-raid/bootA ]"
	md=$(md_of bootA)
	assertEquals "bootA: 2 members" 2 "$(cat "/sys/block/$md/md/raid_disks")"
	assertEquals "bootA: not degraded" 0 "$(md_degraded "$md")"
	fio_verify /dev/nvmf-raid/bootA
	assertEquals "bootA: data written before the reboot verifies" 0 $?
	assertEquals "bootA: the monitor runs" active "$(systemctl is-active nvmf-raid-monitor@bootA)"
}

test_boot2_degraded_start_then_heal() {
	local md r2dev
	assertEquals "bootB active" active "$(systemctl is-active nvmf-raid@bootB)"
	md=$(md_of bootB)
	assertEquals "bootB: started degraded" 1 "$(md_degraded "$md")"
	journalctl -b --no-pager -q -o verbose -u nvmf-raid@bootB | grep -q "^ *MESSAGE_ID=$DEGRADED_START_ID\$"
	assertTrue "journal: degraded start (MESSAGE_ID) this boot" $?
	fio_verify /dev/nvmf-raid/bootB
	assertEquals "bootB: data verifies while degraded" 0 $?

	# The replica's target comes back: the monitor reconnects and heals.
	read -r _ size uuid port < <(grep '^bootB-r2 ' "$STATE/targets")
	tgt_add bootB-r2 "$size" "$uuid" "$port"
	sed -i '/^bootB-r2$/d' "$STATE/down"
	wait_until 90 md_whole "$md"
	assertTrue "bootB: healed (not degraded, sync idle)" $?
	r2dev=$(dev_by_uuid "$uuid")
	assertEquals "bootB: r2 in sync" in_sync "$(md_member_state "$md" "$r2dev")"
	wait_until 20 json_in_sync_is bootB 2
	assertTrue "bootB: descriptor says both in-sync" $?
	echo check > "/sys/block/$md/md/sync_action"
	wait_until 60 md_idle "$md"
	assertEquals "bootB: replicas identical (md check)" 0 "$(cat "/sys/block/$md/md/mismatch_cnt")"
	fio_verify /dev/nvmf-raid/bootB
	assertEquals "bootB: data verifies after the heal" 0 $?
}

test_boot2_failed_volume_fails_alone_and_in_time() {
	local t0 t1
	assertEquals "bootF failed" failed "$(systemctl is-active nvmf-raid@bootF)"
	assertEquals "bootF: exit status 1" 1 "$(systemctl show -P ExecMainStatus nvmf-raid@bootF)"
	journalctl -b --no-pager -q -o cat -u nvmf-raid@bootF | grep -q "replica r1 .* did not appear within 5s"
	assertTrue "bootF: journal names the missing replica" $?
	t0=$(systemctl show -P ExecMainStartTimestampMonotonic nvmf-raid@bootF)
	t1=$(systemctl show -P ExecMainExitTimestampMonotonic nvmf-raid@bootF)
	echo "bootF: failed after $(((t1 - t0) / 1000)) ms"
	assertTrue "bootF gave up within its 5 s timeout (+10 s)" "[ $((t1 - t0)) -lt 15000000 ]"
	assertFalse "bootF: nothing left connected" "[ -n \"$(ctrls_by_nqn "$(tgt_nqn bootF-r1)")\" ]"
}

test_boot2_cleanup() {
	local v
	for v in bootA bootB bootF bootN; do
		systemctl stop "nvmf-raid@$v" > /dev/null 2>&1
		systemctl reset-failed "nvmf-raid@$v" > /dev/null 2>&1
		rm -f "$VOLDIR/$v.conf"
	done
	tgt_boot_unit_remove
	tgt_remove_all
	rm -rf "$STATE"
	# md removes a stopped array's device later, from a workqueue, and an
	# open of /dev/mdX meanwhile (udev runs mdadm on the change event) can
	# create it again, empty, until it is closed: on Debian 12 md127 was
	# still in /sys/block right after its stop ("md: md127 stopped").
	wait_until 30 no_md_device
	assertTrue "no array left: $(find /sys/block -mindepth 1 -maxdepth 1 -name 'md*' -printf '%f ')" $?
}

# no_md_device : /sys/block has no md device.
no_md_device() {
	local d
	for d in /sys/block/md*; do [ -e "$d" ] && return 1; done
	return 0
}

suite() {
	if [ "$BOOT" = 1 ]; then
		suite_addTest test_boot1_prepare_volumes_and_reboot
		return
	fi
	suite_addTest test_boot2_generator_wants_auto_volumes_only
	suite_addTest test_boot2_volume_back_with_its_data
	suite_addTest test_boot2_failed_volume_fails_alone_and_in_time
	suite_addTest test_boot2_degraded_start_then_heal
	suite_addTest test_boot2_cleanup
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
