#!/bin/bash
# Issue 16: OpenStack's os-brick hands replicated volumes to nvmf-raid.
# contrib/os-brick's patch for this release is applied to a copy of the
# release's own os-brick (python3-os-brick), its unit tests run there, and
# the patched os-brick is driven exactly as Nova's libvirt NVMe volume
# driver drives it (lib/nova_osbrick.py: os_brick.setup(), the privsep
# daemon, InitiatorConnector.factory('NVME', ...), connect_volume,
# extend_volume, disconnect_volume), against kernel nvmet targets.  The
# unpatched os-brick runs beside it, in its own process, for the cases
# where the two must behave alike.  Values are made up.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

RUNVOL=/run/nvmf-raid/volumes
PATCHED=/tmp/osbrick-patched
WORK=/tmp/nova-osbrick
# the os-brick processes' logs (warnings, tracebacks) are kept with the suite's
LOGS=${NVMF_RAID_OUT:-$WORK}
NVMF_RAID=/usr/sbin/nvmf-raid
HIDDEN=/usr/sbin/.nvmf-raid.hidden
CID=4f6b2a1e-9c3d-4e5f-8a7b-0c1d2e3f4a5b	# a Cinder volume id
KUMO_ALIAS=volume-4f6b2a1e-9c3d-4e5f-8	# KumoScale cuts the name to 27
MIB=1048576

oneTimeSetUp() {
	local v p
	tgt_modules || return 1
	tgt_port 1
	mkdir -p "$WORK"
	# The patch for this release's os-brick, onto a copy of it.
	v=$(dpkg-query -W -f '${Version}' python3-os-brick)
	v=${v%%-*}
	PATCHES=$(ls "$NVMF_RAID_TESTLIB/../contrib/os-brick/${v%.*}"/*.patch 2> /dev/null)
	# shellcheck disable=SC2086 # one line per patch
	printf "python3-os-brick $v: %s\n" ${PATCHES:-none}
	rm -rf "$PATCHED"
	mkdir -p "$PATCHED"
	cp -a /usr/lib/python3/dist-packages/os_brick "$PATCHED/"
	PATCH_RC=none
	: > "$WORK/patch.log"
	for p in $PATCHES; do
		patch -p1 --fuzz=0 --no-backup-if-mismatch -d "$PATCHED" < "$p" >> "$WORK/patch.log" 2>&1
		PATCH_RC=$?
		[ "$PATCH_RC" = 0 ] || break
	done
	cp /etc/nvme/hostnqn "$WORK/hostnqn.saved"
	cp /etc/nvme/hostid "$WORK/hostid.saved"
	# Both processes import os-brick (5-10 s each) while the first test runs.
	brick_start P "$PATCHED"
	brick_start S ""
}

oneTimeTearDown() {
	exec {BRICK_P_IN}>&- {BRICK_S_IN}>&-
	wait
}

tearDown() {
	local v
	[ -e "$HIDDEN" ] && mv "$HIDDEN" "$NVMF_RAID"
	cp "$WORK/hostnqn.saved" /etc/nvme/hostnqn
	cp "$WORK/hostid.saved" /etc/nvme/hostid
	fio_stop > /dev/null
	for v in $(ls "$RUNVOL" 2> /dev/null | sed -n 's/\.conf$//p'); do
		systemctl stop "nvmf-raid@$v" > /dev/null 2>&1
		systemctl reset-failed "nvmf-raid@$v" > /dev/null 2>&1
		rm -f "$RUNVOL/$v.conf" "/var/lib/nvmf-raid/$v.json"
	done
	# What os-brick's own connector left (a failed case): its md arrays
	# and its controllers.
	for v in /dev/md/*; do [ -e "$v" ] && mdadm --stop "$v" > /dev/null 2>&1; done
	for v in "$NVMET"/subsystems/"$TGT_NQN_PREFIX"*; do
		[ -d "$v" ] && nqn_connected "${v##*/}" && nvme disconnect -n "${v##*/}" > /dev/null 2>&1
	done
	tgt_remove_all
	brick P '{"op": "option", "value": "replicated"}' > /dev/null
	return 0
}

# brick_start WHO PYTHONPATH : a Nova-style os-brick process (WHO: P the
# patched copy, S the release's own), talked to through two FIFOs.
brick_start() {
	local who=$1 in=$WORK/$1.in out=$WORK/$1.out
	rm -f "$in" "$out"
	mkfifo "$in" "$out"
	PYTHONPATH=$2 python3 -u "$NVMF_RAID_TESTLIB/nova_osbrick.py" < "$in" > "$out" 2>> "$LOGS/nova-osbrick-$who.log" &
	eval "exec {BRICK_${who}_IN}> $in {BRICK_${who}_OUT}< $out"
}

# brick WHO REQUEST : one request; the answer line in $ANS and on stdout.
brick() {
	local in out
	eval "in=\$BRICK_$1_IN out=\$BRICK_$1_OUT"
	ANS=
	{ printf '%s\n' "$2" >&"$in" && IFS= read -r -t 600 ANS <&"$out"; } 2> /dev/null ||
		ANS='{"ok": null, "error": "no answer: the os-brick process ended or hung (nova-osbrick-'$1'.log)"}'
	printf '%s\n' "$ANS"
}

# ans EXPR : a Python expression over the last answer, a.
ans() { py3 -c 'import json, sys; a = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$ANS" "$1"; }

# nova_connect WHO ID JSON : connect_volume; the answer checked for "ok" by the caller.
# A unit that failed to start has its journal printed.
nova_connect() {
	local unit
	brick "$1" "$(printf '{"op": "connect", "id": "%s", "data": %s}' "$2" "$3")" > /dev/null
	unit=$(printf '%s' "$ANS" | sed -n "s/.*journalctl -u \(nvmf-raid@[^ ']*\).*/\1/p")
	[ -z "$unit" ] || journalctl -u "$unit" -n 40 --no-pager -o short-monotonic
}

# A target of replica I of VOL, os-brick's form ("TCP" as KumoScale sends it).
brick_target() {
	printf '{"target_nqn": "%s", "vol_uuid": "%s", "portals": [["127.0.0.1", "4420", "%s"]]}' \
		"$(tgt_nqn "$1-r$2")" "$(replica_uuid "$1" "$2")" "${3:-tcp}"
}

# The spec's form of a replica: nqn, uuid, portal objects.
spec_target() {
	printf '{"nqn": "%s", "uuid": "%s", "portals": [{"address": "127.0.0.1", "port": "4420", "transport": "tcp"}]}' \
		"$(tgt_nqn "$1-r$2")" "$(replica_uuid "$1" "$2")"
}

# make_targets VOL N [SIZE] : N targets VOL-r1..VOL-rN on port 1.
make_targets() {
	local i
	mkdir -p "$TGT_STORE"
	: > "$TGT_STORE/$1.uuids"
	for i in $(seq 1 "$2"); do
		new_uuid >> "$TGT_STORE/$1.uuids"
		tgt_add "$1-r$i" "${3:-64M}" "$(replica_uuid "$1" "$i")" 1 || return 1
	done
}

# assert_gone NAME VOL N : nothing of volume NAME (targets VOL, N replicas) is left.
assert_gone() {
	local name=$1 i
	assertEquals "$name: unit inactive" inactive "$(unit_active "$name")"
	assertFalse "$name: /dev/nvmf-raid/$name gone" "[ -e /dev/nvmf-raid/$name ]"
	assertFalse "$name: transient file gone" "[ -e $RUNVOL/$name.conf ]"
	assertFalse "$name: descriptor gone" "[ -e /run/nvmf-raid/$name.json ]"
	assertEquals "$name: no md array over its replicas" 0 "$(arrays_of "$2")"
	for i in $(seq 1 "$3"); do
		assertEquals "$name: replica $i disconnected" "" "$(ctrls_by_nqn "$(tgt_nqn "$2-r$i")")"
	done
}

# sha DEV OFFSET_MIB : sha256 of 8 MiB of DEV at OFFSET_MIB, read direct.
sha() { dd if="$1" bs=1M skip="$2" count=8 iflag=direct status=none | sha256sum | cut -d' ' -f1; }

# put DEV OFFSET_MIB FILE : 8 MiB of FILE written at OFFSET_MIB, direct.
put() { dd if="$3" of="$1" bs=1M seek="$2" count=8 oflag=direct conv=notrunc status=none; }

size_of() { blockdev --getsize64 "$1"; }


test_patch_applies_and_its_unit_tests_pass() {
	local out n
	assertEquals "the patches for this os-brick apply without fuzz ($(cat "$WORK/patch.log" 2>/dev/null))" 0 "$PATCH_RC"
	out=$(cd "$PATCHED" && PYTHONPATH=$PATCHED python3 -m unittest os_brick.tests.initiator.test_nvmf_raid \
		os_brick.tests.initiator.connectors.test_nvmeof os_brick.tests.privileged.test_nvmeof 2>&1)
	assertEquals "os-brick's unit tests, patched: OK ($(echo "$out" | tail -5))" OK "$(echo "$out" | tail -1)"
	n=$(echo "$out" | sed -n 's/^Ran \([0-9]*\) tests.*/\1/p')
	echo "FIGURE: os-brick unit tests (test_nvmf_raid, connectors and privileged test_nvmeof) patched: ${n:-0} ran, $(echo "$out" | tail -1)"
	assertTrue "the new tests ran with the old ($n)" "[ ${n:-0} -gt 150 ]"
	brick P '{"op": "where"}'
	assertEquals "the Nova-style process imports the patched copy" "$PATCHED/os_brick" "$(ans "a['result']")"
	brick S '{"op": "where"}'
	assertEquals "the other imports the release's own" /usr/lib/python3/dist-packages/os_brick "$(ans "a['result']")"
}

# The spec's replicas (nqn, uuid, portal objects) under the Cinder volume
# id os-brick requires of every replicated volume: attach, lose a replica
# with fio writing, heal, read back from the healed replica alone, extend,
# switch the delegation off and detach: still through nvmf-raid.
test_spec_replicas_attach_heal_extend_detach() {
	local data path before
	make_targets nvb 2 || fail "targets"
	data=$(printf '{"vol_uuid": "%s", "volume_replicas": [%s, %s], "qos_specs": null, "access_mode": "rw", "encrypted": false}' \
		"$CID" "$(spec_target nvb 1)" "$(spec_target nvb 2)")
	echo "nova: connect_volume($data)"
	nova_connect P a "$data"
	echo "  -> $ANS"
	assertEquals "connect_volume: ok ($ANS)" True "$(ans "a['ok']")"
	path=$(ans "a['result']['path']")
	assertEquals "the path" "/dev/nvmf-raid/$CID" "$path"
	assertEquals "type block" block "$(ans "a['result']['type']")"
	assertEquals "md raid1" raid1 "$(cat "/sys/block/$(md_of "$CID")/md/level" 2>/dev/null)"
	assertEquals "2 members" 2 "$(cat "/sys/block/$(md_of "$CID")/md/raid_disks" 2>/dev/null)"
	assertEquals "unit active" active "$(unit_active "$CID")"
	brick P "$(printf '{"op": "paths", "data": %s}' "$data")" > /dev/null
	assertEquals "get_volume_paths, no path given: nvmf-raid's answer" "['/dev/nvmf-raid/$CID']" "$(ans "a['result']")"

	head -c $((8 * MIB)) /dev/urandom > "$WORK/a"
	head -c $((8 * MIB)) /dev/urandom > "$WORK/b"
	put "$path" 32 "$WORK/a"
	fio_start "$CID"
	tgt_vanish nvb-r2
	wait_state "$CID" 1 faulty 30
	assertTrue "replica 1 (r2) faulty within 30 s" $?
	put "$path" 40 "$WORK/b"
	tgt_return nvb-r2
	wait_state "$CID" 1 in-sync 90
	assertTrue "replica 1 (r2) healed in within 90 s" $?
	fio_stop
	echo "FIGURE: longest write ${FIO_MAX_LAT}s, $FIO_IOS writes, through r2's loss and heal"
	assertTrue "writes stalled under 15 s (longest ${FIO_MAX_LAT}s)" \
		"awk -v l='$FIO_MAX_LAT' 'BEGIN {exit !(l != \"\" && l < 15)}'"
	# r1 away: what is read now comes from the healed r2 alone.
	tgt_vanish nvb-r1
	wait_state "$CID" 0 faulty 30
	assertTrue "replica 0 (r1) faulty within 30 s" $?
	assertEquals "written before the loss, read from the healed replica" "$(sha256sum < "$WORK/a" | cut -d' ' -f1)" "$(sha "$path" 32)"
	assertEquals "written while it was away, read from it" "$(sha256sum < "$WORK/b" | cut -d' ' -f1)" "$(sha "$path" 40)"
	tgt_return nvb-r1
	wait_state "$CID" 0 in-sync 90
	assertTrue "replica 0 (r1) back in sync" $?

	before=$(size_of "$path")
	tgt_grow nvb-r1 96M && tgt_grow nvb-r2 96M
	brick P '{"op": "extend", "id": "a"}' > /dev/null
	echo "nova: extend_volume(data) -> $ANS"
	assertEquals "extend_volume: ok ($ANS)" True "$(ans "a['ok']")"
	echo "FIGURE: extend_volume returned $(ans "a['result']") (was $before)"
	assertEquals "extend_volume returns the device's new size" "$(size_of "$path")" "$(ans "a['result']")"
	assertTrue "grown ($before -> $(ans "a['result']"))" "[ $(ans "a['result']") -gt $((before + 16 * MIB)) ]"
	assertEquals "data kept" "$(sha256sum < "$WORK/b" | cut -d' ' -f1)" "$(sha "$path" 40)"

	brick P '{"op": "option", "value": "never"}' > /dev/null
	brick P '{"op": "disconnect", "id": "a"}' > /dev/null
	echo "nova: disconnect_volume(data, None, force=False) -> $ANS"
	assertEquals "disconnect_volume with nvmf_raid = never: ok ($ANS)" True "$(ans "a['ok']")"
	assert_gone "$CID" nvb 2
}

# KIOXIA KumoScale's form (cinder/volume/drivers/kioxia/kumoscale.py):
# replicated, the volume name as alias cut to 27 characters, "TCP".
test_kumoscale_replicated_and_single() {
	local data path
	make_targets nvk 2 || fail "targets"
	data=$(printf '{"vol_uuid": "%s", "alias": "%s", "writable": true, "volume_replicas": [%s, %s], "replica_count": 2, "access_mode": "rw", "encrypted": false, "cacheable": false, "enforce_multipath": false}' \
		"$CID" "$KUMO_ALIAS" "$(brick_target nvk 1 TCP)" "$(brick_target nvk 2 TCP)")
	nova_connect P k "$data"
	assertEquals "connect_volume: ok ($ANS)" True "$(ans "a['ok']")"
	path=$(ans "a['result']['path']")
	assertEquals "the path, named by the alias" "/dev/nvmf-raid/$KUMO_ALIAS" "$path"
	fio_write "$path"
	assertEquals "fio write and verify" 0 $?
	tgt_grow nvk-r1 96M && tgt_grow nvk-r2 96M
	brick P '{"op": "extend", "id": "k"}' > /dev/null
	assertEquals "extend_volume: ok ($ANS)" True "$(ans "a['ok']")"
	assertEquals "extend_volume returns the device's new size" "$(size_of "$path")" "$(ans "a['result']")"
	fio_verify "$path"
	assertEquals "data verifies after extend" 0 $?
	brick P '{"op": "disconnect", "id": "k"}' > /dev/null
	assertEquals "disconnect_volume: ok ($ANS)" True "$(ans "a['ok']")"
	assertEquals "disconnect_volume returns None" None "$(ans "a['result']")"
	assert_gone "$KUMO_ALIAS" nvk 2

	# One replica (a fresh namespace: on one that carries md metadata
	# os-brick assembles an array): os-brick's own by default, nvmf-raid's
	# with "all".
	make_targets nvk1 1 || fail "targets"
	data=$(printf '{"vol_uuid": "%s", "alias": "%s", "writable": true, "volume_replicas": [%s], "replica_count": 1}' \
		"$CID" "$KUMO_ALIAS" "$(brick_target nvk1 1 TCP)")
	nova_connect P k1 "$data"
	assertEquals "one replica, default: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
	assertEquals "one replica, default: os-brick's own device, the namespace" \
		"/dev/$(dev_by_uuid "$(replica_uuid nvk1 1)")" "$(ans "a['result']['path']")"
	assertEquals "one replica, default: no nvmf-raid unit" inactive "$(unit_active "$KUMO_ALIAS")"
	brick P '{"op": "disconnect", "id": "k1"}' > /dev/null
	assertEquals "one replica, default: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
	brick P '{"op": "option", "value": "all"}' > /dev/null
	nova_connect P k1 "$data"
	assertEquals "one replica, all: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
	assertEquals "one replica, all: nvmf-raid's device" "/dev/nvmf-raid/$KUMO_ALIAS" "$(ans "a['result']['path']")"
	assertEquals "one replica, all: it is the namespace" "$(dev_by_uuid "$(replica_uuid nvk1 1)")" \
		"$(basename "$(readlink -f "/dev/nvmf-raid/$KUMO_ALIAS")")"
	brick P '{"op": "disconnect", "id": "k1"}' > /dev/null
	assertEquals "one replica, all: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
	assert_gone "$KUMO_ALIAS" nvk1 1
}

# The spec's examples as they are: the replicated one names no volume,
# the flat one is a single replica os-brick itself cannot read.
test_spec_examples_as_written() {
	local rep flat u
	make_targets nvs 2 || fail "targets"
	rep=$(printf '{"volume_replicas": [%s, %s]}' "$(spec_target nvs 1)" "$(spec_target nvs 2)")
	nova_connect P r "$rep"
	assertEquals "replicated, no name: connect_volume fails" False "$(ans "a['ok']")"
	assertContains "BrickException with nvmf-raid's reason ($ANS)" "$(ans "a['error']")" "no volume name"
	assertContains "and its exit status" "$(ans "a['error']")" "exit code 2"
	assertEquals "nothing written" "" "$(find "$RUNVOL" -maxdepth 1 -name '*.conf' 2>/dev/null)"
	assertEquals "nothing connected" "" "$(ctrls_by_nqn "$(tgt_nqn nvs-r1)")"

	u=$(replica_uuid nvs 1)
	flat=$(printf '{"uuid": "%s", "nqn": "%s", "portals": [{"address": "127.0.0.1", "port": "4420", "transport": "tcp"}], "volume_replicas": null}' \
		"$u" "$(tgt_nqn nvs-r1)")
	nova_connect S f "$flat"
	local stock=$ANS
	nova_connect P f "$flat"
	assertEquals "flat, default: the patched connector fails as the release's own does" \
		"$(ANS=$stock ans "a['error'].split(':')[0]")" "$(ans "a['error'].split(':')[0]")"
	brick P '{"op": "option", "value": "all"}' > /dev/null
	nova_connect P f "$flat"
	assertEquals "flat, all: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
	assertEquals "flat, all: named after the namespace UUID" "/dev/nvmf-raid/$u" "$(ans "a['result']['path']")"
	brick P '{"op": "disconnect", "id": "f"}' > /dev/null
	assertEquals "flat, all: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
	assert_gone "$u" nvs 1
}

# A disconnect that nvmf-raid refuses (the device is held open): raised,
# unless force and ignore_errors, as os-brick documents them; the volume
# stays attached either way and a later disconnect detaches it.
test_disconnect_of_a_held_device() {
	local data
	make_targets nvh 2 || fail "targets"
	data=$(printf '{"vol_uuid": "%s", "alias": "nvh", "volume_replicas": [%s, %s], "replica_count": 2}' \
		"$CID" "$(brick_target nvh 1)" "$(brick_target nvh 2)")
	nova_connect P h "$data"
	assertEquals "connect_volume: ok ($ANS)" True "$(ans "a['ok']")"
	exec {held}< /dev/nvmf-raid/nvh
	brick P '{"op": "disconnect", "id": "h"}' > /dev/null
	assertEquals "held open: disconnect_volume raises" False "$(ans "a['ok']")"
	assertContains "BrickException naming the exit code ($ANS)" "$(ans "a['error']")" "exit code 1"
	brick P '{"op": "disconnect", "id": "h", "force": true}' > /dev/null
	assertEquals "held open, force alone: raises" False "$(ans "a['ok']")"
	brick P '{"op": "disconnect", "id": "h", "force": true, "ignore_errors": true}' > /dev/null
	assertEquals "held open, force and ignore_errors: returns" True "$(ans "a['ok']")"
	assertTrue "still attached: the device is kept" "[ -b /dev/nvmf-raid/nvh ]"
	assertTrue "still attached: its descriptor is kept" "[ -f /run/nvmf-raid/nvh.json ]"
	assertTrue "still attached: the transient file is kept" "[ -f $RUNVOL/nvh.conf ]"
	exec {held}<&-
	nova_connect P h2 "$data"
	assertEquals "a second attach of the same volume is refused ($ANS)" False "$(ans "a['ok']")"
	assertContains "as multi-attach" "$(ans "a['error']")" "multi-attach"
	brick P "$(printf '{"op": "paths", "data": %s, "device_info": {"path": "/dev/nvmf-raid/nvh"}}' "$data")" > /dev/null
	assertEquals "get_volume_paths from device_info" "['/dev/nvmf-raid/nvh']" "$(ans "a['result']")"
	# Nova retries the detach with the same connection data.
	brick P '{"op": "disconnect", "id": "h"}' > /dev/null
	assertEquals "released: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
	assert_gone nvh nvh 2
}

# get_connector_properties reports the host NQN and host ID the controllers
# nvmf-raid connects use, whichever of the two creates them.
test_connector_properties_are_nvmf_raids_identity() {
	local order data c
	make_targets nvi 2 || fail "targets"
	data=$(printf '{"vol_uuid": "%s", "alias": "nvi", "volume_replicas": [%s, %s], "replica_count": 2}' \
		"$CID" "$(brick_target nvi 1)" "$(brick_target nvi 2)")
	for order in kept os-brick-first nvmf-raid-first; do
		[ "$order" = kept ] || rm -f /etc/nvme/hostnqn /etc/nvme/hostid
		if [ "$order" = nvmf-raid-first ]; then
			nova_connect P i "$data"
			assertEquals "$order: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
			brick P '{"op": "properties"}' > /dev/null
		else
			brick P '{"op": "properties"}' > /dev/null
			local props=$ANS
			nova_connect P i "$data"
			assertEquals "$order: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
			ANS=$props
		fi
		assertEquals "$order: nqn reported is /etc/nvme/hostnqn" "$(cat /etc/nvme/hostnqn)" "$(ans "a['result'].get('nqn')")"
		c=$(ctrls_by_nqn "$(tgt_nqn nvi-r1)")
		assertEquals "$order: the controller's host NQN is the one reported" "$(ans "a['result'].get('nqn')")" \
			"$(cat "/sys/class/nvme/$c/hostnqn" 2>/dev/null)"
		if [ "$(ans "'nvme_hostid' in a['result']")" = True ]; then
			assertEquals "$order: the controller's host ID is the one reported" "$(ans "a['result']['nvme_hostid']")" \
				"$(cat "/sys/class/nvme/$c/hostid" 2>/dev/null)"
			echo "FIGURE: $order: nqn and nvme_hostid reported = the controllers'"
		else
			# os-brick before 6.2 reports no host ID at all (6.1: nqn only).
			assertEquals "$order: no nvme_hostid from this os-brick: it is 6.1" 6.1 \
				"$(dpkg-query -W -f '${Version}' python3-os-brick | cut -d. -f1,2)"
			echo "FIGURE: $order: nqn reported = the controllers' (this os-brick reports no host ID)"
		fi
		brick P '{"op": "disconnect", "id": "i"}' > /dev/null
		assertEquals "$order: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
	done
	assert_gone nvi nvi 2
}

# Without nvmf-raid on the host the patched connector is the release's
# own: the same answers for a replicated and a single-replica volume, and
# the same nothing left after disconnect_volume.
test_without_nvmf_raid_the_connector_is_unchanged() {
	local rep one who p s r_P r_S
	make_targets nvu 2 || fail "targets"
	mv "$NVMF_RAID" "$HIDDEN"
	rep=$(printf '{"vol_uuid": "%s", "alias": "nvu", "volume_replicas": [%s, %s], "replica_count": 2}' \
		"$CID" "$(brick_target nvu 1)" "$(brick_target nvu 2)")
	one=$(brick_target nvu 1)
	for who in S P; do
		nova_connect "$who" u "$rep"
		assertEquals "$who replicated: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
		eval "r_$who=\$(ans \"a['result']\")"
		assertTrue "$who replicated: os-brick's array is there" "[ -b /dev/md/nvu ]"
		assertEquals "$who replicated: no nvmf-raid unit" inactive "$(unit_active nvu)"
		brick "$who" '{"op": "disconnect", "id": "u"}' > /dev/null
		assertEquals "$who replicated: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
		assertEquals "$who replicated: no array left" 0 "$(arrays_of nvu)"
		nova_connect "$who" o "$one"
		assertEquals "$who single: connect_volume ok ($ANS)" True "$(ans "a['ok']")"
		assertEquals "$who single: os-brick's own device, the namespace" \
			"/dev/$(dev_by_uuid "$(replica_uuid nvu 1)")" "$(ans "a['result']['path']")"
		brick "$who" '{"op": "disconnect", "id": "o"}' > /dev/null
		assertEquals "$who single: disconnect_volume ok ($ANS)" True "$(ans "a['ok']")"
		assertEquals "$who: controllers gone" "" "$(ctrls_by_nqn "$(tgt_nqn nvu-r1)")$(ctrls_by_nqn "$(tgt_nqn nvu-r2)")"
	done
	p=$r_P s=$r_S
	assertEquals "replicated: the same answer as the release's own" "$s" "$p"
	assertEquals "replicated: os-brick's own array" "{'type': 'block', 'path': '/dev/md/nvu'}" "$p"
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
