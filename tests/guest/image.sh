#!/bin/bash
# Build the test guest: a Debian root (12 "bookworm" or 13 "trixie", that
# release's own kernel and packages) made with mmdebstrap (unshare mode: no
# mounts, no loop devices on the host), turned into a raw ext4 image without
# mounting it (mkfs.ext4 -d).
#
#   tests/guest/image.sh OUTDIR [RELEASE]
#
# OUTDIR receives base.img, vmlinuz and initrd.img.  The harness caches
# OUTDIR keyed on a hash of this file, so any change here rebuilds the image.
# Measured recipe and pitfalls: ../shared/notes/guest.md.
set -euo pipefail

out=${1:?usage: image.sh OUTDIR [RELEASE]}
release=${2:-bookworm}
mkdir -p "$out"
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# The initrd's init (see below), first: a compiler error ends the build now.
"${CC:-cc}" -static -Os -Wall -Wextra -Werror -o "$work/init" "$(dirname "$0")/init.c"

packages=(
	systemd-sysv udev linux-image-amd64 initramfs-tools kmod
	mdadm nvme-cli fio shunit2 python3 python3-os-brick dmidecode
	e2fsprogs util-linux iproute2 procps bash-builtins
	# promtool, which checks the metrics file (metrics_test.sh); the server
	# itself is masked below
	prometheus
	# runtime libraries of the project's helpers (the guest has no network:
	# `apt install ./nvmf-raid_*.deb` there finds its dependencies installed)
	libjson-c5 libudev1 libsystemd0 libblkid1
	# contrib/os-brick: the patch applied to a copy of the release's own
	# os-brick, and os-brick's unit tests run against it
	patch python3-oslotest python3-ddt
)
# The two libraries whose package names differ: the 64-bit time_t
# transition (libnvme1t64) and iniparser 4.2's soname.
case $release in
bookworm) packages+=(libnvme1 libiniparser1) ;;
# Debian 13's kernel has NVMe/TCP TLS, which needs tlshd; keyutils gives
# tls_test.sh a target with a PSK of its own.
trixie) packages+=(libnvme1t64 libiniparser4 ktls-utils keyutils) ;;
*) echo "image.sh: unknown release '$release' (bookworm, trixie)" >&2; exit 2 ;;
esac
# The host's own sources (mirror, security, a proxy set there) with the
# release's suites in place of the host's.
host_release=$(. /etc/os-release && echo "$VERSION_CODENAME")
sources=$work/debian.sources
sed "s/\b$host_release\b/$release/g" /etc/apt/sources.list.d/debian.sources > "$sources"

# Units that only cost boot time in a throwaway guest.
masked=(
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
	mdcheck_start.timer mdcheck_continue.timer mdmonitor-oneshot.timer
	systemd-networkd-wait-online.service nvmf-autoconnect.service
	nvmefc-boot-connections.service iscsid.service iscsid.socket
	open-iscsi.service systemd-timesyncd.service
	# 18 s of a TCG boot for a filesystem that never had a snapshot, and
	# six login prompts on consoles nobody looks at (10 s)
	e2scrub_reap.service getty-static.service getty@tty1.service
	# nothing to clean or back up in a guest that lives one test run
	systemd-tmpfiles-clean.timer dpkg-db-backup.timer
	# no display, no EFI, no FUSE, no foreign binaries: a process and a module
	# load each, on every boot
	modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service
	sys-fs-fuse-connections.mount systemd-binfmt.service
	proc-sys-fs-binfmt_misc.automount
	# installed for promtool only
	prometheus.service prometheus-node-exporter.service
	prometheus-node-exporter-apt.timer prometheus-node-exporter-nvme.timer
	prometheus-node-exporter-smartmon.timer prometheus-node-exporter-mellanox-hca-temp.timer
	prometheus-node-exporter-ipmitool-sensor.timer
)

# The kernel package wants an initramfs generator, and runs it; its initrd
# is not booted (see the initrd below), MODULES=list only makes it quick.
# shellcheck disable=SC2016 # the hooks run in mmdebstrap's sh, $1 the root
mmdebstrap --mode=unshare --variant=minbase \
	--include="$(IFS=,; echo "${packages[*]}")" \
	--setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
	--setup-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/guest.conf"' \
	--setup-hook='printf "virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n" > "$1/usr/share/initramfs-tools/modules.d/guest"' \
	--customize-hook='echo guest > "$1/etc/hostname"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
	"$release" "$root" "$sources"

# Root without a password, for interactive debugging (guesttest.off).
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"

cat > "$root/etc/fstab" <<'FSTAB'
/dev/vda  /          ext4  rw,errors=remount-ro  0 0
host0     /mnt/host  9p    trans=virtio,version=9p2000.L,msize=262144,cache=none,nofail,x-systemd.after=systemd-modules-load.service  0 0
FSTAB
# The share is mounted once modules-load has loaded 9pnet_virtio (9p.conf
# below): mounted before, the transport had not bound the device yet ("no
# channels available for device host0") and the guest ran no test at all.
mkdir -p "$root/mnt/host"
printf '9p\n9pnet_virtio\n' > "$root/etc/modules-load.d/9p.conf"
# qemu's "-cpu max" shows VMX/SVM, and udev would load KVM (2-3 s of a TCG
# boot) for a guest that runs no guest of its own.
printf 'blacklist kvm_intel\nblacklist kvm_amd\nblacklist kvm\n' > "$root/etc/modprobe.d/guest-no-kvm.conf"

for u in "${masked[@]}"; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done

# The test entry point: runs /mnt/host/run.sh from the 9p share once the
# system is up, stores its status in the share and hands it to qemu through
# isa-debug-exit (qemu then exits with (status << 1) | 1).
cat > "$root/etc/systemd/system/guest-test.service" <<'UNIT'
[Unit]
Description=Run the test script from the host share and power off
After=multi-user.target mnt-host.mount
Requires=mnt-host.mount
ConditionKernelCommandLine=!guesttest.off

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/guest-test-runner
StandardOutput=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../guest-test.service "$root/etc/systemd/system/multi-user.target.wants/guest-test.service"

mkdir -p "$root/usr/local/sbin"
cat > "$root/usr/local/sbin/guest-test-runner" <<'RUNNER'
#!/bin/bash
out=/mnt/host/out
mkdir -p "$out"
# Appended: a suite that reboots the guest runs this again, and the
# boots before must stay readable.
if [ -x /mnt/host/run.sh ]; then
	/mnt/host/run.sh >> "$out/run.log" 2>&1 < /dev/null
	rc=$?
else
	echo "no /mnt/host/run.sh" > "$out/run.log"
	rc=127
fi
echo "$rc" > "$out/rc"
sync
echo "runner: rc=$rc at $(cut -d' ' -f1 /proc/uptime)s since boot" > /dev/ttyS0
python3 -c 'import os,sys; fd=os.open("/dev/port",os.O_WRONLY); os.pwrite(fd,bytes([int(sys.argv[1])&0x7f]),0xf4)' "$rc"
systemctl poweroff --no-block
RUNNER
chmod 755 "$root/usr/local/sbin/guest-test-runner"

# Interactive variant: autologin on the serial console (only there: a
# login shell on the console of a test run costs CPU and fills its log).
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'GETTY'
[Unit]
ConditionKernelCommandLine=guesttest.off

[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
GETTY

# A fixed host identity, so test logs compare across runs.
mkdir -p "$root/etc/nvme"
[ -s "$root/etc/nvme/hostnqn" ] || echo "nqn.2014-08.org.nvmexpress:uuid:5f7c2a4e-0d1b-4c3a-9e8f-112233445566" > "$root/etc/nvme/hostnqn"
[ -s "$root/etc/nvme/hostid" ] || echo "5f7c2a4e-0d1b-4c3a-9e8f-112233445566" > "$root/etc/nvme/hostid"

# The initrd: tests/guest/init.c and the root's modules, nothing else.
# initramfs-tools' initrd took 9 to 10 s of each TCG boot (its own udev
# coldplug, the mdadm hook's raid6 benchmark) before the root's udev did it
# all again; this one mounts the root in well under a second.  The root's
# kmod resolves the dependencies, in load order; the modules go in
# uncompressed (finit_module without MODULE_INIT_COMPRESSED_FILE).
kver=$(basename "$(echo "$root"/lib/modules/*)")
initrd=$root/tmp/initrd
mkdir -p "$initrd/dev" "$initrd/proc" "$initrd/root" "$initrd/modules"
mknod "$initrd/dev/console" c 5 1
cp "$work/init" "$initrd/init"
n=10
for mod in $(chroot "$root" modprobe -S "$kver" --show-depends -a virtio_pci virtio_blk ext4 crc32c_generic |
	awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++'); do
	case $mod in
	*.xz) xz -dc "$root$mod" ;;
	*) cat "$root$mod" ;;
	esac > "$initrd/modules/$n-$(basename "${mod%%.ko*}").ko"
	n=$((n + 1))
done
chroot "$root" sh -c 'cd /tmp/initrd && find . | cpio --quiet -o -H newc -R 0:0' > "$work/initrd.img"
rm -rf "$initrd"

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
chmod 644 "$work/vmlinuz" "$work/initrd.img"

# apt's package cache, which mmdebstrap's cleanup removed: the guest's
# first `apt install ./nvmf-raid_*.deb` spent 10 s of a TCG vCPU making it.
chroot "$root" apt-cache gencaches

# /usr is as the image leaves it: without this, the first boot of every
# Debian 13 guest rebuilt the linker cache and the journal catalog
# (ConditionNeedsUpdate; Debian 12's systemd has no such units).
[ ! -x "$root/lib/systemd/systemd-update-done" ] || chroot "$root" /lib/systemd/systemd-update-done

truncate -s 3G "$work/base.img"
mkfs.ext4 -q -F -L guestroot -d "$root" "$work/base.img"

mv "$work/base.img" "$work/vmlinuz" "$work/initrd.img" "$out/"
echo "image: $out/base.img ($(du -h --apparent-size "$out/base.img" | cut -f1) apparent, $(du -h "$out/base.img" | cut -f1) used)"
