#!/bin/bash
# One host identity (contract.md "Host identity", nvmf-raid@.service(8)
# HOST IDENTITY).  With /etc/nvme moved away and no DMI system UUID to
# read, the first attach creates /etc/nvme/hostnqn and hostid, and every
# controller (two replicas, each through 127.0.0.1:4420 and [::1]:4421)
# carries them: after detach and re-attach too, with targets that then
# admit this host only; when two volumes start at once after the files
# were lost; from a DMI UUID when there is one (a fake one over
# /sys/class/dmi/id: Debian 12's qemu guest has none); and after a reboot
# (boot 2, without that DMI UUID: the files win).
#
# The image's own /etc/nvme is restored when the suite ends (boot 1 if it
# did not get to ask for the reboot, else boot 2).
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

BOOT=${NVMF_RAID_BOOT:-1}
STATE=/var/lib/nvmf-raid-hostid-test	# survives the reboot
DMI=/sys/class/dmi/id/product_uuid
APP_ID=457fce97-5307-4080-9863-4ac7ad9b62d3	# HOSTID_APP_ID, helpers/shared/hostid.h
CURSOR=/tmp/hostid-test.cursor
UUID_NQN=nqn.2014-08.org.nvmexpress:uuid:

# volume VOL N : VOL.conf with N replicas VOL-r1.., each on ports 1 and 2;
# the namespace UUIDs are kept in $STATE, so boot 2 rebuilds the same.
volume() {
	local vol=$1 n=$2 i u
	[ -s "$STATE/$vol.uuids" ] || for i in $(seq 1 "$n"); do new_uuid; done > "$STATE/$vol.uuids"
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = 20\n' > "$VOLDIR/$vol.conf"
	for i in $(seq 1 "$n"); do
		u=$(sed -n "${i}p" "$STATE/$vol.uuids")
		tgt_add "$vol-r$i" 64M "$u" 1 2 || return 1
		printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = %s, %s\n' "$i" \
			"$(tgt_nqn "$vol-r$i")" "$u" "$(tgt_port_uri 1)" "$(tgt_port_uri 2)" >> "$VOLDIR/$vol.conf"
	done
}

# drop VOL... : detached, its file, targets and in-sync record gone.
drop() {
	local vol t
	for vol in "$@"; do
		systemctl stop "nvmf-raid@$vol" > /dev/null 2>&1
		systemctl reset-failed "nvmf-raid@$vol" > /dev/null 2>&1
		rm -f "$VOLDIR/$vol.conf" "/var/lib/nvmf-raid/$vol.json"
		for t in "$NVMET"/subsystems/"$(tgt_nqn "$vol")"-r*; do
			[ -d "$t" ] || continue
			admit_any "${t##*/}"
			tgt_remove "${t##*/"$TGT_NQN_PREFIX"}"
		done
	done
}

# admit_only NQN HOSTNQN / admit_any NQN : a target's host access list.
admit_only() {
	mkdir -p "$NVMET/hosts/$2"
	echo 0 > "$NVMET/subsystems/$1/attr_allow_any_host"
	ln -s "$NVMET/hosts/$2" "$NVMET/subsystems/$1/allowed_hosts/$2"
}

admit_any() {
	local h
	for h in "$NVMET/subsystems/$1"/allowed_hosts/*; do
		[ -L "$h" ] || continue
		rm -f "$h"
		rmdir "$NVMET/hosts/${h##*/}" 2>/dev/null
	done
	echo 1 > "$NVMET/subsystems/$1/attr_allow_any_host"
}

# "HOSTNQN HOSTID" of every controller of the volumes given, one a line.
ctrl_identities() {
	local vol t c
	for vol in "$@"; do
		for t in "$NVMET"/subsystems/"$(tgt_nqn "$vol")"-r*; do
			for c in $(ctrls_by_nqn "${t##*/}"); do
				echo "$(cat "/sys/class/nvme/$c/hostnqn") $(cat "/sys/class/nvme/$c/hostid")"
			done
		done
	done
}

file_identity() { echo "$(head -n 1 /etc/nvme/hostnqn) $(head -n 1 /etc/nvme/hostid)"; }

# assert_one_identity WHAT N VOL... : N controllers, all with /etc/nvme's identity.
assert_one_identity() {
	local what=$1 n=$2 ids
	shift 2
	ids=$(ctrl_identities "$@")
	printf '%s: controllers:\n%s\n' "$what" "$ids"
	assertEquals "$what: $n controllers" "$n" "$(echo "$ids" | grep -c .)"
	assertEquals "$what: one identity on all of them" 1 "$(echo "$ids" | sort -u | grep -c .)"
	assertEquals "$what: the identity of /etc/nvme" "$(file_identity)" "$(echo "$ids" | sort -u)"
}

# What hostid.c derives from the machine ID (sd_id128_get_machine_app_specific()).
machine_app_uuid() {
	py3 - "$APP_ID" <<'PY'
import hashlib, hmac, sys, uuid
mid = bytes.fromhex(open("/etc/machine-id").read().strip())
b = bytearray(hmac.new(mid, uuid.UUID(sys.argv[1]).bytes, hashlib.sha256).digest()[:16])
b[6] = (b[6] & 0x0F) | 0x40
b[8] = (b[8] & 0x3F) | 0x80
print(uuid.UUID(bytes=bytes(b)))
PY
}

# Where the helper said the new host NQN came from.
created_source() {
	sed -n 's|.*Created /etc/nvme/hostnqn (host NQN [^,]*, \(.*\))\.$|\1|p' | head -n 1
}

restore_identity() {
	umount "$DMI" 2> /dev/null
	mountpoint -q "${DMI%/*}" && umount "${DMI%/*}"
	if [ -d "$STATE/etc-nvme" ]; then
		rm -rf /etc/nvme
		mv "$STATE/etc-nvme" /etc/nvme
		echo "restored the image's /etc/nvme: $(cat /etc/nvme/hostnqn 2> /dev/null)"
	fi
	rm -rf "$STATE"
}

oneTimeSetUp() {
	tgt_modules || return 1
	[ "$BOOT" = 1 ] || return 0
	rm -rf "$STATE"
	mkdir -p "$STATE"
	# The image's identity, directory and all, goes away for the suite.
	[ -e /etc/nvme ] && mv /etc/nvme "$STATE/etc-nvme"
	if [ -e "$DMI" ]; then
		: > "$STATE/empty"
		mount --bind "$STATE/empty" "$DMI"
		echo "DMI system UUID hidden under an empty file"
	else
		echo "this guest has no DMI system UUID ($DMI)"
	fi
}

oneTimeTearDown() {
	drop hid hidb
	tgt_remove_all
	if [ "$BOOT" = 1 ] && [ -f "${NVMF_RAID_REBOOT_FLAG:-/nonexistent}" ]; then
		umount "$DMI" 2> /dev/null	# boot 2 restores
		mountpoint -q "${DMI%/*}" && umount "${DMI%/*}"
		return 0
	fi
	restore_identity
}

# ---- boot 1 --------------------------------------------------------------

test_first_attach_creates_one_identity() {
	local nqn id log src
	assertFalse "no /etc/nvme to begin with" "[ -e /etc/nvme ]"
	assertFalse "no DMI system UUID to read" "[ -s $DMI ]"
	volume hid 2 || fail "targets"
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@hid
	assertEquals "attached" 0 $?
	assertTrue "/etc/nvme/hostnqn created" "[ -s /etc/nvme/hostnqn ]"
	assertTrue "/etc/nvme/hostid created" "[ -s /etc/nvme/hostid ]"
	assertEquals "/etc/nvme created 0755" 755 "$(stat -c %a /etc/nvme)"
	assertEquals "hostnqn 0644" 644 "$(stat -c %a /etc/nvme/hostnqn)"
	assertEquals "hostid 0644" 644 "$(stat -c %a /etc/nvme/hostid)"
	nqn=$(head -n 1 /etc/nvme/hostnqn)
	id=$(head -n 1 /etc/nvme/hostid)
	assertEquals "host NQN: $UUID_NQN<host ID>" "$UUID_NQN$id" "$nqn"
	assert_one_identity "first attach" 4 hid
	assertEquals "nvme-cli sees the same host NQN" "$nqn" "$(nvme show-hostnqn 2> /dev/null)"

	log=$(journal_since "$CURSOR")
	assertEquals "journal: Created /etc/nvme/hostnqn, once" 1 \
		"$(echo "$log" | grep -c "Created /etc/nvme/hostnqn (host NQN $nqn, ")"
	assertEquals "journal: Created /etc/nvme/hostid, once" 1 \
		"$(echo "$log" | grep -c "Created /etc/nvme/hostid (host ID $id, from the UUID in the host NQN)")"
	src=$(echo "$log" | created_source)
	echo "host NQN $nqn, $src"
	assertNotEquals "not from the hidden DMI UUID" "from the DMI system UUID" "$src"
	if [ "$src" = "derived from the machine ID" ]; then
		assertEquals "the machine ID's UUID for nvmf-raid" "$(machine_app_uuid)" "$id"
	else
		assertEquals "else random" "random: no DMI system UUID and no machine ID" "$src"
	fi
	echo "$src" > "$STATE/source"
	file_identity > "$STATE/identity"
}

test_reattach_same_identity_admitted_alone() {
	local t
	systemctl stop nvmf-raid@hid
	assertEquals "detached" 0 $?
	assertEquals "no controller left" "" "$(ctrl_identities hid)"
	# From now on the targets admit this host only, as ACLs do.
	for t in "$NVMET"/subsystems/"$(tgt_nqn hid)"-r*; do
		admit_only "${t##*/}" "$(head -n 1 /etc/nvme/hostnqn)"
	done
	nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$(tgt_nqn hid-r1)" \
		--hostnqn="$UUID_NQN$(new_uuid)" --hostid="$(new_uuid)" > /dev/null 2>&1
	assertNotEquals "control: another host NQN is refused now" 0 $?
	nvme disconnect -n "$(tgt_nqn hid-r1)" > /dev/null 2>&1
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@hid
	assertEquals "re-attached by targets that admit this host only" 0 $?
	assert_one_identity "re-attach" 4 hid
	assertEquals "the identity of the first attach" "$(cat "$STATE/identity")" "$(file_identity)"
	assertEquals "nothing created again" 0 "$(journal_since "$CURSOR" | grep -c 'Created /etc/nvme')"
}

test_two_starts_at_once_create_once() {
	local t log
	for t in "$NVMET"/subsystems/"$(tgt_nqn hid)"-r*; do admit_any "${t##*/}"; done
	systemctl stop nvmf-raid@hid
	volume hidb 1 || fail "targets"
	rm -f /etc/nvme/hostnqn /etc/nvme/hostid
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@hid nvmf-raid@hidb
	assertEquals "both attached" 0 $?
	log=$(journal_since "$CURSOR")
	assertEquals "journal: hostnqn created once for both" 1 \
		"$(echo "$log" | grep -c 'Created /etc/nvme/hostnqn ')"
	assertEquals "journal: hostid created once for both" 1 \
		"$(echo "$log" | grep -c 'Created /etc/nvme/hostid ')"
	assert_one_identity "two volumes started at once" 6 hid hidb
	if [ "$(cat "$STATE/source")" = "derived from the machine ID" ]; then
		assertEquals "derived again: the same identity as before" \
			"$(cat "$STATE/identity")" "$(file_identity)"
	fi
	file_identity > "$STATE/identity"
	drop hidb
}

# A DMI system UUID where the guest has none: a directory of ours over
# /sys/class/dmi/id, read through the real path.
test_dmi_uuid_wins_when_there() {
	local fake=4c4c4544-0042-3510-8052-b4c04f384833 id
	[ -d "${DMI%/*}" ] || { startSkipping; return; }
	systemctl stop nvmf-raid@hid
	mkdir -p "$STATE/dmi"
	echo "4C4C4544-0042-3510-8052-B4C04F384833" > "$STATE/dmi/product_uuid"
	mount --bind "$STATE/dmi" "${DMI%/*}" || fail "mount over ${DMI%/*}"
	rm -f /etc/nvme/hostnqn /etc/nvme/hostid
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@hid
	assertEquals "attached" 0 $?
	umount "${DMI%/*}"
	id=$(head -n 1 /etc/nvme/hostid)
	assertEquals "host ID: the DMI UUID, lower case" "$fake" "$id"
	assertEquals "host NQN from it" "$UUID_NQN$fake" "$(head -n 1 /etc/nvme/hostnqn)"
	assertEquals "journal says so" "from the DMI system UUID" "$(journal_since "$CURSOR" | created_source)"
	assert_one_identity "DMI UUID" 4 hid
	file_identity > "$STATE/identity"
}

# An identity that cannot be had fails the start at once, naming the file.
test_invalid_hostnqn_fails_start_at_once() {
	local t0 t1 saved
	systemctl stop nvmf-raid@hid
	saved=$(cat /etc/nvme/hostnqn)
	echo "host-1" > /etc/nvme/hostnqn
	journal_mark "$CURSOR"
	t0=$(uptime_s)
	systemctl start nvmf-raid@hid > /dev/null 2>&1
	assertNotEquals "start fails" 0 $?
	t1=$(uptime_s)
	assertEquals "exit status 1" 1 "$(unit_status hid)"
	journal_since "$CURSOR" | grep -q '/etc/nvme/hostnqn: not a valid host NQN: does not start with "nqn."'
	assertTrue "journal names the file and why" $?
	assertEquals "nothing connected" "" "$(ctrl_identities hid)"
	assertEquals "the file is left alone" "host-1" "$(cat /etc/nvme/hostnqn)"
	echo "failed after $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')s"
	assertTrue "before the degraded timeout (20 s)" "awk -v a=$t0 -v b=$t1 'BEGIN {exit !(b - a < 15)}'"
	echo "$saved" > /etc/nvme/hostnqn
	systemctl reset-failed nvmf-raid@hid
}

test_boot1_reboot() {
	drop hid
	assertTrue "identity files there for the reboot" "[ -s /etc/nvme/hostnqn ] && [ -s /etc/nvme/hostid ]"
	sync
	touch "$NVMF_RAID_REBOOT_FLAG"
}

# ---- boot 2 --------------------------------------------------------------

test_boot2_same_identity() {
	[ -e "$DMI" ] && echo "DMI system UUID visible again: $(cat "$DMI" 2> /dev/null)"
	assertEquals "files kept across the reboot" "$(cat "$STATE/identity")" "$(file_identity)"
	volume hid 2 || fail "targets"
	systemctl start nvmf-raid@hid
	assertEquals "attached after the reboot" 0 $?
	assert_one_identity "after the reboot" 4 hid
	assertEquals "the identity of before the reboot" "$(cat "$STATE/identity")" "$(file_identity)"
	assertEquals "nothing created this boot" 0 \
		"$(journalctl -b --no-pager -q -o cat | grep -c 'Created /etc/nvme')"
}

suite() {
	if [ "$BOOT" = 1 ]; then
		suite_addTest test_first_attach_creates_one_identity
		suite_addTest test_reattach_same_identity_admitted_alone
		suite_addTest test_two_starts_at_once_create_once
		suite_addTest test_dmi_uuid_wins_when_there
		suite_addTest test_invalid_hostnqn_fails_start_at_once
		suite_addTest test_boot1_reboot
		return
	fi
	suite_addTest test_boot2_same_identity
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
