# shellcheck shell=bash
# The storage backend of the guest suites: kernel nvmet subsystems over TCP
# on 127.0.0.1 / ::1, one file-backed namespace per replica, driven through
# configfs.  Source it from a suite:  . "$NVMF_RAID_TESTLIB/target.sh"
#
#   tgt_add NAME SIZE UUID [PORT...]   subsystem + namespace 1, linked to PORTs
#   tgt_add_ns NAME NSID SIZE UUID     one more namespace in NAME
#   tgt_nqn NAME                       its NQN
#   tgt_vanish NAME / tgt_return NAME  unlink from / relink to its ports
#   tgt_ns_disable NAME [NSID] / tgt_ns_enable NAME [NSID]
#   tgt_grow NAME SIZE [NSID]          grow the backing file, announce it
#   tgt_remove NAME / tgt_remove_all
#   tgt_auth NAME HOSTNQN KEY [CTRLKEY]  NAME admits HOSTNQN only, which must
#                                      authenticate with KEY (DH-HMAC-CHAP)
#                                      and, with CTRLKEY, the target too
#   tgt_port_make ID ADDR PORT ipv4|ipv6  a port of any address
#   tgt_raw_add NQN [PORT...]          a subsystem under the NQN as a backend
#                                      spells it (tgt_add prefixes its own)
#   tgt_raw_ns NQN NSID SIZE UUID|nil [NGUID]
#   tgt_raw_remove NQN / tgt_raw_remove_all
#   tgt_boot_unit DIR UNIT...          re-create the targets listed in
#                                      DIR/targets at every boot, before UNITs
#
# Durable targets (TGT_DURABLE=1): the backing file is fully written and
# synced before the namespace is enabled, and nvmet serves it with direct
# I/O (buffered_io 0, checked), so what the target acknowledged is on the
# guest's disk and survives a hard reset.  The default files are sparse and
# may sit in the page cache: fine for anything but a power loss.
#
# PORT is an id of tgt_port: 1 = tcp 127.0.0.1:4420 (default),
# 2 = tcp [::1]:4421, 3..9 = tcp 127.0.0.1:4422..4428 (one port per replica
# lets a test cut one replica's traffic alone), 10 and 11 = tcp
# 127.0.0.1:4430 and 4431 with TLS 1.3 required (tlshd and the PSKs are
# the suite's).  SIZE as truncate(1) takes it.

NVMET=/sys/kernel/config/nvmet
TGT_STORE=/var/tmp/nvmf-raid-tgt
TGT_NQN_PREFIX=nqn.2024-01.io.nvmf-raid.test:

# Every tgt_add calls it: modprobe only while a module is missing (each
# modprobe costs a fork and exec, slow in a TCG guest, on every replica).
tgt_modules() {
	local m
	for m in nvmet nvmet_tcp nvme_tcp nvme_fabrics raid1; do
		[ -d "/sys/module/$m" ] && continue
		modprobe -a nvmet nvmet-tcp nvme-tcp nvme-fabrics raid1 || return 1
		break
	done
	[ -d "$NVMET" ] && return 0	# configfs mounted, nvmet in it
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
}

tgt_nqn() { echo "$TGT_NQN_PREFIX$1"; }

# tgt_port ID : creates port ID if needed.
tgt_port() {
	local id=$1 p=$NVMET/ports/$1 addr fam svc
	[ -d "$p" ] && return 0
	case $id in
	1) addr=127.0.0.1 fam=ipv4 svc=4420 ;;
	2) addr=::1 fam=ipv6 svc=4421 ;;
	[3-9]) addr=127.0.0.1 fam=ipv4 svc=$((4419 + id)) ;;
	1[01]) addr=127.0.0.1 fam=ipv4 svc=$((4420 + id)) ;;
	*) echo "tgt_port: unknown port id $id" >&2; return 1 ;;
	esac
	tgt_port_make "$id" "$addr" "$svc" "$fam" || return 1
	[ "$id" -lt 10 ] || tgt_port_tls "$id"
}

# tgt_port_make ID TRADDR TRSVCID ipv4|ipv6 : a tcp port of any address.
tgt_port_make() {
	local p=$NVMET/ports/$1
	mkdir "$p" || return 1
	echo "$2" > "$p/addr_traddr"
	echo tcp > "$p/addr_trtype"
	echo "$3" > "$p/addr_trsvcid"
	echo "$4" > "$p/addr_adrfam"
}

# tgt_port_tls ID : port ID (made, no subsystem linked yet) takes TLS 1.3
# connections only (nvmet's addr_tsas and addr_treq, Linux 6.7).
tgt_port_tls() {
	local p=$NVMET/ports/$1
	echo tls1.3 > "$p/addr_tsas" && echo required > "$p/addr_treq"
}

# tgt_port_addr ID : "tcp://ADDR:PORT" as a volume file spells it.
tgt_port_uri() {
	local p=$NVMET/ports/$1 a s f
	read -r a < "$p/addr_traddr"
	read -r s < "$p/addr_trsvcid"
	read -r f < "$p/addr_adrfam"
	[ "$f" = ipv6 ] && a="[$a]"
	echo "tcp://$a:$s"
}

# tgt_durable_file FILE SIZE : FILE of SIZE, every block allocated and
# written (no holes, no unwritten extents whose conversion a reset could
# lose), on the disk before it returns.  An existing file of that size is
# kept as it is: after a reset it holds the replica.
tgt_durable_file() {
	local f=$1 bytes
	bytes=$(numfmt --from=iec "$2") || return 1
	[ -f "$f" ] && [ "$(stat -c %s "$f")" = "$bytes" ] && return 0
	rm -f "$f"
	dd if=/dev/zero of="$f" bs=1M count=$((bytes / 1048576)) oflag=direct conv=fsync \
		status=none || return 1
	[ "$(stat -c %s "$f")" = "$bytes" ] || return 1
	sync -f "$f"	# the directory entry too
}

tgt_add_ns() {
	local name=$1 nsid=$2 size=$3 uuid=$4 s ns img
	s=$NVMET/subsystems/$(tgt_nqn "$name")
	ns=$s/namespaces/$nsid
	img=$TGT_STORE/$name-$nsid.img
	mkdir -p "$TGT_STORE"
	if [ "${TGT_DURABLE:-0}" = 1 ]; then
		tgt_durable_file "$img" "$size" || return 1
	else
		truncate -s "$size" "$img" || return 1
	fi
	mkdir "$ns" || return 1
	echo "$img" > "$ns/device_path"
	echo "$uuid" > "$ns/device_uuid"
	echo 1 > "$ns/enable"
	if [ "${TGT_DURABLE:-0}" = 1 ] && [ "$(cat "$ns/buffered_io")" != 0 ]; then
		echo "tgt_add_ns: $name: nvmet serves $img buffered" >&2
		return 1
	fi
}

tgt_add() {
	local name=$1 size=$2 uuid=$3 s port
	shift 3
	[ $# -gt 0 ] || set -- 1
	tgt_modules || return 1
	s=$NVMET/subsystems/$(tgt_nqn "$name")
	mkdir "$s" || return 1
	echo 1 > "$s/attr_allow_any_host"
	tgt_add_ns "$name" 1 "$size" "$uuid" || return 1
	for port in "$@"; do
		tgt_port "$port" || return 1
		ln -s "$s" "$NVMET/ports/$port/subsystems/$(tgt_nqn "$name")"
	done
	# Linked now: a note of tgt_vanish from before a reboot is stale (and
	# after a reset perhaps empty, which would make the next vanish a no-op).
	rm -f "$TGT_STORE/$name.vanished"
}

# Ports NAME is linked to (also while it has vanished: remembered in a file).
tgt_ports_of() {
	local nqn p
	nqn=$(tgt_nqn "$1")
	if [ -f "$TGT_STORE/$1.vanished" ]; then
		cat "$TGT_STORE/$1.vanished"
		return
	fi
	for p in "$NVMET"/ports/*; do
		[ -e "$p/subsystems/$nqn" ] && basename "$p"
	done
}

# The target drops the controller at once (TCP connections torn down).
tgt_vanish() {
	local nqn p ports
	nqn=$(tgt_nqn "$1")
	ports=$(tgt_ports_of "$1")
	for p in $ports; do rm -f "$NVMET/ports/$p/subsystems/$nqn"; done
	echo "$ports" > "$TGT_STORE/$1.vanished"
}

tgt_return() {
	local nqn p
	nqn=$(tgt_nqn "$1")
	[ -f "$TGT_STORE/$1.vanished" ] || return 0
	# shellcheck disable=SC2013 # port ids, one word each
	for p in $(cat "$TGT_STORE/$1.vanished"); do
		ln -s "$NVMET/subsystems/$nqn" "$NVMET/ports/$p/subsystems/$nqn"
	done
	rm -f "$TGT_STORE/$1.vanished"
}

tgt_ns_disable() { echo 0 > "$NVMET/subsystems/$(tgt_nqn "$1")/namespaces/${2:-1}/enable"; }
tgt_ns_enable() { echo 1 > "$NVMET/subsystems/$(tgt_nqn "$1")/namespaces/${2:-1}/enable"; }

# nvmet rereads the backing file's size on revalidate_size and sends the
# host a namespace-changed event, as a real array does after a resize.
tgt_grow() {
	local name=$1 size=$2 nsid=${3:-1}
	truncate -s "$size" "$TGT_STORE/$name-$nsid.img" || return 1
	echo 1 > "$NVMET/subsystems/$(tgt_nqn "$name")/namespaces/$nsid/revalidate_size"
}

# tgt_auth NAME HOSTNQN KEY [CTRLKEY] : the kernel target's host entry
# (hosts/HOSTNQN: dhchap_key, dhchap_ctrl_key, hmac(sha256), ffdhe2048),
# and NAME admitting that host alone.  One entry per host NQN: the last
# call's keys hold for every subsystem that admits it.
tgt_auth() {
	local s h
	s=$NVMET/subsystems/$(tgt_nqn "$1")
	h=$NVMET/hosts/$2
	[ -d "$h" ] || mkdir "$h" || return 1
	echo "$3" > "$h/dhchap_key" || return 1
	if [ -n "${4:-}" ]; then echo "$4" > "$h/dhchap_ctrl_key" || return 1; fi
	echo "hmac(sha256)" > "$h/dhchap_hash"
	echo ffdhe2048 > "$h/dhchap_dhgroup"
	# nvmet refuses a host link while any host is allowed.
	echo 0 > "$s/attr_allow_any_host"
	[ -e "$s/allowed_hosts/$2" ] || ln -s "$h" "$s/allowed_hosts/$2"
}

# tgt_auth_clear : every host entry, once no subsystem admits it.
tgt_auth_clear() {
	local h
	for h in "$NVMET"/hosts/*; do
		[ -d "$h" ] && rmdir "$h" 2> /dev/null
	done
	return 0
}

tgt_remove() {
	local name=$1 s nqn p ns a
	nqn=$(tgt_nqn "$name")
	s=$NVMET/subsystems/$nqn
	[ -d "$s" ] || return 0
	for p in "$NVMET"/ports/*; do rm -f "$p/subsystems/$nqn"; done
	for a in "$s"/allowed_hosts/*; do
		[ -L "$a" ] && rm -f "$a"
	done
	for ns in "$s"/namespaces/*; do
		[ -d "$ns" ] || continue
		echo 0 > "$ns/enable"
		rmdir "$ns"
	done
	rmdir "$s"
	rm -f "$TGT_STORE/$name"-*.img "$TGT_STORE/$name.vanished"
}

tgt_remove_all() {
	local s p
	for s in "$NVMET"/subsystems/"$TGT_NQN_PREFIX"*; do
		[ -d "$s" ] && tgt_remove "${s##*/"$TGT_NQN_PREFIX"}"
	done
	for p in "$NVMET"/ports/*; do
		[ -d "$p" ] && rmdir "$p" 2>/dev/null
	done
	return 0
}

# Subsystems under any NQN, as storage backends name them (Cinder's nvmet:
# nqn.nvme-subsystem-1-<volume id>); remembered for tgt_raw_remove_all.
TGT_RAW_LIST=$TGT_STORE/raw.nqns

tgt_raw_add() {
	local nqn=$1 s=$NVMET/subsystems/$1 port
	shift
	mkdir -p "$TGT_STORE"
	mkdir "$s" || return 1
	echo 1 > "$s/attr_allow_any_host"
	echo "$nqn" >> "$TGT_RAW_LIST"
	for port in "$@"; do
		tgt_port "$port" || return 1
		ln -s "$s" "$NVMET/ports/$port/subsystems/$nqn"
	done
}

# tgt_raw_ns NQN NSID SIZE UUID|nil [NGUID] : "nil" gives the namespace no
# UUID (nvmet makes one up otherwise); NGUID in the kernel's layout or not.
tgt_raw_ns() {
	local ns=$NVMET/subsystems/$1/namespaces/$2 img
	img=$TGT_STORE/raw-$(echo "$1" | md5sum | cut -c1-8)-$2.img
	truncate -s "$3" "$img" && mkdir "$ns" || return 1
	echo "$img" > "$ns/device_path"
	if [ "$4" = nil ]; then
		echo 00000000-0000-0000-0000-000000000000 > "$ns/device_uuid"
	else
		echo "$4" > "$ns/device_uuid"
	fi
	[ -n "${5:-}" ] && echo "$5" > "$ns/device_nguid"
	echo 1 > "$ns/enable"
}

tgt_raw_remove() {
	local s=$NVMET/subsystems/$1 p ns
	[ -d "$s" ] || return 0
	nvme disconnect -n "$1" > /dev/null 2>&1
	for p in "$NVMET"/ports/*; do rm -f "$p/subsystems/$1"; done
	for ns in "$s"/namespaces/*; do
		[ -d "$ns" ] || continue
		echo 0 > "$ns/enable"
		rm -f "$(cat "$ns/device_path")"
		rmdir "$ns"
	done
	rmdir "$s"
}

tgt_raw_remove_all() {
	local nqn
	[ -f "$TGT_RAW_LIST" ] || return 0
	while read -r nqn; do tgt_raw_remove "$nqn"; done < "$TGT_RAW_LIST"
	rm -f "$TGT_RAW_LIST"
}

# tgt_boot_unit DIR UNIT... : a unit that re-creates, early at every boot,
# the targets of DIR/targets (lines "NAME SIZE UUID PORT") but those named
# in DIR/down, ordered before UNITs (the volumes' units): a storage array
# is simply there when the host boots, and these targets live in the host.
# The same names, NQNs, UUIDs and backing files; durable if TGT_DURABLE=1.
TGT_BOOT_UNIT=nvmf-raid-test-targets.service

tgt_boot_unit() {
	local dir=$1
	shift
	cp "${BASH_SOURCE[0]}" "$dir/target.sh" || return 1
	cat > "$dir/restore-targets" <<SCRIPT
#!/bin/bash
TGT_DURABLE=${TGT_DURABLE:-0}
. $dir/target.sh
while read -r name size uuid port; do
	grep -qx "\$name" $dir/down 2>/dev/null && continue
	tgt_add "\$name" "\$size" "\$uuid" "\$port" || exit 1
done < $dir/targets
SCRIPT
	chmod 755 "$dir/restore-targets"
	cat > "/etc/systemd/system/$TGT_BOOT_UNIT" <<UNIT
[Unit]
Description=nvmf-raid test: the nvmet targets, back before the volumes
DefaultDependencies=no
After=local-fs.target sys-kernel-config.mount systemd-modules-load.service
Before=nvmf-raid.target $*

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$dir/restore-targets

[Install]
WantedBy=sysinit.target
UNIT
	systemctl enable "$TGT_BOOT_UNIT" > /dev/null 2>&1 || return 1
	# What a reset would otherwise lose: the unit, its script, the list.
	sync
}

tgt_boot_unit_remove() {
	systemctl disable "$TGT_BOOT_UNIT" > /dev/null 2>&1
	rm -f "/etc/systemd/system/$TGT_BOOT_UNIT"
	systemctl daemon-reload
}
