#!/bin/bash
# Status tells the truth, and the device link survives (issue 11 item 0):
# the link of an array outlives events whose rule input is missing and is
# made again by the monitor; status (text, JSON, exit status) says what a
# user of /dev/nvmf-raid/VOLUME gets when md refuses writes or no replica
# is reachable.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

CURSOR=/tmp/status-truth.cursor
ST=/tmp/status-truth.json
ID_LINK_REPAIRED=078d4918aff04959a1b48310c5f3df6a
ID_LINK_LOST=83cb778f4ed549c4b6b71788e487bb55
ID_ARRAY_UNWRITABLE=9496dcaa37d24189ba507444c37a9999
REPAIR_BOUND=10		# seconds from the link's removal to its return

oneTimeSetUp() {
	tgt_modules || return 1
}

setUp() {
	journal_mark "$CURSOR"
	VOL_KEYS="reconnect-delay = 1"
	FIO_PID=
	rm -f "$ST" "$ST.flat"
}

tearDown() {
	local v
	[ -n "$FIO_PID" ] && kill -INT "$FIO_PID" 2> /dev/null && wait "$FIO_PID"
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_remove_all
	rm -f /var/lib/nvmf-raid/*.json
	return 0
}

# status_json VOL : nvmf-raid status --json VOL into $ST; its exit status.
status_json() { nvmf-raid status --json "$@" > "$ST" 2> /dev/null; }

# md_writes_gt MD N : MD has completed more than N writes (/sys/block/MD/stat).
md_writes_gt() {
	local w
	read -r _ _ _ _ w _ < "/sys/block/$1/stat"
	[ "$w" -gt "$2" ]
}

# fio_writing MD : until the fio just started writes to MD (at nice
# $FIO_NICE it may take seconds to start in a loaded guest: a fault before
# its first write would prove nothing, and fio stopped before it started
# reports nothing).
fio_writing() {
	local w0
	read -r _ _ _ _ w0 _ < "/sys/block/$1/stat"
	wait_until 60 md_writes_gt "$1" "$((w0 + 20))"
}

since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN {printf "%.2f", b - a}'; }

link_to() { [ "$(readlink -f "/dev/nvmf-raid/$1")" = "/dev/$2" ]; }

# udev's own record of the array: the link among its symlinks, and the
# volume imported by our rule.
udev_has_link() {
	local info
	info=$(udevadm info "/dev/$2")
	echo "$info" | grep -qx "S: nvmf-raid/$1" && echo "$info" | grep -qx "E: NVMF_RAID_VOLUME=$1"
}

attach() {
	new_volume "$1" "$2" "${3:-64M}" || return 1
	systemctl start "nvmf-raid@$1" || return 1
	md_wait "/dev/nvmf-raid/$1"
	return 0
}

test_link_removed_is_made_again_by_monitor() {
	local md t0 dt
	attach lnk 2 || { fail "attach"; return; }
	md=$(md_of lnk)
	assertTrue "udevadm info: the link and the volume on $md" "udev_has_link lnk $md"
	assertTrue "by-md-dev entry written at attach" "grep -qx 'NVMF_RAID_VOLUME=lnk' /run/nvmf-raid/by-md-dev/$md"

	rm -f /dev/nvmf-raid/lnk
	t0=$(uptime_s)
	wait_until 30 link_to lnk "$md"
	assertTrue "the monitor made the link again" $?
	dt=$(since "$t0")
	echo "FIGURE link removed -> back: ${dt}s (bound ${REPAIR_BOUND}s)"
	assertTrue "link back within ${REPAIR_BOUND}s (took ${dt}s)" \
		"awk -v d=$dt -v b=$REPAIR_BOUND 'BEGIN {exit !(d <= b)}'"
	wait_until 10 journal_has_id "$ID_LINK_REPAIRED"
	assertTrue "journal: link repaired (MESSAGE_ID)" $?
	journalctl --no-pager -q -o cat --after-cursor "$(cat "$CURSOR")" MESSAGE_ID="$ID_LINK_REPAIRED"
	assertTrue "udevadm info after the repair" "udev_has_link lnk $md"
	status_json lnk
	assertEquals "status: exit 0" 0 $?
	assertEquals "status: optimal" optimal "$(jget volumes 0 state)"
	assertEquals "device-link" "/dev/$md" "$(jget volumes 0 device-link)"
	assertEquals "no problems" "[]" "$(jget volumes 0 problems)"
}

# The rule's inputs: without by-md-uuid (what a broken array's mdadm output
# amounts to) a change keeps the link through by-md-dev; without both, the
# link goes, the monitor cannot make it, says so, and status says failed.
test_change_without_rule_input() {
	local md uuid_entry dev_entry t0 dt
	attach inp 2 || { fail "attach"; return; }
	md=$(md_of inp)
	uuid_entry=$(grep -lx 'NVMF_RAID_VOLUME=inp' /run/nvmf-raid/by-md-uuid/*)
	dev_entry=/run/nvmf-raid/by-md-dev/$md
	cp "$uuid_entry" /tmp/uuid-entry && cp "$dev_entry" /tmp/dev-entry

	rm -f "$uuid_entry"
	udevadm trigger --action=change --settle "/sys/block/$md"
	assertTrue "change without the MD_UUID entry: link kept (by-md-dev)" "link_to inp $md"
	assertTrue "udevadm info: link kept" "udev_has_link inp $md"
	assertFalse "journal: nothing to repair" "journal_has_id $ID_LINK_REPAIRED"

	rm -f "$dev_entry"
	udevadm trigger --action=change --settle "/sys/block/$md"
	assertFalse "change without either entry: the link goes" "[ -e /dev/nvmf-raid/inp ]"
	wait_until 30 journal_has_id "$ID_LINK_LOST"
	assertTrue "journal: link lost, not repairable (MESSAGE_ID)" $?
	journalctl --no-pager -q -o cat --after-cursor "$(cat "$CURSOR")" MESSAGE_ID="$ID_LINK_LOST"
	status_json inp
	assertEquals "status: exit 1" 1 $?
	assertEquals "status: failed" failed "$(jget volumes 0 state)"
	assertEquals "writable false" false "$(jget volumes 0 writable)"
	assertEquals "device-link null" null "$(jget volumes 0 device-link)"
	assertEquals "problems" '["device-link-missing"]' "$(jget volumes 0 problems)"
	nvmf-raid status inp > /tmp/status-truth.txt 2> /dev/null
	assertEquals "text: exit 1" 1 $?
	assertTrue "text: the problem on the header" \
		"grep -Eq '^inp +failed +/dev/nvmf-raid/inp -> /dev/$md .*problems: device-link-missing$' /tmp/status-truth.txt"

	# The monitor tries again on its own (every 30 s): back without any
	# event of ours once the entries are.
	cp /tmp/uuid-entry "$uuid_entry" && cp /tmp/dev-entry "$dev_entry"
	t0=$(uptime_s)
	wait_until 45 link_to inp "$md"
	assertTrue "the monitor's retry made the link" $?
	dt=$(since "$t0")
	echo "FIGURE link back by the monitor's retry: ${dt}s after the entries returned (retry every 30s)"
	status_json inp
	assertEquals "status: exit 0 again" 0 $?
	assertEquals "status: optimal again" optimal "$(jget volumes 0 state)"
}

# md set read-only (mdadm --readonly, a real way): not optimal, exit 1.
test_read_only_array() {
	local md
	attach ro 2 || { fail "attach"; return; }
	md=$(md_of ro)
	# udev's probes open the array for a moment; md refuses while they do.
	wait_until 20 mdadm --readonly "/dev/$md" || { fail "mdadm --readonly"; return; }
	assertEquals "md: readonly" readonly "$(cat "/sys/block/$md/md/array_state")"
	status_json ro
	assertEquals "read-only: exit 1" 1 $?
	assertEquals "failed" failed "$(jget volumes 0 state)"
	assertEquals "writable false" false "$(jget volumes 0 writable)"
	assertEquals "array-state" readonly "$(jget volumes 0 array-state)"
	assertEquals "problems" '["array-read-only"]' "$(jget volumes 0 problems)"
	assertEquals "replicas still in-sync" "in-sync in-sync" \
		"$(jget volumes 0 replicas 0 state) $(jget volumes 0 replicas 1 state)"
	wait_until 15 journal_has_id "$ID_ARRAY_UNWRITABLE"
	assertTrue "journal: array takes no writes (MESSAGE_ID)" $?
	assertTrue "the link survives the state change" "link_to ro $md && udev_has_link ro $md"
	nvmf-raid status ro 2> /tmp/status-truth.err > /tmp/status-truth.txt
	assertTrue "stderr says it" "grep -q 'ro: failed, cannot take writes now' /tmp/status-truth.err"
	cat /tmp/status-truth.txt
	mdadm --readwrite "/dev/$md"
	status_json ro
	assertEquals "read-write again: exit 0" 0 $?
	assertEquals "optimal again" optimal "$(jget volumes 0 state)"
}

# A member's namespace removed (udev "remove" of the member): the link of
# the array stays, status degraded (writable, exit 0).
test_member_remove_keeps_link() {
	local md dev2
	attach rem 2 || { fail "attach"; return; }
	md=$(md_of rem)
	dev2=$(dev_by_uuid "$(replica_uuid rem 2)")
	tgt_ns_disable rem-r2
	wait_until 30 gone "/sys/block/$dev2"
	assertTrue "the member's namespace is gone" $?
	dd if=/dev/urandom of=/dev/nvmf-raid/rem bs=64k count=4 oflag=direct status=none
	wait_until 30 attr_is "/sys/block/$md/md/degraded" 1
	udevadm settle
	assertTrue "link kept after the member's remove" "link_to rem $md && udev_has_link rem $md"
	status_json rem
	assertEquals "degraded: exit 0" 0 $?
	assertEquals "degraded" degraded "$(jget volumes 0 state)"
	assertEquals "writable" true "$(jget volumes 0 writable)"
	tgt_ns_enable rem-r2
}

# One sample of everything during the outage: uptime, controller states,
# md's array state before and after, status's answer.
sample() {
	local vol=$1 md=$2 t c a0 a1 rc st pr wr dl s0 s1
	t=$(uptime_s)
	c=$(for x in $(ctrls_by_nqn "$(tgt_nqn "$vol-r1")") $(ctrls_by_nqn "$(tgt_nqn "$vol-r2")"); do
		ctrl_state "$x"; done | sort -u | tr '\n' ,)
	a0=$(cat "/sys/block/$md/md/array_state")
	s0=$(uptime_s)
	status_json "$vol"
	rc=$?
	s1=$(uptime_s)
	a1=$(cat "/sys/block/$md/md/array_state")
	read -r st pr wr dl <<< "$(py3 -c 'import json,sys
v = json.load(open(sys.argv[1]))["volumes"][0]
print(v["state"], ",".join(v["problems"]) or "-", json.dumps(v["writable"]), v["device-link"])' "$ST")"
	echo "$t $c $a0 $a1 $rc $st $pr $wr $dl [ link=$(readlink "/dev/nvmf-raid/$vol")," \
		"status took $(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.2f", b - a}')s ]"
}

# Every replica unreachable, fio writing with verify.  Since the monitor
# fails replicas over itself (controllers connected with fast_io_fail_tmo
# off), writes just wait: suspended.  Before that, the kernel's
# fast_io_fail_tmo failed one member after ~2 s and the last one's failed
# write broke the array (test_broken_array).  What status says is asserted
# against what the kernel showed around each sample, so the test holds
# either way:
#   no controller live, array not broken  -> suspended, exit 1
#   array broken                          -> failed (array-broken), exit 1
# and the link is there in every sample.
test_all_replicas_unreachable() {
	local md t0 line n=0 n_susp=0 n_fail=0 n_link=0 first_susp='' first_fail='' broke=0 fio_err
	local t c a0 a1 rc st pr wr dl
	attach tot 2 || { fail "attach"; return; }
	md=$(md_of tot)
	nice -n "$FIO_NICE" fio --name=bg --filename=/dev/nvmf-raid/tot --rw=randwrite --bs=4k --size=8M --direct=1 \
		--ioengine=libaio --iodepth=4 --verify=crc32c --verify_backlog=128 --verify_fatal=1 \
		--time_based --runtime=900 --output=/tmp/fio-tot.log > /dev/null 2>&1 &
	FIO_PID=$!
	fio_writing "$md" || fail "fio not writing to $md after 60 s"
	status_json tot
	assertEquals "before: optimal" optimal "$(jget volumes 0 state)"

	tgt_vanish tot-r1
	tgt_vanish tot-r2
	t0=$(uptime_s)
	while awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN {exit !(b - a < 15)}'; do
		line=$(sample tot "$md")
		echo "sample +$(since "$t0")s: $line"
		read -r t c a0 a1 rc st pr wr dl _ <<< "$line"
		n=$((n + 1))
		[ "$dl" = "/dev/$md" ] && n_link=$((n_link + 1))
		if [ "$a0" = broken ] && [ "$a1" = broken ]; then
			broke=1
			n_fail=$((n_fail + 1))
			[ -n "$first_fail" ] || first_fail=$(awk -v a="$t0" -v b="$t" 'BEGIN {printf "%.2f", b - a}')
			assertEquals "broken: failed ($line)" failed "$st"
			assertTrue "broken: array-broken named ($line)" "echo $pr | grep -q array-broken"
			assertEquals "broken: exit 1 ($line)" 1 "$rc"
			assertEquals "broken: writable false" false "$wr"
		elif ! echo "$c" | grep -q live && [ "$a0" = "$a1" ] && [ "$a0" != broken ]; then
			n_susp=$((n_susp + 1))
			[ -n "$first_susp" ] || first_susp=$(awk -v a="$t0" -v b="$t" 'BEGIN {printf "%.2f", b - a}')
			assertEquals "no controller live: suspended ($line)" suspended "$st"
			assertTrue "no-replica-reachable named ($line)" "echo $pr | grep -q no-replica-reachable"
			assertEquals "suspended: exit 1 ($line)" 1 "$rc"
		fi
		[ "$st" = optimal ] && fail "optimal while every replica is cut: $line"
	done
	echo "FIGURE samples $n over 15s: suspended $n_susp (first at +${first_susp:--}s), failed/broken $n_fail (first at +${first_fail:--}s), link present in $n_link"
	assertEquals "the link was there in every sample" "$n" "$n_link"
	assertTrue "at least one sample taken while I/O waited or md refused" "[ $((n_susp + n_fail)) -gt 0 ]"
	assertTrue "udevadm info during the outage" "udev_has_link tot $md"
	if [ "$broke" = 1 ]; then
		wait_until 15 journal_has_id "$ID_ARRAY_UNWRITABLE"
		assertTrue "journal: array broken (MESSAGE_ID)" $?
		journalctl --no-pager -q -o cat --after-cursor "$(cat "$CURSOR")" MESSAGE_ID="$ID_ARRAY_UNWRITABLE"
	fi

	tgt_return tot-r1
	tgt_return tot-r2
	t0=$(uptime_s)
	wait_until 60 mdstat_shows "$md" '[UU]'
	assertTrue "md has both members back" $?
	echo "FIGURE both members back in md after $(since "$t0")s: $(grep -A1 "^$md " /proc/mdstat | tail -1)"
	udevadm settle
	assertTrue "link after the return" "link_to tot $md && udev_has_link tot $md"
	kill -INT "$FIO_PID" 2> /dev/null
	wait "$FIO_PID"
	FIO_PID=
	fio_err=$(grep -o 'err= *[0-9]*' /tmp/fio-tot.log | head -1)
	echo "FIGURE fio: ${fio_err:-no result}; md array_state now $(cat "/sys/block/$md/md/array_state")"
	status_json tot
	rc=$?
	echo "after return: exit $rc, $(jget volumes 0 state) $(jget volumes 0 problems)"
	if [ "$(cat "/sys/block/$md/md/array_state")" = broken ]; then
		# md keeps MD_BROKEN until the array is stopped, [UU] or not.
		assertEquals "still broken after the return: failed" failed "$(jget volumes 0 state)"
		assertEquals "still broken: exit 1" 1 "$rc"
		assertTrue "fio saw the failed writes" "echo '$fio_err' | grep -qv 'err= *0$'"
	else
		assertEquals "not broken: fio had no error" "err= 0" "$fio_err"
		wait_until 60 nvmf-raid status tot
		assertTrue "not broken: writable again, exit 0" $?
	fi
}

# A really broken array: the kernel's own fast_io_fail_tmo (2 s) on both
# replicas, both cut under fio --verify, as before the monitor failed
# replicas over itself (the lead's measurement).  The monitor is stopped
# meanwhile: it switches the kernel's timer off on every sample.  md fails
# one member, the last one's failed write reaches fio (EIO) and md marks
# the array broken.  mdadm --detail then prints the array UUID
# word-swapped: a "change" used to drop the link.
test_broken_array() {
	local md c t0 uuid_now
	attach brk 2 || { fail "attach"; return; }
	md=$(md_of brk)
	systemctl stop nvmf-raid-monitor@brk
	for c in $(ctrls_by_nqn "$(tgt_nqn brk-r1)") $(ctrls_by_nqn "$(tgt_nqn brk-r2)"); do
		echo 2 > "/sys/class/nvme/$c/fast_io_fail_tmo"
	done
	nice -n "$FIO_NICE" fio --name=bg --filename=/dev/nvmf-raid/brk --rw=randwrite --bs=4k --size=8M --direct=1 \
		--ioengine=libaio --iodepth=4 --verify=crc32c --verify_backlog=128 --verify_fatal=1 \
		--time_based --runtime=900 --output=/tmp/fio-brk.log > /dev/null 2>&1 &
	FIO_PID=$!
	fio_writing "$md" || fail "fio not writing to $md after 60 s"
	tgt_vanish brk-r1
	tgt_vanish brk-r2
	t0=$(uptime_s)
	wait_until 60 attr_is "/sys/block/$md/md/array_state" broken
	assertTrue "md: array broken" $?
	echo "FIGURE array broken $(since "$t0")s after both replicas were cut"
	wait "$FIO_PID"
	FIO_PID=
	echo "FIGURE fio: $(grep -o 'err= *[0-9]*[^)]*)' /tmp/fio-brk.log | head -1)"
	assertTrue "fio got the last member's error (EIO)" "grep -q 'err= *5' /tmp/fio-brk.log"

	systemctl start nvmf-raid-monitor@brk
	udevadm trigger --action=change --settle "/sys/block/$md"
	uuid_now=$(udevadm info --query=property "/dev/$md" | sed -n 's/^MD_UUID=//p')
	echo "FIGURE MD_UUID from mdadm on the broken array: ${uuid_now:-none}; by-md-uuid entry:" \
		"$(grep -lx 'NVMF_RAID_VOLUME=brk' /run/nvmf-raid/by-md-uuid/* | xargs -n1 basename)"
	assertTrue "the link survives a change on the broken array" "link_to brk $md && udev_has_link brk $md"
	status_json brk
	assertEquals "broken: exit 1" 1 $?
	assertEquals "broken: failed" failed "$(jget volumes 0 state)"
	assertEquals "array-state" broken "$(jget volumes 0 array-state)"
	assertTrue "problems name it" "jget volumes 0 problems | grep -q array-broken"
	assertEquals "device-link" "/dev/$md" "$(jget volumes 0 device-link)"
	wait_until 15 journal_has_id "$ID_ARRAY_UNWRITABLE"
	assertTrue "journal: array broken (MESSAGE_ID)" $?
	journalctl --no-pager -q -o cat --after-cursor "$(cat "$CURSOR")" MESSAGE_ID="$ID_ARRAY_UNWRITABLE"

	# md may show both members again (the monitor re-adds the failed one)
	# and still refuses writes.
	tgt_return brk-r1
	tgt_return brk-r2
	wait_until 60 mdstat_shows "$md" '[UU]'
	echo "FIGURE after the return: $(grep -A1 "^$md " /proc/mdstat | tail -1 | xargs), array_state $(cat "/sys/block/$md/md/array_state")"
	status_json brk
	assertEquals "still broken: exit 1" 1 $?
	assertEquals "still broken: failed, not optimal" failed "$(jget volumes 0 state)"
	assertEquals "array-state still broken" broken "$(jget volumes 0 array-state)"
	udevadm trigger --action=change --settle "/sys/block/$md"
	assertTrue "the link survives the return" "link_to brk $md && udev_has_link brk $md"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
