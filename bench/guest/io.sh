#!/bin/bash
# Guest side of bench/io (issue 15), run as /mnt/host/run.sh with the test
# library in /mnt/host/lib.  What the md layer costs or gains on the data
# path: fio through /dev/nvmf-raid/io against the bare namespace.
# Three nvmet subsystems io-r1..io-r3, one sparse file-backed namespace
# each, on ports 4422..4424 (one port per replica: tc can slow one alone).
# RUNS rounds; each round, on each target in turn:
#   bare   r1's subsystem connected with nvme connect (nvme-cli defaults),
#          fio on its namespace device: no md, no nvmf-raid
#   1r 2r 3r  a volume "io" of the first 1, 2, 3 replicas, namespaces
#          blanked, attached with systemctl start nvmf-raid@io (created
#          afresh; the initial resync waited for), fio on /dev/nvmf-raid/io
# and on each: the fio region (REGION, the first MiB of the device)
# written sequentially once, then 8 cells of SECONDS_PER_CELL (after a 2 s
# ramp): 4k randread, 4k randwrite, 128k read, 128k write, iodepth 1 and
# 32, O_DIRECT, libaio.  Cells of a round run back to back, so the ratios
# against bare compare figures taken minutes apart in the same boot.
# Then, once: 2 replicas, r2's port delayed by DELAY_MS ms (tc netem on
# lo, packets to the port only) and the 4k random cells with r2
# write-mostly = no, then = yes (written to the volume file, applied by
# systemctl reload on the live array, checked in md's dev-X/state); r2's
# share of the reads from its path devices' counters.
# Then, to see why writes cost: 2 replicas with md's bitmap removed and
# with 64 MiB chunks (mdadm --grow on the live array), and r1 and r2
# connected bare with fio writing both at once.
# Output: out/io-results.txt, out/io-samples.tsv, out/io-debug.log, the
# JSON of every fio cell in out/io-cells/.
# Settings from /mnt/host/bench.conf: RUNS, SECONDS_PER_CELL, DELAY_MS,
# DEADLINE (guest uptime in seconds after which remaining rounds are
# skipped).
# shellcheck disable=SC2317 source-path=SCRIPTDIR
set -u
share=/mnt/host
out=$share/out
# shellcheck source=../../tests/guest/lib/install.sh
. "$share/lib/install.sh"
# shellcheck source=../../tests/guest/lib/target.sh
. "$share/lib/target.sh"
# shellcheck source=../../tests/guest/lib/common.sh
. "$share/lib/common.sh"
# shellcheck source=../lib/guest.sh
. "$share/bench-lib.sh"

RUNS=1
SECONDS_PER_CELL=8
DELAY_MS=5
DEADLINE=1800
# shellcheck source=/dev/null
[ -f "$share/bench.conf" ] && . "$share/bench.conf"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

VOL=io
NAMES=(io-r1 io-r2 io-r3)
UUIDS=(10b3c0a7-0001-4c5e-9a7d-6e0f5a1b2c01 10b3c0a7-0002-4c5e-9a7d-6e0f5a1b2c02 10b3c0a7-0003-4c5e-9a7d-6e0f5a1b2c03)
PORT_IDS=(3 4 5)	# tgt_port ids: tcp 127.0.0.1:4422..4424
NQNS=() URIS=()
RAMP=2
VOLDIR=/etc/nvmf-raid/volumes
WORK=/run/nvmf-raid-bench
CELLS=$out/io-cells
SAMPLES=$out/io-samples.tsv
RESULTS=$out/io-results.txt
DEBUG=$out/io-debug.log
DEV=/dev/nvmf-raid/$VOL
MD_RULE=/run/udev/rules.d/64-md-raid-assembly.rules
# workload name, fio rw, block size
WORKLOADS=("randread randread 4k" "randwrite randwrite 4k" "read read 128k" "write write 128k")
DEPTHS=(1 32)

# --- targets and devices -------------------------------------------------
detach_all() {
	timeout 150 systemctl stop "nvmf-raid@$VOL" >> "$DEBUG" 2>&1
	systemctl reset-failed "nvmf-raid@$VOL" "nvmf-raid-monitor@$VOL" > /dev/null 2>&1
	host_reset
	rm -f "$VOLDIR/$VOL.conf" "/var/lib/nvmf-raid/$VOL.json"
	settle
}

# bare_attach : r1's namespace by nvme connect alone; BDEV its head device.
bare_attach() {
	detach_all
	blank_replicas 1 || { WHY="blanking r1 failed"; return 1; }
	timeout 60 nvme connect -t tcp -a 127.0.0.1 -s "$(cat "$NVMET/ports/${PORT_IDS[0]}/addr_trsvcid")" \
		-n "${NQNS[0]}" >> "$DEBUG" 2>&1 ||
		{ WHY="nvme connect ${NQNS[0]} failed"; return 1; }
	wait_for 30 dev_by_uuid "${UUIDS[0]}" > /dev/null || { WHY="r1's namespace did not appear"; return 1; }
	BDEV=/dev/$(dev_by_uuid "${UUIDS[0]}")
}

in_sync() {
	local real md
	[ -b "$DEV" ] || return 1
	[ "$1" = 1 ] && return 0	# one replica: the namespace itself, no md
	real=$(readlink -f "$DEV")
	md=${real##*/}
	[ "$(md_sync_action "$md")" = idle ] && [ "$(md_degraded "$md")" = 0 ] &&
		json_in_sync_is "$VOL" "$1"
}

# vol_attach N [WM] : the volume of the first N replicas, created afresh on
# blanked namespaces; WM "yes" makes r2 write-mostly.  BDEV its device.
vol_attach() {
	local n=$1 i t0
	detach_all
	blank_replicas "$n" || { WHY="blanking the replicas failed"; return 1; }
	mkdir -p "$VOLDIR"
	{
		printf '[volume]\nauto = no\n'
		for ((i = 0; i < n; i++)); do
			printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = %s\n' \
				$((i + 1)) "${NQNS[i]}" "${UUIDS[i]}" "${URIS[i]}"
		done
	} > "$VOLDIR/$VOL.conf"
	if ! timeout 300 systemctl start "nvmf-raid@$VOL" 2>> "$DEBUG"; then
		WHY="systemctl start nvmf-raid@$VOL failed"
		journalctl -q -o short-monotonic -n 20 -u "nvmf-raid@$VOL" >> "$DEBUG" 2>&1
		return 1
	fi
	mono_ms
	t0=$MONO_MS
	wait_for 900 in_sync "$n" || { WHY="$n replicas not in sync within 900 s"; return 1; }
	mono_ms
	BDEV=$(readlink -f "$DEV")
	log "$n replicas attached: $DEV = $BDEV, in sync $(ms_to_s $((MONO_MS - t0))) s after the start returned"
}

# md_of_dev : MD = the md array behind $DEV, or "" with one replica.
md_of_dev() {
	local real
	real=$(readlink -f "$DEV")
	MD=${real##*/}
	[[ $MD == md* ]] || MD=''
}

# --- fio -------------------------------------------------------------------
# fio_cell TARGET WORKLOAD RW BS DEPTH : one cell on $BDEV, its JSON in
# CELL_FILE; CELL_NOTE says what went wrong.
fio_cell() {
	local rc
	CELL_FILE=$CELLS/$1-$2-$5-$RUN.json CELL_NOTE=''
	timeout $((SECONDS_PER_CELL + RAMP + 120)) fio --name="$2" --filename="$BDEV" --rw="$3" --bs="$4" \
		--iodepth="$5" --direct=1 --ioengine=libaio --size="$REGION" --norandommap --randrepeat=0 \
		--time_based --runtime="$SECONDS_PER_CELL" --ramp_time="$RAMP" \
		--output-format=json --output="$CELL_FILE" > /dev/null 2>> "$DEBUG"
	rc=$?
	[ "$rc" = 0 ] || { dbg "fio $1 $2 iodepth $5: exit $rc"; CELL_NOTE="fio exit $rc"; }
}

# cell_record TARGET WORKLOAD DEPTH BS [NOTE] : the cell's line in SAMPLES.
cell_record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$RUN" "$4" "$CELL_FILE" \
		"${CELL_NOTE:+$CELL_NOTE }${5:-}" >> "$SAMPLES"
}

prefill() {
	timeout 600 fio --name=prefill --filename="$BDEV" --rw=write --bs=1M --iodepth=4 --direct=1 \
		--ioengine=libaio --size="$REGION" --output=/dev/null >> "$DEBUG" 2>&1 ||
		{ WHY="prefill of $BDEV failed"; return 1; }
}

# cells_as TARGET WORKLOAD... : each WORKLOAD ("name rw bs") at every
# depth on $BDEV, recorded as TARGET.
cells_as() {
	local target=$1 w d
	shift
	for w in "$@"; do
		# shellcheck disable=SC2086 # three words: name, rw, bs
		set -- $w
		for d in "${DEPTHS[@]}"; do
			fio_cell "$target" "$1" "$2" "$3" "$d"
			cell_record "$target" "$1" "$d" "$3"
		done
	done
}

# target_cells TARGET : every workload and depth on $BDEV.
target_cells() {
	prefill || return 1
	cells_as "$1" "${WORKLOADS[@]}"
}

# --- why writes cost: the bitmap, and two writes for one -----------------
WRITES=("randwrite randwrite 4k" "write write 128k")

# md_bitmap CHUNK : the live array's write-intent bitmap replaced by one of
# CHUNK (mdadm's --bitmap-chunk), or removed ("none").
md_bitmap() {
	if [ "$(cat "/sys/block/$MD/md/bitmap/location" 2> /dev/null || echo none)" != none ]; then
		timeout 120 mdadm --grow "/dev/$MD" --bitmap=none >> "$DEBUG" 2>&1 ||
			{ WHY="mdadm --grow --bitmap=none failed"; return 1; }
	fi
	[ "$1" = none ] && return 0
	timeout 120 mdadm --grow "/dev/$MD" --bitmap=internal --bitmap-chunk="$1" >> "$DEBUG" 2>&1 ||
		{ WHY="mdadm --grow --bitmap-chunk=$1 failed"; return 1; }
}

# bitmap_part : 2 replicas, the write cells with no bitmap and with one
# of 64 MiB chunks (the main cells ran with nvmf-raid's own chunk).
bitmap_part() {
	local c
	vol_attach 2 || return 1
	md_of_dev
	[ -n "$MD" ] || { WHY="2 replicas but no md array"; return 1; }
	prefill || return 1
	for c in none 64M; do
		md_bitmap "$c" || return 1
		log "2 replicas, md bitmap $c ($(cat "/sys/block/$MD/md/bitmap/chunksize" 2> /dev/null || echo none)): write cells"
		cells_as "2r-bitmap-$c" "${WRITES[@]}"
	done
}

# twin_part : r1 and r2 connected bare, fio writing to both at once (one
# job each, same workload): what writing everything twice costs this
# guest without md.  The slower job is what a mirror could do at best.
twin_part() {
	local w d devs=() i f
	detach_all
	blank_replicas 2 || { WHY="blanking the replicas failed"; return 1; }
	for i in 0 1; do
		timeout 60 nvme connect -t tcp -a 127.0.0.1 -s "$(cat "$NVMET/ports/${PORT_IDS[i]}/addr_trsvcid")" \
			-n "${NQNS[i]}" >> "$DEBUG" 2>&1 || { WHY="nvme connect ${NQNS[i]} failed"; return 1; }
		wait_for 30 dev_by_uuid "${UUIDS[i]}" > /dev/null || { WHY="${NAMES[i]}'s namespace did not appear"; return 1; }
		devs+=("/dev/$(dev_by_uuid "${UUIDS[i]}")")
	done
	for BDEV in "${devs[@]}"; do prefill || return 1; done
	log "r1 and r2 bare (${devs[*]}): write cells on both at once"
	for w in "${WRITES[@]}"; do
		# shellcheck disable=SC2086 # three words: name, rw, bs
		set -- $w
		for d in "${DEPTHS[@]}"; do
			CELL_FILE=$CELLS/twin-$1-$d-$RUN.json CELL_NOTE=''
			timeout $((SECONDS_PER_CELL + RAMP + 120)) fio --rw="$2" --bs="$3" --iodepth="$d" \
				--direct=1 --ioengine=libaio --size="$REGION" --norandommap --randrepeat=0 \
				--time_based --runtime="$SECONDS_PER_CELL" --ramp_time="$RAMP" \
				--name=r1 --filename="${devs[0]}" --name=r2 --filename="${devs[1]}" \
				--output-format=json --output="$CELL_FILE" > /dev/null 2>> "$DEBUG" ||
				CELL_NOTE="fio exit $?"
			cell_record twin "$1" "$d" "$3"
		done
	done
}

# --- write-mostly under latency ----------------------------------------
# Packets to r2's port wait DELAY_MS in netem (band 4 of a prio qdisc on
# lo); the replies and every other port's traffic go through band 1.
net_delay() {
	modprobe -a sch_prio sch_netem cls_u32 2>> "$DEBUG" || return 1
	tc qdisc add dev lo root handle 1: prio bands 4 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 &&
		tc qdisc add dev lo parent 1:4 handle 40: netem delay "${DELAY_MS}ms" limit 10000 &&
		tc filter add dev lo parent 1:0 protocol ip prio 1 u32 match ip dport "$1" 0xffff flowid 1:4
}
net_clear() { tc qdisc del dev lo root 2> /dev/null; return 0; }


wm_flag_is() {
	local d st
	d=$(dev_by_uuid "${UUIDS[1]}") || return 1
	st=$(md_member_state "$MD" "$d")
	if [ "$1" = yes ]; then [[ $st == *write_mostly* ]]; else [[ $st != *write_mostly* ]]; fi
}

# wm_cells SETTING : the 4k cells with r2 write-mostly = SETTING, and the
# reads r1 and r2 served in each.
wm_cells() {
	local target=wm-$1 w d a1 a2
	for w in "randread randread 4k" "randwrite randwrite 4k"; do
		# shellcheck disable=SC2086 # three words: name, rw, bs
		set -- $w
		for d in "${DEPTHS[@]}"; do
			path_sum "${UUIDS[0]}" 1; a1=$PSUM
			path_sum "${UUIDS[1]}" 1; a2=$PSUM
			fio_cell "$target" "$1" "$2" "$3" "$d"
			path_sum "${UUIDS[0]}" 1; a1=$((PSUM - a1))
			path_sum "${UUIDS[1]}" 1; a2=$((PSUM - a2))
			cell_record "$target" "$1" "$d" "$3" "r1_reads=$a1 r2_reads=$a2"
		done
	done
}

wm_part() {
	local port
	vol_attach 2 || return 1
	md_of_dev
	[ -n "$MD" ] || { WHY="2 replicas but no md array"; return 1; }
	port=$(cat "$NVMET/ports/${PORT_IDS[1]}/addr_trsvcid")
	prefill || return 1
	net_delay "$port" || { WHY="tc netem delay on port $port failed"; net_clear; return 1; }
	log "r2's port $port delayed by $DELAY_MS ms (netem): cells with write-mostly = no"
	wm_flag_is no || { WHY="r2 is write-mostly before it was asked"; return 1; }
	wm_cells no
	sed -i '/^\[replica\.r2\]$/a write-mostly = yes' "$VOLDIR/$VOL.conf"
	timeout 120 systemctl reload "nvmf-raid@$VOL" >> "$DEBUG" 2>&1 || { WHY="systemctl reload failed"; return 1; }
	wait_for 30 wm_flag_is yes || { WHY="md did not mark r2 write_mostly after the reload"; return 1; }
	log "r2 write-mostly = yes (reload; md: $(md_member_state "$MD" "$(dev_by_uuid "${UUIDS[1]}")")): the same cells"
	wm_cells yes
	net_clear
}

# --- main --------------------------------------------------------------
rm -f "$SAMPLES" "$RESULTS" "$DEBUG"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a positive number"
command -v fio > /dev/null || die "fio is not installed in the guest"
mkdir -p "$WORK" "$CELLS" "$TGT_STORE" || die "mkdir $WORK $CELLS $TGT_STORE"
rm -f "$WORK/nap"
mkfifo "$WORK/nap" || die "no FIFO for nap"
exec {NAP_FD}<> "$WORK/nap"
WHY='' BDEV='' MD='' RUN=1 CELL_FILE='' CELL_NOTE=''

# Three sparse replicas; the prefill, the cells and the resyncs allocate
# about REGION on r1 and the whole namespace on r2 and r3.
avail=$(df -Pm "$TGT_STORE" | awk 'NR == 2 { print $4 }')
if [ "${avail:-0}" -ge $((3 * 384 + 300)) ]; then
	SIZE_MIB=384 REGION=256M
else
	SIZE_MIB=256 REGION=192M
fi
[ "${avail:-0}" -ge $((3 * SIZE_MIB + 100)) ] || die "only ${avail} MiB free on the guest disk for 3 x ${SIZE_MIB} MiB replicas"

log "io benchmark: RUNS=$RUNS, ${SECONDS_PER_CELL}s cells, replicas of $SIZE_MIB MiB, fio region $REGION, kernel $(uname -r)"
install_project "$share" || die "installing the project"
tgt_modules || die "loading the nvmet / nvme-tcp / raid1 modules"
# Nothing but nvmf-raid assembles these arrays.
md_autoassembly off || die "masking md auto-assembly"
for i in 0 1 2; do
	tgt_port "${PORT_IDS[i]}" || die "port ${PORT_IDS[i]}"
	tgt_add "${NAMES[i]}" "${SIZE_MIB}M" "${UUIDS[i]}" "${PORT_IDS[i]}" || die "target ${NAMES[i]}"
	NQNS+=("$(tgt_nqn "${NAMES[i]}")")
	URIS+=("$(tgt_port_uri "${PORT_IDS[i]}")")
done
t_start=$(uptime_s)
CHUNK='?'

skipped=0
for ((run = 1; run <= RUNS; run++)); do
	for RUN_TARGET in bare 1r 2r 3r; do
		if past_deadline; then
			skipped=$((skipped + 1))
			continue
		fi
		WHY=''
		case $RUN_TARGET in
		bare) bare_attach ;;
		*) vol_attach "${RUN_TARGET%r}" ;;
		esac || { log "round $run, $RUN_TARGET: FAILED: $WHY"; continue; }
		md_of_dev
		[ -n "$MD" ] && CHUNK=$(cat "/sys/block/$MD/md/bitmap/chunksize" 2> /dev/null || echo '?')
		log "round $run, $RUN_TARGET on $BDEV${MD:+ (md bitmap chunk $CHUNK bytes)}"
		RUN=$run
		target_cells "$RUN_TARGET" || log "round $run, $RUN_TARGET: FAILED: $WHY"
	done
done
WHY_NOTE=''
for part in bitmap_part twin_part; do
	if past_deadline; then
		skipped=$((skipped + 1))
		WHY_NOTE="${WHY_NOTE:+$WHY_NOTE; }$part skipped: guest deadline"
	elif ! "$part"; then
		WHY_NOTE="${WHY_NOTE:+$WHY_NOTE; }$part FAILED: $WHY"
		log "$part: FAILED: $WHY"
	fi
done
WM_NOTE=''
if past_deadline; then
	skipped=$((skipped + 1))
	WM_NOTE="skipped: guest deadline"
elif ! wm_part; then
	WM_NOTE="FAILED: $WHY"
	log "write-mostly part: $WM_NOTE"
	net_clear
fi
[ "$skipped" -gt 0 ] && log "guest deadline (${DEADLINE}s uptime) reached: $skipped parts skipped"
detach_all
tgt_remove_all
md_autoassembly on

{
	echo "nvmf-raid data path benchmark (bench/io): fio through /dev/nvmf-raid/$VOL vs the bare namespace"
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), mdadm $(pkg mdadm), fio $(pkg fio), nvme-cli $(pkg nvme-cli), $(nvmf-raid --version 2> /dev/null | head -1)"
	echo "qemu TCG guest, $(nproc) vCPU(s); nvmet over tcp on 127.0.0.1, one port per replica, sparse file-backed"
	echo "namespaces of $SIZE_MIB MiB on the guest disk (nvmet direct I/O); md bitmap chunk $CHUNK bytes"
	echo "bare: r1's namespace by nvme connect (nvme-cli defaults); 1r/2r/3r: volume of the first 1/2/3 replicas"
	echo "by nvmf-raid@$VOL, created afresh, initial resync done (1r is the namespace itself: no md for one replica)"
	echo "cells: fio O_DIRECT libaio on the first $REGION (written once before), ${RAMP}s ramp + ${SECONDS_PER_CELL}s, RUNS=$RUNS"
	echo "why writes cost: 2 replicas with md's bitmap removed and with 64 MiB chunks (mdadm --grow on the"
	echo "live array), and r1 + r2 connected bare with fio writing both at once (one job each)${WHY_NOTE:+: $WHY_NOTE}"
	echo "write-mostly part: 2 replicas, packets to r2's port delayed ${DELAY_MS} ms (tc netem), r2 write-mostly no/yes${WM_NOTE:+: $WM_NOTE}"
	echo "$(awk -v s="$t_start" -v e="$(uptime_s)" 'BEGIN { printf "%.0f", e - s }') s of cells"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" > "$RESULTS" <<'PY'
import json
import statistics
import sys

samples, header = sys.argv[1], sys.argv[2]
cells = {}
notes = {}
try:
    with open(samples) as f:
        for line in f:
            c = line.rstrip('\n').split('\t')
            if len(c) < 7:
                continue
            target, wl, depth, run, bs, path, note = c[:7]
            try:
                with open(path) as j:
                    jobs = json.load(j)['jobs']
                jobs[0]
            except (OSError, ValueError, KeyError, IndexError):
                notes.setdefault((target, wl, depth), []).append('no fio result')
                continue
            errs = [job['error'] for job in jobs if job.get('error')]
            if errs:
                notes.setdefault((target, wl, depth), []).append('fio error %d' % errs[0])
                continue
            # Several jobs (twin: one per namespace): the slowest one,
            # what a device that must finish every write on all could do.
            figs = []
            for job in jobs:
                side = job['read'] if wl in ('randread', 'read') else job['write']
                p99 = side.get('clat_ns', {}).get('percentile', {}).get('99.000000')
                figs.append((side['iops'], side['bw_bytes'] / 1e6, p99 / 1e6 if p99 else None))
            cells.setdefault((target, wl, depth), []).append(
                (min(f[0] for f in figs), min(f[1] for f in figs),
                 max((f[2] for f in figs if f[2] is not None), default=None), note))
except FileNotFoundError:
    pass


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fig(key, i):
    return med([r[i] for r in cells.get(key, [])])


print(open(header).read().rstrip('\n'))
print()
workloads = [('randread', '4k', 0, 'IOPS'), ('randwrite', '4k', 0, 'IOPS'),
             ('read', '128k', 1, 'MB/s'), ('write', '128k', 1, 'MB/s')]
targets = ['bare', '1r', '2r', '3r']
fmt = '%-22s' + ' %18s' * 4
print(fmt % ('median (p99 ms)', 'bare namespace', '1 replica', '2 replicas', '3 replicas'))
worst = {'read': None, 'write': None}
for wl, bs, i, unit in workloads:
    for depth in ('1', '32'):
        row = ['%s %s qd%s %s' % (wl, bs, depth, unit)]
        base = fig(('bare', wl, depth), i)
        for t in targets:
            key = (t, wl, depth)
            v, p = fig(key, i), fig(key, 2)
            if v is None:
                row.append('FAILED' if key in notes or t == 'bare' else '-')
                continue
            cell = ('%.0f' if v >= 100 else '%.1f') % v
            if t != 'bare' and base:
                r = v / base
                cell += ' %.2fx' % r
                kind = 'read' if 'read' in wl else 'write'
                if t in ('2r', '3r') and (worst[kind] is None or r < worst[kind][0]):
                    worst[kind] = (r, '%s qd%s, %s' % (wl, depth, t))
            if p is not None:
                cell += ' (%.1f)' % p
            row.append(cell)
        print(fmt % tuple(row))
print()
for kind, goal in (('read', 1.0), ('write', 0.9)):
    w = worst[kind]
    if w is None:
        print('Goal %ss through md >= %.1fx the bare namespace: not measured' % (kind, goal))
    else:
        print('Goal %ss through md >= %.1fx the bare namespace: lowest %.2fx (%s) %s'
              % (kind, goal, w[0], w[1], 'ok' if w[0] >= goal else 'under'))

if any(k[0] in ('twin', '2r-bitmap-none', '2r-bitmap-64M') for k in cells):
    print()
    print('Why writes cost (median, p99 ms; ratio against both namespaces written at once by fio):')
    cols = [('bare', '1 namespace'), ('twin', '2 at once, slower'), ('2r', 'md, own chunk'),
            ('2r-bitmap-none', 'md, no bitmap'), ('2r-bitmap-64M', 'md, 64M chunk')]
    fmt3 = '%-22s' + ' %19s' * len(cols)
    print(fmt3 % (('',) + tuple(c[1] for c in cols)))
    for wl, bs, i, unit in workloads[1::2]:
        for depth in ('1', '32'):
            row = ['%s %s qd%s %s' % (wl, bs, depth, unit)]
            twin = fig(('twin', wl, depth), i)
            for t, _ in cols:
                v, p = fig((t, wl, depth), i), fig((t, wl, depth), 2)
                if v is None:
                    row.append('-')
                    continue
                cell = ('%.0f' if v >= 100 else '%.1f') % v
                if t.startswith('2r') and twin:
                    cell += ' %.2fx' % (v / twin)
                if p is not None:
                    cell += ' (%.1f)' % p
                row.append(cell)
            print(fmt3 % tuple(row))
if any(('wm-%s' % s, 'randread', '1') in cells for s in ('no', 'yes')):
    print()
    print('write-mostly: 2 replicas, r2 slowed by netem (median IOPS, p99 ms, reads served by r1/r2)')
    fmt2 = '%-18s %26s %26s'
    print(fmt2 % ('', 'r2 write-mostly = no', 'r2 write-mostly = yes'))
    for wl in ('randread', 'randwrite'):
        for d in ('1', '32'):
            row = ['%s 4k qd%s' % (wl, d)]
            for s in ('no', 'yes'):
                rs = cells.get(('wm-%s' % s, wl, d), [])
                if not rs:
                    row.append('FAILED')
                    continue
                iops, p99, note = rs[0][0], rs[0][2], rs[0][3]
                share = ''
                if wl == 'randread':
                    kv = dict(x.split('=') for x in note.split() if '=' in x)
                    share = ' %s/%s' % (kv.get('r1_reads', '?'), kv.get('r2_reads', '?'))
                row.append('%.0f (%s)%s' % (iops, '%.1f' % p99 if p99 is not None else '?', share))
            print(fmt2 % tuple(row))
for key, n in sorted(notes.items()):
    print('note: %s %s qd%s: %s' % (key[0], key[1], key[2], ', '.join(n)))
PY
rc=$?
journalctl -b --no-pager -o short-monotonic > "$out/journal.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/io-results.txt, samples in out/io-samples.tsv"
exit 0
