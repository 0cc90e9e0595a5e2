#!/bin/bash
# Many volumes started and stopped at once, as at boot and shutdown or when
# an orchestrator detaches every volume of a host.  bench/scale found that
# 31 detaches at once aborted (libnvme 1.3 freed twice a controller that
# vanished under nvme_scan()) and once oopsed Debian 12's kernel (reading
# the "address" of a TCP controller another detach was deleting), leaving
# controllers behind.  The figures: volumes optimal after the starts;
# controllers, arrays and failed units left after the stops; aborts and
# kernel oopses in the journal.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"

CURSOR=/tmp/many-test.cursor
N=12

oneTimeSetUp() {
	tgt_modules || return 1
}

setUp() {
	journal_mark "$CURSOR"
}

tearDown() {
	local v
	for v in $(names 1 $N); do drop_volume "$v"; done
}

# names FIRST LAST : mvFIRST .. mvLAST; units FIRST LAST : their units.
names() { seq -f 'mv%02g' "$1" "$2"; }
units() { seq -f 'nvmf-raid@mv%02g' "$1" "$2"; }

# optimal_count FIRST LAST : how many of those volumes status calls optimal.
optimal_count() {
	# shellcheck disable=SC2046
	nvmf-raid status --json | py3 -c '
import json, sys
print(sum(v["state"] == "optimal" for v in json.load(sys.stdin)["volumes"] if v["volume"] in sys.argv[1:]))
' $(names "$1" "$2")
}

# inactive FIRST LAST : every one of those units inactive.
inactive() {
	# shellcheck disable=SC2046
	[ "$(systemctl is-active $(units "$1" "$2") | sort -u)" = inactive ]
}

# left FIRST LAST : controllers and arrays of those volumes still there.
left() {
	local v r n=0
	for v in $(names "$1" "$2"); do
		for r in 1 2; do
			n=$((n + $(ctrls_by_nqn "$(tgt_nqn "$v-r$r")" | wc -l)))
		done
		[ -e "/dev/nvmf-raid/$v" ] && n=$((n + 1))
	done
	echo $n
}

# What a crash of a helper or of the kernel leaves in the journal.
crashes() {
	journal_since "$CURSOR" | grep -E 'double free|free\(\)|status=6/ABRT|code=dumped|BUG:|Oops|general protection|Call Trace' |
		head -5
}

make_volumes() {
	local v
	for v in $(names "$1" "$2"); do
		new_volume "$v" 2 16M || return 1
	done
}

test_start_and_stop_at_once() {
	local t0 t1
	make_volumes 1 $N || { fail "targets"; return; }
	uptime_cs
	t0=$UPTIME_CS
	# shellcheck disable=SC2046
	systemctl start $(units 1 $N)
	assertEquals "systemctl start of $N volumes at once" 0 $?
	uptime_cs
	t1=$UPTIME_CS
	echo "$N volumes of 2 replicas started at once in $(((t1 - t0) * 10)) ms"
	assertEquals "all $N optimal" $N "$(optimal_count 1 $N)"
	# shellcheck disable=SC2046
	systemctl stop $(units 1 $N)
	assertEquals "systemctl stop of $N volumes at once" 0 $?
	uptime_cs
	echo "$N volumes stopped at once in $(((UPTIME_CS - t1) * 10)) ms"
	assertEquals "controllers and links left" 0 "$(left 1 $N)"
	# shellcheck disable=SC2046
	assertEquals "failed units" "" "$(systemctl list-units --failed --plain --no-legend $(units 1 $N))"
	assertEquals "no crash in the journal" "" "$(crashes)"
}

# Stops of half while the other half starts: the starts look for their
# controllers while the stops delete others.
test_stop_half_while_half_starts() {
	local h=$((N / 2))
	make_volumes 1 $N || { fail "targets"; return; }
	# shellcheck disable=SC2046
	systemctl start $(units 1 $h) || { fail "first half"; return; }
	# shellcheck disable=SC2046
	systemctl stop --no-block $(units 1 $h)
	# shellcheck disable=SC2046
	systemctl start $(units $((h + 1)) $N)
	assertEquals "the second half started" 0 $?
	wait_until 120 inactive 1 $h
	assertTrue "the first half stopped" $?
	assertEquals "first half: controllers and links left" 0 "$(left 1 $h)"
	assertEquals "second half: all optimal" $h "$(optimal_count $((h + 1)) $N)"
	# shellcheck disable=SC2046
	assertEquals "failed units" "" "$(systemctl list-units --failed --plain --no-legend $(units 1 $N))"
	assertEquals "no crash in the journal" "" "$(crashes)"
}

# shellcheck source=/dev/null
. shunit2
