#!/bin/bash
# Many volumes heal at once: 8 two-replica volumes whose second replicas
# all live on one "storage node" (one nvmet port) that goes away while the
# applications write, and comes back.  host.conf allows 2 rebuilds at
# once; the others wait in the queue, their replicas "present", and
# `nvmf-raid status` shows their places.  fio --verify runs on one volume
# through the outage and the heal.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"

HOSTCONF=/etc/nvmf-raid/host.conf
N=8
MAX=2			# host.conf max-concurrent
RATE=1000		# host.conf rate, KiB/s
RATE_V8=1500		# v8's own rebuild-rate
SIZE=32M		# 32 bitmap chunks of 1 MiB
# Written to each volume while the node is away: 8 s of rebuild each at
# RATE, so the queue lasts about 24 s (6 waiting for 2 slots).  A status
# look took about 1 s (Debian 13 guest, 08f9b25), but up to 30 s in a
# loaded CI guest, where 4 s each at 2000 KiB/s left the queue empty
# before one look ended (CI of 9016ac7).  With 16M at 2000 KiB/s: 53-64 s
# of heal instead of 28 s, and the suite 246 s instead of 181 s.
DIRTY=8M
NODE_PORT=3		# the storage node of every r2: tcp 127.0.0.1:4422
SAMPLES=/tmp/rebuild-samples
STATUS_SEEN=/tmp/rebuild-status

oneTimeSetUp() {
	tgt_modules || return 1
	mkdir -p /etc/nvmf-raid
	printf '[rebuild]\nmax-concurrent = %s\nrate = %s\n' "$MAX" "$RATE" > "$HOSTCONF"
}

oneTimeTearDown() {
	rm -f "$HOSTCONF"
}

tearDown() {
	local v
	stop_sampler
	stop_status_watch
	[ -n "${FIO_PID:-}" ] && kill -INT "$FIO_PID" 2>/dev/null && wait "$FIO_PID"
	FIO_PID=
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_remove_all
	rm -f /var/lib/nvmf-raid/*.json
	return 0
}

# node_volume VOL [KEYS] : r1 on port 1, r2 on the storage node's port.
node_volume() {
	VOL_KEYS="reconnect-delay = 1${2:+
$2}" VOL_TIMEOUT=20 new_volume "$1" 2 "$SIZE" 1 "$NODE_PORT"
}

# all_r2 SEC STATE : every volume's r2 is in STATE (descriptor) within
# SEC seconds: one python process looks at all of them (fault.sh).
all_r2() {
	local i want=()
	for i in $(seq 1 $N); do want+=("v$i:r2=$2"); done
	wait_states "$1" "${want[@]}"
}

# Every 0.2 s: how many arrays recover or resync now, as "UPTIME COUNT"
# lines in $SAMPLES.  One python process: a shell loop forking cat for
# every array falls far behind under TCG.
start_sampler() {
	: > "$SAMPLES"
	python3 -I -S - "$SAMPLES" <<-'PY' &
	import glob, sys, time
	out = open(sys.argv[1], "a", buffering=1)
	while True:
	    n = 0
	    for f in glob.glob("/sys/block/md*/md/sync_action"):
	        try:
	            n += open(f).read().strip() in ("recover", "resync")
	        except OSError:
	            pass
	    out.write("%s %d\n" % (open("/proc/uptime").read().split()[0], n))
	    time.sleep(0.2)
	PY
	# shellcheck disable=SC2034 # stop_job SAMPLER reads it by name
	SAMPLER=$!
}

# stop_job VAR : kills the background job whose pid is in $VAR, waits for it.
stop_job() {
	[ -n "${!1:-}" ] || return 0
	kill "${!1}" 2>/dev/null
	wait "${!1}" 2>/dev/null
	printf -v "$1" ''
}

stop_sampler() { stop_job SAMPLER; }

# Until stopped: both views of a volume in the rebuild queue, taken at
# once (one status takes seconds in the loaded guest, about as long as a
# place in the queue lasts).  The first views that show a rebuild queued
# are kept in $STATUS_SEEN.{txt,json}; every look is logged in
# $STATUS_SEEN.log.
start_status_watch() {
	rm -f "$STATUS_SEEN".*
	(
		while [ ! -e "$STATUS_SEEN.json" ] || [ ! -e "$STATUS_SEEN.txt" ]; do
			# A volume with a queue entry now (rebuild.c), looked at
			# alone: a status of all 8 takes longer than the queue
			# lasts in a loaded guest.
			w=$(ls /run/nvmf-raid/rebuild/queue 2>/dev/null | tail -1)
			[ -n "$w" ] || { sleep 0.2; continue; }
			nvmf-raid status --json "$w" > /tmp/st.json 2>/dev/null &
			nvmf-raid status "$w" > /tmp/st.txt 2>&1
			wait
			echo "$(uptime_s) $w: queued in json: $(grep -c '"queued": true' /tmp/st.json);" \
				"text: $(grep -c 'rebuild queued (position' /tmp/st.txt)" >> "$STATUS_SEEN.log"
			[ ! -e "$STATUS_SEEN.json" ] && grep -q '"queued": true' /tmp/st.json &&
				cp /tmp/st.json "$STATUS_SEEN.json"
			[ ! -e "$STATUS_SEEN.txt" ] && grep -q 'rebuild queued (position' /tmp/st.txt &&
				cp /tmp/st.txt "$STATUS_SEEN.txt"
			rm -f /tmp/st.txt /tmp/st.json
		done
	) &
	# shellcheck disable=SC2034 # stop_job WATCHER reads it by name
	WATCHER=$!
}

stop_status_watch() { stop_job WATCHER; }

# fio with crc32c verify on VOL until stopped, at $FIO_RATE writes a
# second (fault.sh); its JSON report in /tmp/fio-TAG.json.  It returns
# once fio writes: the outage or the heal is to come while it does (a
# loaded guest starts it slowly: once it had not written at all before the
# node went, and once not in the 39 s of the heal; Debian 12, 5b3cd82).
start_fio() {
	nvme_writes_mark
	nice -n "$FIO_NICE" fio --name=heal --filename="/dev/nvmf-raid/$1" --rw=randwrite --bs=4k --size=8M \
		--direct=1 --ioengine=libaio --iodepth=4 --verify=crc32c --verify_backlog=128 \
		--verify_fatal=1 --time_based --runtime=900 --rate_iops="$FIO_RATE" --output-format=json \
		--output="/tmp/fio-$2.json" > /dev/null 2>&1 &
	FIO_PID=$!
	wait_until 60 nvme_writes_ge 50 || fail "fio on $1: not writing after 60 s"
}

# Stops fio; sets FIO_ERR, FIO_MAX_MS (highest completion latency of its
# reads and writes) and FIO_WRITES from its JSON report.
stop_fio() {
	kill -INT "$FIO_PID" 2>/dev/null
	wait "$FIO_PID"
	FIO_PID=
	read -r FIO_ERR FIO_MAX_MS FIO_WRITES <<< "$(py3 - "/tmp/fio-$1.json" <<-'PY'
	import json, sys
	text = open(sys.argv[1]).read()
	try:
	    # fio may print notes before the report.
	    j = json.loads(text[text.index("{"):])["jobs"][0]
	    lat = max(j[d]["clat_ns"]["max"] for d in ("read", "write"))
	    print(j["error"], "%.1f" % (lat / 1e6), j["write"]["total_ios"])
	except Exception as e:
	    print("unreadable-report", "-", 0)
	    sys.stderr.write("fio report: %r\n%s\n" % (e, text[:2000]))
	PY
	)"
}

testManyVolumesHealWithinTheLimit() {
	local i t0 t1 md pids=() bad=0 rate_v8=
	for i in $(seq 1 $N); do
		if [ "$i" = $N ]; then node_volume "v$i" "rebuild-rate = $RATE_V8"; else node_volume "v$i"; fi ||
			{ fail "targets of v$i"; return; }
	done
	assertTrue "nvmf-raid check validates host.conf" "nvmf-raid check | grep -q '^host.conf: $HOSTCONF: ok (max-concurrent $MAX, rate $RATE KiB/s)'"
	# All at once, as at boot: systemd runs the 8 attaches side by side.
	# shellcheck disable=SC2046 # one unit name per word
	systemctl start $(seq -f 'nvmf-raid@v%g' 1 $N) || { fail "attach v1..v$N"; return; }
	for i in $(seq 1 $N); do md_wait "/dev/nvmf-raid/v$i"; done
	assertTrue "all attached, r2 in sync" "all_r2 60 in-sync"

	# The node goes away while every volume is written to.
	start_fio v1 outage
	for i in $(seq 1 $N); do tgt_vanish "v$i-r2"; done
	for i in $(seq 2 $N); do
		fio --name=dirty --filename="/dev/nvmf-raid/v$i" --rw=write --bs=64k --size=$DIRTY \
			--direct=1 --ioengine=libaio --iodepth=4 --output=/dev/null > /dev/null 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	assertEquals "writes during the outage succeeded on every volume" 0 "$bad"
	assertTrue "every r2 failed out" "all_r2 60 faulty"
	sleep 2			# v1's fio dirties more chunks
	stop_fio outage
	assertEquals "fio through the outage: no error" 0 "$FIO_ERR"
	echo "FIGURES: fio through the outage: error $FIO_ERR, $FIO_WRITES writes, max completion latency $FIO_MAX_MS ms"
	assertTrue "fio wrote through the outage ($FIO_WRITES writes)" "[ ${FIO_WRITES:-0} -gt 50 ]"

	# The node comes back: 8 rebuilds want to start at once.  fio first,
	# writing before the sampler and the status watch (both at nice 0)
	# compete with its start at nice 10.
	start_fio v1 heal
	start_sampler
	start_status_watch
	t0=$(uptime_s)
	for i in $(seq 1 $N); do tgt_return "v$i-r2"; done
	wait_until 120 eval "test -e $STATUS_SEEN.json && test -e $STATUS_SEEN.txt"
	assertTrue "status --json shows a queued rebuild with its place" "test -e $STATUS_SEEN.json"
	assertTrue "status shows a queued rebuild with its place" "test -e $STATUS_SEEN.txt"
	stop_status_watch
	echo "--- status looks (uptime, matches, queue entries); node returned at $t0"
	head -40 "$STATUS_SEEN.log" 2>/dev/null
	echo "--- nvmf-raid status while waiting"
	cat "$STATUS_SEEN.txt"
	py3 - "$STATUS_SEEN.json" <<-'PY'
	import json, sys
	for v in json.load(open(sys.argv[1]))["volumes"]:
	    print("json", v["volume"], v["state"], json.dumps(v["rebuild"]),
	          [r["state"] for r in v["replicas"]])
	PY
	assertTrue "a waiting replica is present, not re-added" \
		"grep -E '^  r2 +present .*rebuild queued \(position [0-9]+ of [0-9]+\)' $STATUS_SEEN.txt"
	wait_until 60 file_has "/sys/block/$(md_of v$N)/md/sync_speed_max" '(local)' &&
		rate_v8=$(cut -d' ' -f1 "/sys/block/$(md_of v$N)/md/sync_speed_max")
	assertTrue "every r2 back in sync" "all_r2 240 in-sync"
	t1=$(uptime_s)
	stop_fio heal
	stop_sampler
	local seen samples
	seen=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$SAMPLES")
	samples=$(wc -l < "$SAMPLES")
	echo "FIGURES: max concurrent rebuilds seen $seen (limit $MAX, $samples samples every 0.2 s)"
	echo "FIGURES: last rebuild ended $(awk -v a="$t0" '$2 > 0 {e = $1} END {printf "%.1f", e - a}' "$SAMPLES") s after the node returned (md, sampled); all $N seen in sync by the test $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s after"
	echo "FIGURES: fio during the heal: error $FIO_ERR, $FIO_WRITES writes, max completion latency $FIO_MAX_MS ms"
	assertTrue "fio wrote during the heal ($FIO_WRITES writes)" "[ ${FIO_WRITES:-0} -gt 0 ]"
	echo "FIGURES: v$N rate cap while rebuilding: ${rate_v8:-not seen} KiB/s (its rebuild-rate $RATE_V8)"
	assertTrue "never more than $MAX arrays rebuilding (saw $seen)" "[ $seen -le $MAX ]"
	assertTrue "the limit was used (saw $seen)" "[ $seen -ge 1 ]"
	assertEquals "fio during the heal: no error" 0 "$FIO_ERR"
	assertEquals "v$N's own rebuild-rate applied" "$RATE_V8" "$rate_v8"
	assertTrue "journal: a rebuild queued" \
		"journalctl --no-pager -q -o cat SYSLOG_IDENTIFIER=nvmf-raid-monitor | grep -q 'rebuild queued, position'"

	# Every copy equal: md check, 0 mismatches.
	for i in $(seq 1 $N); do
		md=$(md_of "v$i")
		echo check > "/sys/block/$md/md/sync_action"
	done
	for i in $(seq 1 $N); do
		md=$(md_of "v$i")
		wait_until 120 md_idle "$md"
		assertEquals "v$i: md check, 0 mismatches" 0 "$(cat "/sys/block/$md/md/mismatch_cnt")"
	done
	assertFalse "no slot held, nobody queued after the heal" \
		"nvmf-raid status --json | grep -q '\"queued\": true'"
}

# shellcheck source=/dev/null
# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
