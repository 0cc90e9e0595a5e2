#!/bin/bash
# Guest side of bench/scale (issue 15, item 4), run as /mnt/host/run.sh
# with the test library in /mnt/host/lib, once per boot: the guest reboots
# between the steps (out/reboot asks the host to start it again, as
# tests/guest/runner.sh does for boot_test) and the step to do next is
# kept in the share (out/scale-state).
#   setup boot   64 nvmet subsystems, one small sparse file-backed
#                namespace each, all on tcp://127.0.0.1:4420, listed for
#                tgt_boot_unit (re-created at every boot before
#                nvmf-raid.target and the volumes); 32 volume files
#                /etc/nvmf-raid/volumes/scaleNN.conf of two replicas,
#                auto = yes, defaults otherwise; all 32 attached at once
#                (systemctl start) and waited for until in sync; then
#                detached at once (stop_volumes).
#   boot "32"    the 32 volumes come up at boot.  Timed on CLOCK_MONOTONIC
#                (0 = the kernel's start; systemctl show): systemd started,
#                the targets back, the first nvmf-raid@ unit started, the
#                last one active, nvmf-raid.target and multi-user.target
#                reached; and when this script (started after
#                multi-user.target) first sees every volume up: the link
#                /dev/nvmf-raid/VOL, its md array not degraded and idle, both
#                replicas in-sync in the descriptor, and nvmf-raid status
#                --json saying "optimal" for each.  Then IDLE seconds of
#                nothing: each nvmf-raid-monitor@ process's CPU
#                (schedstat, utime+stime, the unit's CPUUsageNSec), its
#                wake-ups (voluntary context switches), VmRSS and Pss; the
#                metrics service likewise, and the guest's CPU;
#                systemd-cgtop into the debug log.  Then STATUS_N timed
#                runs each of nvmf-raid status --json and nvmf-raid status.
#                Volumes 2-32 stopped at once, their files and
#                targets put aside.
#   boot "1"     the same with volume scale01 alone (its two targets
#                only); status timed likewise.  The others put back.
# RUNS pairs of boots "32", "1" follow the setup boot; the last boot
# writes the results.  Each boot but the first also looks at the shutdown
# before it in the journal (persistent): how long, and which nvmf-raid@
# units failed.  A boot whose volumes are not all up within UP_WAIT is
# reported so ("NOT all up") and measured as it is; a failed setup ends
# the run.
# Output: out/scale-results.txt, out/scale-samples.tsv, out/scale-debug.log,
# out/journal-bootN.log for every boot.
# Settings from /mnt/host/bench.conf: RUNS, DEADLINE (seconds over all boots,
# counted as the sum of their uptimes plus REBOOT_ALLOW per reboot, after
# which no further boot is started).
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

RUNS=3
DEADLINE=2700
# shellcheck source=/dev/null
[ -f "$share/bench.conf" ] && . "$share/bench.conf"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

VOLS=32
IDLE=60			# seconds of the idle window
STATUS_N=20		# timed runs of each status form
UP_WAIT=900		# seconds after the script starts for every volume to be up
REBOOT_ALLOW=120	# seconds a reboot costs beyond the uptimes (shutdown, qemu)
DEGRADED_START_ID=ff933a302c9c46358ef8bc08b81fb4cb
VOLDIR=/etc/nvmf-raid/volumes
BENCHDIR=/var/lib/nvmf-raid-bench	# tgt_boot_unit's directory, parked volume files
WORK=/run/nvmf-raid-bench
STATE=$out/scale-state			# "NEXT_BOOT SPENT_SECONDS REBOOT_UPTIME ATTACHED"
SETUP=$out/scale-setup.env		# what the setup boot chose
SAMPLES=$out/scale-samples.tsv
RESULTS=$out/scale-results.txt
DEBUG=$out/scale-debug.log

vol_name() { printf -v VNAME 'scale%02d' "$1"; }
# Namespace UUID of volume I's replica R (hex digits only).
rep_uuid() { printf -v RUUID '5ca1e0%02d-000%d-4b1d-9a7e-5ca1e0%02d000%d' "$1" "$2" "$1" "$2"; }

# --- checks of the volumes (builtins: polled) ---------------------------
# vol_whole VOL : the link /dev/nvmf-raid/VOL is there, the descriptor names
# an md array that is not degraded and does no resync, and lists two
# replicas in-sync.
vol_whole() {
	local c='' re md rest sa=''
	[ -b "/dev/nvmf-raid/$1" ] || { WHY="$1: no /dev/nvmf-raid/$1"; return 1; }
	IFS= read -r -d '' c 2> /dev/null < "/run/nvmf-raid/$1.json"
	re='"md"[[:space:]]*:[[:space:]]*\{[^}]*"device"[[:space:]]*:[[:space:]]*"/dev/(md[0-9]+)"'
	[[ $c =~ $re ]] || { WHY="$1: no md array in the descriptor"; return 1; }
	md=${BASH_REMATCH[1]}
	attr_is "/sys/block/$md/md/degraded" 0 || { WHY="$1: $md degraded"; return 1; }
	read -r sa 2> /dev/null < "/sys/block/$md/md/sync_action"
	[ "$sa" = idle ] || { WHY="$1: $md ${sa:-unreadable}"; return 1; }
	rest=${c//\"in-sync\"/}
	[ $(((${#c} - ${#rest}) / 9)) = 2 ] || { WHY="$1: not both replicas in-sync in the descriptor"; return 1; }
}

# status_optimal VOL... : nvmf-raid status --json says "optimal" for each.
status_optimal() {
	local r
	r=$(nvmf-raid status --json 2>> "$DEBUG" | py3 "$WORK/optimal.py" "$@")
	local rc=$?
	[ "$rc" = 0 ] && return 0
	WHY="status: ${r:-no answer}"
	return 1
}

# all_up : every volume of EXPECT whole, then status agrees.
all_up() {
	local v
	for v in "${EXPECT[@]}"; do vol_whole "$v" || return 1; done
	status_optimal "${EXPECT[@]}"
}

# poll_up SECONDS : UP_AT (uptime, s) when all_up first held, polled
# every 0.5 s; UP_FIRST=1 when it held at the first look.  1 on timeout.
poll_up() {
	local end t
	mono_ms
	end=$((MONO_MS + $1 * 1000))
	UP_FIRST=1
	while :; do
		mono_ms
		t=$MONO_MS
		if all_up; then
			UP_AT=$(ms_to_s "$t")
			return 0
		fi
		UP_FIRST=0
		mono_ms
		[ "$MONO_MS" -ge "$end" ] && return 1
		nap 0.5
	done
}

# --- systemd's view -----------------------------------------------------
# unit_show PROPS UNIT... : SHOW[UNIT/PROP] = value, one systemctl call.
declare -A SHOW
unit_show() {
	local props=$1 line id k
	local -a lines
	local -A blk=()
	shift
	SHOW=()
	mapfile -t lines < <(systemctl show -p "Id,$props" "$@" 2>> "$DEBUG")
	lines+=('')
	for line in "${lines[@]}"; do
		if [ -n "$line" ]; then
			blk[${line%%=*}]=${line#*=}
			continue
		fi
		id=${blk[Id]:-}
		if [ -n "$id" ]; then
			for k in "${!blk[@]}"; do SHOW[$id/$k]=${blk[$k]}; done
		fi
		blk=()
	done
}

# us_s USEC : "S.sss" or "-" for an unset timestamp.
us_s() {
	if [[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; then
		printf '%d.%03d' $(($1 / 1000000)) $((($1 % 1000000) / 1000))
	else
		printf -- '-'
	fi
}

# --- processes -----------------------------------------------------------
# proc_sample PID : PS_NS (CPU ns, schedstat, summed over threads), PS_TICKS
# (utime+stime in clock ticks), PS_VCS and PS_NVCS (voluntary and
# involuntary context switches, over threads); builtins only.
proc_sample() {
	local f k v s
	local -a a
	PS_NS=0 PS_TICKS=0 PS_VCS=0 PS_NVCS=0
	read -r s 2> /dev/null < "/proc/$1/stat" || return 1
	read -r -a a <<< "${s##*) }"
	PS_TICKS=$((a[11] + a[12]))
	for f in /proc/"$1"/task/*; do
		read -r s _ 2> /dev/null < "$f/schedstat" && PS_NS=$((PS_NS + s))
		while read -r k v _; do
			case $k in
			voluntary_ctxt_switches:) PS_VCS=$((PS_VCS + v)) ;;
			nonvoluntary_ctxt_switches:) PS_NVCS=$((PS_NVCS + v)) ;;
			esac
		done 2> /dev/null < "$f/status"
	done
}

# proc_mem PID : PM_RSS, PM_ANON, PM_FILE (VmRSS, RssAnon, RssFile) and
# PM_PSS, PM_PSS_ANON (smaps_rollup), in KiB.
proc_mem() {
	local k v
	PM_RSS=- PM_ANON=- PM_FILE=- PM_PSS=- PM_PSS_ANON=-
	while read -r k v _; do
		case $k in
		VmRSS:) PM_RSS=$v ;;
		RssAnon:) PM_ANON=$v ;;
		RssFile:) PM_FILE=$v ;;
		esac
	done 2> /dev/null < "/proc/$1/status"
	while read -r k v _; do
		case $k in
		Pss:) PM_PSS=$v ;;
		Pss_Anon:) PM_PSS_ANON=$v ;;
		esac
	done 2> /dev/null < "/proc/$1/smaps_rollup"
}

# cpu_busy : CPU_BUSY and CPU_ALL, the guest's busy and total jiffies.
cpu_busy() {
	local u n s i w q sq st
	read -r _ u n s i w q sq st _ < /proc/stat
	CPU_ALL=$((u + n + s + i + w + q + sq + st))
	CPU_BUSY=$((CPU_ALL - i - w))
}

# --- the setup boot -------------------------------------------------------
setup_boot() {
	local i r avail units=() t0 t1 t2 failed
	log "scale benchmark: RUNS=$RUNS (a setup boot, then $RUNS x a boot with $VOLS volumes and one with 1), kernel $(uname -r)"
	install_project "$share" || die "installing the project"
	tgt_modules || die "loading the nvmet / nvme-tcp / raid1 modules"
	mkdir -p "$BENCHDIR/parked" "$VOLDIR" "$TGT_STORE" || die "mkdir $BENCHDIR"
	# Replica size: md's initial resync writes one member of each array
	# whole, so that many sparse files end up allocated, on the guest's
	# disk (the targets outlive reboots).
	avail=$(df -Pm "$TGT_STORE" | awk 'NR == 2 { print $4 }')
	if [ "${avail:-0}" -ge $((VOLS * 64 + 400)) ]; then
		SIZE_MIB=64 SIZE_NOTE="64 MiB"
	elif [ "${avail:-0}" -ge $((VOLS * 32 + 300)) ]; then
		SIZE_MIB=32 SIZE_NOTE="32 MiB: ${avail} MiB free on the guest disk, 64 MiB would need $((VOLS * 64 + 400))"
	else
		die "only ${avail} MiB free on the guest disk; $VOLS volumes of 32 MiB need $((VOLS * 32 + 300))"
	fi
	printf 'SIZE_MIB=%d\nSIZE_NOTE=%q\n' "$SIZE_MIB" "$SIZE_NOTE" > "$SETUP"
	: > "$BENCHDIR/targets"
	: > "$BENCHDIR/down"
	mono_ms
	t0=$MONO_MS
	for ((i = 1; i <= VOLS; i++)); do
		vol_name "$i"
		{
			printf '[volume]\nauto = yes\n'
			for r in 1 2; do
				rep_uuid "$i" "$r"
				tgt_add "$VNAME-r$r" "${SIZE_MIB}M" "$RUUID" 1 || die "target $VNAME-r$r"
				echo "$VNAME-r$r ${SIZE_MIB}M $RUUID 1" >> "$BENCHDIR/targets"
				printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = tcp://127.0.0.1:4420\n' \
					"$r" "$(tgt_nqn "$VNAME-r$r")" "$RUUID"
			done
		} > "$VOLDIR/$VNAME.conf"
		units+=("nvmf-raid@$VNAME.service")
	done
	mono_ms
	log "$((VOLS * 2)) targets and $VOLS volume files made in $(ms_to_s $((MONO_MS - t0))) s; replicas of $SIZE_NOTE"
	nvmf-raid check "${EXPECT[@]}" >> "$DEBUG" 2>&1 || die "nvmf-raid check refused the volume files"
	tgt_boot_unit "$BENCHDIR" "${units[@]}" || die "tgt_boot_unit"
	systemctl is-enabled -q nvmf-raid.target || die "nvmf-raid.target is not enabled"

	mono_ms
	t0=$MONO_MS
	timeout 1800 systemctl start "${units[@]}" 2>> "$DEBUG"
	mono_ms
	t1=$MONO_MS
	failed=$(systemctl show -p Id,ActiveState "${units[@]}" 2>> "$DEBUG" | grep -c '^ActiveState=[^a]')
	log "systemctl start of the $VOLS volumes at once returned after $(ms_to_s $((t1 - t0))) s; $failed not active"
	if [ "$failed" != 0 ]; then
		systemctl list-units --all --no-pager 'nvmf-raid*' >> "$DEBUG" 2>&1
		journalctl -b -q --no-pager -o short-monotonic -u 'nvmf-raid@*' >> "$DEBUG" 2>&1
		die "$failed of the $VOLS volumes did not attach at the setup"
	fi
	if ! poll_up 1500; then
		nvmf-raid status >> "$DEBUG" 2>&1
		die "the volumes were not in sync within 1500 s of the attach: $WHY"
	fi
	mono_ms
	t2=$MONO_MS
	log "all $VOLS volumes optimal (initial resync done) $(ms_to_s $((t2 - t1))) s after the attach"
	printf 'setup\t%s\t%s\t%d\n' "$(ms_to_s $((t1 - t0)))" "$(ms_to_s $((t2 - t1)))" "$SIZE_MIB" >> "$SAMPLES"
	{
		echo "--- setup: status, mdstat, backing files"
		nvmf-raid status
		cat /proc/mdstat
		du -sh --apparent-size "$TGT_STORE"
		du -sh "$TGT_STORE"
		df -h "$TGT_STORE"
	} >> "$DEBUG" 2>&1
	# Detached before the reboot, all at once (see stop_volumes).
	stop_volumes 1 "$VOLS" 0
}

# --- a measured boot ---------------------------------------------------------
# boot_measure BOOT RUN CFG : the boot's times and whether every volume came up.
boot_measure() {
	local boot=$1 run=$2 cfg=$3 t_script up='FAILED' v units=() mons=() u
	local first='' last='' att=() failed=0 degr ids=() note=''
	mono_ms
	t_script=$(ms_to_s "$MONO_MS")
	log "boot $boot (run $run, $cfg volume(s)): script started ${t_script} s after the kernel"
	if poll_up "$UP_WAIT"; then
		up=$UP_AT
		log "all $cfg up at ${UP_AT} s$([ "$UP_FIRST" = 1 ] && echo ' (already at the first look)')"
	else
		note="not all up within ${UP_WAIT} s: $WHY"
		log "$note"
	fi
	for v in "${EXPECT[@]}"; do
		units+=("nvmf-raid@$v.service")
		mons+=("nvmf-raid-monitor@$v.service")
	done
	unit_show ActiveState,InactiveExitTimestampMonotonic,ActiveEnterTimestampMonotonic \
		nvmf-raid.target multi-user.target "$TGT_BOOT_UNIT" guest-test.service "${units[@]}" "${mons[@]}"
	local t_user t_tgt t_nr t_mu s e
	t_user=$(us_s "$(systemctl show -P UserspaceTimestampMonotonic 2>> "$DEBUG")")
	t_tgt=$(us_s "${SHOW[$TGT_BOOT_UNIT/ActiveEnterTimestampMonotonic]:-}")
	t_nr=$(us_s "${SHOW[nvmf-raid.target/ActiveEnterTimestampMonotonic]:-}")
	t_mu=$(us_s "${SHOW[multi-user.target/ActiveEnterTimestampMonotonic]:-}")
	for u in "${units[@]}"; do
		s=${SHOW[$u/InactiveExitTimestampMonotonic]:-0}
		e=${SHOW[$u/ActiveEnterTimestampMonotonic]:-0}
		if [ "${SHOW[$u/ActiveState]:-}" != active ]; then
			failed=$((failed + 1))
			continue
		fi
		[[ $s =~ ^[1-9][0-9]*$ && $e =~ ^[1-9][0-9]*$ ]] || continue
		{ [ -z "$first" ] || [ "$s" -lt "$first" ]; } && first=$s
		{ [ -z "$last" ] || [ "$e" -gt "$last" ]; } && last=$e
		att+=("$(us_s $((e - s)))")
	done
	for u in "${mons[@]}"; do
		[ "${SHOW[$u/ActiveState]:-}" = active ] || note+="${note:+; }$u ${SHOW[$u/ActiveState]:-unknown}"
	done
	mapfile -t ids < <(journalctl -b -q --no-pager -o cat --output-fields=MESSAGE_ID \
		"MESSAGE_ID=$DEGRADED_START_ID" 2>> "$DEBUG")
	degr=0
	for v in "${ids[@]}"; do [ "$v" = "$DEGRADED_START_ID" ] && degr=$((degr + 1)); done
	printf 'boot\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n' "$run" "$cfg" \
		"$t_user" "$t_tgt" "$(us_s "$first")" "$(us_s "$last")" "$t_nr" "$t_mu" "$t_script" "$up" \
		"$UP_FIRST" "$degr" "$failed" "$(IFS=,; echo "${att[*]}")" "$note" >> "$SAMPLES"
	log "kernel -> systemd ${t_user} s, targets ${t_tgt} s, first nvmf-raid@ start $(us_s "$first") s, last active $(us_s "$last") s, nvmf-raid.target ${t_nr} s, multi-user.target ${t_mu} s; $failed units not active, $degr degraded starts"
	{
		echo "--- boot $boot (run $run, $cfg volumes)"
		systemctl list-units --all --no-pager 'nvmf-raid*' "$TGT_BOOT_UNIT"
		nvmf-raid status
		cat /proc/mdstat
	} >> "$DEBUG" 2>&1
	if [ "$failed" != 0 ] || [ "$up" = FAILED ]; then
		journalctl -b -q --no-pager -o short-monotonic -u 'nvmf-raid@*' -u 'nvmf-raid-monitor@*' \
			>> "$DEBUG" 2>&1
	fi
}

# shutdown_check BOOT : the shutdown that ended boot BOOT (the journal is
# persistent): from the reboot request to that boot's last journal entry,
# and the nvmf-raid@ units that failed meanwhile (their lines in the debug
# log).
shutdown_check() {
	local prev=$1 lines=() l t_end='' failed=0 aborts=0 detached=0
	mapfile -t lines < <(journalctl -b -1 -q --no-pager -o short-monotonic 2>> "$DEBUG" |
		awk -v t="$REQ_UP" '{ s = $0; sub(/^\[ */, "", s); if (s + 0 >= t) print }')
	[ "${#lines[@]}" -gt 0 ] || { dbg "boot $prev: no journal of its shutdown"; return 0; }
	l=${lines[-1]#[}
	read -r t_end _ <<< "${l# }"
	t_end=${t_end%]}
	echo "--- the shutdown of boot $prev ($REQ_ATT descriptors): nvmf-raid lines" >> "$DEBUG"
	for l in "${lines[@]}"; do
		[[ $l == *nvmf-raid* ]] || continue
		echo "$l" >> "$DEBUG"
		[[ $l == *"nvmf-raid@"*"Failed with result"* ]] && failed=$((failed + 1))
		[[ $l == *"nvmf-raid@"*"status=6/ABRT"* ]] && aborts=$((aborts + 1))
		[[ $l == *"nvmf-raid-detach["*"]: "*": detached." ]] && detached=$((detached + 1))
	done
	l=$(awk -v a="$REQ_UP" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }')
	printf 'shutdown\t%d\t%s\t%s\t%d\t%d\t%d\n' "$prev" "$REQ_ATT" "$l" "$failed" "$aborts" "$detached" >> "$SAMPLES"
	# A shutdown longer than the allowance counted for it (a detach stuck
	# in the kernel held one up for 5 minutes): the rest counts too.
	[ $((${l%.*} + 60)) -gt "$REBOOT_ALLOW" ] && SPENT=$((SPENT + ${l%.*} + 60 - REBOOT_ALLOW))
	log "the shutdown of boot $prev ($REQ_ATT descriptors in /run/nvmf-raid): last journal entry ${t_end} s (reboot asked at ${REQ_UP} s); $detached detached, $failed nvmf-raid@ units failed, $aborts aborts"
}

# --- idle monitors ----------------------------------------------------------
# idle_measure RUN : IDLE seconds with nothing happening; per monitor (and
# the metrics service) CPU, wake-ups and memory; the guest's CPU.
idle_measure() {
	local run=$1 v u pid i t0 t1 w b0 a0 n0 k0 v0 c0 cg units=() pids=() r=()
	local -A ns0 tk0 vcs0 nvcs0 cg0
	for v in "${EXPECT[@]}"; do units+=("nvmf-raid-monitor@$v.service"); done
	units+=(nvmf-raid-metrics.service)
	settle
	unit_show MainPID,CPUUsageNSec "${units[@]}"
	for u in "${units[@]}"; do
		pid=${SHOW[$u/MainPID]:-0}
		pids+=("$pid")
		cg0[$u]=${SHOW[$u/CPUUsageNSec]:--}
		if [ "$pid" != 0 ] && proc_sample "$pid"; then
			ns0[$u]=$PS_NS tk0[$u]=$PS_TICKS vcs0[$u]=$PS_VCS nvcs0[$u]=$PS_NVCS
		fi
	done
	cpu_busy
	b0=$CPU_BUSY a0=$CPU_ALL
	mono_ms
	t0=$MONO_MS
	log "idle: $((${#units[@]} - 1)) monitors and the metrics service, ${IDLE} s of nothing"
	nap "$IDLE"
	mono_ms
	t1=$MONO_MS
	cpu_busy
	w=$(ms_to_s $((t1 - t0)))
	i=0
	for u in "${units[@]}"; do
		pid=${pids[i]}
		i=$((i + 1))
		if [ "$pid" = 0 ] || [ -z "${ns0[$u]:-}" ] || ! proc_sample "$pid"; then
			printf 'mon\t%d\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\tno process\n' \
				"$run" "$u" "$pid" "$w" >> "$SAMPLES"
			continue
		fi
		# (The keys hold '@' and '.': out of the arrays before any arithmetic.)
		n0=${ns0[$u]} k0=${tk0[$u]} v0=${vcs0[$u]} c0=${nvcs0[$u]}
		proc_mem "$pid"
		printf 'mon\t%d\t%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t-\t%s\t-\n' "$run" "$u" "$pid" \
			$((PS_NS - n0)) $((PS_TICKS - k0)) "${cg0[$u]}" $((PS_VCS - v0)) $((PS_NVCS - c0)) \
			"$PM_RSS" "$PM_ANON" "$PM_FILE" "$PM_PSS" "$PM_PSS_ANON" "$w" >> "$WORK/mon.tsv"
	done
	# The units' CPU from their cgroups (the monitor and whatever it ran),
	# after the window: the difference replaces the value before (field 7);
	# the cgroup's memory (MemoryCurrent, bytes) goes into field 15.
	# Every field of mon.tsv is non-empty ("-"): read splits on runs of tabs.
	unit_show MainPID,CPUUsageNSec,MemoryCurrent "${units[@]}"
	while IFS=$'\t' read -r -a r; do
		u=${r[2]}
		cg=${SHOW[$u/CPUUsageNSec]:-}
		if [[ ${r[6]} =~ ^[0-9]+$ && $cg =~ ^[0-9]+$ ]]; then
			r[6]=$((cg - r[6]))
		else
			r[6]=-
		fi
		cg=${SHOW[$u/MemoryCurrent]:-}
		[[ $cg =~ ^[0-9]+$ ]] && r[14]=$cg
		r[16]=''
		[ "${SHOW[$u/MainPID]:-}" = "${r[3]}" ] || r[16]="restarted: MainPID ${r[3]} -> ${SHOW[$u/MainPID]:-?}"
		(IFS=$'\t'; echo "${r[*]}") >> "$SAMPLES"
	done < "$WORK/mon.tsv"
	rm -f "$WORK/mon.tsv"
	printf 'guest\t%d\t%d\t%d\t%s\n' "$run" $((CPU_BUSY - b0)) $((CPU_ALL - a0)) "$w" >> "$SAMPLES"
	log "idle window over (${w} s): guest busy $((CPU_BUSY - b0)) of $((CPU_ALL - a0)) jiffies"
	{
		echo "--- run $run: systemd-cgtop -b -n 3 -d 20 (after the idle window)"
		timeout 120 systemd-cgtop -b -n 3 -d 20
		echo "--- run $run: processes by CPU time"
		ps -e -o pid=,time=,rss=,comm= --sort=-time | head -20
	} >> "$DEBUG" 2>&1
}

# --- status ------------------------------------------------------------------
# status_times RUN CFG : STATUS_N runs each of nvmf-raid status --json and
# nvmf-raid status, wall time by $EPOCHREALTIME (fork and exec included),
# after one untimed run of each (its output in the debug log).
status_times() {
	local run=$1 cfg=$2 kind i t0 t1 rc args
	for kind in json text; do
		args=(status)
		[ "$kind" = json ] && args+=(--json)
		{
			echo "--- run $run, $cfg volume(s): nvmf-raid ${args[*]}"
			nvmf-raid "${args[@]}"
		} >> "$DEBUG" 2>&1
		for ((i = 1; i <= STATUS_N; i++)); do
			t0=$EPOCHREALTIME
			nvmf-raid "${args[@]}" > /dev/null 2>> "$DEBUG"
			rc=$?
			t1=$EPOCHREALTIME
			printf 'status\t%d\t%d\t%s\t%d\t%d\t%d\n' "$run" "$cfg" "$kind" "$i" \
				$((${t1/./} - ${t0/./})) "$rc" >> "$SAMPLES"
		done
	done
	log "status timed ($STATUS_N x --json, $STATUS_N x text) over $cfg volume(s)"
}

# --- configurations and reboots ----------------------------------------------
# stop_volumes FIRST LAST RUN : volumes FIRST to LAST stopped at once (one
# systemctl stop of all), timed; the stops that were not clean and the
# controllers of those volumes still there afterwards.  Before 2d2cf87, 31
# detaches at once (Debian 12) aborted in some of them ("free(): double
# free detected in tcache 2"), left controllers connected, and once oopsed
# the kernel (reading the address of a controller another detach was
# deleting), which wedged the guest.
stop_volumes() {
	local first=$1 last=$2 run=$3 i u v t0 units=() failed=() left=()
	for ((i = first; i <= last; i++)); do
		vol_name "$i"
		units+=("nvmf-raid@$VNAME.service")
	done
	mono_ms
	t0=$MONO_MS
	timeout 600 systemctl stop "${units[@]}" 2>> "$DEBUG" || dbg "systemctl stop of volumes $first-$last failed"
	mono_ms
	t0=$(ms_to_s $((MONO_MS - t0)))
	# Whether each stop went through: a stop whose ExecStop= died leaves
	# the unit "failed".
	unit_show Result,ActiveState "${units[@]}"
	for u in "${units[@]}"; do
		[ "${SHOW[$u/Result]:-}" = success ] && [ "${SHOW[$u/ActiveState]:-}" = inactive ] && continue
		v=${u#nvmf-raid@}
		failed+=("${v%.service}:${SHOW[$u/ActiveState]:-?}/${SHOW[$u/Result]:-?}")
	done
	for u in /sys/class/nvme/nvme*; do
		read -r v 2> /dev/null < "$u/subsysnqn" || continue
		v=${v#"$TGT_NQN_PREFIX"}
		[[ $v =~ ^scale([0-9]+)-r ]] || continue
		[ $((10#${BASH_REMATCH[1]})) -ge "$first" ] && [ $((10#${BASH_REMATCH[1]})) -le "$last" ] &&
			left+=("${u##*/}:$v")
	done
	printf 'stop\t%d\t%s\t%d\t%d\t%s\t%s\n' "$run" "$t0" "${#units[@]}" "${#failed[@]}" "${failed[*]}" \
		"${left[*]}" >> "$SAMPLES"
	log "volumes $first-$last stopped at once in $t0 s; ${#failed[@]} stop(s) not clean${failed:+: ${failed[*]}}; ${#left[@]} of their controllers left${left:+: ${left[*]}}"
	if [ "${#failed[@]}" != 0 ]; then
		echo "--- run $run: the stops that were not clean" >> "$DEBUG"
		for v in "${failed[@]}"; do
			journalctl -b -q --no-pager -o short-monotonic -u "nvmf-raid@${v%%:*}.service" \
				-n 40 >> "$DEBUG" 2>&1
		done
	fi
}

# configure CFG : the volume files and targets of the next boot: all 32, or
# scale01 alone (the others stopped now, their files put aside, their
# targets left out of the next boot).
configure() {
	local i r
	if [ "$1" = 1 ]; then
		stop_volumes 2 "$VOLS" "$RUN"
		: > "$BENCHDIR/down"
		for ((i = 2; i <= VOLS; i++)); do
			vol_name "$i"
			mv "$VOLDIR/$VNAME.conf" "$BENCHDIR/parked/" || die "parking $VNAME.conf"
			for r in 1 2; do echo "$VNAME-r$r" >> "$BENCHDIR/down"; done
		done
	else
		for i in "$BENCHDIR"/parked/*.conf; do
			[ -e "$i" ] || continue
			mv "$i" "$VOLDIR/" || die "restoring ${i##*/}"
		done
		: > "$BENCHDIR/down"
	fi
	sync
}

# reboot_into NEXT SPENT : this boot's journal kept, the host asked to start
# the guest again, a real reboot (the units stop as on any host); the
# uptime and the number of attached volumes (descriptors) kept for
# shutdown_check.
reboot_into() {
	local d n=0
	for d in /run/nvmf-raid/*.json; do [ -e "$d" ] && n=$((n + 1)); done
	echo "$1 $2 $(uptime_s) $n" > "$STATE"
	journalctl -b --no-pager -o short-monotonic > "$out/journal-boot$BOOT.log" 2>&1
	dmesg > "$out/dmesg-boot$BOOT.log" 2>&1
	log "rebooting into boot $1"
	touch "$out/reboot"
	sync
	# systemctl asks logind first, over D-Bus, which the image lacks
	# ("Failed to connect to bus"), then systemd itself.
	systemctl reboot --no-block 2>> "$DEBUG"
	exec sleep infinity
}

# --- main ------------------------------------------------------------------
mkdir -p "$WORK" || die "mkdir $WORK"
rm -f "$WORK/nap"
mkfifo "$WORK/nap" || die "no FIFO for nap"
exec {NAP_FD}<> "$WORK/nap"
cat > "$WORK/optimal.py" <<'PY'
import json
import sys

try:
    vols = json.load(sys.stdin)['volumes']
except Exception as e:  # noqa: BLE001 - any unreadable answer is a "no"
    print('unreadable: %s' % e)
    sys.exit(2)
state = {v.get('volume'): v.get('state') for v in vols}
bad = ['%s %s' % (n, state.get(n, 'missing')) for n in sys.argv[1:] if state.get(n) != 'optimal']
if bad:
    print(', '.join(bad[:6]) + (' and %d more' % (len(bad) - 6) if len(bad) > 6 else ''))
    sys.exit(1)
PY
[[ $RUNS =~ ^[1-3]$ ]] || die "RUNS=$RUNS: 1 to 3"
WHY='' UP_AT='' UP_FIRST=0
BOOT=0 SPENT=0 REQ_UP=0 REQ_ATT=0
if [ -f "$STATE" ]; then
	read -r BOOT SPENT REQ_UP REQ_ATT < "$STATE" || die "unreadable $STATE"
else
	rm -f "$SAMPLES" "$RESULTS" "$DEBUG"
fi
# shellcheck source=/dev/null
[ -f "$SETUP" ] && . "$SETUP"
LAST=$((2 * RUNS))
# Odd boots have the 32 volumes, even boots one.
if [ "$BOOT" = 0 ] || [ $((BOOT % 2)) = 1 ]; then CFG=$VOLS; else CFG=1; fi
RUN=$(((BOOT + 1) / 2))
EXPECT=()
for ((i = 1; i <= CFG; i++)); do
	vol_name "$i"
	EXPECT+=("$VNAME")
done
dbg "boot $BOOT: run $RUN, $CFG volume(s), $SPENT s spent before"

if [ "$BOOT" = 0 ]; then
	setup_boot
else
	boot_measure "$BOOT" "$RUN" "$CFG"
	shutdown_check $((BOOT - 1))
	[ "$CFG" = "$VOLS" ] && idle_measure "$RUN"
	status_times "$RUN" "$CFG"
fi

# The next boot, while there is time for it: in this benchmark's first run
# a boot with 32 volumes was up for 260 s until it rebooted (the stop of
# 31 volumes included), one with 1 volume for 30 s; twice that and more
# is asked for.
uptime_cs
SPENT=$((SPENT + UPTIME_CS / 100))
if [ "$BOOT" -lt "$LAST" ]; then
	next=$((BOOT + 1))
	if [ $((next % 2)) = 1 ]; then need=600; else need=180; fi
	if [ $((SPENT + REBOOT_ALLOW + need)) -le "$DEADLINE" ]; then
		if [ $((next % 2)) = 1 ]; then configure "$VOLS"; else configure 1; fi
		reboot_into "$next" $((SPENT + REBOOT_ALLOW))
	fi
	log "deadline: $SPENT s spent of ${DEADLINE} s, no time for boot $next ($need s): reporting what was measured"
fi

{
	echo "nvmf-raid scale benchmark (bench/scale): $VOLS volumes of 2 replicas at boot, idle monitors, status over $VOLS volumes"
	echo "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), systemd $(pkg systemd), mdadm $(pkg mdadm), nvme-cli $(pkg nvme-cli), $(nvmf-raid --version 2> /dev/null | head -1)"
	echo "qemu TCG guest, $(nproc) vCPU, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $VOLS volumes x 2 replicas = $((VOLS * 2)) nvmet subsystems, one sparse"
	echo "file-backed namespace each (${SIZE_NOTE:-?}), all on tcp://127.0.0.1:4420; volume files auto = yes, defaults"
	echo "otherwise (degraded-timeout 30); targets re-created at every boot by $TGT_BOOT_UNIT, ordered"
	echo "before the volumes (in the boot with 1 volume: its 2 targets only, the other files put aside)"
	echo "boot times: CLOCK_MONOTONIC (0 = kernel start) from systemctl show; \"all up\": first seen by this script"
	echo "(started after multi-user.target, polls every 0.5 s): link, md not degraded and idle, both replicas in-sync,"
	echo "status --json \"optimal\"; RUNS=$RUNS pairs of boots ($VOLS volumes, then 1), after a setup boot"
} > "$WORK/header.txt"

python3 - "$SAMPLES" "$WORK/header.txt" "$VOLS" "$IDLE" "$STATUS_N" > "$RESULTS" <<'PY'
import statistics
import sys

samples, header, vols, idle, status_n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = {}
try:
    with open(samples) as f:
        for line in f:
            c = line.rstrip('\n').split('\t')
            rows.setdefault(c[0], []).append(c)
except FileNotFoundError:
    pass


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def cell(v, fmt):
    return fmt % v if v is not None else '-'


def span(vals, fmt):
    vals = [v for v in vals if v is not None]
    return (fmt + '-' + fmt) % (min(vals), max(vals)) if vals else '-'


def ratio(a, b):
    return '%.2fx' % (a / b) if a is not None and b else '-'


print(open(header).read().rstrip('\n'))
for s in rows.get('setup', []):
    print('setup boot: %d volumes attached at once (systemctl start) in %s s, initial resync of %s MiB replicas done'
          ' %s s later' % (vols, s[1], s[3], s[2]))
print()

# --- boot ---
boots = {vols: [], 1: []}
for b in rows.get('boot', []):
    if int(b[2]) in boots:
        boots[int(b[2])].append(b)
many, one = boots[vols], boots[1]


def col(bs, i):
    return [num(b[i]) for b in bs]


def share(bs, i, j):
    return [num(b[i]) - num(b[j]) if num(b[i]) is not None and num(b[j]) is not None else None for b in bs]


lines = [
    ('systemd started (kernel -> userspace)', lambda bs: col(bs, 3)),
    ('test targets re-created (unit active)', lambda bs: col(bs, 4)),
    ('first nvmf-raid@ unit started', lambda bs: col(bs, 5)),
    ('last nvmf-raid@ unit active', lambda bs: col(bs, 6)),
    ('nvmf-raid.target reached', lambda bs: col(bs, 7)),
    ('multi-user.target reached', lambda bs: col(bs, 8)),
    ('this script started', lambda bs: col(bs, 9)),
    ('all volumes up (seen)', lambda bs: col(bs, 10)),
    ('targets active -> nvmf-raid.target', lambda bs: share(bs, 7, 4)),
    ('targets active -> all volumes up', lambda bs: share(bs, 10, 4)),
]
fmt = '%-40s %11s %11s %8s %15s %15s'
print('Boot, seconds since the kernel started (median of runs)')
print(fmt % ('', '%d volumes' % vols, '1 volume', 'ratio', '%d: min-max' % vols, '1: min-max'))
for name, get in lines:
    a, b = get(many), get(one)
    print(fmt % (name, cell(med(a), '%.2f'), cell(med(b), '%.2f'), ratio(med(a), med(b)),
                 span(a, '%.1f'), span(b, '%.1f')))


def attach(bs):
    return [num(x) for b in bs for x in b[14].split(',') if b[14]]


a, b = attach(many), attach(one)
print(fmt % ('one unit: start -> active, median', cell(med(a), '%.2f'), cell(med(b), '%.2f'), ratio(med(a), med(b)),
             span(a, '%.1f'), span(b, '%.1f')))
for t in rows.get('stop', []):
    left = t[6].split() if len(t) > 6 and t[6] else []
    print('  %s: stop of %s volumes at once (one systemctl stop) %s s; %s not clean%s; %d of their'
          ' controllers left%s' % ('setup' if t[1] == '0' else 'run ' + t[1], t[3], t[2], t[4],
                                   (' (' + t[5] + ')') if len(t) > 5 and t[5] else '', len(left),
                                   (' (' + ' '.join(left) + ')') if left else ''))
sd = rows.get('shutdown', [])
for t in sd:
    if t[4] != '0' or t[5] != '0' or int(t[2]) > 1:
        print('  shutdown of boot %s with %s descriptor(s) in /run/nvmf-raid: %s s from the reboot request to its last'
              ' journal entry; %s detached, %s nvmf-raid@ unit(s) failed, %s abort(s)' % (t[1], t[2], t[3], t[6], t[4], t[5]))
quiet = [t for t in sd if t[4] == '0' and t[5] == '0' and int(t[2]) <= 1]
if quiet:
    print('  %d other shutdown(s) (0 or 1 descriptor): no nvmf-raid@ unit failed, %s s at most'
          % (len(quiet), max((t[3] for t in quiet), key=float)))
for cfg, bs in ((vols, many), (1, one)):
    for b in bs:
        up = 'all %d up' % cfg if num(b[10]) is not None else 'NOT all up'
        first = ' (at the first look)' if b[11] == '1' and num(b[10]) is not None else ''
        print('  run %s, %2d volume(s): %s%s; %s unit(s) not active, %s degraded start(s)%s'
              % (b[1], cfg, up, first, b[13], b[12], ('; ' + b[15]) if len(b) > 15 and b[15] else ''))
if not many or not one:
    print('  (a configuration has no boot: see the log)')
print()

# --- idle ---
mons = [m for m in rows.get('mon', []) if m[2].startswith('nvmf-raid-monitor@')]
mets = [m for m in rows.get('mon', []) if m[2] == 'nvmf-raid-metrics.service']
good = [m for m in mons if num(m[4]) is not None and num(m[15]) is not None]
print('Idle, %d s with every volume up and nothing happening: per process (%d monitor windows%s)'
      % (idle, len(good), ', %d without a process' % (len(mons) - len(good)) if len(mons) != len(good) else ''))
if good:
    def per(ms, i, scale):
        return [(m[1], num(m[i]) * scale / num(m[15])) for m in ms if num(m[i]) is not None]

    def vals(pairs):
        return [v for _, v in pairs]

    def total(pairs):
        """Median over the runs of the sum over one run's monitors."""
        runs = {}
        for r, v in pairs:
            runs[r] = runs.get(r, 0.0) + v
        return med(list(runs.values())), (len(pairs) // len(runs) if runs else 0)

    def show(label, pairs, fmt_, with_total=True):
        v = vals(pairs)
        t, n = total(pairs)
        print('  %-44s median %s, min-max %s%s' % (label, cell(med(v), fmt_), span(v, fmt_),
                                                  (', all %d: ' % n + fmt_ % t) if with_total and v else ''))

    cpu = per(good, 4, 1e-6 * idle)  # ms per idle window
    show('monitor CPU, ms per %d s (schedstat)' % idle, cpu, '%.1f')
    show('monitor CPU, ms per %d s (utime+stime)' % idle, per(good, 5, 10.0 * idle), '%.0f')
    show('monitor unit CPU, ms per %d s (CPUUsageNSec)' % idle, per(good, 6, 1e-6 * idle), '%.1f')
    show('monitor CPU, % of one CPU', per(good, 4, 1e-7), '%.3f')
    wk = per(good, 7, 1.0)
    show('monitor wake-ups/s (voluntary ctxt switches)', wk, '%.2f')
    show('monitor involuntary ctxt switches/s', per(good, 8, 1.0), '%.2f')
    rss = [num(m[9]) for m in good if num(m[9]) is not None]
    pss = [num(m[12]) for m in good if num(m[12]) is not None]
    show('monitor VmRSS, KiB', [(m[1], num(m[9])) for m in good if num(m[9]) is not None], '%.0f', False)
    show('monitor RssAnon, KiB', [(m[1], num(m[10])) for m in good if num(m[10]) is not None], '%.0f', False)
    show('monitor RssFile, KiB', [(m[1], num(m[11])) for m in good if num(m[11]) is not None], '%.0f', False)
    show('monitor Pss, KiB', [(m[1], num(m[12])) for m in good if num(m[12]) is not None], '%.0f')
    show('monitor Pss_Anon, KiB', [(m[1], num(m[13])) for m in good if num(m[13]) is not None], '%.0f', False)
    show('monitor unit MemoryCurrent (cgroup), KiB', [(m[1], num(m[14]) / 1024) for m in good if num(m[14]) is not None],
         '%.0f', False)
    print('  (all N: the sum over the N monitors of one run, median of the runs)')
    for m in mets:
        if num(m[4]) is None:
            print('  metrics service (run %s): no process' % m[1])
            continue
        w = num(m[15])
        print('  %-44s CPU %.1f ms per %d s (unit %s), %.2f wake-ups/s, VmRSS %s KiB, Pss %s KiB'
              % ('nvmf-raid-metrics, one for all (run %s)' % m[1], num(m[4]) * 1e-6 * idle / w, idle,
                 cell(num(m[6]) * 1e-6 * idle / w if num(m[6]) is not None else None, '%.1f ms'),
                 num(m[7]) / w, m[9], m[12]))
    for g in rows.get('guest', []):
        print('  %-44s %.1f%% busy (%s of %s jiffies over %s s)'
              % ('whole guest (run %s)' % g[1], 100.0 * int(g[2]) / max(int(g[3]), 1), g[2], g[3], g[4]))
    for m in mons:
        if len(m) > 16 and m[16]:
            print('  %s (run %s): %s' % (m[2], m[1], m[16]))
    print()
    mr, mp = max(rss) if rss else None, max(pss) if pss else None
    print('Goal monitor RSS < 2 MiB each, VmRSS: max %s KiB %s' % (cell(mr, '%.0f'), 'ok' if mr is not None and mr < 2048 else 'over'))
    print('Goal monitor RSS < 2 MiB each, Pss: max %s KiB %s' % (cell(mp, '%.0f'), 'ok' if mp is not None and mp < 2048 else 'over'))
    mw, (tw, _) = med(vals(wk)), total(wk)
    print('Goal no timer firing while nothing happens: %s wake-ups/s per monitor (median), %s for all; %s'
          % (cell(mw, '%.2f'), cell(tw, '%.1f'),
             'ok' if mw is not None and mw < 0.1 else
             'over (a quiet array\'s paths are sampled every fast-io-fail-tmo, 2 s by default: '
             'a path lost while nothing is written sends no event)'))
    tc, _ = total(cpu)
    print('     idle CPU per monitor: %s ms per %d s (median), all monitors %s%% of one CPU'
          % (cell(med(vals(cpu)), '%.1f'), idle, cell(tc / (10.0 * idle) if tc is not None else None, '%.2f')))
else:
    print('  not measured')
print()

# --- status ---
st = {}
for s in rows.get('status', []):
    st.setdefault((int(s[2]), s[3]), []).append(s)
print('nvmf-raid status wall time, ms (%d runs each per boot, fork and exec included)' % status_n)
fmt = '%-24s %11s %11s %8s %17s %17s %8s'
print(fmt % ('', '%d volumes' % vols, '1 volume', 'ratio', '%d: min-max' % vols, '1: min-max', 'errors'))
meds = {}
for kind, label in (('json', 'status --json'), ('text', 'status')):
    a = [int(s[5]) / 1000.0 for s in st.get((vols, kind), [])]
    b = [int(s[5]) / 1000.0 for s in st.get((1, kind), [])]
    err = sum(1 for s in st.get((vols, kind), []) + st.get((1, kind), []) if s[6] != '0')
    meds[kind] = med(a)
    print(fmt % (label, cell(med(a), '%.1f'), cell(med(b), '%.1f'), ratio(med(a), med(b)),
                 span(a, '%.1f'), span(b, '%.1f'), err))
print()
m = meds.get('json')
print('Goal status --json over %d volumes < 100 ms: %s ms %s'
      % (vols, cell(m, '%.1f'), 'not measured' if m is None else ('ok' if m < 100 else 'over')))
m1 = med([int(s[5]) / 1000.0 for s in st.get((1, 'json'), [])])
if m is not None and m1 is not None:
    print('     status --json: %.1f ms more per volume beyond the first ((%d volumes - 1 volume) / %d)'
          % ((m - m1) / (vols - 1), vols, vols - 1))
m = meds.get('text')
print('     status (text) over %d volumes: %s ms %s'
      % (vols, cell(m, '%.1f'), '' if m is None else ('(< 100 ms)' if m < 100 else '(over 100 ms)')))
PY
rc=$?
journalctl -b --no-pager -o short-monotonic > "$out/journal-boot$BOOT.log" 2>&1
dmesg > "$out/dmesg.log" 2>&1
rm -f "$STATE"
echo
cat "$RESULTS"
[ "$rc" = 0 ] || die "the report could not be made"
log "done; results in out/scale-results.txt, samples in out/scale-samples.tsv"
exit 0
