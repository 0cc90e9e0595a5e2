# shellcheck shell=bash
# Host side of the test harness, sourced by tests/run and tests/demo:
# dependencies, builds, the cached guest image, one qemu boot, and the
# counting of results.  The guest recipe and its measured timings are in
# ../shared/notes/guest.md.

NR_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NR_BUILD=${NR_BUILD:-$NR_TOP/build}
NR_CACHE=${NVMF_RAID_CACHE:-/var/cache/nvmf-raid-tests}

# shellcheck disable=SC2034 # for the scripts that source this
NR_BUILD_DEPS=(autoconf automake pkg-config gcc make
	libudev-dev libsystemd-dev libnvme-dev libiniparser-dev libjson-c-dev libblkid-dev)
# shellcheck disable=SC2034 # for the scripts that source this
NR_LINT_DEPS=(cppcheck shellcheck clang-format)
# shellcheck disable=SC2034 # for the scripts that source this
NR_GUEST_DEPS=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs arch-test uidmap)

nr_say() { printf '%s %s\n' "[$(date +%T)]" "$*" >&2; }
nr_die() { nr_say "error: $*"; exit 1; }

# nr_apt ARGS... : apt-get -q ARGS, its output in $NR_BUILD/apt.log; dies
# with the end of that log if apt-get fails.
nr_apt() {
	DEBIAN_FRONTEND=noninteractive apt-get -q "$@" >> "$NR_BUILD/apt.log" 2>&1 ||
		{ tail -20 "$NR_BUILD/apt.log" >&2; nr_die "apt-get $1 failed (see $NR_BUILD/apt.log)"; }
}

# Installs whichever of the named Debian packages are missing.
nr_deps() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || nr_die "missing packages (${missing[*]}); run as root so they can be installed"
	nr_say "installing ${missing[*]}"
	nr_apt update
	nr_apt install -y --no-install-recommends "${missing[@]}"
}

# The QEMU the guests need at least: 10.0's TCG ran attach_test in 202 s
# where Debian 12's 7.2 took 262 s (Debian 13 guests side by side), and
# starts a process about 4x faster (20 x /bin/true: 0.24 s, 1.02 s).
NR_QEMU_MIN=1:10.0

# nr_qemu : when the QEMU installed (nr_deps, from the host release's own
# archive) is older than $NR_QEMU_MIN, installs it from the release's
# backports (Debian 12: bookworm-backports), which apt then prefers for
# these packages only, as for anything installed with -t.
nr_qemu() {
	local v src=/etc/apt/sources.list.d/nvmf-raid-tests-backports.sources
	v=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null)
	[ -n "$v" ] && dpkg --compare-versions "$v" ge "$NR_QEMU_MIN" && return 0
	[ "$(id -u)" = 0 ] || nr_die "QEMU $v is older than $NR_QEMU_MIN; run as root so a newer one can be installed"
	# shellcheck source=/dev/null
	local codename; codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || nr_die "QEMU $v is older than $NR_QEMU_MIN and this host names no release for its backports"
	if ! apt-cache policy qemu-system-x86 2>/dev/null | grep -q -- "$codename-backports"; then
		nr_say "adding $codename-backports ($src) for QEMU $NR_QEMU_MIN"
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$codename" > "$src"
		nr_apt update
	fi
	nr_say "installing QEMU from $codename-backports (${v:-none} installed)"
	nr_apt install -y --no-install-recommends -t "$codename-backports" qemu-system-x86 qemu-utils
	v=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null)
	dpkg --compare-versions "$v" ge "$NR_QEMU_MIN" || nr_die "QEMU $v installed; $NR_QEMU_MIN or newer needed"
}

nr_autoreconf() {
	[ -x "$NR_TOP/configure" ] && [ "$NR_TOP/configure" -nt "$NR_TOP/configure.ac" ] &&
		[ "$NR_TOP/Makefile.in" -nt "$NR_TOP/Makefile.am" ] && return 0
	(cd "$NR_TOP" && autoreconf -fi) > "$NR_BUILD/autoreconf.log" 2>&1 ||
		{ cat "$NR_BUILD/autoreconf.log" >&2; nr_die "autoreconf failed"; }
}

# nr_build DIR CONFIGURE-ARGS... : out-of-tree build in $NR_BUILD/DIR.
nr_build() {
	local dir=$NR_BUILD/$1; shift
	mkdir -p "$dir"
	nr_autoreconf
	if [ ! -f "$dir/Makefile" ] || [ "$NR_TOP/configure" -nt "$dir/Makefile" ]; then
		(cd "$dir" && "$NR_TOP/configure" "$@") > "$dir/configure.log" 2>&1 ||
			{ tail -20 "$dir/configure.log" >&2; nr_die "configure failed in $dir"; }
	fi
	make -C "$dir" -j"$(nproc)" > "$dir/make.log" 2>&1 ||
		{ grep -E 'error|Error' "$dir/make.log" | head -30 >&2; nr_die "build failed in $dir (see $dir/make.log)"; }
}

# The guest image of release $NR_RELEASE (default bookworm) is cached under a
# key that hashes its recipe, so editing the recipe rebuilds it and nothing
# else does.
nr_image() {
	local key dir lock release=${NR_RELEASE:-bookworm}
	key=$release-$(cat "$NR_TOP/tests/guest/image.sh" "$NR_TOP/tests/guest/init.c" | sha256sum | cut -c1-16)
	dir=$NR_CACHE/image-$key
	NR_IMAGE=$dir
	[ -f "$dir/ready" ] && { nr_say "guest image: cached $dir"; return 0; }
	mkdir -p "$NR_CACHE"
	# One build per image at a time; the releases' images build at once.
	exec {lock}> "$NR_CACHE/.lock-image-$release"
	flock "$lock"
	if [ ! -f "$dir/ready" ]; then
		nr_say "guest image: building $dir (about 1.5 minutes)"
		local t0=$SECONDS
		rm -rf "$dir.tmp"
		"$NR_TOP/tests/guest/image.sh" "$dir.tmp" "$release" > "$NR_BUILD/image-$release.log" 2>&1 ||
			{ tail -30 "$NR_BUILD/image-$release.log" >&2; nr_die "guest image build failed (see $NR_BUILD/image-$release.log)"; }
		rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/ready"
		nr_say "guest image: built in $((SECONDS - t0))s"
		# Old images are dead weight (each is about 1 GB).
		find "$NR_CACHE" -maxdepth 1 \( -name "image-$release-*" -o -name "image-????????????????" \) \
			! -name "image-$key" -exec rm -rf {} +
	fi
	exec {lock}>&-
}

# nr_wait_prep R : waits until tests/run has prepared release R's guests
# (its package and image: $NR_BUILD/prep/R.ok, or R.failed); fails if
# that failed.
nr_wait_prep() {
	while [ ! -e "$NR_BUILD/prep/$1.ok" ] && [ ! -e "$NR_BUILD/prep/$1.failed" ]; do sleep 1; done
	[ -e "$NR_BUILD/prep/$1.ok" ]
}

# nr_share SHARE [DEBDIR] : a fresh 9p share with the project installed
# under root/, or with the package of DEBDIR in deb/.
nr_share() {
	local share=$1 debs=${2:-}
	rm -rf "$share"
	mkdir -p "$share/root" "$share/suites" "$share/out"
	if [ -n "$debs" ]; then
		# The package, as an admin installs it (lib/install.sh).
		mkdir -p "$share/deb"
		cp "$debs"/nvmf-raid_*_amd64.deb "$share/deb/" || nr_die "no package in $debs"
	else
		make -C "$NR_BUILD/guest" install DESTDIR="$share/root" > "$NR_BUILD/guest/install.log" 2>&1 ||
			{ tail -20 "$NR_BUILD/guest/install.log" >&2; nr_die "make install failed"; }
	fi
	cp -a "$NR_TOP/tests/guest/lib" "$share/lib"
	# the os-brick patch, which osbrick_nova_test applies in the guest
	mkdir -p "$share/contrib" && cp -a "$NR_TOP/contrib/os-brick" "$share/contrib/"
	install -m 755 "$NR_TOP/tests/guest/runner.sh" "$share/run.sh"
	: > "$share/suites.list"
}

# nr_add_suite SHARE PATH : a shunit2 file, or a directory of *_test.sh;
# copied with its directory so it can source files beside it.
nr_add_suite() {
	local share=$1 path=$2 n src f
	n=$(find "$share/suites" -mindepth 1 -maxdepth 1 | wc -l)
	if [ -d "$path" ]; then
		src=$(cd "$path" && pwd)
		cp -a "$src" "$share/suites/$n"
		for f in "$share/suites/$n"/*_test.sh; do
			[ -e "$f" ] || nr_die "no *_test.sh in $path"
			echo "$n/$(basename "$f")" >> "$share/suites.list"
		done
	elif [ -f "$path" ]; then
		src=$(cd "$(dirname "$path")" && pwd)
		cp -a "$src" "$share/suites/$n"
		echo "$n/$(basename "$path")" >> "$share/suites.list"
	else
		nr_die "no such suite: $path"
	fi
}

# nr_boot SHARE TIMEOUT : boots the guest; it runs SHARE/run.sh and powers
# off.  A guest that reboots or is hard reset (a suite asked for it:
# SHARE/out/reboot) is started again on the same disk, within the same
# TIMEOUT, at most 7 times (boot_test reboots once, powerloss_test resets
# twice).  The disk is not lost with qemu: what the guest had written to
# it survives, what was in the guest's page cache does not.
# With NR_CLAIMS set, that directory is shared too (9p tag "claims"): the
# guests of one release take their suites from one list (runner.sh).
# Sets NR_GUEST_RC to the script's status, or to -1 when the guest never
# reported (did not boot, hung, or was killed by the timeout).
nr_boot() {
	local share=$1 limit=$2 run rc boots=0 t0=$SECONDS left claims=()
	run=$(dirname "$share")
	[ -n "${NR_CLAIMS:-}" ] &&
		claims=(-virtfs "local,path=$NR_CLAIMS,mount_tag=claims,security_model=none,id=claims")
	qemu-img create -q -f qcow2 -b "$NR_IMAGE/base.img" -F raw "$run/overlay.qcow2"
	: > "$run/serial.log"
	while :; do
		boots=$((boots + 1))
		left=$((limit - (SECONDS - t0)))
		[ "$left" -gt 0 ] || left=1
		# TCG only: this host's /dev/kvm is not ours to use.
		# tsc=reliable: TCG's TSC follows the host clock, one for all
		# vCPUs, but Debian 12's kernel finds it unsynchronized at boot
		# and falls back to the HPET, each read of which is an emulated
		# MMIO access (status_test 143.0 s on the HPET, 129.5 s on the
		# TSC, two guests side by side).
		# One vCPU: two guests of two vCPUs each on two host cores
		# spent their time in MTTCG's cross-vCPU work (IPIs, TLB
		# flushes, lock holders descheduled); attach_test 377 s with
		# -smp 2, 297 s with -smp 1, rebuild_test 335 s and 279 s (two
		# guests side by side, one run each).
		# No ERMS: the kernel's memcpy, copy_to_user and clear_page (and
		# glibc's memcpy above 2 KiB) then use "rep movsb", which TCG
		# runs one byte per iteration: dd from /dev/zero 372 MB/s with
		# it, 1.8 GB/s without.  No AVX/AVX2: glibc's AVX2 string
		# functions are emulated one helper call per instruction; dd
		# 2.7 GB/s and fio --verify of 128 MiB 6.4 s without, 1.8 GB/s
		# and 9.2 s with.  SSE4.2 (crc32c) stays.  No FSRM either:
		# Debian 12's kernel hangs at boot ("LSM: Security Framework
		# initializing") on QEMU 10's "max" with FSRM but no ERMS.
		# Debian 12 guest on QEMU 10 without ERMS and FSRM, against
		# with both: dd 1.7 GB/s and 1.2 GB/s, 20 x /bin/true 0.23 s
		# and 0.42 s, fio --verify of 128 MiB 6.9 s and 11.0 s.
		# modprobe.blacklist: drivers for q35's own devices that nothing
		# here uses (its AHCI controller with six empty ports, the ICH9
		# LPC bridge, SMBus and TCO watchdog, the PC speaker); udev loaded
		# them on every boot, seconds of a TCG vCPU while the first suite
		# starts.
		timeout --foreground -k 10 "$left" qemu-system-x86_64 \
			-accel tcg,thread=multi -smp "${NR_GUEST_SMP:-1}" -m 2048 \
			-cpu "${NR_GUEST_CPU:-max,-erms,-fsrm,-avx,-avx2}" -M q35 \
			-nodefaults -no-user-config -display none -vga none -no-reboot \
			-kernel "$NR_IMAGE/vmlinuz" -initrd "$NR_IMAGE/initrd.img" \
			-append "console=ttyS0,115200 root=/dev/vda rw panic=-1 tsc=reliable modprobe.blacklist=ahci,lpc_ich,i2c_i801,iTCO_wdt,pcspkr ${NR_GUEST_APPEND:-}" \
			-drive file="$run/overlay.qcow2",if=virtio,format=qcow2,cache=unsafe,discard=unmap \
			-virtfs local,path="$share",mount_tag=host0,security_model=none,id=host0 "${claims[@]}" \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			-chardev file,id=serial0,path="$run/serial.log",append=on -serial chardev:serial0 \
			-monitor none -nic none < /dev/null
		rc=$?
		if [ -f "$share/out/reboot" ] && [ "$boots" -lt 8 ] && [ "$rc" != 124 ]; then
			rm -f "$share/out/reboot"
			nr_say "guest: rebooted or reset by a suite; starting it again (boot $((boots + 1)))"
			continue
		fi
		break
	done
	rm -f "$run/overlay.qcow2"
	# isa-debug-exit makes qemu exit with (status << 1) | 1; anything even
	# (0 after SIGTERM, 124 from timeout) means the guest never reported.
	# shellcheck disable=SC2034 # the caller reads NR_GUEST_RC
	if [ $((rc % 2)) -eq 1 ]; then
		NR_GUEST_RC=$(((rc - 1) / 2))
	else
		NR_GUEST_RC=-1
		if [ "$rc" = 124 ]; then
			nr_say "guest killed after ${limit}s (timeout)"
		else
			nr_say "guest ended without reporting (qemu exit $rc)"
		fi
	fi
}

# nr_count_suite LOG RC : prints "PASSED FAILED" for one shunit2 log.  A test
# fails if an assertion or shunit2 error shows up between its start marker
# and the next; a suite that failed without a failing test (setup error,
# crash, timeout) counts one failure more.
nr_count_suite() {
	awk -v rc="$2" '
		function close_test() { if (cur != "") { if (bad) f++; else p++ } }
		/^@@TEST / { close_test(); cur = $2; bad = 0; next }
		/^ASSERT:|shunit2:ERROR|shunit2:FATAL/ { if (cur != "") bad = 1; else pre = 1 }
		/^Ran [0-9]+ tests?\./ { ran = 1 }
		END {
			if ((rc == 124 || rc == 137) && cur != "" && !bad) bad = 1
			close_test()
			if ((rc != 0 || !ran) && f == 0) f = 1
			printf "%d %d\n", p, f
		}' "$1"
}
