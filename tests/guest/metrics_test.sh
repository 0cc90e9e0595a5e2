#!/bin/bash
# Issue 15, item 5: node_exporter's textfile of nvmf-raid, against what
# the descriptor and the kernel say.  Present while a volume is attached,
# gone when none is; promtool (Debian package prometheus) finds nothing to
# say about it; a replica's loss and heal are in it as soon as in the
# descriptor (the figure: seconds between the two), with the event
# counters; the I/O counters of each replica grow with fio's writes; the
# interval of host.conf [metrics] keeps it fresh while attached, and with
# nothing attached the writer sleeps (no context switch in 5 s).
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

PROM=/var/lib/prometheus/node-exporter/nvmf-raid.prom
HOSTCONF=/etc/nvmf-raid/host.conf

oneTimeSetUp() {
	tgt_modules || return 1
	mkdir -p "${HOSTCONF%/*}"
	printf '[metrics]\ninterval = 2\n' > "$HOSTCONF"
	systemctl restart nvmf-raid-metrics
}

oneTimeTearDown() {
	rm -f "$HOSTCONF"
	systemctl restart nvmf-raid-metrics
}

tearDown() { fault_teardown; }

# prom_has LINE : the metrics file has this sample line.
prom_has() { grep -qxF -- "$1" "$PROM" 2> /dev/null; }

# prom_value SAMPLE : the value of the sample named SAMPLE (metric and labels).
prom_value() { awk -v s="$1" '$1 == s { print $2 }' "$PROM" 2> /dev/null; }

test_metrics_follow_the_volume() {
	local t0 t1 w0 w1 snap
	systemctl start nvmf-raid-metrics
	assertFalse "no volume attached: no metrics file" "[ -e $PROM ]"
	new_volume mt 2 32M || fail "targets"
	systemctl start nvmf-raid@mt || { fail "attach"; return; }
	md_wait /dev/nvmf-raid/mt
	wait_until 10 prom_has 'nvmf_raid_volume_state{volume="mt",state="optimal"} 1'
	assertTrue "attached and in sync: optimal" $?
	cat "$PROM"
	assertTrue "r1 in sync" "prom_has 'nvmf_raid_replica_in_sync{volume=\"mt\",replica=\"r1\"} 1'"
	assertTrue "r2 in sync" "prom_has 'nvmf_raid_replica_in_sync{volume=\"mt\",replica=\"r2\"} 1'"
	assertTrue "md degraded 0" "prom_has 'nvmf_raid_md_degraded{volume=\"mt\"} 0'"
	promtool check metrics < "$PROM" > /tmp/promtool.out 2>&1
	assertEquals "promtool check metrics: clean ($(cat /tmp/promtool.out))" "0:" "$?:$(cat /tmp/promtool.out)"

	w0=$(prom_value 'nvmf_raid_replica_writes_completed_total{volume="mt",replica="r1"}')
	fio_start mt
	tgt_vanish mt-r2
	wait_state mt r2 faulty 30
	assertTrue "r2 faulty" $?
	uptime_cs
	t0=$UPTIME_CS
	wait_until 10 prom_has 'nvmf_raid_replica_state{volume="mt",replica="r2",state="faulty"} 1'
	assertTrue "r2 faulty in the metrics" $?
	uptime_cs
	t1=$UPTIME_CS
	echo "r2 faulty in the metrics $(((t1 - t0) * 10)) ms after the descriptor"
	assertTrue "... within 2 s" "[ $((t1 - t0)) -le 200 ]"
	# One look at the file: on failure, the states it held say which.
	snap=$(cat "$PROM" 2> /dev/null)
	grep -qxF 'nvmf_raid_volume_state{volume="mt",state="degraded"} 1' <<< "$snap"
	assertTrue "volume degraded ($(grep -E '_state\{volume="mt".* 1$|md_degraded\{' <<< "$snap" | tr '\n' ' '))" $?
	assertTrue "replica-lost counted" \
		"prom_has 'nvmf_raid_events_total{volume=\"mt\",replica=\"r2\",event=\"replica-lost\"} 1'"
	tgt_return mt-r2
	wait_state mt r2 in-sync 90
	assertTrue "r2 back in sync" $?
	wait_until 10 prom_has 'nvmf_raid_replica_in_sync{volume="mt",replica="r2"} 1'
	assertTrue "r2 in sync in the metrics" $?
	assertTrue "resync-finished counted" \
		"prom_has 'nvmf_raid_events_total{volume=\"mt\",replica=\"r2\",event=\"resync-finished\"} 1'"
	fio_stop
	# the interval (2 s here) brings the I/O counters up to date
	sleep 3
	w1=$(prom_value 'nvmf_raid_replica_writes_completed_total{volume="mt",replica="r1"}')
	echo "r1 writes completed: $w0 before fio, $w1 after"
	assertTrue "r1's write counter grew with fio ($w0 -> $w1)" "[ ${w1:-0} -gt ${w0:-0} ]"
	promtool check metrics < "$PROM" > /tmp/promtool.out 2>&1
	assertEquals "promtool check metrics after the heal: clean" "0:" "$?:$(cat /tmp/promtool.out)"

	systemctl stop nvmf-raid@mt
	wait_until 10 gone "$PROM"
	assertTrue "last volume detached: metrics file removed" $?
}

# Nothing attached: no timer, no wake-up.
test_idle_writer_sleeps() {
	local pid c0 c1
	systemctl start nvmf-raid-metrics
	pid=$(systemctl show -P MainPID nvmf-raid-metrics)
	c0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
	sleep 5
	c1=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$pid/status")
	echo "nvmf-raid-metrics, nothing attached: $c0 -> $c1 voluntary context switches in 5 s"
	assertEquals "no wake-up in 5 s" "$c0" "$c1"
}

# host.conf [metrics] path: the file goes where the admin says.
test_configured_path() {
	printf '[metrics]\npath = /run/nvmf-raid-test-prom/volumes.prom\ninterval = 2\n' > "$HOSTCONF"
	systemctl restart nvmf-raid-metrics
	new_volume mp 1 32M || fail "targets"
	systemctl start nvmf-raid@mp || { fail "attach"; return; }
	wait_until 10 file_has /run/nvmf-raid-test-prom/volumes.prom 'nvmf_raid_volume_attached{volume="mp"} 1'
	assertTrue "written to the configured path" $?
	assertFalse "not to the default one" "[ -e $PROM ]"
	systemctl stop nvmf-raid@mp
	printf '[metrics]\ninterval = 2\n' > "$HOSTCONF"
	systemctl restart nvmf-raid-metrics
	rm -rf /run/nvmf-raid-test-prom
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
