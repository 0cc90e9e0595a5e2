# shellcheck shell=bash
# Volumes for the guest suites: nvmet replicas (target.sh) plus the volume
# file that describes them, and helpers to inspect what nvmf-raid built.
#
#   new_volume VOL N [SIZE] [PORT]  N replicas VOL-r1..VOL-rN, fresh UUIDs,
#                                   /etc/nvmf-raid/volumes/VOL.conf
#   replica_uuid VOL I              namespace UUID of replica I
#   drop_volume VOL                 stop the unit, remove file and targets
#   md_of VOL                       mdX behind /dev/nvmf-raid/VOL

VOLDIR=/etc/nvmf-raid/volumes
# shellcheck disable=SC2034 # for the suites
ATTACH=/usr/libexec/nvmf-raid/nvmf-raid-attach
# shellcheck disable=SC2034 # for the suites
DETACH=/usr/libexec/nvmf-raid/nvmf-raid-detach

new_uuid() { cat /proc/sys/kernel/random/uuid; }

replica_uuid() { sed -n "${2}p" "$TGT_STORE/$1.uuids"; }

# new_volume VOL N [SIZE] [PORT...] ; extra [volume] keys from $VOL_KEYS.
# Replica i is served on the i-th PORT (the last one given for the rest).
new_volume() {
	local vol=$1 n=$2 size=${3:-64M} i u port
	local ports=("${@:4}")
	[ ${#ports[@]} -gt 0 ] || ports=(1)
	mkdir -p "$VOLDIR" "$TGT_STORE"
	: > "$TGT_STORE/$vol.uuids"
	{
		echo "[volume]"
		echo "degraded-timeout = ${VOL_TIMEOUT:-20}"
		[ -n "${VOL_KEYS:-}" ] && printf '%s\n' "$VOL_KEYS"
	} > "$VOLDIR/$vol.conf"
	for i in $(seq 1 "$n"); do
		port=${ports[i - 1]:-${ports[-1]}}
		u=$(new_uuid)
		echo "$u" >> "$TGT_STORE/$vol.uuids"
		tgt_add "$vol-r$i" "$size" "$u" "$port" || return 1
		printf '\n[replica.r%d]\nnqn = %s\nuuid = %s\nportals = %s\n' \
			"$i" "$(tgt_nqn "$vol-r$i")" "$u" "$(tgt_port_uri "$port")" >> "$VOLDIR/$vol.conf"
	done
}

drop_volume() {
	local vol=$1 t
	systemctl stop "nvmf-raid@$vol" > /dev/null 2>&1
	systemctl reset-failed "nvmf-raid@$vol" > /dev/null 2>&1
	rm -f "$VOLDIR/$vol.conf" "/run/nvmf-raid/volumes/$vol.conf"
	for t in "$NVMET"/subsystems/"$(tgt_nqn "$vol")"-r*; do
		[ -d "$t" ] || continue
		# Only what the unit's stop left connected (nvme-cli scans
		# every controller: seconds per call in a loaded TCG guest).
		nqn_connected "${t##*/}" && nvme disconnect -n "${t##*/}" > /dev/null 2>&1
		tgt_remove "${t##*/"$TGT_NQN_PREFIX"}"
	done
	rm -f "$TGT_STORE/$vol.uuids"
}

md_of() {
	local p
	p=$(realpath "/dev/nvmf-raid/$1" 2> /dev/null)
	echo "${p##*/}"
}

# Number of md arrays whose members include namespace devices of VOL.
arrays_of() {
	local vol=$1 n=0 md i dev
	for md in /sys/block/md*; do
		[ -d "$md/md" ] || continue
		for i in $(seq 1 "$(wc -l < "$TGT_STORE/$vol.uuids")"); do
			dev=$(dev_by_uuid "$(replica_uuid "$vol" "$i")") || continue
			if [ -e "$md/md/dev-$dev" ]; then n=$((n + 1)); break; fi
		done
	done
	echo "$n"
}

unit_result() { systemctl show -P Result "nvmf-raid@$1"; }
unit_status() { systemctl show -P ExecMainStatus "nvmf-raid@$1"; }
unit_active() { systemctl is-active "nvmf-raid@$1"; }

# Journal lines of the current boot since cursor file $1 (see journal_mark).
journal_mark() { journalctl -n 1 --show-cursor --no-pager -q | sed -n 's/^-- cursor: //p' > "$1"; }
journal_since() { journalctl --no-pager -q -o cat --after-cursor "$(cat "$1")"; }
