# shellcheck shell=bash
# What the host sides of the benchmarks share (bench/attach, bench/failover,
# bench/heal, bench/scale): argument checks, the time limit, building,
# booting the test guest with the guest side bench/guest/KIND.sh as its
# run.sh (started again when it reboots), and keeping the results.
# Sourced after tests/lib/harness.sh; the caller defines usage().

# bench_want REGEX VALUE : an option's value matches REGEX, else the usage
# on stderr and exit 2.
bench_want() {
	[[ $2 =~ $1 ]] && return 0
	usage >&2
	exit 2
}

# bench_deadline LIMIT : BENCH_DEADLINE, the guest uptime after which the
# guest skips the runs it has no time left for (and still reports).
bench_deadline() {
	BENCH_DEADLINE=$(($1 - 300))
	[ "$BENCH_DEADLINE" -ge 120 ] || BENCH_DEADLINE=$(($1 * 3 / 4))
}

# bench_release_opt OPT [VALUE] : the options every benchmark takes,
# --release R (NR_RELEASE: the guest image of Debian release R, its kernel
# and its own os-brick and nvme-cli as the peers) and --package (the .deb
# of tests/pkg/build installed as an admin does, instead of make install).
# Return: how many words it used (1 or 2), 0 when OPT is not one of them.
bench_release_opt() {
	case $1 in
	--release) bench_want '^(bookworm|trixie)$' "${2:-}"; NR_RELEASE=$2; return 2 ;;
	--package) BENCH_PACKAGE=1; return 1 ;;
	esac
	return 0
}

# bench_install_usage : the lines of usage() for bench_release_opt().
bench_install_usage() {
	cat <<USAGE
  --release R            Debian release of the guest: bookworm (default) or
                         trixie (always its package)
  --package              install the .deb built by tests/pkg/build (of the
                         committed HEAD) instead of the tree's make install
USAGE
}

# bench_prepare KIND RUNDIR [FILE...] : builds nvmf-raid for the guest (or
# its package, with --package) and the image of NR_RELEASE, makes the 9p
# share BENCH_SHARE=RUNDIR/share with
# bench/guest/KIND.sh as run.sh, bench/lib/guest.sh as bench-lib.sh and
# the FILEs (relative to the tree's top) beside them.  The caller then
# writes $BENCH_SHARE/bench.conf.
bench_prepare() {
	local kind=$1 f
	BENCH_RUN=$2
	BENCH_SHARE=$BENCH_RUN/share
	shift 2
	mkdir -p "$NR_BUILD"
	nr_deps "${NR_BUILD_DEPS[@]}" "${NR_GUEST_DEPS[@]}"
	local rel=${NR_RELEASE:-bookworm} debs=''
	# This host's build fits Debian 12 only: another release's guest
	# runs its package.
	if [ "${BENCH_PACKAGE:-0}" = 1 ] || [ "$rel" != bookworm ]; then
		nr_say "building the package for $rel (tests/pkg/build, committed HEAD)"
		"$NR_TOP/tests/pkg/build" --release "$rel" --out "$NR_BUILD/pkg" > "$NR_BUILD/pkg-$rel.log" 2>&1 ||
			{ tail -30 "$NR_BUILD/pkg-$rel.log" >&2; nr_die "package build for $rel failed (see $NR_BUILD/pkg-$rel.log)"; }
		debs=$NR_BUILD/pkg/$rel
	else
		nr_say "building"
		nr_build guest --enable-werror --prefix=/usr --sysconfdir=/etc --localstatedir=/var
	fi
	nr_image
	nr_share "$BENCH_SHARE" "$debs"
	install -m 755 "$NR_TOP/bench/guest/$kind.sh" "$BENCH_SHARE/run.sh"
	install -m 644 "$NR_TOP/bench/lib/guest.sh" "$BENCH_SHARE/bench-lib.sh"
	for f in "$@"; do
		install -m 644 "$NR_TOP/$f" "$BENCH_SHARE/${f##*/}"
	done
	: > "$BENCH_SHARE/out/run.log"
}

# bench_boot MINUTES LIMIT : boots the guest (killed after LIMIT seconds)
# and follows its log on the terminal meanwhile; NR_GUEST_RC as nr_boot.
bench_boot() {
	local tailer
	nr_say "booting the guest: about $1 minutes with an idle host (limit ${2}s)"
	# The guest writes its log into the 9p share (cache=none): follow it.
	tail -n +1 -F "$BENCH_SHARE/out/run.log" 2> /dev/null &
	tailer=$!
	nr_boot "$BENCH_SHARE" "$2"
	sleep 1
	kill "$tailer" 2> /dev/null
	wait "$tailer" 2> /dev/null
}

# bench_keep KIND LOGS : out/KIND-results.txt and KIND-samples.tsv of the
# run saved under build/bench/ with the time, the table printed; LOGS
# names the guest's other logs for the last line.  Exits 1 when the guest
# failed or left no results.
bench_keep() {
	local kind=$1 logs=$2 results=$BENCH_SHARE/out/$1-results.txt saved
	if [ "$NR_GUEST_RC" != 0 ] || [ ! -s "$results" ]; then
		nr_say "benchmark failed (guest status $NR_GUEST_RC); logs: $BENCH_SHARE/out/, serial console: $BENCH_RUN/serial.log"
		exit 1
	fi
	mkdir -p "$NR_BUILD/bench"
	saved=$NR_BUILD/bench/$kind-$(date +%Y%m%d-%H%M%S)
	cp "$results" "$saved.txt"
	cp "$BENCH_SHARE/out/$kind-samples.tsv" "$saved.samples.tsv" 2> /dev/null
	echo
	cat "$saved.txt"
	echo
	nr_say "saved as $saved.txt; logs: $BENCH_SHARE/out/ ($logs), $BENCH_RUN/serial.log"
}
