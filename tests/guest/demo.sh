#!/bin/bash
# The demo, run inside the guest as /mnt/host/run.sh by tests/demo; its
# output is streamed to the host terminal as it happens.  Real kernel
# targets (nvmet over TCP), a real MD RAID1, a replica lost under I/O and
# healed back.
set -u
share=/mnt/host
. "$share/lib/install.sh"
. "$share/lib/target.sh"
. "$share/lib/common.sh"

step() { printf '\n==> [%6.1fs] %s\n' "$(uptime_s)" "$*"; }
show() { printf '    $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; }
fail() { printf '\n!!! demo failed: %s\n' "$*"; exit 1; }

install_project "$share" || fail "installing the project"
UUIDS=(d3a0c001-0000-4000-8000-000000000001 d3a0c001-0000-4000-8000-000000000002 d3a0c001-0000-4000-8000-000000000003)
MD=/dev/md/demo

step "Storage backend: three nvmet subsystems, one 128 MiB namespace each, on 127.0.0.1 and [::1]"
tgt_add demo1 128M "${UUIDS[0]}" 1 || fail "target demo1"
tgt_add demo2 128M "${UUIDS[1]}" 2 || fail "target demo2"
tgt_add demo3 128M "${UUIDS[2]}" 3 || fail "target demo3"
for i in 1 2 3; do echo "    $(tgt_nqn demo$i) at $(tgt_port_uri $i)"; done

step "Host: connect every replica (ctrl-loss-tmo -1, reconnect-delay 1, fast_io_fail_tmo 2)"
for i in 1 2 3; do
	nvme connect -t tcp -a "$(cat "$NVMET/ports/$i/addr_traddr")" -s "$(cat "$NVMET/ports/$i/addr_trsvcid")" \
		-n "$(tgt_nqn demo$i)" --ctrl-loss-tmo=-1 --reconnect-delay=1 > /dev/null || fail "connect demo$i"
	for c in $(ctrls_by_nqn "$(tgt_nqn demo$i)"); do echo 2 > "/sys/class/nvme/$c/fast_io_fail_tmo"; done
done
for u in "${UUIDS[@]}"; do
	wait_until 20 dev_by_uuid "$u" || fail "namespace $u did not appear"
	echo "    namespace $u -> /dev/$(dev_by_uuid "$u")  (udev: /dev/disk/by-id/nvme-uuid.$u)"
done

step "MD RAID1 over the three namespaces, internal write-intent bitmap"
devs=()
for u in "${UUIDS[@]}"; do devs+=("/dev/$(dev_by_uuid "$u")"); done
show mdadm --create "$MD" --run --level=1 --raid-devices=3 --metadata=1.2 --bitmap=internal --bitmap-chunk=4M "${devs[@]}"
mdadm --wait "$MD" > /dev/null 2>&1
md=$(basename "$(readlink -f "$MD")")
show cat /proc/mdstat

step "Write 32 MiB with checksums (fio, verify=crc32c)"
show fio --name=demo --filename="$MD" --rw=write --bs=64k --size=32M --direct=1 --ioengine=libaio \
	--iodepth=4 --verify=crc32c --do_verify=1 --minimal --output-format=terse --output=/dev/null
echo "    fio exit status: $?"

step "Replica demo3 vanishes from the backend while writes go on"
dev3=$(dev_by_uuid "${UUIDS[2]}")
tgt_vanish demo3
t0=$(uptime_s)
dd if=/dev/urandom of="$MD" bs=64k count=16 seek=1024 oflag=direct status=none
printf '    a 1 MiB write completed after %.1fs (stall bounded by fast_io_fail_tmo)\n' \
	"$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN{print b-a}')"
wait_until 30 sh -c "grep -q faulty /sys/block/$md/md/dev-$dev3/state" || fail "md did not fail the member"
echo "    md: $dev3 is $(md_member_state "$md" "$dev3"), array degraded by $(md_degraded "$md")"
show cat /proc/mdstat

step "demo3 comes back: the controller reconnects, md re-adds it with the bitmap"
tgt_return demo3
ctrl=$(ctrls_by_nqn "$(tgt_nqn demo3)")
wait_until 30 sh -c "[ \"\$(cat /sys/class/nvme/$ctrl/state)\" = live ]" || fail "no reconnect"
echo "    $ctrl is live again"
show mdadm "$MD" --remove failed
show mdadm "$MD" --re-add "/dev/$dev3"
mdadm --wait "$MD" > /dev/null 2>&1
echo "    array degraded by $(md_degraded "$md")"
show cat /proc/mdstat

step "The data written before the loss still verifies"
fio --name=demo --filename="$MD" --rw=read --bs=64k --size=32M --direct=1 --ioengine=libaio \
	--iodepth=4 --verify=crc32c --verify_only=1 --output=/dev/null > /dev/null 2>&1 || fail "verify"
echo "    fio verify: ok"

step "Detach: stop the array, disconnect the replicas"
show mdadm --stop "$MD"
for i in 1 2 3; do nvme disconnect -n "$(tgt_nqn demo$i)" | sed 's/^/    /'; done
tgt_remove_all
step "Done"
