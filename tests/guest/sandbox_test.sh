#!/bin/bash
# Issue 14, item 4, on each release's own systemd: the monitor runs in its
# sandbox, and attach, detach and reload run with their capability bounding
# set and no new privileges.  What the kernel enforces on the running
# monitor is read from /proc (no new privileges, a seccomp filter, the
# bounding set) and from its mount namespace (/usr, /etc and /home
# read-only); systemd-analyze security scores both units, printed beside
# the same unit files without their sandbox settings (--offline), so the
# tables before and after come from this run.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

SA=/tmp/sandbox-test

oneTimeSetUp() {
	tgt_modules || return 1
	mkdir -p "$SA"
}

oneTimeTearDown() { rm -rf "$SA"; }

tearDown() { fault_teardown; }

# cap_mask CAP... : the capability set of CAP numbers, as /proc/PID/status
# prints it (16 hex digits).
cap_mask() {
	local m=0 c
	for c; do m=$((m | 1 << c)); done
	printf '%016x\n' "$m"
}

# status_field PID FIELD : FIELD of /proc/PID/status.
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }

# ro_in PID PATH : PATH is mounted read-only in PID's mount namespace.
ro_in() { [[ ,$(findmnt --task "$1" -no OPTIONS --target "$2"), == *,ro,* ]]; }

# exposure FILE : the overall exposure level systemd-analyze security
# printed into FILE ("3.4"), times 10 ("34"), for the shell's arithmetic.
exposure() {
	local e
	e=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9]*\)\.\([0-9]\).*/\1\2/p' "$1")
	echo "${e:-999}"
}

# analyze UNIT : systemd-analyze security of the loaded UNIT (after), and
# of its unit file without the settings that sandbox it (before), both
# printed; sets BEFORE and AFTER to their exposure levels times 10.
analyze() {
	local u=$1 base=${1%@*}
	systemd-analyze security --no-pager "$u" > "$SA/$base.after" 2>&1
	grep -vE '^(CapabilityBoundingSet|NoNewPrivileges|Protect[A-Za-z]*|Private[A-Za-z]*|Restrict[A-Za-z]*|LockPersonality|MemoryDenyWriteExecute|SystemCall[A-Za-z]*|UMask)=' \
		"$(systemctl show -P FragmentPath "$u")" > "$SA/$base-unsandboxed.service"
	systemd-analyze security --no-pager --offline=yes "$SA/$base-unsandboxed.service" \
		> "$SA/$base.before" 2>&1
	echo "== $u without its sandbox (before) =="
	cat "$SA/$base.before"
	echo "== $u as installed (after) =="
	cat "$SA/$base.after"
	BEFORE=$(exposure "$SA/$base.before") AFTER=$(exposure "$SA/$base.after")
}

test_monitor_sandbox() {
	local pid
	new_volume sb 2 32M || fail "targets"
	systemctl start nvmf-raid@sb || { fail "attach"; return; }
	wait_until 30 unit_is nvmf-raid-monitor@sb active || fail "monitor active"
	pid=$(systemctl show -P MainPID nvmf-raid-monitor@sb)
	grep -E '^(NoNewPrivs|Seccomp|CapBnd|CapEff):' "/proc/$pid/status"
	assertEquals "monitor: no new privileges" 1 "$(status_field "$pid" NoNewPrivs)"
	assertEquals "monitor: a seccomp filter (mode 2)" 2 "$(status_field "$pid" Seccomp)"
	# CAP_DAC_OVERRIDE 1, CAP_SYS_ADMIN 21, CAP_SYSLOG 34
	assertEquals "monitor: bounding set" "$(cap_mask 1 21 34)" "$(status_field "$pid" CapBnd)"
	assertTrue "monitor: /usr read-only" "ro_in $pid /usr"
	assertTrue "monitor: /etc read-only" "ro_in $pid /etc"
	assertTrue "monitor: /home read-only" "ro_in $pid /home"
	assertFalse "the test's own /etc is writable" "ro_in $$ /etc"
	analyze nvmf-raid-monitor@sb.service
	echo "exposure x10: before $BEFORE, after $AFTER"
	assertTrue "monitor: exposure 4.0 or less (was $BEFORE)" "[ $AFTER -le 40 ]"
	assertTrue "monitor: exposure lower than without the sandbox" "[ $AFTER -lt $BEFORE ]"
}

test_oneshot_sandbox() {
	new_volume so 1 32M || fail "targets"
	systemctl start nvmf-raid@so || { fail "attach"; return; }
	assertEquals "attach, detach, reload: no new privileges" yes \
		"$(systemctl show -P NoNewPrivileges nvmf-raid@so)"
	assertEquals "attach, detach, reload: bounding set" \
		"cap_dac_override cap_sys_module cap_sys_ptrace cap_sys_admin cap_mknod cap_syslog" \
		"$(systemctl show -P CapabilityBoundingSet nvmf-raid@so)"
	analyze nvmf-raid@so.service
	echo "exposure x10: before $BEFORE, after $AFTER"
	assertTrue "attach: exposure lower than without the sandbox" "[ $AFTER -lt $BEFORE ]"
	# and it still does its work: reload and detach in that sandbox
	assertTrue "reload" "systemctl reload nvmf-raid@so"
	systemctl stop nvmf-raid@so
	assertFalse "detached" "nqn_connected $(tgt_nqn so-r1)"
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
