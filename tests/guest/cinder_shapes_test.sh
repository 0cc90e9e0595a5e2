#!/bin/bash
# Issue 10, items 1 to 3 through `nvmf-raid os-brick`, against kernel
# nvmet: connection_properties in the shapes Cinder's drivers send (as
# tests/unit/test-osbrick-drivers.c has them from the drivers' code), with
# nvmet set up the way those backends name their subsystems and
# namespaces.  Values are made up; the portals are this guest's loopback.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

RUNVOL=/run/nvmf-raid/volumes
OUT=/tmp/cinder-shapes.out
ERR=/tmp/cinder-shapes.err
CINDER_ID=0b6e1c55-7d3a-4f0e-9a21-4c8d2e6f1a30

oneTimeSetUp() {
	tgt_modules || return 1
	tgt_port 1
}

tearDown() {
	local v
	for v in $(ls "$RUNVOL" 2>/dev/null | sed -n 's/\.conf$//p'); do
		systemctl stop "nvmf-raid@$v" > /dev/null 2>&1
		systemctl reset-failed "nvmf-raid@$v" > /dev/null 2>&1
		rm -f "$RUNVOL/$v.conf" "/var/lib/nvmf-raid/$v.json"
	done
	tgt_raw_remove_all
	return 0
}

answer_for() { printf '{"type": "block", "path": "/dev/nvmf-raid/%s"}' "$1"; }

# Item 1, the issue's own input: Cinder's LVM + nvmet target (nvmet.py,
# connection info version 2) names the subsystem nqn.<prefix>-<volume id>
# and the namespace UUID is the volume id.
test_cinder_nvmet_v2_as_the_issue_sends_it() {
	local id=3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d nqn
	nqn=nqn.nvme-subsystem-1-$id
	tgt_raw_add "$nqn" 1 && tgt_raw_ns "$nqn" 10 64M "$id" || fail "target"
	osb connect "{\"target_nqn\": \"$nqn\", \"vol_uuid\": \"$id\", \"portals\": [[\"127.0.0.1\", \"4420\", \"tcp\"]], \"ns_id\": \"10\", \"qos_specs\": null, \"access_mode\": \"rw\", \"encrypted\": false, \"enforce_multipath\": false}"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "os-brick's answer" "$(answer_for "$id")" "$(cat "$OUT")"
	assertEquals "the device is namespace 10 of $nqn" "$(ns_dev "$nqn" 10)" \
		"$(basename "$(readlink -f "/dev/nvmf-raid/$id")")"
	assertTrue "the transient file names the subsystem" "grep -qx 'nqn = $nqn' $RUNVOL/$id.conf"
	fio_write "/dev/nvmf-raid/$id"
	assertEquals "fio write+verify" 0 $?
	osb disconnect "{\"target_nqn\": \"$nqn\", \"vol_uuid\": \"$id\", \"portals\": [[\"127.0.0.1\", \"4420\", \"tcp\"]], \"ns_id\": \"10\"}"
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertFalse "device gone" "[ -e /dev/nvmf-raid/$id ]"
	assertEquals "controller gone" "" "$(ctrls_by_nqn "$nqn")"
}

# Item 2: Cinder's default flat form ("version 1": nqn, target_portal,
# target_port, transport_type, ns_id) in shared-target mode, where one
# subsystem holds the namespaces of many volumes: ns_id picks ours.
test_flat_version_1_shared_target_by_ns_id() {
	local nqn=nqn.nvme-subsystem-1 json
	tgt_raw_add "$nqn" 1 && tgt_raw_ns "$nqn" 1 64M "$(new_uuid)" &&
		tgt_raw_ns "$nqn" 2 64M "$(new_uuid)" || fail "target"
	json="{\"nqn\": \"$nqn\", \"target_portal\": \"127.0.0.1\", \"target_port\": 4420, \"transport_type\": \"tcp\", \"ns_id\": 2, \"volume_nguid\": null, \"host_nqn\": \"$(cat /etc/nvme/hostnqn)\"}"
	osb connect "$json" --volume "volume-$CINDER_ID"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "os-brick's answer" "$(answer_for "volume-$CINDER_ID")" "$(cat "$OUT")"
	assertEquals "the device is namespace 2, not 1" "$(ns_dev "$nqn" 2)" \
		"$(basename "$(readlink -f "/dev/nvmf-raid/volume-$CINDER_ID")")"
	assertTrue "found by nsid" "grep -qx 'nsid = 2' $RUNVOL/volume-$CINDER_ID.conf"
	osb disconnect "$json" --volume "volume-$CINDER_ID"
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertFalse "device gone" "[ -e /dev/nvmf-raid/volume-$CINDER_ID ]"
}

# Item 3: arrays that name namespaces by NGUID only (Pure, Dell), two
# replicas: one RAID1 over the two namespaces that carry those NGUIDs.
test_nguid_only_replicas_make_one_array() {
	local na=nqn.2010-06.com.example:flasharray.0a1b2c3d nb=nqn.2010-06.com.example:flasharray.4e5f6a7b
	local ga=24b7e2c1a0d3f4e5d6c7b8a9e0f1a2b3 gb=35c8f3d2b1e4a5f6e7d8c9bae1f2a3b4 json md
	tgt_raw_add "$na" 1 && tgt_raw_ns "$na" 1 64M nil "$ga" && tgt_raw_add "$nb" 1 &&
		tgt_raw_ns "$nb" 1 64M nil "$gb" || fail "targets"
	json="{\"vol_uuid\": \"$CINDER_ID\", \"alias\": \"pure-like\", \"replica_count\": 2, \"volume_replicas\": [
	  {\"target_nqn\": \"$na\", \"volume_nguid\": \"$ga\", \"portals\": [[\"127.0.0.1\", 4420, \"tcp\"]]},
	  {\"target_nqn\": \"$nb\", \"volume_nguid\": \"$gb\", \"portals\": [[\"127.0.0.1\", 4420, \"tcp\"]]}]}"
	osb connect "$json"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "os-brick's answer, named by the alias" "$(answer_for pure-like)" "$(cat "$OUT")"
	md=$(md_of pure-like)
	assertEquals "raid1 of 2" 2 "$(cat "/sys/block/$md/md/raid_disks" 2>/dev/null)"
	assertTrue "member: the namespace with NGUID a" "[ -e /sys/block/$md/md/dev-$(ns_dev "$na" 1) ]"
	assertTrue "member: the namespace with NGUID b" "[ -e /sys/block/$md/md/dev-$(ns_dev "$nb" 1) ]"
	fio_write /dev/nvmf-raid/pure-like
	assertEquals "fio write+verify" 0 $?
	osb disconnect "$json"
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertFalse "device gone" "[ -e /dev/nvmf-raid/pure-like ]"
	assertEquals "controllers gone" "" "$(ctrls_by_nqn "$na")$(ctrls_by_nqn "$nb")"
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
