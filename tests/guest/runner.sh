#!/bin/bash
# Runs inside the test guest as /mnt/host/run.sh (started by the image's
# guest-test.service once the system is up).  Installs the project from the
# share, runs each listed shunit2 suite under a timeout and leaves the logs
# in the share for the host, which does the counting (tests/lib/harness.sh).
#
# Reboots: a suite that needs one (boot_test.sh) creates $NVMF_RAID_REBOOT_FLAG
# and returns; the runner then reboots the guest for real (systemctl reboot,
# so shutdown runs as it would on any host).  qemu runs with -no-reboot, so
# the host starts it again on the same disk (tests/lib/harness.sh nr_boot),
# and this script, started again, resumes with that suite: it runs again
# with NVMF_RAID_BOOT=2 (its log appended) and the suites after it follow.
#
# Power loss: a suite that creates $NVMF_RAID_RESET_FLAG instead and
# returns (leaving its writers running) gets a hard reset: sysrq `b`, no
# sync, no unit stops, what the page cache held is lost.  It resumes the
# same way, with NVMF_RAID_BOOT one higher.  Only the share (9p,
# cache=none: on the host once write() returns) carries state across
# for sure; the suite keeps its own progress there or in /var/lib.
# A suite may span MAX_BOOTS boots, resets and reboots together.
#
# Shared queue: when the config names a GUEST_ID, every guest of a release
# has the same suites.list and the host shares one claims directory with
# all of them (9p tag "claims").  A guest runs a suite only once it has
# claimed it: a symlink named after the suite's place in the list, whose
# target is the guest's id (created on the host by qemu, so one guest wins).
# The guests then finish within one suite of each other, whatever the
# suites take on this host, and the host counts each suite in the guest
# that claimed it.
set -u
share=/mnt/host
out=$share/out
# shellcheck source=/dev/null
. "$share/config"

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# stamp_tests LOG PID STAMPS [FROM] : the guest uptime at which each test
# of the suite (shunit2's "@@TEST name" line in LOG) started, as "name
# uptime" lines in STAMPS, for tests/run's per-test times.  It follows the
# log, not the suite's output, so nothing the suite leaves running can hold
# it open; tail --pid ends it within a second of the suite.  A read loop,
# not awk: mawk reads a pipe in blocks, and would stamp every test at the
# end.  FROM is tail's -c argument: +1 (the whole log) or 0 (a suite resumed
# after a reboot: only what it writes from now on).
stamp_tests() {
	local u name
	tail -c "${4:-+1}" -s 0.5 -F --pid="$2" "$1" 2> /dev/null |
		grep --line-buffered '^@@TEST ' |
		while read -r _ name; do
			read -r u _ < /proc/uptime
			echo "$name $u"
		done >> "$3"
}

# cpu_mark, then cpu_since : the guest's CPU seconds (all vCPUs) busy and
# idle, and the processes started, in between: whether a suite waits on
# the CPU (TCG) or on time.
cpu_mark() {
	read -r _ cpu_u cpu_n cpu_s cpu_i cpu_w _ < /proc/stat
	read -r _ _ _ _ cpu_pid < /proc/loadavg
}
cpu_since() {
	local u n s i w pid
	read -r _ u n s i w _ < /proc/stat
	read -r _ _ _ _ pid < /proc/loadavg
	echo "busy $(((u + n + s - cpu_u - cpu_n - cpu_s) / 100)) s, idle $(((i + w - cpu_i - cpu_w) / 100)) s," \
		"about $((pid - cpu_pid)) processes"
}

# exec_trace_start, then exec_trace_top : the programs started in between,
# most often started first (the kernel's sched_process_exec events): under
# TCG every one costs 40-70 ms of CPU, and this shows whose they are.
TRACE=/sys/kernel/tracing
exec_trace_start() {
	[ -e "$TRACE/trace" ] || mount -t tracefs tracefs "$TRACE" 2> /dev/null || return 0
	[ -d "$TRACE/events/sched/sched_process_exec" ] || return 0
	echo 0 > "$TRACE/tracing_on"
	echo 8192 > "$TRACE/buffer_size_kb"
	: > "$TRACE/trace"
	echo 1 > "$TRACE/events/sched/sched_process_exec/enable"
	echo 1 > "$TRACE/tracing_on"
}
exec_trace_top() {
	[ -e "$TRACE/events/sched/sched_process_exec/enable" ] || return 0
	echo 0 > "$TRACE/tracing_on"
	grep -o 'filename=[^ ]*' "$TRACE/trace" | sort | uniq -c | sort -rn | head -15
}

mkdir -p "$out/suites"
echo "guest: up at $(uptime_s)s, kernel $(uname -r)"

resume=0 boot=1 resume_rc=0 resume_t=0
if [ -f "$out/resume" ]; then
	read -r resume boot resume_rc resume_t < "$out/resume"
	rm -f "$out/resume"
	echo "guest: boot $boot, resuming with suite $resume"
else
	. "$share/lib/install.sh"
	if ! install_project "$share"; then
		# Every suite would fail for it, and say nothing of why.
		echo "guest: installing the project failed"
		echo 1 > "$out/install-failed"
		exit 1
	fi
	# A suite's hard reset must not take the installation with it.
	sync
	echo "guest: project installed at $(uptime_s)s"
fi

export NVMF_RAID_TESTLIB=$share/lib
export SHUNIT_COLOR=none
export SHUNIT_TEST_PREFIX='@@TEST '
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

export NVMF_RAID_REBOOT_FLAG=$out/reboot-request
export NVMF_RAID_RESET_FLAG=$out/reset-request
export NVMF_RAID_OUT=$out
rm -f "$NVMF_RAID_REBOOT_FLAG" "$NVMF_RAID_RESET_FLAG"
MAX_BOOTS=4

# The journal of the boot a hard reset ended, as far as it reached the disk.
if [ -f "$out/reset-boot" ]; then
	read -r b < "$out/reset-boot"
	rm -f "$out/reset-boot"
	journalctl -b -1 --no-pager -o short-monotonic > "$out/journal-boot$b.log" 2>&1
fi

claims=
if [ -n "${GUEST_ID:-}" ]; then
	claims=/mnt/claims
	mkdir -p "$claims"
	mountpoint -q "$claims" ||
		mount -t 9p -o trans=virtio,version=9p2000.L,cache=none claims "$claims" ||
		{ echo "guest: cannot mount the claims share"; exit 1; }
fi

n=0
while IFS= read -r suite; do
	[ -n "$suite" ] || continue
	n=$((n + 1))
	[ "$n" -lt "$resume" ] && continue
	# A suite resumed after a reboot is this guest's already.
	if [ -n "$claims" ] && [ "$n" != "$resume" ] && ! ln -s "$GUEST_ID" "$claims/$n" 2> /dev/null; then
		continue
	fi
	log=$out/suites/$(printf '%02d' "$n")-$(basename "$suite" .sh).log
	t0=$(uptime_s)
	cpu_mark
	exec_trace_start
	if [ "$n" = "$resume" ]; then
		export NVMF_RAID_BOOT=$boot
	else
		export NVMF_RAID_BOOT=1
		: > "$log"
	fi
	if [ "$NVMF_RAID_BOOT" -gt 1 ]; then
		echo "guest: suite $suite resumed at ${t0}s after the reboot it asked for"
	else
		echo "guest: suite $suite started at ${t0}s"
	fi
	# Each suite runs from its own directory, so it can source files
	# beside it; -k: a suite that ignores SIGTERM is killed.
	(cd "$share/suites/$(dirname "$suite")" &&
		exec timeout -k 10 "$SUITE_TIMEOUT" bash "./$(basename "$suite")") \
		>> "$log" 2>&1 < /dev/null &
	spid=$!
	if [ "$NVMF_RAID_BOOT" -gt 1 ]; then
		echo "@@BOOT $NVMF_RAID_BOOT $t0" >> "${log%.log}.stamps"
		stamp_tests "$log" "$spid" "${log%.log}.stamps" 0 &
	else
		stamp_tests "$log" "$spid" "${log%.log}.stamps" &
	fi
	wait "$spid"
	rc=$?
	t1=$(uptime_s)
	wait
	echo "@@END $t1" >> "${log%.log}.stamps"
	dur=$(awk -v a="$t0" -v b="$t1" -v c="${resume_t:-0}" 'BEGIN{printf "%.1f", b-a+c}')
	[ "$n" = "$resume" ] && [ "$resume_rc" != 0 ] && rc=$resume_rc
	if [ -f "$NVMF_RAID_RESET_FLAG" ] && [ "$NVMF_RAID_BOOT" -lt "$MAX_BOOTS" ]; then
		rm -f "$NVMF_RAID_RESET_FLAG"
		echo "guest: suite $suite asked for a hard reset (rc=$rc) at ${t1}s"
		echo "$n $((NVMF_RAID_BOOT + 1)) $rc $dur" > "$out/resume"
		echo "$NVMF_RAID_BOOT" > "$out/reset-boot"
		touch "$out/reboot"
		# Power loss: no sync, no unit stops, straight from here.  The
		# files above are on the share, which is not the guest's to lose.
		echo 1 > /proc/sys/kernel/sysrq
		echo b > /proc/sysrq-trigger
		exec sleep infinity
	fi
	if [ -f "$NVMF_RAID_REBOOT_FLAG" ] && [ "$NVMF_RAID_BOOT" -lt "$MAX_BOOTS" ]; then
		rm -f "$NVMF_RAID_REBOOT_FLAG"
		echo "guest: suite $suite asked for a reboot (rc=$rc) at ${t1}s"
		echo "$n $((NVMF_RAID_BOOT + 1)) $rc $dur" > "$out/resume"
		journalctl -b --no-pager -o short-monotonic > "$out/journal-boot$NVMF_RAID_BOOT.log" 2>&1
		dmesg > "$out/dmesg-boot$NVMF_RAID_BOOT.log" 2>&1
		touch "$out/reboot"
		sync
		# A real reboot: the units stop as on any host.  The service
		# that runs this script is stopped with it, so nothing reports
		# to qemu; qemu (-no-reboot) exits and the host boots it again.
		systemctl reboot --no-block
		exec sleep infinity
	fi
	rm -f "$NVMF_RAID_RESET_FLAG" "$NVMF_RAID_REBOOT_FLAG"
	resume_t=0
	echo "guest: suite $suite rc=$rc in ${dur}s"
	# Where the guest's CPU went (long-lived processes only), to see what
	# the TCG guest spends its time on besides the suites.
	{
		echo "after $suite at $(uptime_s)s: $(cpu_since)"
		ps -e -o time=,comm= --sort=-time | head -8
		echo "programs started:"
		exec_trace_top
	} >> "$out/cpu.log"
	printf '%s\t%s\t%s\n' "$suite" "$rc" "$dur" >> "$out/results"
	# Leftovers of one suite must not break the next.
	mdadm --stop --scan > /dev/null 2>&1
	nvme disconnect-all > /dev/null 2>&1
done < "$share/suites.list"

journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo "guest: done at $(uptime_s)s"
exit 0
