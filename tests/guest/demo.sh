#!/bin/bash
# The demo, run inside the guest as /mnt/host/run.sh by tests/demo; its
# output is streamed to the host terminal as it happens.  Real kernel
# targets (nvmet over TCP), a volume file, nvmf-raid@.service building a
# real MD RAID1, a replica lost under I/O and healed back, detach.
set -u
share=/mnt/host
. "$share/lib/install.sh"
. "$share/lib/target.sh"
. "$share/lib/common.sh"

step() { printf '\n==> [%6.1fs] %s\n' "$(uptime_s)" "$*"; }
show() { printf '    $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; }
fail() { printf '\n!!! demo failed: %s\n' "$*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN{printf "%.1f", b-a}'; }

install_project "$share" || fail "installing the project"
UUIDS=(d3a0c001-0000-4000-8000-000000000001 d3a0c001-0000-4000-8000-000000000002 d3a0c001-0000-4000-8000-000000000003)

step "Storage backend: three nvmet subsystems, one 128 MiB namespace each, on 127.0.0.1 and [::1]"
tgt_add demo1 128M "${UUIDS[0]}" 1 || fail "target demo1"
tgt_add demo2 128M "${UUIDS[1]}" 2 || fail "target demo2"
tgt_add demo3 128M "${UUIDS[2]}" 3 || fail "target demo3"
for i in 1 2 3; do echo "    $(tgt_nqn demo$i) at $(tgt_port_uri $i)"; done

step "The admin declares the volume: /etc/nvmf-raid/volumes/demo.conf"
mkdir -p /etc/nvmf-raid/volumes
{
	printf '[volume]\ndegraded-timeout = 30\nfast-io-fail-tmo = 2\nreconnect-delay = 1\n'
	for i in 1 2 3; do
		printf '\n[replica.%s]\nnqn = %s\nuuid = %s\nportals = %s\n' \
			"$(echo a b c | cut -d' ' -f$i)" "$(tgt_nqn demo$i)" "${UUIDS[$((i - 1))]}" "$(tgt_port_uri $i)"
	done
} > /etc/nvmf-raid/volumes/demo.conf
sed 's/^/    /' /etc/nvmf-raid/volumes/demo.conf
show nvmf-raid check demo

step "systemctl start nvmf-raid@demo"
t0=$(uptime_s)
systemctl start nvmf-raid@demo || { journalctl -u nvmf-raid@demo --no-pager | tail -20; fail "start"; }
echo "    returned after $(elapsed "$t0")s; /dev/nvmf-raid/demo -> $(readlink -f /dev/nvmf-raid/demo)"
show journalctl -u nvmf-raid@demo --no-pager -o cat -n 20
show cat /proc/mdstat
show nvmf-raid status demo
mdadm --wait /dev/nvmf-raid/demo > /dev/null 2>&1

step "Write 32 MiB with checksums (fio, verify=crc32c) through /dev/nvmf-raid/demo"
fio --name=demo --filename=/dev/nvmf-raid/demo --rw=write --bs=64k --size=32M --direct=1 --ioengine=libaio \
	--iodepth=4 --verify=crc32c --do_verify=1 --output=/dev/null > /dev/null 2>&1 || fail "fio"
echo "    fio write + verify: ok"

step "Replica c vanishes from the backend while fio keeps writing"
fio --name=bg --filename=/dev/nvmf-raid/demo --rw=randwrite --bs=4k --offset=64M --size=16M --direct=1 --ioengine=libaio \
	--iodepth=4 --verify=crc32c --verify_backlog=128 --verify_fatal=1 --time_based --runtime=300 \
	--write_lat_log=/tmp/demo --log_avg_msec=0 --output=/tmp/demo-fio.log > /dev/null 2>&1 &
fio_pid=$!
sleep 2
t0=$(uptime_s)
tgt_vanish demo3
echo "    [$(uptime_s)s] target demo3 unlinked from its port"
wait_until 30 sh -c 'grep -q "\"state\": \"faulty\"" /run/nvmf-raid/demo.json' || fail "not recorded faulty"
echo "    [$(uptime_s)s] nvmf-raid-monitor recorded it faulty, $(elapsed "$t0")s after the loss"
show journalctl -u nvmf-raid-monitor@demo --no-pager -o cat -n 3
show cat /proc/mdstat
show nvmf-raid status demo
sleep 3

step "Replica c comes back: the kernel reconnects, nvmf-raid re-adds it, the bitmap resyncs what changed"
t0=$(uptime_s)
tgt_return demo3
echo "    [$(uptime_s)s] target demo3 linked again"
wait_until 60 sh -c 'python3 -c "import json,sys; d=json.load(open(\"/run/nvmf-raid/demo.json\")); sys.exit(any(r[\"state\"]!=\"in-sync\" for r in d[\"replicas\"]))"' ||
	fail "not healed"
echo "    [$(uptime_s)s] every replica in sync again, $(elapsed "$t0")s after the target returned"
show journalctl -u nvmf-raid-monitor@demo --no-pager -o cat -n 4
show nvmf-raid status demo
show cat /var/lib/nvmf-raid/demo.json
kill -INT "$fio_pid"; wait "$fio_pid"
grep -q 'err= 0' /tmp/demo-fio.log || fail "fio reported errors"
max=$(awk -F, '{ if ($2 > m) m = $2 } END { printf "%.2f", m / 1e9 }' /tmp/demo_clat.1.log 2>/dev/null)
echo "    fio: no I/O or verify error during loss and heal; longest write latency ${max}s"

step "The data written before the loss still verifies"
fio --name=demo --filename=/dev/nvmf-raid/demo --rw=read --bs=64k --size=32M --direct=1 --ioengine=libaio \
	--iodepth=4 --verify=crc32c --verify_only=1 --output=/dev/null > /dev/null 2>&1 || fail "verify"
echo "    fio verify: ok"

step "systemctl stop nvmf-raid@demo"
t0=$(uptime_s)
systemctl stop nvmf-raid@demo || fail "stop"
echo "    returned after $(elapsed "$t0")s"
show journalctl -u nvmf-raid@demo --no-pager -o cat -n 6
echo "    controllers left: $(ls /sys/class/nvme 2>/dev/null | wc -l), arrays left: $(grep -c '^md' /proc/mdstat)"
tgt_remove_all
step "Done"
