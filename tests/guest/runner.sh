#!/bin/bash
# Runs inside the test guest as /mnt/host/run.sh (started by the image's
# guest-test.service once the system is up).  Installs the project from the
# share, runs each listed shunit2 suite under a timeout and leaves the logs
# in the share for the host, which does the counting (tests/lib/harness.sh).
set -u
share=/mnt/host
out=$share/out
# shellcheck source=/dev/null
. "$share/config"

uptime_s() { cut -d' ' -f1 /proc/uptime; }

mkdir -p "$out/suites"
echo "guest: up at $(uptime_s)s, kernel $(uname -r)"

. "$share/lib/install.sh"
install_project "$share"
echo "guest: project installed at $(uptime_s)s"

export NVMF_RAID_TESTLIB=$share/lib
export SHUNIT_COLOR=none
export SHUNIT_TEST_PREFIX='@@TEST '
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

n=0
while IFS= read -r suite; do
	[ -n "$suite" ] || continue
	n=$((n + 1))
	log=$out/suites/$(printf '%02d' "$n")-$(basename "$suite" .sh).log
	t0=$(uptime_s)
	echo "guest: suite $suite started at ${t0}s"
	# Each suite runs from its own directory, so it can source files
	# beside it; -k: a suite that ignores SIGTERM is killed.
	(cd "$share/suites/$(dirname "$suite")" &&
		exec timeout -k 10 "$SUITE_TIMEOUT" bash "./$(basename "$suite")") \
		> "$log" 2>&1 < /dev/null
	rc=$?
	t1=$(uptime_s)
	echo "guest: suite $suite rc=$rc in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s"
	printf '%s\t%s\t%s\n' "$suite" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')" >> "$out/results"
	# Leftovers of one suite must not break the next.
	mdadm --stop --scan > /dev/null 2>&1
	nvme disconnect-all > /dev/null 2>&1
done < "$share/suites.list"

journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo "guest: done at $(uptime_s)s"
exit 0
