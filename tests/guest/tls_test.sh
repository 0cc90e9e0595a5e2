#!/bin/bash
# Issue 14, items 0, 2 and 3 for NVMe/TCP TLS: a replica with tls = yes is
# connected over TLS or not at all.  On a kernel without NVMe/TCP TLS
# nothing is connected (exit 3) and `nvmf-raid check` warns.  On one with
# it (Debian 13), against nvmet ports that take TLS 1.3 only: a volume
# without tls is refused; with tls and the PSKs provisioned the way
# nvme-cli keeps them (/etc/nvme/tls-keys, nvme tls-key --import)
# the replicas attach over TLS, fail over and heal over TLS and detach;
# without a PSK, without tlshd, or with a PSK that differs from the
# target's, the attach fails naming the replica and what is missing.  The
# PSKs never show up in nvmf-raid's files, status or journal.  Whether the
# kernel has TLS is read from its /boot/config, not the way nvmf-raid finds
# out (/dev/nvme-fabrics).  PSKs are made up.
# shellcheck source=lib/target.sh
. "${NVMF_RAID_TESTLIB:-./lib}/target.sh"
# shellcheck source=lib/common.sh
. "${NVMF_RAID_TESTLIB:-./lib}/common.sh"
# shellcheck source=lib/volume.sh
. "${NVMF_RAID_TESTLIB:-./lib}/volume.sh"
# shellcheck source=lib/fault.sh
. "${NVMF_RAID_TESTLIB:-./lib}/fault.sh"
# shellcheck source=lib/secrets.sh
. "${NVMF_RAID_TESTLIB:-./lib}/secrets.sh"

CURSOR=/tmp/tls-test.cursor
ERR=/tmp/tls-test.err
KCONFIG=/boot/config-$(uname -r)
KEYFILE=/etc/nvme/tls-keys
PSKS=/tmp/tls-test.psks
TLSPORT=10 # 127.0.0.1:4430, TLS 1.3 required (target.sh)

kernel_tls() {
	grep -q '^CONFIG_NVME_TCP_TLS=y' "$KCONFIG" && grep -q '^CONFIG_NVME_TARGET_TCP_TLS=y' "$KCONFIG"
}

oneTimeSetUp() {
	[ -r "$KCONFIG" ] || { echo "no $KCONFIG"; return 1; }
	tgt_modules || return 1
	HOSTNQN=$(cat /etc/nvme/hostnqn)
	: > "$PSKS"
	if kernel_tls; then
		echo "kernel $(uname -r): NVMe/TCP TLS, $(dpkg-query -W ktls-utils)"
		# tlshd finds the PSKs in the keyring nvme-tcp keeps them in
		# (nvme-cli's Documentation/nvme-tls.md).
		printf '[authenticate]\nkeyrings = .nvme\n' > /etc/tlshd.conf
		systemctl restart tlshd || return 1
	else
		echo "kernel $(uname -r): no NVMe/TCP TLS"
	fi
}

oneTimeTearDown() { rm -f "$KEYFILE" "$PSKS"; }

setUp() { journal_mark "$CURSOR"; }

tearDown() { fault_teardown; }

journal_has() { journal_since "$CURSOR" | grep -q -- "$1"; }

start_vol() { systemctl start "nvmf-raid@$1" 2> "$ERR"; }

# new_psk VOL I : a made-up TLS PSK for replica I of VOL, provisioned as
# nvme-cli keeps them: a line "<identity> <PSK>" in $KEYFILE (what nvme
# tls-key --export writes), imported into the kernel keyring with nvme
# tls-key --import, as nvme-cli's udev rule does whenever nvme_tcp loads.
# The identity is version 0 of the NVMe/TCP spec's ("NVMe0R01 <host NQN>
# <subsystem NQN>", SHA-256), which the kernel looks up for a connect.
new_psk() {
	local k
	k=$(py3 -c 'import base64, os, struct, zlib
k = os.urandom(32)
print("NVMeTLSkey-1:01:" + base64.b64encode(k + struct.pack("<I", zlib.crc32(k))).decode() + ":")')
	echo "NVMe0R01 $HOSTNQN $(tgt_nqn "$1-r$2") $k" >> "$KEYFILE"
	chmod 600 "$KEYFILE"
	nvme tls-key --import --keyfile="$KEYFILE" > /dev/null || return 1
	echo "$k" >> "$PSKS"
}

# tls_ctrls NQN : the controllers of NQN, with the serial of the PSK the
# kernel runs TLS with (its tls_key attribute; empty without TLS).
tls_ctrls() {
	local c k
	for c in $(ctrls_by_nqn "$1"); do
		k=$(attr "/sys/class/nvme/$c/tls_key") || k=
		echo "$c:${k:-none}"
	done
}

# Every controller of replica I of VOL runs TLS, and there is one.
assert_tls() {
	local ctrls
	ctrls=$(tls_ctrls "$(tgt_nqn "$1-r$2")")
	echo "$1 r$2: ${ctrls:-no controller}"
	assertNotNull "r$2: connected" "$ctrls"
	assertNotContains "r$2: every controller runs TLS (tls_key)" "$ctrls" ":none"
}

# Item 0 for TLS: a kernel without it connects nothing.
test_tls_on_a_kernel_without_tls() {
	VOL_KEYS="tls = yes" new_volume nt 2 32M || fail "targets"
	start_vol nt
	assertEquals "exit 3: the kernel lacks NVMe/TCP TLS" 3 "$(unit_status nt)"
	assertTrue "journal: the missing kernel feature" \
		"journal_has 'has no NVMe/TCP TLS (CONFIG_NVME_TCP_TLS'"
	assertFalse "r1: nothing connected" "nqn_connected $(tgt_nqn nt-r1)"
	assertFalse "r2: nothing connected" "nqn_connected $(tgt_nqn nt-r2)"
	nvmf-raid check nt > /tmp/tls-check.out 2>&1
	assertContains "check warns" "$(cat /tmp/tls-check.out)" "has no NVMe/TCP TLS"
}

# A target that takes TLS only refuses a volume without tls.
test_target_demands_tls() {
	new_volume nd 1 32M "$TLSPORT" || fail "targets"
	start_vol nd
	journal_since "$CURSOR" | grep -E 'Failed to connect|not attached' | head -3
	assertEquals "exit 1: refused" 1 "$(unit_status nd)"
	assertTrue "journal names the replica" "journal_has 'Failed to connect replica r1 '"
	assertFalse "nothing connected" "nqn_connected $(tgt_nqn nd-r1)"
	assertFalse "no /dev/nvmf-raid/nd" "[ -e /dev/nvmf-raid/nd ]"
}

# With the PSKs provisioned: attached, failed over and healed over TLS.
test_tls_attach_fail_heal_detach() {
	VOL_KEYS="tls = yes" new_volume tl 2 32M "$TLSPORT" || fail "targets"
	new_psk tl 1 && new_psk tl 2 || fail "nvme tls-key --import"
	start_vol tl || { fail "start: $(cat "$ERR")"; return; }
	journal_since "$CURSOR" | grep -E 'Connected replica' | head -3
	assertTrue "journal: r1 connected over TLS" "journal_has 'Connected replica r1 (.*) through .* as nvme[0-9]*, over TLS'"
	assert_tls tl 1
	assert_tls tl 2
	md_wait /dev/nvmf-raid/tl
	fio_start tl
	tgt_vanish tl-r2
	wait_state tl r2 faulty 30
	assertTrue "r2 faulty while away" $?
	tgt_return tl-r2
	wait_state tl r2 in-sync 90
	assertTrue "r2 back in sync" $?
	assert_tls tl 2
	fio_stop
	assertEquals "array whole" 0 "$(md_degraded "$(md_of tl)")"
	assert_no_key_leak "attached, healed" tl "$PSKS"
	systemctl stop nvmf-raid@tl
	assertFalse "r1: disconnected" "nqn_connected $(tgt_nqn tl-r1)"
	assertFalse "r2: disconnected" "nqn_connected $(tgt_nqn tl-r2)"
	assert_no_key_leak "detached" tl "$PSKS"
}

# No PSK for the replica in the keyring: refused, naming it and the PSK.
test_tls_without_a_psk() {
	VOL_KEYS="tls = yes" new_volume np 1 32M "$TLSPORT" || fail "targets"
	start_vol np
	journal_since "$CURSOR" | grep -E 'Failed to connect|TLS' | head -3
	assertEquals "exit 1: refused" 1 "$(unit_status np)"
	assertTrue "journal names the replica and the missing PSK" \
		"journal_has 'Replica r1 (.*) through .*: no TLS PSK: the kernel keyring .nvme has none for host NQN'"
	assertFalse "nothing connected" "nqn_connected $(tgt_nqn np-r1)"
}

# tlshd_listens UNIT : UNIT's main process is tlshd, with its netlink
# socket open.
tlshd_listens() {
	local pid fd
	pid=$(systemctl show -P MainPID "$1")
	attr_is "/proc/$pid/comm" tlshd || return 1
	for fd in "/proc/$pid/fd/"*; do
		[[ $(readlink "$fd") == socket:* ]] && return 0
	done
	return 1
}

# A target whose PSK differs from the host's: refused, naming the replica
# and the PSK; the same replica attaches once the target has the host's.
# Host and target share this guest's kernel and its keyring .nvme, so the
# target gets another PSK from a tlshd of its own, started in a session
# keyring that holds a different PSK under the replica's identity: tlshd's
# server looks the client's identity up in its session keyring
# (tlshd_server_psk_cb(), ktls-utils' server.c) and the kernel's search
# finds a keyring's own keys before those of the keyrings linked into it
# (search_nested_keyrings(), security/keys/keyring.c), here .nvme; the
# host's side of the handshake takes the PSK the kernel found in .nvme, by
# its serial.
test_tls_wrong_psk() {
	local id
	VOL_KEYS="tls = yes" new_volume wp 1 32M "$TLSPORT" || fail "targets"
	new_psk wp 1 || fail "nvme tls-key --import"
	id="NVMe0R01 $HOSTNQN $(tgt_nqn wp-r1)"
	head -c 32 /dev/urandom > /tmp/tls-test.wrong
	systemctl stop tlshd
	# shellcheck disable=SC2016 # expanded by that sh
	systemd-run --quiet --unit=tls-test-tlshd --collect keyctl session - \
		sh -c 'keyctl padd psk "$1" @s < "$2" > /dev/null && exec /usr/sbin/tlshd' \
		sh "$id" /tmp/tls-test.wrong
	wait_until 10 tlshd_listens tls-test-tlshd || fail "tlshd with the other PSK"
	assertEquals "two PSKs under the replica's identity" 2 "$(grep -c " psk *$id:" /proc/keys)"
	start_vol wp
	systemctl stop tls-test-tlshd
	systemctl start tlshd
	journal_since "$CURSOR" | grep -E 'Failed to connect|TLS|tlshd' | head -6
	assertEquals "exit 1: refused" 1 "$(unit_status wp)"
	assertTrue "journal names the replica and the TLS handshake" \
		"journal_has 'Replica r1 (.*) through .*: the TLS handshake failed'"
	assertFalse "nothing connected" "nqn_connected $(tgt_nqn wp-r1)"
	assertFalse "no /dev/nvmf-raid/wp" "[ -e /dev/nvmf-raid/wp ]"
	start_vol wp || { fail "with the target's PSK: $(cat "$ERR")"; return; }
	assert_tls wp 1
	systemctl stop nvmf-raid@wp
}

# No tlshd: refused, naming the replica and tlshd.
test_tls_without_tlshd() {
	VOL_KEYS="tls = yes" new_volume nh 1 32M "$TLSPORT" || fail "targets"
	new_psk nh 1 || fail "nvme tls-key --import"
	systemctl stop tlshd
	start_vol nh
	systemctl start tlshd
	journal_since "$CURSOR" | grep -E 'Failed to connect|TLS' | head -3
	assertEquals "exit 1: refused" 1 "$(unit_status nh)"
	assertTrue "journal names the replica and tlshd" \
		"journal_has 'Replica r1 (.*) through .*: no TLS handshake daemon answered: start tlshd'"
	assertFalse "nothing connected" "nqn_connected $(tgt_nqn nh-r1)"
}

suite() {
	if kernel_tls; then
		suite_addTest test_target_demands_tls
		suite_addTest test_tls_attach_fail_heal_detach
		suite_addTest test_tls_without_a_psk
		suite_addTest test_tls_without_tlshd
		suite_addTest test_tls_wrong_psk
	else
		suite_addTest test_tls_on_a_kernel_without_tls
	fi
}

# shellcheck source=lib/shunit2.sh
. "${NVMF_RAID_TESTLIB:-./lib}/shunit2.sh"
