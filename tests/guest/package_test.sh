#!/bin/bash
# The Debian package's life in the guest, as an admin lives it (issue 13):
# apt installs it over an attached volume (an upgrade) without detaching
# anything, and apt purge leaves no file behind but what the admin wrote;
# installed again, the volume starts from its replicas with the data
# written before.  Runs where the guest installed the package (tests/run
# --package); after a make install, there is no package to test and the
# suite says so and skips.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

SIZE=32M
DEB=

oneTimeSetUp() {
	local d
	tgt_modules || return 1
	for d in "${NVMF_RAID_TESTLIB:-./lib}"/../deb/nvmf-raid_*_amd64.deb; do
		[ -e "$d" ] || break
		# apt reads it as its sandbox user: not from the 9p share.
		cp "$d" /tmp/ && DEB=/tmp/${d##*/}
	done
}

setUp() {
	FIO_PID=
	if [ -z "$DEB" ] || [ "$(dpkg-query -W -f '${Status}' nvmf-raid 2> /dev/null)" != "install ok installed" ]; then
		echo "not installed from a package (tests/run --package): skipped"
		startSkipping
	fi
}

tearDown() { fault_teardown; }

apt_quiet() { DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" > /tmp/apt.log 2>&1 || { cat /tmp/apt.log; return 1; }; }

# An upgrade (here the same version again) under an attached volume with
# writes going on: the unit stays active, the array running, fio --verify
# sees no error.
test_reinstall_keeps_the_volume_attached() {
	local md
	new_volume pu 2 "$SIZE"
	systemctl start nvmf-raid@pu || { fail "attach"; return; }
	md=$(md_of pu)
	md_wait /dev/nvmf-raid/pu
	fio_start pu
	apt_quiet install --reinstall "$DEB"
	assertTrue "apt install --reinstall" $?
	sleep 2 # writes go on after the maintainer scripts
	fio_stop
	assertEquals "unit still active" active "$(unit_active pu)"
	assertEquals "same array still running" "$md" "$(md_of pu)"
	assertEquals "both members still in the array" 0 "$(md_degraded "$md")"
	drop_volume pu
}

# What may remain after apt purge: the admin's volume file (and its
# directories).  Every file the package shipped, its state in
# /var/lib/nvmf-raid, its enablement links and its units' state are gone.
test_purge_leaves_only_what_the_admin_wrote() {
	local f left='' md
	new_volume pp 2 "$SIZE"
	systemctl start nvmf-raid@pp || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/pp
	fio_write /dev/nvmf-raid/pp 8M
	assertTrue "data written" $?
	systemctl stop nvmf-raid@pp || fail "detach"
	assertTrue "in-sync record kept by the package" "[ -e /var/lib/nvmf-raid/pp.json ]"
	dpkg-query -L nvmf-raid > /tmp/pkg-files
	apt_quiet purge nvmf-raid
	assertTrue "apt purge" $?
	while read -r f; do
		[ -d "$f" ] && continue
		[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
	done < /tmp/pkg-files
	assertEquals "files of the package left after purge" "" "$left"
	assertFalse "/var/lib/nvmf-raid removed" "[ -e /var/lib/nvmf-raid ]"
	assertFalse "nvmf-raid.target no longer enabled" \
		"[ -e /etc/systemd/system/multi-user.target.wants/nvmf-raid.target ]"
	assertEquals "unit files known to systemd" "" \
		"$(systemctl list-unit-files --no-legend 'nvmf-raid*' 2> /dev/null)"
	assertTrue "the admin's volume file kept" "[ -f $VOLDIR/pp.conf ]"
	assertTrue "the host NQN kept (/etc/nvme)" "[ -s /etc/nvme/hostnqn ]"

	apt_quiet install "$DEB"
	assertTrue "apt install again" $?
	systemctl start nvmf-raid@pp
	assertTrue "start after the new install" $?
	md=$(md_of pp)
	md_wait /dev/nvmf-raid/pp
	assertEquals "both replicas in the array" 0 "$(md_degraded "$md")"
	fio_verify /dev/nvmf-raid/pp 8M
	assertTrue "data written before the purge read back" $?
	drop_volume pp
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
