#!/bin/bash
# nvmf-raid os-brick connect|disconnect|extend: os-brick's connection
# properties on stdin, in the spec's spelling (its two examples, filled in)
# and in os-brick's own (checked against os-brick's own parser where it is
# importable), against real nvmet targets; the answer on stdout checked
# byte for byte, the device, the transient volume file and the unit checked
# against what the kernel and systemd say.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

RUNVOL=/run/nvmf-raid/volumes
MNT=/mnt/osbrick-test
OUT=/tmp/osbrick-test.out
ERR=/tmp/osbrick-test.err
USED=/tmp/osbrick-test.volumes	# volume names a test used, for tearDown
CINDER_ID=5c0a4f3e-1f57-4b43-9d3c-6ed6b3bb8a57

oneTimeSetUp() {
	tgt_modules || return 1
	HOSTNQN=$(cat /etc/nvme/hostnqn)
}

setUp() {
	: > "$USED"
	rm -f "$OUT" "$ERR"
}

tearDown() {
	local v s
	mountpoint -q "$MNT" && umount "$MNT"
	for v in $(cat "$USED" 2>/dev/null) $(ls "$RUNVOL" 2>/dev/null | sed -n 's/\.conf$//p'); do
		systemctl stop "nvmf-raid@$v" > /dev/null 2>&1
		systemctl reset-failed "nvmf-raid@$v" > /dev/null 2>&1
		rm -f "$RUNVOL/$v.conf" "/var/lib/nvmf-raid/$v.json"
	done
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	for s in "$NVMET"/subsystems/"$TGT_NQN_PREFIX"*; do
		[ -d "$s" ] && nvme disconnect -n "${s##*/}" > /dev/null 2>&1
	done
	tgt_remove_all
	return 0
}

used() { echo "$1" >> "$USED"; }


# make_replicas VOL N [SIZE] : targets VOL-r1..VOL-rN, replica I on tgt_port
# I (so replica 2 is reached over IPv6, [::1]:4421), UUIDs in VOL.uuids.
make_replicas() {
	local vol=$1 n=$2 size=${3:-64M} i u
	mkdir -p "$TGT_STORE"
	: > "$TGT_STORE/$vol.uuids"
	for i in $(seq 1 "$n"); do
		u=$(new_uuid)
		echo "$u" >> "$TGT_STORE/$vol.uuids"
		tgt_add "$vol-r$i" "$size" "$u" "$i" || return 1
	done
}

port_addr() { cat "$NVMET/ports/$1/addr_traddr"; }
port_svc() { cat "$NVMET/ports/$1/addr_trsvcid"; }

# spec_replica VOL I : replica I in the spec's spelling (port as a string).
spec_replica() {
	printf '{"uuid": "%s", "nqn": "%s", "portals": [{"address": "%s", "port": "%s", "transport": "tcp"}]}' \
		"$(replica_uuid "$1" "$2")" "$(tgt_nqn "$1-r$2")" "$(port_addr "$2")" "$(port_svc "$2")"
}

# brick_replica VOL I [EXTRA] : replica I in os-brick's spelling (port as a
# number), EXTRA keys appended.
brick_replica() {
	printf '{"target_nqn": "%s", "vol_uuid": "%s", "portals": [["%s", %s, "tcp"]]%s}' \
		"$(tgt_nqn "$1-r$2")" "$(replica_uuid "$1" "$2")" "$(port_addr "$2")" "$(port_svc "$2")" "${3:-}"
}

# os-brick's own parser (NVMeOFConnProps) takes JSON on stdin: prints the
# number of targets it found, or "skip" when os-brick cannot be imported.
brick_parses() {
	python3 -c 'from os_brick.initiator.connectors.nvmeof import NVMeOFConnProps' 2> /dev/null ||
		{ echo skip; return; }
	python3 -c 'import json, sys
from os_brick.initiator.connectors.nvmeof import NVMeOFConnProps
print(len(NVMeOFConnProps(json.load(sys.stdin)).targets))'
}

answer_for() { printf '{"type": "block", "path": "/dev/nvmf-raid/%s"}' "$1"; }

never_started() {
	assertEquals "$1: unit inactive" inactive "$(unit_active "$1")"
	assertEquals "$1: unit never started" 0 "$(systemctl show -P InactiveExitTimestampMonotonic "nvmf-raid@$1")"
}

assert_md() {
	local vol=$1 n=$2 md
	assertTrue "$vol: /dev/nvmf-raid/$vol is a block device" "[ -b /dev/nvmf-raid/$vol ]"
	md=$(md_of "$vol")
	assertEquals "$vol: md raid1" raid1 "$(cat "/sys/block/$md/md/level" 2>/dev/null)"
	assertEquals "$vol: $n members" "$n" "$(cat "/sys/block/$md/md/raid_disks" 2>/dev/null)"
	assertEquals "$vol: not degraded" 0 "$(cat "/sys/block/$md/md/degraded" 2>/dev/null)"
}

# assert_file VOL TARGETS N : the transient file names every replica and
# nvmf-raid check accepts it.
assert_file() {
	local vol=$1 tv=$2 n=$3 i
	assertTrue "$vol: $RUNVOL/$vol.conf written" "[ -f $RUNVOL/$vol.conf ]"
	assertEquals "$vol: file mode" 644 "$(stat -c %a "$RUNVOL/$vol.conf")"
	for i in $(seq 1 "$n"); do
		grep -qx "nqn = $(tgt_nqn "$tv-r$i")" "$RUNVOL/$vol.conf"
		assertTrue "$vol: replica $i's NQN in the file" $?
		grep -qx "uuid = $(replica_uuid "$tv" "$i")" "$RUNVOL/$vol.conf"
		assertTrue "$vol: replica $i's UUID in the file" $?
	done
	assertEquals "$vol: $n sections" "$n" "$(grep -c '^\[replica\.[0-9]*\]$' "$RUNVOL/$vol.conf")"
	assertEquals "$vol: nvmf-raid check accepts it" \
		"$vol: $RUNVOL/$vol.conf: ok ($n replica$([ "$n" = 1 ] || echo s))" "$(nvmf-raid check "$vol")"
}

# assert_detached VOL TARGETS N : after disconnect.
assert_detached() {
	local vol=$1 tv=$2 n=$3 i
	assertEquals "$vol: disconnect answers null" null "$(cat "$OUT")"
	assertEquals "$vol: unit inactive" inactive "$(unit_active "$vol")"
	assertFalse "$vol: transient file obgone" "[ -e $RUNVOL/$vol.conf ]"
	assertFalse "$vol: link obgone" "[ -e /dev/nvmf-raid/$vol ]"
	assertFalse "$vol: descriptor obgone" "[ -e /run/nvmf-raid/$vol.json ]"
	for i in $(seq 1 "$n"); do
		assertEquals "$vol: replica $i disconnected" "" "$(ctrls_by_nqn "$(tgt_nqn "$tv-r$i")")"
	done
}


test_spec_example_1_flat() {
	local u json
	make_replicas obsflat 1 || fail "targets"
	u=$(replica_uuid obsflat 1)
	used "$u"
	json=$(printf '{"uuid": "%s", "nqn": "%s", "portals": [{"address": "127.0.0.1", "port": "4420", "transport": "tcp"}], "volume_replicas": null}' \
		"$u" "$(tgt_nqn obsflat-r1)")
	osb connect "$json"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "connect answer, named after the namespace UUID" "$(answer_for "$u")" "$(cat "$OUT")"
	assertEquals "link points at the namespace" "$(dev_by_uuid "$u")" "$(basename "$(readlink -f "/dev/nvmf-raid/$u")")"
	assertEquals "no md array" 0 "$(arrays_of obsflat)"
	assertEquals "unit active" active "$(unit_active "$u")"
	assert_file "$u" obsflat 1
	grep -qx "portals = tcp://127.0.0.1:4420" "$RUNVOL/$u.conf"
	assertTrue "portal URI in the file" $?
	fio_write "/dev/nvmf-raid/$u"
	assertEquals "fio write+verify" 0 $?

	osb disconnect "$json"
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assert_detached "$u" obsflat 1
	osb disconnect "$json"
	assertEquals "disconnect again: exit 0" 0 "$RC"
	assertEquals "disconnect again: null" null "$(cat "$OUT")"
}

test_spec_example_2_replicated() {
	local json sum
	make_replicas obsrep 2 || fail "targets"
	used obsrep
	json=$(printf '{"volume_replicas": [%s, %s]}' "$(spec_replica obsrep 1)" "$(spec_replica obsrep 2)")
	osb connect "$json"
	assertEquals "no name in the spec's form: exit 2" 2 "$RC"
	assertContains "says what is missing" "$(cat "$ERR")" "no volume name"
	assertEquals "nothing printed" "" "$(cat "$OUT")"
	never_started obsrep

	osb connect "$json" --volume obsrep
	assertEquals "connect --volume obsrep: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "connect answer" "$(answer_for obsrep)" "$(cat "$OUT")"
	assert_md obsrep 2
	assert_file obsrep obsrep 2
	grep -qx "portals = tcp://\[::1\]:4421" "$RUNVOL/obsrep.conf"
	assertTrue "IPv6 portal bracketed in the file" $?
	dd if=/dev/urandom of=/tmp/osbrick-data bs=1M count=8 status=none
	dd if=/tmp/osbrick-data of=/dev/nvmf-raid/obsrep bs=1M oflag=direct status=none
	assertEquals "dd write" 0 $?
	sum=$(md5sum < /tmp/osbrick-data)
	assertEquals "data reads back" "$sum" "$(dd if=/dev/nvmf-raid/obsrep bs=1M count=8 iflag=direct status=none | md5sum)"

	osb disconnect "$json" --volume obsrep
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assert_detached obsrep obsrep 2
	assertEquals "array stopped" 0 "$(arrays_of obsrep)"
	rm -f /tmp/osbrick-data
}

test_osbrick_flat_with_portal_lists() {
	local u json out
	make_replicas obbflat 1 || fail "targets"
	u=$(replica_uuid obbflat 1)
	used "$u"
	json=$(brick_replica obbflat 1 ', "qos_specs": null, "access_mode": "rw", "encrypted": false, "cacheable": false, "discard": true')
	out=$(echo "$json" | brick_parses)
	if [ "$out" = skip ]; then
		echo "os-brick not importable: its parser not compared"
	else
		assertEquals "os-brick's parser finds 1 target" 1 "$out"
	fi
	osb connect "$json"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "connect answer" "$(answer_for "$u")" "$(cat "$OUT")"
	assertEquals "the device is the namespace" "$(dev_by_uuid "$u")" "$(basename "$(readlink -f "/dev/nvmf-raid/$u")")"
	assert_file "$u" obbflat 1
	fio_write "/dev/nvmf-raid/$u"
	assertEquals "fio write+verify" 0 $?
	osb disconnect "$json"
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assert_detached "$u" obbflat 1
}

test_osbrick_replicated_extend_multiattach_disconnect() {
	local json before out size sum ctrls md started
	make_replicas obbrep 2 64M || fail "targets"
	used obbrep
	json=$(printf '{"vol_uuid": "%s", "alias": "obbrep", "replica_count": 2, "volume_replicas": [%s, %s], "access_mode": "rw"}' \
		"$CINDER_ID" "$(brick_replica obbrep 1 ", \"host_nqn\": \"$HOSTNQN\", \"ns_id\": 1")" \
		"$(brick_replica obbrep 2 ', "volume_nguid": null')")
	out=$(echo "$json" | brick_parses)
	if [ "$out" = skip ]; then
		echo "os-brick not importable: its parser not compared"
	else
		assertEquals "os-brick's parser finds 2 targets" 2 "$out"
	fi

	osb connect "$json"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "connect answer, named after the alias" "$(answer_for obbrep)" "$(cat "$OUT")"
	assert_md obbrep 2
	assert_file obbrep obbrep 2
	osb paths "$json"
	assertEquals "paths: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "paths: the device" '["/dev/nvmf-raid/obbrep"]' "$(cat "$OUT")"
	fio_write /dev/nvmf-raid/obbrep
	assertEquals "fio write+verify" 0 $?

	# A second attach changes nothing.
	md=$(md_of obbrep)
	sum=$(md5sum < "$RUNVOL/obbrep.conf")
	started=$(systemctl show -P ActiveEnterTimestampMonotonic nvmf-raid@obbrep)
	ctrls=$(ctrls_by_nqn "$(tgt_nqn obbrep-r1)")
	osb connect "$json"
	assertEquals "second connect: exit 1" 1 "$RC"
	assertContains "multi-attach refused" "$(cat "$ERR")" "already attached; multi-attach is not supported"
	assertEquals "second connect: nothing printed" "" "$(cat "$OUT")"
	assertEquals "file unchanged" "$sum" "$(md5sum < "$RUNVOL/obbrep.conf")"
	assertEquals "unit not restarted" "$started" "$(systemctl show -P ActiveEnterTimestampMonotonic nvmf-raid@obbrep)"
	assertEquals "same array" "$md" "$(md_of obbrep)"
	assertEquals "same controller" "$ctrls" "$(ctrls_by_nqn "$(tgt_nqn obbrep-r1)")"
	assertEquals "still one array" 1 "$(arrays_of obbrep)"

	before=$(blockdev --getsize64 /dev/nvmf-raid/obbrep)
	tgt_grow obbrep-r1 128M && tgt_grow obbrep-r2 128M
	osb extend "$json"
	assertEquals "extend: exit 0 ($(cat "$ERR"))" 0 "$RC"
	size=$(blockdev --getsize64 /dev/nvmf-raid/obbrep)
	assertEquals "extend answers the new size" "$size" "$(cat "$OUT")"
	assertTrue "grown by about 64 MiB ($before -> $size)" \
		"[ $size -gt $((before + 60 * 1048576)) ] && [ $size -le $((before + 64 * 1048576)) ]"
	fio_verify /dev/nvmf-raid/obbrep
	assertEquals "data verifies after the grow" 0 $?

	osb disconnect "$json"
	assertEquals "disconnect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assert_detached obbrep obbrep 2
	assertEquals "array stopped" 0 "$(arrays_of obbrep)"
	osb disconnect "$json"
	assertEquals "disconnect again: exit 0" 0 "$RC"
	assertEquals "disconnect again: null" null "$(cat "$OUT")"
	osb extend "$json"
	assertEquals "extend when detached: exit 1" 1 "$RC"
	assertContains "says so" "$(cat "$ERR")" "not attached"
	osb paths "$json"
	assertEquals "paths when detached: exit 0" 0 "$RC"
	assertEquals "paths when detached: none" '[]' "$(cat "$OUT")"
	osb paths '{"alias": "obbrep"}'
	assertEquals "paths of properties without a target: exit 2" 2 "$RC"
	assertEquals "paths of properties without a target: nothing printed" "" "$(cat "$OUT")"
}

test_disconnect_refused_while_mounted_then_retried() {
	local json
	make_replicas obbusy 2 || fail "targets"
	used obbusy
	json=$(printf '{"alias": "obbusy", "volume_replicas": [%s, %s]}' "$(brick_replica obbusy 1)" "$(brick_replica obbusy 2)")
	osb connect "$json"
	assertEquals "connect: exit 0 ($(cat "$ERR"))" 0 "$RC"
	mkfs.ext4 -q /dev/nvmf-raid/obbusy && mkdir -p "$MNT" && mount /dev/nvmf-raid/obbusy "$MNT"
	assertTrue "mounted" $?
	osb disconnect "$json"
	assertEquals "disconnect while mounted: exit 1" 1 "$RC"
	assertEquals "nothing printed" "" "$(cat "$OUT")"
	assertTrue "file kept" "[ -f $RUNVOL/obbusy.conf ]"
	assertTrue "array still there" "[ -b /dev/nvmf-raid/obbusy ]"
	assertTrue "still mounted" "mountpoint -q $MNT"
	umount "$MNT"
	osb disconnect "$json"
	assertEquals "disconnect once unmounted: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assert_detached obbusy obbusy 2
	assertEquals "array stopped" 0 "$(arrays_of obbusy)"
}

test_malformed_or_invalid_input_touches_nothing() {
	local good
	make_replicas obbad 2 || fail "targets"
	used obbad
	good=$(printf '{"alias": "obbad", "volume_replicas": [%s, %s]}' "$(brick_replica obbad 1)" "$(brick_replica obbad 2)")

	osb connect "${good%?}"
	assertEquals "truncated JSON: exit 2" 2 "$RC"
	assertContains "says so" "$(cat "$ERR")" "truncated JSON"
	osb connect "$good trailing"
	assertEquals "trailing garbage: exit 2" 2 "$RC"
	osb connect "${good%\"tcp\"]]\}]\}}\"fc\"]]}]}"
	assertEquals "fc transport: exit 2" 2 "$RC"
	assertContains "names the JSON path" "$(cat "$ERR")" 'volume_replicas[1].portals[0]: transport "fc" is not supported'
	osb connect "${good/\"alias\": \"obbad\"/\"alias\": \"../obbad\"}"
	assertEquals "invalid volume name: exit 2" 2 "$RC"
	osb connect "$good" --volume 'obbad/x'
	assertEquals "invalid --volume: exit 2" 2 "$RC"
	osb connect "${good/\"alias\": \"obbad\"/\"alias\": \"obbad\", \"replica_count\": 3}"
	assertEquals "replica_count 3 for 2 replicas: exit 2" 2 "$RC"
	osb connect "$(printf '{"alias": "obbad", "volume_replicas": [%s, %s]}' "$(brick_replica obbad 1 ', "host_nqn": "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001"')" "$(brick_replica obbad 2)")"
	assertEquals "another host's host_nqn: exit 2" 2 "$RC"
	assertContains "says why" "$(cat "$ERR")" "volume_replicas[0].host_nqn: not this host's NQN"

	assertEquals "nothing printed" "" "$(cat "$OUT")"
	assertFalse "no file written" "[ -e $RUNVOL/obbad.conf ]"
	never_started obbad
	assertEquals "nothing connected" "" "$(ctrls_by_nqn "$(tgt_nqn obbad-r1)")$(ctrls_by_nqn "$(tgt_nqn obbad-r2)")"
}

test_volumes_of_the_admin_are_not_touched() {
	local json
	new_volume obadm 1 || fail "volume"
	systemctl start nvmf-raid@obadm || fail "attach"
	json=$(printf '{"alias": "obadm", "volume_replicas": [%s]}' "$(brick_replica obadm 1)")
	osb connect "$json"
	assertEquals "connect of an /etc volume: exit 1" 1 "$RC"
	assertContains "names the file" "$(cat "$ERR")" "$VOLDIR/obadm.conf exists"
	osb disconnect "$json"
	assertEquals "disconnect of an /etc volume: exit 1" 1 "$RC"
	assertEquals "its unit still active" active "$(unit_active obadm)"
	osb paths "$json"
	assertEquals "paths of an /etc volume: exit 0" 0 "$RC"
	assertEquals "paths of an /etc volume: not os-brick's" '[]' "$(cat "$OUT")"
	assertFalse "no transient file" "[ -e $RUNVOL/obadm.conf ]"

	# The namespace belongs to obadm: another name for it is refused.
	json=$(printf '{"alias": "obthief", "volume_replicas": [%s]}' "$(brick_replica obadm 1)")
	used obthief
	osb connect "$json"
	assertEquals "a namespace of another volume: exit 2" 2 "$RC"
	assertContains "names the owner" "$(cat "$ERR")" "is also used by volume"
	assertFalse "no file written" "[ -e $RUNVOL/obthief.conf ]"
	never_started obthief
}

test_failed_attach_removes_the_file() {
	local json
	make_replicas obgone 1 || fail "targets"
	used obgone
	tgt_vanish obgone-r1
	json=$(printf '{"alias": "obgone", "volume_replicas": [%s]}' "$(brick_replica obgone 1)")
	osb connect "$json"
	assertEquals "unreachable replica: exit 1 ($(cat "$ERR"))" 1 "$RC"
	assertContains "names the unit" "$(cat "$ERR")" "Failed to start nvmf-raid@obgone.service"
	assertEquals "nothing printed" "" "$(cat "$OUT")"
	assertFalse "file removed again" "[ -e $RUNVOL/obgone.conf ]"
	assertEquals "unit failed" failed "$(unit_active obgone)"
	assertEquals "nothing left connected" "" "$(ctrls_by_nqn "$(tgt_nqn obgone-r1)")"
	osb disconnect "$json"
	assertEquals "disconnect after the failure: exit 0" 0 "$RC"
	assertEquals "disconnect: null" null "$(cat "$OUT")"
	assertEquals "unit no longer failed" inactive "$(unit_active obgone)"
}

# A start that fails on a dependency runs no helper: the unit's exit status
# is then an earlier run's, and must not be passed on as this start's.
test_failed_dependency_is_not_an_earlier_exit_status() {
	local json dropin=/run/systemd/system/nvmf-raid@osdep.service.d
	make_replicas osdep 1 || fail "targets"
	used osdep
	# An earlier run of the helper that exited 2 (an invalid file).
	printf '[volume]\nbogus-key = 1\n' > "$RUNVOL/osdep.conf"
	systemctl start nvmf-raid@osdep 2> /dev/null
	rm -f "$RUNVOL/osdep.conf"
	# Failed, the unit stays loaded with that status; connect accepts a
	# failed unit (os-brick retries after a failure).
	assertEquals "unit failed" failed "$(unit_active osdep)"
	assertEquals "earlier run's exit status 2" 2 "$(systemctl show -P ExecMainStatus nvmf-raid@osdep)"
	mkdir -p "$dropin"
	printf '[Unit]\nRequires=osdep-broken.service\nAfter=osdep-broken.service\n' > "$dropin/dep.conf"
	printf '[Service]\nType=oneshot\nExecStart=/bin/false\n' > /run/systemd/system/osdep-broken.service
	systemctl daemon-reload
	json=$(printf '{"alias": "osdep", "volume_replicas": [%s]}' "$(brick_replica osdep 1)")
	osb connect "$json"
	assertEquals "dependency failed: exit 1, not the earlier 2 ($(cat "$ERR"))" 1 "$RC"
	assertContains "names the unit" "$(cat "$ERR")" "Failed to start nvmf-raid@osdep.service: job dependency"
	assertFalse "file removed again" "[ -e $RUNVOL/osdep.conf ]"
	assertEquals "nothing connected" "" "$(ctrls_by_nqn "$(tgt_nqn osdep-r1)")"
	assertEquals "the unit still shows the earlier status" 2 \
		"$(systemctl show -P ExecMainStatus nvmf-raid@osdep)"
	rm -rf "$dropin" /run/systemd/system/osdep-broken.service
	systemctl reset-failed osdep-broken.service 2> /dev/null
	systemctl daemon-reload
	osb connect "$json"
	assertEquals "without the broken dependency: exit 0 ($(cat "$ERR"))" 0 "$RC"
	assertEquals "answer" "$(answer_for osdep)" "$(cat "$OUT")"
	osb disconnect "$json"
	assertEquals "disconnect: exit 0" 0 "$RC"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
