#!/bin/bash
# nvmf-raid status checked against what md and nvme say themselves (sysfs,
# udev's by-id links), at every stage of a replica's loss and return; and
# inactive, broken, one-replica and unknown volumes.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

ST=/tmp/status-test.json
SLOWED=		# the mdX whose resync speed a test lowered

oneTimeSetUp() {
	tgt_modules || return 1
}

setUp() {
	VOL_KEYS="reconnect-delay = 1"
	rm -f "$ST" "$ST.flat"
}

tearDown() {
	local v
	if [ -n "$SLOWED" ]; then
		echo system > "/sys/block/$SLOWED/md/sync_speed_max" 2>/dev/null
		echo system > "/sys/block/$SLOWED/md/sync_speed_min" 2>/dev/null
		SLOWED=
	fi
	for v in $(ls "$VOLDIR" /run/nvmf-raid/volumes 2>/dev/null | sed -n 's/\.conf$//p'); do
		drop_volume "$v"
	done
	tgt_remove_all
	rm -f /var/lib/nvmf-raid/*.json
	return 0
}

# status_json ARGS... : nvmf-raid status --json ARGS into $ST; its exit status.
status_json() { nvmf-raid status --json "$@" > "$ST"; }

# show STAGE : both views as this stage left them, into the suite's log.
show() {
	echo "--- $1: nvmf-raid status life"
	cat /tmp/status-test.txt
	echo "--- $1: nvmf-raid status --json life"
	cat "$ST"
}


# Size in bytes of block device $1 (kernel name), as sysfs says.
bytes_of() { echo $(($(cat "/sys/block/$1/size") * 512)); }

# The replica I (1-based) of the first volume in $ST against the live
# namespace: its device and size as the kernel has them, nqn, uuid, portal.
assert_replica_live() {
	local vol=$1 i=$2 dev
	dev=$(dev_by_uuid "$(replica_uuid "$vol" "$i")")
	assertEquals "r$i: name" "r$i" "$(jget volumes 0 replicas $((i - 1)) name)"
	assertEquals "r$i: device is the namespace" "/dev/$dev" "$(jget volumes 0 replicas $((i - 1)) device)"
	assertEquals "r$i: size as sysfs says" "$(bytes_of "$dev")" "$(jget volumes 0 replicas $((i - 1)) size)"
	assertEquals "r$i: nqn" "$(tgt_nqn "$vol-r$i")" "$(jget volumes 0 replicas $((i - 1)) nqn)"
	assertEquals "r$i: uuid" "$(replica_uuid "$vol" "$i")" "$(jget volumes 0 replicas $((i - 1)) uuid)"
	assertEquals "r$i: portals" "[\"$(tgt_port_uri 1)\"]" "$(jget volumes 0 replicas $((i - 1)) portals)"
	assertEquals "r$i: outdated" false "$(jget volumes 0 replicas $((i - 1)) outdated)"
}

# The sync numbers of $ST against sync_completed read before (B) and after
# (A) it: completed in [B, A], same total, progress = completed/total.
assert_sync_between() {
	local before=$1 after=$2 c t
	c=$(jget volumes 0 sync completed)
	t=$(jget volumes 0 sync total)
	assertTrue "sync completed $c within sync_completed $before .. $after" \
		"[ ${before% /*} -le $c ] && [ $c -le ${after% /*} ]"
	assertEquals "sync total = sync_completed's" "${after#* / }" "$t"
	py3 - "$ST" <<-'PY'
	import json, math, sys
	v = json.load(open(sys.argv[1]))["volumes"][0]
	s = v["sync"]
	p = s["progress"]
	want = math.floor(s["completed"] * 10000 / s["total"]) / 10000
	sys.exit(0 if 0 <= p < 1 and abs(p - want) < 1e-9 and v["replicas"][1]["progress"] == p
	         and v["replicas"][0]["progress"] is None else 1)
	PY
	assertTrue "progress in [0, 1) = completed/total, on the rebuilding replica only" $?
}

test_lifecycle_optimal_degraded_rebuilding_healed() {
	local md dev1 dev2 before after
	new_volume life 2
	systemctl start nvmf-raid@life || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/life
	md=$(md_of life)
	dev1=$(dev_by_uuid "$(replica_uuid life 1)")
	dev2=$(dev_by_uuid "$(replica_uuid life 2)")

	# Attached: optimal, as md says.
	assertEquals "md: idle" idle "$(md_sync_action "$md")"
	assertEquals "md: not degraded" 0 "$(md_degraded "$md")"
	status_json life
	assertEquals "attached: exit 0" 0 $?
	assertEquals "attached: optimal" optimal "$(jget volumes 0 state)"
	assertEquals "attached: true" true "$(jget volumes 0 attached)"
	assertEquals "source" "$VOLDIR/life.conf" "$(jget volumes 0 source)"
	assertEquals "persistent" true "$(jget volumes 0 persistent)"
	assertEquals "device" /dev/nvmf-raid/life "$(jget volumes 0 device)"
	assertEquals "md is the array behind the link" "/dev/$md" "$(jget volumes 0 md)"
	assertEquals "size as sysfs says" "$(bytes_of "$md")" "$(jget volumes 0 size)"
	assertEquals "min-replicas" 1 "$(jget volumes 0 min-replicas)"
	assertEquals "no sync" null "$(jget volumes 0 sync)"
	assertEquals "no error" null "$(jget volumes 0 error)"
	assertEquals "md: r1 in_sync" in_sync "$(md_member_state "$md" "$dev1")"
	assertEquals "md: r2 in_sync" in_sync "$(md_member_state "$md" "$dev2")"
	assertEquals "r1 in-sync" in-sync "$(jget volumes 0 replicas 0 state)"
	assertEquals "r2 in-sync" in-sync "$(jget volumes 0 replicas 1 state)"
	assert_replica_live life 1
	assert_replica_live life 2
	nvmf-raid status life > /tmp/status-test.txt
	assertTrue "human: header" "grep -Eq '^life +optimal +/dev/nvmf-raid/life -> /dev/$md +[0-9.]+M \\($(bytes_of "$md") bytes\\)$' /tmp/status-test.txt"
	assertTrue "human: r1 line" "grep -Eq '^  r1 +in-sync +/dev/$dev1 +tcp://127.0.0.1:4420$' /tmp/status-test.txt"
	assertTrue "human: r2 line" "grep -Eq '^  r2 +in-sync +/dev/$dev2 +tcp://127.0.0.1:4420$' /tmp/status-test.txt"

	# Degraded: r2's target gone; md fails it on the next write
	# (fast-io-fail-tmo), which is what status must then say.
	tgt_vanish life-r2
	dd if=/dev/urandom of=/dev/nvmf-raid/life bs=1M count=1 oflag=direct status=none
	wait_until 30 file_has "/sys/block/$md/md/dev-$dev2/state" faulty
	assertTrue "md marked r2 faulty" $?
	status_json life
	assertEquals "degraded: exit 0" 0 $?
	assertEquals "md: degraded by one" 1 "$(md_degraded "$md")"
	assertEquals "degraded" degraded "$(jget volumes 0 state)"
	assertEquals "r1 still in-sync" in-sync "$(jget volumes 0 replicas 0 state)"
	assertEquals "r2 faulty" faulty "$(jget volumes 0 replicas 1 state)"
	assertEquals "r2: the member md failed" "/dev/$dev2" "$(jget volumes 0 replicas 1 device)"
	assertEquals "no sync while degraded" null "$(jget volumes 0 sync)"
	assertEquals "r2: no progress" null "$(jget volumes 0 replicas 1 progress)"
	nvmf-raid status life > /tmp/status-test.txt
	assertTrue "human: degraded header" "grep -Eq '^life +degraded ' /tmp/status-test.txt"
	assertTrue "human: r2 faulty" "grep -Eq '^  r2 +faulty +/dev/$dev2 +tcp://' /tmp/status-test.txt"
	show degraded

	# Rebuilding: a slow recovery (speed_min below speed_max, or md ignores
	# the max), with 32 MiB dirty in the bitmap to copy.
	SLOWED=$md
	echo 100 > "/sys/block/$md/md/sync_speed_min"
	echo 200 > "/sys/block/$md/md/sync_speed_max"
	dd if=/dev/urandom of=/dev/nvmf-raid/life bs=1M count=32 oflag=direct status=none
	tgt_return life-r2
	wait_until 60 eval "attr_is /sys/block/$md/md/sync_action recover &&
		file_has /sys/block/$md/md/sync_completed ' / '"
	assertTrue "md recovers r2" $?
	dev2=$(dev_by_uuid "$(replica_uuid life 2)")
	before=$(cat "/sys/block/$md/md/sync_completed")
	status_json life
	assertEquals "rebuilding: exit 0" 0 $?
	after=$(cat "/sys/block/$md/md/sync_completed")
	echo "sync_completed $before .. $after; status: $(jget volumes 0 sync)"
	assertEquals "md still recovering" recover "$(md_sync_action "$md")"
	assertEquals "rebuilding" rebuilding "$(jget volumes 0 state)"
	assertEquals "r1 in-sync" in-sync "$(jget volumes 0 replicas 0 state)"
	assertFalse "md: r2 not in_sync yet" "md_member_state $md $dev2 | grep -Eq 'in_sync|faulty'"
	assertEquals "r2 rebuilding" rebuilding "$(jget volumes 0 replicas 1 state)"
	assertEquals "r2: device" "/dev/$dev2" "$(jget volumes 0 replicas 1 device)"
	assertEquals "sync action" recover "$(jget volumes 0 sync action)"
	assert_sync_between "$before" "$after"
	nvmf-raid status life > /tmp/status-test.txt
	assertTrue "human: r2 rebuilding with its progress and the array's rate cap (200 KiB/s, set above)" \
		"grep -Eq '^  r2 +rebuilding +/dev/$dev2 +tcp://127.0.0.1:4420  recover [0-9]+\\.[0-9]% \\(rate cap 200 KiB/s\\)$' /tmp/status-test.txt"
	show rebuilding
	# A bitmap heal is not held at sync_speed_min under I/O: the minimum
	# is the array's maximum while it runs (rebuild_heal_unthrottled()).
	assertEquals "heal: sync_speed_min at the array's sync_speed_max" "200 (local)" \
		"$(cat "/sys/block/$md/md/sync_speed_min")"
	echo system > "/sys/block/$md/md/sync_speed_max"
	echo system > "/sys/block/$md/md/sync_speed_min"
	SLOWED=

	# Healed: optimal again.
	wait_until 120 eval "md_idle $md && attr_is /sys/block/$md/md/dev-$dev2/state in_sync"
	assertTrue "md: r2 back in sync" $?
	status_json life
	assertEquals "healed: exit 0" 0 $?
	assertEquals "md: whole" 0 "$(md_degraded "$md")"
	assertTrue "heal over: sync_speed_min the admin wrote during it kept (system)" \
		"file_has /sys/block/$md/md/sync_speed_min '(system)'"
	assertEquals "healed: optimal" optimal "$(jget volumes 0 state)"
	assertEquals "r1 in-sync" in-sync "$(jget volumes 0 replicas 0 state)"
	assertEquals "r2 in-sync" in-sync "$(jget volumes 0 replicas 1 state)"
	assertEquals "no sync" null "$(jget volumes 0 sync)"
	assertEquals "r2: no progress" null "$(jget volumes 0 replicas 1 progress)"
	assert_replica_live life 2
	nvmf-raid status life > /tmp/status-test.txt
	assertTrue "human: healed header" "grep -Eq '^life +optimal ' /tmp/status-test.txt"
	show healed
}

test_inactive_and_broken_volumes() {
	new_volume ina 2
	new_volume tra 1
	mkdir -p /run/nvmf-raid/volumes
	mv "$VOLDIR/tra.conf" /run/nvmf-raid/volumes/tra.conf
	status_json ina
	assertEquals "exit 0" 0 $?
	assertEquals "inactive" inactive "$(jget volumes 0 state)"
	assertEquals "not attached" false "$(jget volumes 0 attached)"
	assertEquals "source" "$VOLDIR/ina.conf" "$(jget volumes 0 source)"
	assertEquals "persistent" true "$(jget volumes 0 persistent)"
	assertEquals "device null" null "$(jget volumes 0 device)"
	assertEquals "md null" null "$(jget volumes 0 md)"
	assertEquals "size null" null "$(jget volumes 0 size)"
	assertEquals "sync null" null "$(jget volumes 0 sync)"
	assertEquals "two replicas" 2 "$(py3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["volumes"][0]["replicas"]))' "$ST")"
	assertEquals "r1: state null" null "$(jget volumes 0 replicas 0 state)"
	assertEquals "r1: device null" null "$(jget volumes 0 replicas 0 device)"
	assertEquals "r2: uuid from the volume file" "$(replica_uuid ina 2)" "$(jget volumes 0 replicas 1 uuid)"
	assertEquals "nothing connected by status" "" "$(ctrls_by_nqn "$(tgt_nqn ina-r1)")"
	status_json tra
	assertEquals "transient: inactive" inactive "$(jget volumes 0 state)"
	assertEquals "transient: not persistent" false "$(jget volumes 0 persistent)"
	assertEquals "transient: source" /run/nvmf-raid/volumes/tra.conf "$(jget volumes 0 source)"
	nvmf-raid status ina > /tmp/status-test.txt
	assertTrue "human: inactive header" "grep -Eq '^ina +inactive +$VOLDIR/ina.conf$' /tmp/status-test.txt"
	assertTrue "human: r1 line" "grep -Eq '^  r1 +- +- +tcp://127.0.0.1:4420$' /tmp/status-test.txt"
	# A broken volume file: shown with its error, exit 1.
	printf '[volume]\nbogus = 1\n' > "$VOLDIR/brk.conf"
	status_json brk ina
	assertEquals "broken: exit 1" 1 $?
	assertEquals "broken: still listed, inactive" "brk inactive" "$(jget volumes 0 volume) $(jget volumes 0 state)"
	assertTrue "broken: error says what to run" "jget volumes 0 error | grep -q 'nvmf-raid check brk'"
	assertEquals "broken: the other volume still shown" ina "$(jget volumes 1 volume)"
}

test_one_replica_volume() {
	local dev
	new_volume one 1
	systemctl start nvmf-raid@one || { fail "attach"; return; }
	dev=$(dev_by_uuid "$(replica_uuid one 1)")
	status_json one
	assertEquals "exit 0" 0 $?
	assertEquals "optimal" optimal "$(jget volumes 0 state)"
	assertEquals "no md" null "$(jget volumes 0 md)"
	assertEquals "link target" "$dev" "$(basename "$(readlink -f /dev/nvmf-raid/one)")"
	assertEquals "size of the namespace" "$(bytes_of "$dev")" "$(jget volumes 0 size)"
	assertEquals "r1 in-sync" in-sync "$(jget volumes 0 replicas 0 state)"
	assert_replica_live one 1
	nvmf-raid status one > /tmp/status-test.txt
	assertTrue "human: header points at the namespace" \
		"grep -Eq '^one +optimal +/dev/nvmf-raid/one -> /dev/$dev ' /tmp/status-test.txt"
	assertTrue "human: r1 line" "grep -Eq '^  r1 +in-sync +/dev/$dev +tcp://127.0.0.1:4420$' /tmp/status-test.txt"
}

test_unknown_and_invalid_names() {
	new_volume kn 1
	nvmf-raid status nosuch > /dev/null 2> /tmp/status-test.err
	assertEquals "unknown volume: exit 1" 1 $?
	assertTrue "message names it" "grep -q 'nosuch: no such volume' /tmp/status-test.err"
	status_json nosuch kn 2> /dev/null
	assertEquals "unknown among known: exit 1" 1 $?
	assertEquals "the known one still shown" "kn inactive" "$(jget volumes 0 volume) $(jget volumes 0 state)"
	nvmf-raid status 'a/b' > /dev/null 2>&1
	assertEquals "invalid name: exit 2" 2 $?
	nvmf-raid status --no-such-option > /dev/null 2>&1
	assertEquals "bad option: exit 2" 2 $?
	assertTrue "--help" "nvmf-raid status --help | grep -q 'Usage: nvmf-raid status'"
}

test_no_argument_lists_everything_sorted() {
	new_volume lb 2
	new_volume la 1
	systemctl start nvmf-raid@la || { fail "attach"; return; }
	status_json
	assertEquals "exit 0" 0 $?
	py3 - "$ST" <<-'PY'
	import json, sys
	d = json.load(open(sys.argv[1]))
	names = [v["volume"] for v in d["volumes"]]
	states = {v["volume"]: v["state"] for v in d["volumes"]}
	ok = (d["format"] == "nvmf-raid-status" and d["version"] == 1 and names == sorted(names)
	      and states.get("la") == "optimal" and states.get("lb") == "inactive")
	sys.exit(0 if ok else 1)
	PY
	assertTrue "JSON parses; la optimal (attached), lb inactive, sorted by name" $?
	nvmf-raid status > /tmp/status-test.txt
	assertEquals "human: exit 0" 0 $?
	assertTrue "human: both volumes" "grep -Eq '^la +optimal ' /tmp/status-test.txt && grep -Eq '^lb +inactive ' /tmp/status-test.txt"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
