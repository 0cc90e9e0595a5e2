// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The test guest's initrd: load the modules the root filesystem needs, mount
 * it and hand over to its systemd.  Built static by tests/guest/image.sh and
 * packed with the modules, in load order, as /modules/NN-name.ko.
 *
 * Why not initramfs-tools: under TCG its udev coldplug, module probing and
 * the mdadm hook's raid6 benchmark took 9 to 10 s of every boot, before the
 * root's own udev does the same work again.  The guest's root is one ext4 on
 * virtio-blk; nothing else needs the initrd (the arrays under test are on
 * NVMe-oF, which no initrd can reach).
 *
 * Any failure returns from main(): the kernel then panics, and with panic=-1
 * and qemu's -no-reboot the harness sees a guest that never reported.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what, const char *arg)
{
	fprintf(stderr, "guest init: %s %s: %s\n", what, arg, strerror(errno));
	return 1;
}

static int load_modules(void)
{
	struct dirent **mods;
	char path[300];
	int n, r = 0;

	n = scandir("/modules", &mods, NULL, alphasort);
	if (n < 0)
		return fail("scandir", "/modules");
	for (int i = 0; i < n; i++) {
		int fd;

		if (mods[i]->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/modules/%s", mods[i]->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
			r = fail("loading", path);
			break;
		}
		close(fd);
	}
	for (int i = 0; i < n; i++)
		free(mods[i]);
	free(mods);
	return r;
}

/* root= and ro from the kernel's command line; rw, /dev/vda otherwise. */
static void root_from_cmdline(char *dev, size_t size, unsigned long *flags)
{
	char line[4096], *tok, *save;
	FILE *f = fopen("/proc/cmdline", "re");

	snprintf(dev, size, "/dev/vda");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (strncmp(tok, "root=", 5) == 0)
			snprintf(dev, size, "%s", tok + 5);
		else if (strcmp(tok, "ro") == 0)
			*flags |= MS_RDONLY;
	}
}

int main(int argc, char *argv[])
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	unsigned long flags = 0;
	char dev[256];
	struct stat st;

	(void)argc;
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0)
		return fail("mounting", "/dev");
	if (mount("proc", "/proc", "proc", 0, NULL) < 0)
		return fail("mounting", "/proc");
	root_from_cmdline(dev, sizeof(dev), &flags);
	umount("/proc");
	if (load_modules())
		return 1;
	/* virtio-blk probes asynchronously: wait for the node, at most 60 s. */
	for (int i = 0; stat(dev, &st) < 0; i++) {
		if (i == 6000)
			return fail("waiting for", dev);
		nanosleep(&tick, NULL);
	}
	if (mount(dev, "/root", "ext4", flags, NULL) < 0)
		return fail("mounting", dev);
	if (mount("/dev", "/root/dev", NULL, MS_MOVE, NULL) < 0)
		return fail("moving", "/dev");
	/* What switch_root does: the initramfs stays (it is a few MB). */
	if (chdir("/root") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return fail("switching to", dev);
	argv[0] = (char *)"/sbin/init";
	execv("/sbin/init", argv);
	return fail("executing", "/sbin/init");
}
