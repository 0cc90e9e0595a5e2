#!/bin/bash
# Any helper killed (SIGKILL) at any point of attach, detach or reload, and
# the monitor killed during a re-add, leaves a state that the next run
# completes: start gives the whole array with the data written before,
# stop leaves nothing of the volume (and nothing of another one is
# touched), reload applies the file.  Each kill lands at a named point,
# found by polling the state the helper builds (controller connected,
# array running, descriptor written, ...), or after a fixed delay.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

SIZE=32M

oneTimeSetUp() {
	tgt_modules || return 1
}

setUp() {
	FIO_PID=
	VOL_KEYS="reconnect-delay = 1"
}

tearDown() { fault_teardown; }

# --- state probes made of shell builtins: they run in a tight loop while
# the helper works, and must not slow it down with forks ---

# has_ctrl NQN : a controller of subsystem NQN exists.
has_ctrl() {
	local c s
	for c in /sys/class/nvme/nvme*; do
		[ -r "$c/subsysnqn" ] || continue
		read -r s < "$c/subsysnqn" && [ "$s" = "$1" ] && return 0
	done
	return 1
}

# vol_ctrls VOL : the number of replicas of VOL with a controller.
vol_ctrls() {
	local i n=0
	for i in 1 2 3 4 5 6; do has_ctrl "$TGT_NQN_PREFIX$1-r$i" && n=$((n + 1)); done
	echo "$n"
}

# md_running [MDX] : MDX (or any md array) is running.
# shellcheck disable=SC2120 # MDX is passed inside eval strings
md_running() {
	local f s pat=${1:-md*}
	# shellcheck disable=SC2086 # the pattern is expanded
	for f in /sys/block/$pat/md/array_state; do
		[ -r "$f" ] && read -r s < "$f" || continue
		case $s in clear | inactive) ;; *) return 0 ;; esac
	done
	return 1
}

md_attr() { local s; read -r s < "/sys/block/$1/md/$2" 2> /dev/null && echo "$s"; }
md_members() { local n=0 d; for d in /sys/block/"$1"/md/dev-*; do [ -e "$d" ] && n=$((n + 1)); done; echo $n; }

# desc_has VOL TEXT : the descriptor of VOL exists and contains TEXT.
desc_has() {
	local f=/run/nvmf-raid/$1.json l
	[ -f "$f" ] || return 1
	while IFS= read -r l; do [[ $l == *"$2"* ]] && return 0; done < "$f"
	return 1
}

# What is there of VOL, for the report.
state_of() {
	local md=none
	md_running && md=running
	printf 'controllers=%s array=%s descriptor=%s' "$(vol_ctrls "$1")" "$md" \
		"$( [ -f "/run/nvmf-raid/$1.json" ] && { desc_has "$1" '"/dev/md' && echo with-md || echo without-md; } || echo none)"
}

# --- killing ---

# helper_pid VOL Main|Control : the pid of the unit's running helper.
helper_pid() {
	local pid end=$((SECONDS + 30))
	while [ $SECONDS -lt $end ]; do
		pid=$(systemctl show -P "$2PID" "nvmf-raid@$1")
		[ "${pid:-0}" != 0 ] && { echo "$pid"; return 0; }
		sleep 0.05
	done
	return 1
}

# kill_when VOL PID POINT CMD... : SIGKILL PID the moment CMD holds; KILLED
# says where, with what was there.  Return 1 if the helper ended first.
kill_when() {
	local vol=$1 pid=$2 point=$3 end=$((SECONDS + 60))
	shift 3
	while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do
		"$@" > /dev/null 2>&1 || continue
		kill -9 "$pid" 2> /dev/null || break
		KILLED="killed pid $pid at $point ($(state_of "$vol"))"
		echo "  $KILLED"
		return 0
	done
	KILLED="missed $point: the helper had ended ($(state_of "$vol"))"
	echo "  $KILLED"
	return 1
}

# kill_after VOL PID SECONDS
kill_after() {
	sleep "$3"
	if kill -9 "$2" 2> /dev/null; then
		KILLED="killed pid $2 after $3 s ($(state_of "$1"))"
	else
		KILLED="missed after $3 s: the helper had ended ($(state_of "$1"))"
	fi
	echo "  $KILLED"
}

# Waits until the unit left "activating", "deactivating" and "reloading".
unit_settled() {
	wait_until 60 unit_is "nvmf-raid@$1" active inactive failed &&
		! systemctl show -P SubState "nvmf-raid@$1" | grep -q reload
}

# --- what the next run must give ---

# assert_whole VOL N : attached, the array over all N replicas, in sync,
# the descriptor and the record say so, the data written before is there.
assert_whole() {
	local vol=$1 n=$2 md i d
	assertEquals "$vol: unit active" active "$(unit_active "$vol")"
	assertTrue "$vol: /dev/nvmf-raid/$vol exists" "[ -b /dev/nvmf-raid/$vol ]"
	md=$(md_of "$vol")
	assertEquals "$vol: $n slots" "$n" "$(md_attr "$md" raid_disks)"
	wait_until 90 md_whole "$md"
	assertTrue "$vol: not degraded, no resync (sync_action $(md_attr "$md" sync_action))" $?
	for i in $(seq 1 "$n"); do
		d=$(dev_by_uuid "$(replica_uuid "$vol" "$i")")
		assertEquals "$vol: r$i ($d) in sync" in_sync "$(md_member_state "$md" "$d")"
	done
	wait_until 30 json_in_sync_is "$vol" "$n"
	assertTrue "$vol: descriptor: $n replicas in-sync" $?
	wait_until 30 record_count_is "$vol" "$n"
	assertTrue "$vol: record: $n replicas in sync" $?
	fio_verify "/dev/nvmf-raid/$vol" "$FIO_SIZE"
	assertEquals "$vol: the data written before verifies" 0 $?
}

# assert_gone VOL : nothing of VOL is left.
assert_gone() {
	local vol=$1 i
	assertFalse "$vol: no link" "[ -e /dev/nvmf-raid/$vol ]"
	assertEquals "$vol: no array" 0 "$(arrays_of "$vol")"
	assertFalse "$vol: no md array named $vol" "[ -e /dev/md/$vol ]"
	for i in $(seq 1 "$(wc -l < "$TGT_STORE/$vol.uuids")"); do
		assertFalse "$vol: r$i disconnected" "has_ctrl $(tgt_nqn "$vol-r$i")"
		assertFalse "$vol: no index entry of r$i" "grep -rqs NVMF_RAID_VOLUME=$vol /run/nvmf-raid/by-*"
	done
	assertFalse "$vol: no descriptor" "[ -e /run/nvmf-raid/$vol.json ]"
}

# outcome LABEL : the report line of one kill.
outcome() {
	echo "  outcome of $1: unit $(unit_active "$2"), $(state_of "$2"), md $(md_of "$2" 2> /dev/null), failures so far ${__shunit_assertsFailed:-0}"
}

FIO_SIZE=8M

# A volume with data on it, detached: the crashes then run on an
# existing array (assemble), the way most starts go.
volume_with_data() {
	new_volume "$1" "$2" "$SIZE" || return 1
	systemctl start "nvmf-raid@$1" || return 1
	md_wait "/dev/nvmf-raid/$1"
	fio_write "/dev/nvmf-raid/$1" "$FIO_SIZE" || return 1
	systemctl stop "nvmf-raid@$1"
}

# crash_unit VOL VERB POINT CMD... : systemctl VERB (start, stop or reload)
# without waiting, kill its helper at POINT (when CMD succeeds, or "after
# SECONDS"), wait until the unit settled.  Return: 0 if the kill landed.
crash_unit() {
	local vol=$1 verb=$2 point=$3 pid hit which=Control
	shift 3
	[ "$verb" = start ] && which=Main
	systemctl "$verb" --no-block "nvmf-raid@$vol"
	pid=$(helper_pid "$vol" "$which") || { fail "$vol: the $verb helper never ran"; return 1; }
	if [ "$1" = after ]; then kill_after "$vol" "$pid" "$2"; else kill_when "$vol" "$pid" "$point" "$@"; fi
	hit=$?
	unit_settled "$vol"
	return $hit
}

# crash_start VOL POINT CMD... : start, kill the attach at POINT, then what
# an admin does next: reset-failed and start.
crash_start() {
	local hit
	crash_unit "$1" start "${@:2}"
	hit=$?
	systemctl reset-failed "nvmf-raid@$1" 2> /dev/null
	return $hit
}

restart_and_check() {
	local vol=$1 n=$2 label=$3
	systemctl start "nvmf-raid@$vol"
	assertEquals "$label: the next start succeeds" 0 $?
	assert_whole "$vol" "$n"
	outcome "$label" "$vol"
	systemctl stop "nvmf-raid@$vol"
	assertEquals "$label: stop afterwards" 0 $?
	assert_gone "$vol"
}

# Every replica away: the attach connects nothing and waits; killed then.
test_attach_killed_before_connect() {
	volume_with_data ka 2 || { fail "setup"; return; }
	tgt_vanish ka-r1
	tgt_vanish ka-r2
	crash_start ka before-connect desc_has ka '"replicas"'
	assertTrue "killed before any connect" $?
	tgt_return ka-r1
	tgt_return ka-r2
	restart_and_check ka 2 "attach killed before connect"
}

# One replica connected, the other away: killed while it waits for it.
test_attach_killed_after_connect_before_md() {
	volume_with_data kb 2 || { fail "setup"; return; }
	tgt_vanish kb-r2
	crash_start kb after-connect-before-md has_ctrl "$(tgt_nqn kb-r1)"
	assertTrue "killed with r1 connected, no array" $?
	tgt_return kb-r2
	restart_and_check kb 2 "attach killed after connect, before md"
}

# The array runs, the descriptor does not name it yet (the attach waits
# for udev's link): killed right then.  Tried up to three times.
test_attach_killed_after_md_before_descriptor() {
	volume_with_data kc 2 || { fail "setup"; return; }
	for _ in 1 2 3; do
		crash_start kc after-md-before-descriptor eval 'md_running && ! desc_has kc "\"/dev/md"' && break
		systemctl stop "nvmf-raid@kc"
	done
	assertTrue "killed between the array and the descriptor" "[[ '$KILLED' == killed* ]]"
	restart_and_check kc 2 "attach killed after md, before descriptor"
}

test_attach_killed_after_descriptor() {
	volume_with_data kd 2 || { fail "setup"; return; }
	crash_start kd after-descriptor desc_has kd '"/dev/md'
	restart_and_check kd 2 "attach killed after the descriptor"
}

# The first start of a volume: the array was just created, no record yet.
test_attach_killed_after_create() {
	new_volume ke 2 "$SIZE"
	for _ in 1 2 3; do
		crash_start ke after-create-before-descriptor eval 'md_running && ! desc_has ke "\"/dev/md"' && break
		systemctl stop "nvmf-raid@ke"
	done
	assertTrue "killed between create and the descriptor" "[[ '$KILLED' == killed* ]]"
	systemctl start nvmf-raid@ke
	assertEquals "the next start succeeds" 0 $?
	# Killed mid-resync: md may bring it up auto-read-only, its resync
	# held back until a write; attach sets it read-write.
	assertNotEquals "after the restart the array is read-write (its resync runs now)" \
		read-auto "$(md_attr "$(md_of ke)" array_state)"
	md_wait /dev/nvmf-raid/ke
	fio_write /dev/nvmf-raid/ke "$FIO_SIZE"
	assertEquals "writes after the restart" 0 $?
	systemctl stop nvmf-raid@ke
	restart_and_check ke 2 "attach killed after create"
}

test_attach_killed_after_delays() {
	local t
	volume_with_data kt 2 || { fail "setup"; return; }
	for t in 0.3 1.0 2.0; do
		crash_start kt "" after "$t"
		systemctl start nvmf-raid@kt
		assertEquals "attach killed after $t s: the next start succeeds" 0 $?
		assert_whole kt 2
		outcome "attach killed after $t s" kt
		systemctl stop nvmf-raid@kt
	done
	assert_gone kt
}

# --- detach ---

# crash_stop VOL POINT CMD... : stop, kill the detach at POINT.
crash_stop() { crash_unit "$1" stop "${@:2}"; }

# after_stop VOL LABEL : the admin stops again; nothing of VOL is left, the
# other volume is as it was; then the next start gives it whole again.
after_stop() {
	local vol=$1 label=$2
	systemctl reset-failed "nvmf-raid@$vol" 2> /dev/null
	systemctl stop "nvmf-raid@$vol"
	assertEquals "$label: stop succeeds" 0 $?
	assert_gone "$vol"
	outcome "$label" "$vol"
	assertEquals "$label: the other volume untouched" active "$(unit_active other)"
	assertTrue "$label: the other volume's array runs" "md_running $OTHER_MD"
	assertEquals "$label: the other volume's controllers" 2 "$(vol_ctrls other)"
	assertTrue "$label: the other volume's descriptor" "[ -f /run/nvmf-raid/other.json ]"
	systemctl start "nvmf-raid@$vol"
	assertEquals "$label: the next start succeeds" 0 $?
	assert_whole "$vol" 2
}

test_detach_killed() {
	local md point
	volume_with_data kx 2 || { fail "setup"; return; }
	new_volume other 2 "$SIZE"
	systemctl start nvmf-raid@other || { fail "other"; return; }
	OTHER_MD=$(md_of other)
	systemctl start nvmf-raid@kx
	for point in at-start after-md-stopped after-disconnect after-0.3; do
		md=$(md_of kx)
		case $point in
		at-start) crash_stop kx "$point" true ;;
		after-md-stopped) crash_stop kx "$point" eval "! md_running $md && has_ctrl $(tgt_nqn kx-r1)" ;;
		after-disconnect) crash_stop kx "$point" eval "[ \$(vol_ctrls kx) = 0 ] && [ -f /run/nvmf-raid/kx.json ]" ;;
		after-*) crash_stop kx "$point" after "${point#after-}" ;;
		esac
		after_stop kx "detach killed $point"
	done
}

# --- reload ---

# add_replica VOL I : target VOL-rI and its section in the volume file.
add_replica() {
	local vol=$1 i=$2 u
	u=$(new_uuid)
	echo "$u" >> "$TGT_STORE/$vol.uuids"
	tgt_add "$vol-r$i" "$SIZE" "$u" 1 || return 1
	printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = %s\n' \
		"$i" "$(tgt_nqn "$vol-r$i")" "$u" "$(tgt_port_uri 1)" >> "$VOLDIR/$vol.conf"
}

drop_replica() {
	awk -v s="[replica.r$2]" '/^\[/ {skip = ($0 == s)} !skip' "$VOLDIR/$1.conf" > "$VOLDIR/$1.conf.new" &&
		mv "$VOLDIR/$1.conf.new" "$VOLDIR/$1.conf"
}

# crash_reload VOL POINT CMD... : reload, kill the helper at POINT, then
# the admin reloads again, which must succeed.
crash_reload() {
	local point=$2
	crash_unit "$1" reload "${@:2}"
	systemctl reload "nvmf-raid@$1"
	assertEquals "reload killed $point: the next reload succeeds" 0 $?
}

# Replica 3 added, the reload killed at a point; reloaded again: three
# replicas.  Then replica 3 taken out again, that reload killed too.
test_reload_killed() {
	local md point nqn3 i=2
	volume_with_data kr 2 || { fail "setup"; return; }
	systemctl start nvmf-raid@kr
	md=$(md_of kr)
	for point in after-connect after-add after-grow; do
		i=$((i + 1))
		add_replica kr $i
		nqn3=$(tgt_nqn "kr-r$i")
		case $point in
		after-connect) crash_reload kr "$point" eval "has_ctrl $nqn3 && [ \$(md_members $md) = 2 ]" ;;
		after-add) crash_reload kr "$point" eval "[ \$(md_members $md) = 3 ] && [ \$(md_attr $md raid_disks) = 2 ]" ;;
		after-grow) crash_reload kr "$point" eval "[ \$(md_attr $md raid_disks) = 3 ] && ! desc_has kr '\"r$i\"'" ;;
		after-*) crash_reload kr "$point" after "${point#after-}" ;;
		esac
		# The uuid list holds r1, r2 and rI (line 3): assert_whole's r3.
		assertEquals "reload killed $point: unit still active" active "$(unit_active kr)"
		assertEquals "reload killed $point: the array still is $md" "$md" "$(md_of kr)"
		assert_whole kr 3
		outcome "reload (add) killed $point" kr
		# And out again, that reload killed while it shrinks the array.
		drop_replica kr $i
		crash_reload kr "remove-$point" eval "[ \$(md_members $md) = 2 ]"
		wait_until 20 eval "! file_has /run/nvmf-raid/kr.json '\"r$i\"'"
		assertTrue "remove killed: descriptor without r$i" $?
		assertEquals "remove killed: 2 slots" 2 "$(md_attr "$md" raid_disks)"
		assertFalse "remove killed: r$i disconnected" "has_ctrl $nqn3"
		sed -i '3,$d' "$TGT_STORE/kr.uuids"
		assert_whole kr 2
		outcome "reload (remove) killed" kr
		tgt_remove "kr-r$i"
	done
}

# --- monitor ---

# The monitor is killed at a random moment of putting a returned replica
# back (remove the failed one, re-add, recovery), with fio --verify
# writing throughout; the restarted monitor completes it.
test_monitor_killed_during_readd() {
	local round delay md d2 mpid
	new_volume km 2 64M
	systemctl start nvmf-raid@km || { fail "attach"; return; }
	md=$(md_of km)
	md_wait /dev/nvmf-raid/km
	fio_start km
	for round in 1 2; do
		tgt_vanish km-r2
		wait_state km r2 faulty 40
		assertTrue "round $round: r2 faulty" $?
		mpid=$(systemctl show -P MainPID nvmf-raid-monitor@km)
		delay=$(awk -v r="$RANDOM" 'BEGIN {printf "%.2f", r % 150 / 100}')
		tgt_return km-r2
		sleep "$delay"
		echo "  round $round: monitor (pid $mpid) killed ${delay} s after r2 returned:" \
			"r2 $(rstate km r2), md member $(md_member_state "$md" "$(dev_by_uuid "$(replica_uuid km 2)")"), sync_action $(md_attr "$md" sync_action)"
		systemctl kill -s KILL --kill-who=main nvmf-raid-monitor@km
		wait_states 60 km:r1=in-sync km:r2=in-sync
		assertTrue "round $round: both replicas in-sync again" $?
		d2=$(dev_by_uuid "$(replica_uuid km 2)")
		assertEquals "round $round: r2 in sync in md" in_sync "$(md_member_state "$md" "$d2")"
		assertNotEquals "round $round: monitor restarted" "$mpid" "$(systemctl show -P MainPID nvmf-raid-monitor@km)"
		echo "  outcome round $round: r2 $(rstate km r2), md degraded $(md_attr "$md" degraded), monitor $(systemctl is-active nvmf-raid-monitor@km)"
	done
	fio_stop
	wait_until 30 record_count_is km 2
	assertTrue "record: both in sync" $?
}

# An mdadm --re-add killed between its freeze and its unfreeze (mdadm
# Manage_subdevs(); here: the monitor's child, SIGTERMed by systemd when the
# monitor died) leaves the array frozen, the member a spare md never
# recovers.  Made for real: the array frozen the way mdadm freezes it
# (sync_action) while r2 is away; mdadm's own --re-add then leaves the
# freeze in place (it unfreezes only what it froze).  Asserts: the monitor
# thaws it and r2 is in sync within 60 s, fio --verify err=0, journal says so.
member_in_sync() { [ "$(md_member_state "$1" "$(dev_by_uuid "$2")")" = in_sync ]; }

test_frozen_by_killed_mdadm() {
	local md mark
	new_volume kz 2 "$SIZE"
	systemctl start nvmf-raid@kz || { fail "attach"; return; }
	md=$(md_of kz)
	md_wait /dev/nvmf-raid/kz
	mark=$(mktemp)
	journal_mark "$mark"
	fio_start kz
	tgt_vanish kz-r2
	wait_state kz r2 faulty 40
	assertTrue "r2 faulty" $?
	echo frozen > "/sys/block/$md/md/sync_action"
	tgt_return kz-r2
	wait_until 60 member_in_sync "$md" "$(replica_uuid kz 2)"
	assertTrue "r2 in sync in md within 60 s of its return" $?
	assertEquals "sync_action after" idle "$(md_sync_action "$md")"
	fio_stop
	journal_since "$mark" | grep -q "kz: /dev/$md was left frozen by an interrupted mdadm"
	assertTrue "journal: the monitor thawed the leftover freeze" $?
	rm -f "$mark"
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
