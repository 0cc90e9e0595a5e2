#!/bin/bash
# Issue 10, items 1, 3 and 5 against kernel nvmet: subsystem NQNs as
# Cinder's own target names them, replicas found by NGUID or by NSID alone
# (contract.md "Volume files"), 16 portals per replica, and a link-local
# IPv6 portal on a dummy interface.  Values are made up.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

CURSOR=/tmp/namespace-test.cursor
IFACE=nrll0
LL_ADDR=fe80::5054:ff:fe12:3456

oneTimeSetUp() {
	tgt_modules || return 1
}

setUp() {
	journal_mark "$CURSOR"
}

tearDown() {
	local v
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_raw_remove_all
	tgt_remove_all
	ip link del "$IFACE" 2> /dev/null
	return 0
}

status_key() {
	nvmf-raid status --json "$1" | py3 -c '
import json, sys
v = json.load(sys.stdin)["volumes"][0]
r = v["replicas"][int(sys.argv[1])]
print(r[sys.argv[2]] if sys.argv[2] in r else v[sys.argv[2]])' "$2" "$3"
}

# Item 1: Cinder's LVM + nvmet target names a subsystem
# nqn.<target_prefix>-<volume id>, without the spec's date code.
test_cinder_nvmet_subsystem_nqn() {
	local id=3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d nqn dev
	nqn=nqn.nvme-subsystem-1-$id
	tgt_raw_add "$nqn" 1 && tgt_raw_ns "$nqn" 10 64M "$id" || fail "target"
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = 20\n[replica.a]\nnqn = %s\nuuid = %s\nnsid = 10\nportals = %s\n' \
		"$nqn" "$id" "$(tgt_port_uri 1)" > "$VOLDIR/volume-$id.conf"
	nvmf-raid check "volume-$id"
	assertEquals "nvmf-raid check accepts the NQN" 0 $?
	systemctl start "nvmf-raid@volume-$id"
	assertEquals "attached" 0 $?
	dev=$(ns_dev "$nqn" 10)
	assertEquals "the link is namespace 10 of $nqn" "$dev" \
		"$(basename "$(readlink -f "/dev/nvmf-raid/volume-$id")")"
	fio_write "/dev/nvmf-raid/volume-$id"
	assertEquals "fio write+verify" 0 $?
	assertEquals "status: nsid" 10 "$(status_key "volume-$id" 0 nsid)"
	assertEquals "status: the NQN as given" "$nqn" "$(status_key "volume-$id" 0 nqn)"
	systemctl stop "nvmf-raid@volume-$id"
	assertEquals "detached" 0 $?
	assertEquals "controller gone" "" "$(ctrls_by_nqn "$nqn")"
}

# Item 3: Dell and Pure send only an NGUID; the flat form may carry only
# ns_id.  A namespace without a UUID shows its NGUID as "uuid" in sysfs
# too; the NSID-only replica's subsystem holds a decoy namespace 1.
test_nguid_only_and_nsid_only_replicas_form_one_array() {
	local na=nqn.2025-02.test.example:pure-like nb=nqn.2025-02.test.example:flat-v1
	local nguid=1a2b3c4d-5e6f-7081-8293-a4b5c6d7e8f9 da db md ub
	tgt_raw_add "$na" 1 && tgt_raw_ns "$na" 1 64M nil "$nguid" || fail "target a"
	tgt_raw_add "$nb" 1 && tgt_raw_ns "$nb" 1 64M "$(new_uuid)" &&
		tgt_raw_ns "$nb" 3 64M "$(new_uuid)" || fail "target b"
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = 20\n[replica.a]\nnqn = %s\nnguid = %s\nportals = %s\n[replica.b]\nnqn = %s\nnsid = 3\nportals = %s\n' \
		"$na" "${nguid//-/}" "$(tgt_port_uri 1)" "$nb" "$(tgt_port_uri 1)" > "$VOLDIR/ids.conf"
	systemctl start nvmf-raid@ids
	assertEquals "attached" 0 $?
	da=$(ns_dev "$na" 1) db=$(ns_dev "$nb" 3)
	md=$(md_of ids)
	assertEquals "the NGUID-only namespace shows no UUID of its own" "$nguid" \
		"$(cat "/sys/block/$da/uuid" 2>/dev/null)"
	assertEquals "raid1 of 2" 2 "$(cat "/sys/block/$md/md/raid_disks" 2>/dev/null)"
	assertTrue "member a is the namespace with that NGUID" "[ -e /sys/block/$md/md/dev-$da ]"
	assertTrue "member b is namespace 3, not the decoy 1" "[ -e /sys/block/$md/md/dev-$db ]"
	assertFalse "the decoy namespace 1 is no member" \
		"[ -e /sys/block/$md/md/dev-$(ns_dev "$nb" 1) ]"
	assertTrue "index by NGUID" "[ -f /run/nvmf-raid/by-nguid/${nguid//-/} ]"
	assertTrue "index by NSID" "[ -f /run/nvmf-raid/by-nsid/3@$nb ]"
	assertEquals "status: a's nguid" "${nguid//-/}" "$(status_key ids 0 nguid)"
	assertEquals "status: b's nsid" 3 "$(status_key ids 1 nsid)"
	assertEquals "status: b has no uuid" None "$(status_key ids 1 uuid)"
	fio_write /dev/nvmf-raid/ids
	assertEquals "fio write+verify" 0 $?
	systemctl stop nvmf-raid@ids
	assertEquals "detached" 0 $?
	assertFalse "index entries removed" "[ -e /run/nvmf-raid/by-nsid/3@$nb ]"
	systemctl start nvmf-raid@ids
	assertEquals "attached again" 0 $?
	journal_since "$CURSOR" | grep -q "ids: assembling"
	assertTrue "the second start assembled the array it had made" $?
	assertEquals "not degraded" 0 "$(md_degraded "$(md_of ids)")"
	fio_verify /dev/nvmf-raid/ids
	assertEquals "data written before the detach verifies" 0 $?
	assertEquals "record: b's namespace as it showed itself, nsid 3 and its UUID" \
		"3 $(cat "/sys/block/$(ns_dev "$nb" 3)/uuid")" "$(recorded ids b nsid) $(recorded ids b uuid)"

	# Named by another of the identifiers it showed: still the replica the
	# record vouches for, not a stale one.
	ub=$(cat "/sys/block/$(ns_dev "$nb" 3)/uuid")
	systemctl stop nvmf-raid@ids
	sed -i "s/^nsid = 3\$/uuid = $ub/" "$VOLDIR/ids.conf"
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@ids
	assertEquals "b named by its UUID now: attached" 0 $?
	assertEquals "  ... both members, none refused as stale" 0 "$(md_degraded "$(md_of ids)")"

	# The record keeps stale replicas out: one that cannot be read is no
	# "no record" (fail closed), until the admin overrides.
	systemctl stop nvmf-raid@ids
	echo '{"format": "nvmf-raid-record", "version": 3}' > /var/lib/nvmf-raid/ids.json
	journal_mark "$CURSOR"
	systemctl start nvmf-raid@ids
	assertNotEquals "unreadable record: start refused" 0 $?
	assertEquals "  ... exit status 1" 1 "$(unit_status ids)"
	journal_since "$CURSOR" | grep -q "ids: the in-sync record cannot be used"
	assertTrue "  ... saying why" $?
	assertFalse "  ... no device" "[ -e /dev/nvmf-raid/ids ]"
	systemctl reset-failed nvmf-raid@ids
	touch /run/nvmf-raid/ids.accept-stale
	systemctl start nvmf-raid@ids
	assertEquals "  ... started with the admin override" 0 $?
}

# recorded VOL REPLICA KEY : KEY of REPLICA's entry in VOL's in-sync record.
recorded() {
	py3 -c 'import json,sys
e = [e for e in json.load(open("/var/lib/nvmf-raid/%s.json" % sys.argv[1]))["in-sync"] if e["name"] == sys.argv[2]]
print(e[0][sys.argv[3]] if e else "")' "$1" "$2" "$3"
}

# Item 3: up to 16 portals per replica (one vendor sends 16 paths): one
# namespace head over 16 controllers.
test_sixteen_portals() {
	local nqn=nqn.2025-02.test.example:sixteen p portals="" n
	tgt_raw_add "$nqn" && tgt_raw_ns "$nqn" 1 64M "$(new_uuid)" || fail "target"
	for p in $(seq 10 25); do
		tgt_port_make "$p" 127.0.0.1 $((4400 + p)) ipv4 || fail "port $p"
		ln -s "$NVMET/subsystems/$nqn" "$NVMET/ports/$p/subsystems/$nqn"
		portals="$portals tcp://127.0.0.1:$((4400 + p))"
	done
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = 60\n[replica.a]\nnqn = %s\nnsid = 1\nportals =%s\n' \
		"$nqn" "$portals" > "$VOLDIR/paths.conf"
	systemctl start nvmf-raid@paths
	assertEquals "attached" 0 $?
	n=$(ctrls_by_nqn "$nqn" | wc -l)
	assertEquals "16 controllers, one per portal" 16 "$n"
	assertEquals "one namespace head" "$(ns_dev "$nqn" 1)" \
		"$(basename "$(readlink -f /dev/nvmf-raid/paths)")"
	systemctl stop nvmf-raid@paths
	assertEquals "all 16 disconnected" "" "$(ctrls_by_nqn "$nqn")"
	for p in $(seq 10 25); do rm -f "$NVMET/ports/$p/subsystems/$nqn"; rmdir "$NVMET/ports/$p"; done
}

# start_ll NQN : starts volume ll; $RC its status, $ADDR the sysfs address
# of its controller of subsystem NQN.
start_ll() {
	local c
	systemctl start nvmf-raid@ll
	RC=$?
	c=$(ctrls_by_nqn "$1")
	ADDR=$(cat "/sys/class/nvme/$c/address" 2>/dev/null)
	echo "controller $c address: $ADDR"
}

# Item 5: a link-local portal, its interface as the zone.
test_link_local_portal() {
	local nqn=nqn.2025-02.test.example:linklocal idx
	ip link add "$IFACE" type dummy && ip link set "$IFACE" up &&
		ip -6 addr add "$LL_ADDR/64" dev "$IFACE" nodad || fail "dummy interface"
	tgt_raw_add "$nqn" && tgt_raw_ns "$nqn" 1 64M "$(new_uuid)" || fail "target"
	tgt_port_make 30 "$LL_ADDR%$IFACE" 4460 ipv6 &&
		ln -s "$NVMET/subsystems/$nqn" "$NVMET/ports/30/subsystems/$nqn" || fail "port"
	mkdir -p "$VOLDIR"
	printf '[volume]\ndegraded-timeout = 20\n[replica.a]\nnqn = %s\nnsid = 1\nportals = tcp://[%s%%%s]:4460\n' \
		"$nqn" "$LL_ADDR" "$IFACE" > "$VOLDIR/ll.conf"
	nvmf-raid check ll
	assertEquals "check accepts tcp://[fe80::…%$IFACE]:4460" 0 $?
	start_ll "$nqn"
	assertEquals "attached" 0 "$RC"
	assertContains "connected to the link-local address" "$ADDR" "traddr=$LL_ADDR"
	assertContains "through the interface (host_iface)" "$ADDR" "host_iface=$IFACE"
	assertTrue "the volume's device" "[ -b /dev/nvmf-raid/ll ]"
	systemctl stop nvmf-raid@ll
	assertEquals "disconnected" "" "$(ctrls_by_nqn "$nqn")"

	# The zone as an interface index, as the kernel takes it too (libnvme
	# 1.3 does not): connected through the interface of that index.
	idx=$(cat "/sys/class/net/$IFACE/ifindex")
	sed -i "s/%$IFACE\]/%$idx]/" "$VOLDIR/ll.conf"
	start_ll "$nqn"
	assertEquals "numeric zone %$idx: attached" 0 "$RC"
	assertContains "  ... through the interface of index $idx" "$ADDR" "host_iface=$IFACE"
	systemctl reload nvmf-raid@ll
	assertEquals "  ... a reload finds the controller, connects nothing more" 1 \
		"$(ctrls_by_nqn "$nqn" | wc -l)"
	systemctl stop nvmf-raid@ll
	rm -f "$NVMET/ports/30/subsystems/$nqn"
	rmdir "$NVMET/ports/30"
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
