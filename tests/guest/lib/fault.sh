# shellcheck shell=bash
# Faults under load: fio writing and verifying through a fault, and the
# replica states nvmf-raid records.  Source after common.sh.
#
#   fio_start VOL        fio 4k randwrite, crc32c verify, on /dev/nvmf-raid/VOL
#   fio_stop             stop it; asserts no I/O or verify error; sets
#                        FIO_MAX_LAT (seconds, the longest total latency, submission
#                        to completion: the stall) and FIO_IOS (writes)
#   rstate VOL REPLICA   a replica's state in the descriptor
#   wait_state VOL REPLICA STATE [SEC]
#   wait_states SEC VOL:REPLICA=STATE...  all of them at once
#   recorded VOL         the in-sync replicas of VOL's record, by name
#   netcut PORT / netheal  drop every packet to and from a local TCP port
#                        (no reset: a silent partition) / stop dropping
#   fault_teardown       stop fio (asserting it saw no error), drop every
#                        volume and target, forget the in-sync records
#   notify_setup         a notify program that appends its arguments to
#                        $NOTIFY_LOG; VOL_KEYS naming it; journal cursor
#   slow_heal VOL R KIBPS  R away, $HEAL_FILL (32M) written meanwhile, back:
#                        a rebuild at KIBPS that lasts (fio_start before
#                        the return: pass it in FIO_DURING_HEAL=1)

FIO_SIZE=${FIO_SIZE:-16M}
# Writes a second: a steady stream through every fault, each one timed,
# not a flood.  Unpaced, fio wrote 130 to 390 a second and the nvme-tcp
# loopback work behind them took most of the guest's one vCPU, slowing the
# very helpers under test.  A stall still holds every write in flight.
FIO_RATE=${FIO_RATE:-100}

# At nice $FIO_NICE (common.sh).
# shellcheck disable=SC2153 # common.sh sets FIO_NICE
fio_start() {
	nvme_writes_mark
	nice -n "$FIO_NICE" fio --name=bg --filename="/dev/nvmf-raid/$1" --rw=randwrite --bs=4k --size="$FIO_SIZE" \
		--direct=1 --ioengine=libaio --iodepth=4 --verify=crc32c --verify_backlog=128 \
		--verify_fatal=1 --time_based --runtime=900 --rate_iops="$FIO_RATE" \
		--output-format=json --output="/tmp/fio-$1.json" > /dev/null 2>&1 &
	FIO_PID=$!
	FIO_VOL=$1
	# Under way before the fault: fio starts slowly in a cold guest, and a
	# fault it did not write through proves nothing.
	wait_until 60 nvme_writes_ge 50 || fail "fio on $1: not writing after 60 s"
}

# Writes completed on the NVMe path devices (the multipath heads keep no
# statistics: queue/iostats is 0), counted from nvme_writes_mark on: each
# path's own count, and only on paths that were there then.  A sum over
# whatever paths exist drops when one goes (a deleted controller's, with
# its count) and can stay below the mark for good.
declare -gA NVME_W0=()
nvme_writes_mark() {
	local f n
	NVME_W0=()
	for f in /sys/block/nvme*c*n*/stat; do
		read -r _ _ _ _ n _ < "$f" 2> /dev/null && NVME_W0[$f]=$n
	done
}

# nvme_writes_ge N : N writes since nvme_writes_mark (no process: it is polled).
nvme_writes_ge() {
	local f n sum=0
	for f in "${!NVME_W0[@]}"; do
		read -r _ _ _ _ n _ < "$f" 2> /dev/null && [ "$n" -ge "${NVME_W0[$f]}" ] &&
			sum=$((sum + n - NVME_W0[$f]))
	done
	[ "$sum" -ge "$1" ]
}

# fio runs for 900 s: if it is gone before fio_stop, it stopped on an error.
fio_stop() {
	local alive=1 out
	FIO_MAX_LAT='' FIO_IOS=''
	[ -n "${FIO_PID:-}" ] || return 0
	kill -0 "$FIO_PID" 2> /dev/null || alive=0
	kill -INT "$FIO_PID" 2> /dev/null
	wait "$FIO_PID"
	FIO_PID=
	assertEquals "fio on $FIO_VOL still running when stopped (it stops on the first error)" 1 "$alive"
	out=$(py3 - "/tmp/fio-$FIO_VOL.json" <<-'PY'
	import json, sys
	t = open(sys.argv[1]).read()
	j = json.loads(t[t.index('{'):])["jobs"][0]
	print(j["error"], "%.2f" % (max(j["write"]["lat_ns"]["max"], j["read"]["lat_ns"]["max"]) / 1e9),
	      j["write"]["total_ios"])
	PY
	) || { fail "fio on $FIO_VOL: no JSON result"; return 0; }
	# shellcheck disable=SC2086 # three words: error, latency, writes
	set -- $out
	FIO_MAX_LAT=$2 FIO_IOS=$3
	assertEquals "fio on $FIO_VOL: I/O or verify error (errno)" 0 "$1"
	echo "fio on $FIO_VOL: error $1, $FIO_IOS writes, longest completion latency ${FIO_MAX_LAT}s"
	return 0
}

rstate() {
	py3 -c 'import json,sys
d = json.load(open("/run/nvmf-raid/%s.json" % sys.argv[1]))
print([r["state"] for r in d["replicas"] if r["name"] == sys.argv[2]][0])' "$1" "$2" 2>/dev/null
}

wait_state() { wait_states "${4:-30}" "$1:$2=$3"; }

# wait_states SEC VOL:REPLICA=STATE... : until every named replica is in
# its state in its volume's descriptor, or SEC seconds of uptime passed.
# One python process polls every 0.2 s: a shell loop that starts python
# for every look takes seconds per round in a loaded TCG guest (8 volumes:
# over a minute behind the descriptors).
wait_states() {
	py3 - "$@" <<-'PY'
	import json, sys, time
	def uptime():
	    return float(open("/proc/uptime").read().split()[0])
	end = uptime() + float(sys.argv[1])
	want = [(a.split(":", 1)[0], a.split(":", 1)[1].split("=", 1)) for a in sys.argv[2:]]
	def state(vol, name):
	    try:
	        d = json.load(open("/run/nvmf-raid/%s.json" % vol))
	        return [r["state"] for r in d["replicas"] if r["name"] == name][0]
	    except (OSError, ValueError, KeyError, IndexError):
	        return None
	while True:
	    if all(state(v, n) == s for v, (n, s) in want):
	        sys.exit(0)
	    if uptime() >= end:
	        sys.exit(1)
	    time.sleep(0.2)
	PY
}

recorded() {
	py3 -c 'import json,sys; print(" ".join(e["name"] for e in json.load(open("/var/lib/nvmf-raid/%s.json" % sys.argv[1]))["in-sync"]))' "$1"
}

netcut() {
	modprobe -a sch_prio sch_netem cls_u32 || return 1
	tc qdisc add dev lo root handle 1: prio || return 1
	tc qdisc add dev lo parent 1:3 handle 30: netem loss 100%
	tc filter add dev lo parent 1:0 protocol ip prio 1 u32 match ip dport "$1" 0xffff flowid 1:3
	tc filter add dev lo parent 1:0 protocol ip prio 2 u32 match ip sport "$1" 0xffff flowid 1:3
}

netheal() { tc qdisc del dev lo root 2> /dev/null; return 0; }

# md_check MD : runs md's check; prints mismatch_cnt.
md_check() {
	wait_until 120 md_idle "$1" || return 1
	echo check > "/sys/block/$1/md/sync_action" || return 1
	wait_until 120 md_idle "$1" || return 1
	cat "/sys/block/$1/md/mismatch_cnt"
}

NOTIFY_PROG=/usr/local/sbin/nvmf-raid-test-notify

# Run from setUp: a fresh $NOTIFY_LOG and journal cursor ($CURSOR), no fio,
# volume files that name the notify program and retry connects every 1 s.
notify_setup() {
	# shellcheck disable=SC2153 # NOTIFY_LOG is set by the suite
	printf '#!/bin/sh\necho "$*" >> %s\n' "$NOTIFY_LOG" > "$NOTIFY_PROG"
	chmod 755 "$NOTIFY_PROG"
	journal_mark "$CURSOR"
	: > "$NOTIFY_LOG"
	FIO_PID=
	# shellcheck disable=SC2034 # read by new_volume (volume.sh)
	VOL_KEYS="notify = $NOTIFY_PROG
reconnect-delay = 1"
}

slow_heal() {
	local vol=$1 r=$2 md
	md=$(md_of "$vol")
	tgt_vanish "$vol-$r"
	wait_state "$vol" "$r" faulty 30 || { fail "$vol: $r not faulty"; return 1; }
	fio_write "/dev/nvmf-raid/$vol" "${HEAL_FILL:-32M}" || { fail "$vol: fill while $r is away"; return 1; }
	echo "$3" > "/sys/block/$md/md/sync_speed_max"
	[ -n "${FIO_DURING_HEAL:-}" ] && fio_start "$vol"
	tgt_return "$vol-$r"
	wait_state "$vol" "$r" rebuilding 30 || { fail "$vol: $r not rebuilding"; return 1; }
}

fault_teardown() {
	local v
	fio_stop
	for v in $(ls "$VOLDIR" 2>/dev/null | sed -n 's/\.conf$//p'); do drop_volume "$v"; done
	tgt_remove_all
	rm -f /var/lib/nvmf-raid/*.json
	return 0
}
