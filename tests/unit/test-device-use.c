/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dev_subsys_in_use() against a scratch sysfs/proc/dev tree laid out as
 * the kernel does (native multipath: heads in the subsystem's directory,
 * paths under the controller; without: namespaces under the controller),
 * and dev_proc_opener() against the real /proc with files this test opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "macro.h"
#include "tap.h"

#define NQN_MP "nqn.2024-01.io.example:shared"
#define NQN_FLAT "nqn.2024-01.io.example:flat"
#define U_OWN "11111111-1111-4111-8111-111111111111"
#define U_OTHER "22222222-2222-4222-8222-222222222222"
#define U_FLAT "33333333-3333-4333-8333-333333333333"

static char root[] = "/tmp/nvmf-raid-test-device-use.XXXXXX";
static struct dev_roots roots;
static char null_devt[32]; /* "MAJ:MIN" of /dev/null: a char device a fake process can hold */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static void mkdir_p(const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);

	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		(void)mkdir(p, 0755);
		*s = '/';
	}
	(void)mkdir(p, 0755);
}

/* Writes <root>/@rel (parents made), a sysfs attribute with its newline. */
static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *dir = strdup(rel), *p = xasprintf("%s/%s", root, rel);
	FILE *f;

	*strrchr(dir, '/') = 0;
	mkdir_p(dir);
	f = fopen(p, "we");
	if (!f)
		abort();
	fprintf(f, "%s\n", text);
	fclose(f);
}

static void link_to(const char *target, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);

	if (symlink(target, p) < 0)
		abort();
}

static void unlink_rel(const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);

	(void)remove(p);
}

#define SUBSYS0 "sys/devices/virtual/nvme-subsystem/nvme-subsys0"
#define SUBSYS1 "sys/devices/virtual/nvme-subsystem/nvme-subsys1"
#define CTL "sys/devices/virtual/nvme-fabrics/ctl"

/* A block device directory: dev, uuid, empty holders/. */
static void blockdev(const char *dir, const char *devt, const char *uuid)
{
	_cleanup_free_ char *d = xasprintf("%s/dev", dir), *h = xasprintf("%s/holders", dir),
			    *u = xasprintf("%s/uuid", dir);

	put(d, devt);
	if (uuid)
		put(u, uuid);
	mkdir_p(h);
}

static void make_tree(void)
{
	/* nvme-subsys0, native multipath: our nvme0n1, a sibling nvme0n2
	 * with a partition, their generic devices, controller nvme0 with
	 * the hidden paths. */
	put(SUBSYS0 "/subsysnqn", NQN_MP);
	blockdev(SUBSYS0 "/nvme0n1", "259:1", U_OWN);
	blockdev(SUBSYS0 "/nvme0n2", "259:3", U_OTHER);
	blockdev(SUBSYS0 "/nvme0n2/nvme0n2p1", "259:4", NULL);
	put(SUBSYS0 "/nvme0n2/nvme0n2p1/partition", "1");
	put(SUBSYS0 "/ng0n1/dev", "4000:0");
	put(SUBSYS0 "/ng0n2/dev", null_devt);
	put(CTL "/nvme0/subsysnqn", NQN_MP);
	blockdev(CTL "/nvme0/nvme0c0n1", "259:0", U_OWN);
	blockdev(CTL "/nvme0/nvme0c0n2", "259:2", U_OTHER);
	link_to("../../nvme-fabrics/ctl/nvme0", SUBSYS0 "/nvme0");
	/* nvme-subsys1 without multipath: nvme1n1 under controller nvme1. */
	put(SUBSYS1 "/subsysnqn", NQN_FLAT);
	put(CTL "/nvme1/subsysnqn", NQN_FLAT);
	blockdev(CTL "/nvme1/nvme1n1", "259:10", U_FLAT);
	put(CTL "/nvme1/ng1n1/dev", "4000:1");
	link_to("../../nvme-fabrics/ctl/nvme1", SUBSYS1 "/nvme1");
	mkdir_p("sys/class/nvme-subsystem");
	link_to("../../devices/virtual/nvme-subsystem/nvme-subsys0",
		"sys/class/nvme-subsystem/nvme-subsys0");
	link_to("../../devices/virtual/nvme-subsystem/nvme-subsys1",
		"sys/class/nvme-subsystem/nvme-subsys1");
	put("proc/self/mountinfo", "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw");
	mkdir_p("dev");
}

static struct vol_ns_id own[1];

/* dev_subsys_in_use() for @nqn skipping @n_skip of own[]: "" when not in
 * use, the reason when in use, "error N" on failure. */
static char *verdict(const char *nqn, size_t n_skip)
{
	_cleanup_free_ char *why = NULL;
	int r = dev_subsys_in_use(&roots, nqn, own, n_skip, &why);

	if (r < 0)
		return xasprintf("error %d", r);
	return r > 0 ? TAKE_PTR(why) : strdup("");
}

#define is_verdict(nqn, n_skip, want, name) \
	({ \
		_cleanup_free_ char *_v = verdict(nqn, n_skip); \
		is_str(_v, want, name); \
	})

static void test_nothing_in_use(void)
{
	is_verdict(NQN_MP, 1, "", "multipath subsystem, nothing in use: may go");
	is_verdict(NQN_FLAT, 0, "", "subsystem without multipath, nothing in use: may go");
	is_verdict("nqn.2024-01.io.example:absent", 0, "", "a subsystem not connected is not in use");
}

/* A replica named by NSID alone (contract.md): its own namespace is told
 * by the nsid sysfs shows, within the subsystem being let go. */
static void test_own_by_nsid(void)
{
	struct vol_ns_id saved = own[0];

	put(SUBSYS0 "/nvme0n1/nsid", "1");
	put(SUBSYS0 "/nvme0n2/nsid", "2");
	put("proc/self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw\n"
				   "40 22 259:1 / /mnt/own rw - ext4 /dev/nvme0n1 rw");
	own[0] = (struct vol_ns_id){ .nsid = 1 };
	is_verdict(NQN_MP, 1, "", "our own namespace, named by nsid 1, mounted: not counted");
	own[0] = (struct vol_ns_id){ .nsid = 2 };
	is_verdict(NQN_MP, 1, "/dev/nvme0n1 is mounted on /mnt/own",
		   "  ... but counted when ours is nsid 2");
	own[0] = saved;
	put("proc/self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw");
}

static void test_mounts(void)
{
	static const struct {
		const char *mount, *nqn;
		size_t n_skip;
		const char *want, *name;
	} cases[] = {
		{ "40 22 259:1 / /mnt/own rw - ext4 /dev/nvme0n1 rw", NQN_MP, 1, "",
		  "our own namespace mounted: not counted" },
		{ "40 22 259:1 / /mnt/own rw - ext4 /dev/nvme0n1 rw", NQN_MP, 0,
		  "/dev/nvme0n1 is mounted on /mnt/own", "without skipping it, it counts" },
		{ "41 22 259:4 / /mnt/data rw - xfs /dev/nvme0n2p1 rw", NQN_MP, 1,
		  "/dev/nvme0n2p1 is mounted on /mnt/data", "a sibling's partition mounted" },
		{ "42 22 259:10 / /srv rw - ext4 /dev/nvme1n1 rw", NQN_FLAT, 0,
		  "/dev/nvme1n1 is mounted on /srv", "no multipath: namespace under the controller" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *info =
			xasprintf("22 1 254:1 / / rw - ext4 /dev/vda1 rw\n%s", cases[i].mount);

		put("proc/self/mountinfo", info);
		is_verdict(cases[i].nqn, cases[i].n_skip, cases[i].want, cases[i].name);
	}
	put("proc/self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda1 rw");
}

static void test_holders(void)
{
	static const struct {
		const char *holder, *want, *name;
	} cases[] = {
		{ SUBSYS0 "/nvme0n2/holders/md127", "/dev/nvme0n2 is held by md127",
		  "a sibling in an md array" },
		{ SUBSYS0 "/nvme0n2/nvme0n2p1/holders/dm-3", "/dev/nvme0n2p1 is held by dm-3",
		  "a sibling's partition under dm" },
		{ SUBSYS0 "/nvme0n1/holders/md5", "", "our own namespace still held: not counted" },
		{ CTL "/nvme0/nvme0c0n2/holders/md9", "",
		  "a hidden multipath path is not a namespace anyone uses" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		put(cases[i].holder, "");
		is_verdict(NQN_MP, 1, cases[i].want, cases[i].name);
		unlink_rel(cases[i].holder);
	}
}

static void test_openers(void)
{
	put("proc/4242/comm", "holder");
	mkdir_p("proc/4242/fd");
	link_to("/dev/null", "proc/4242/fd/5");
	is_verdict(NQN_MP, 1, "/dev/ng0n2 is open by process 4242 (holder)",
		   "a sibling's generic char device open by a process");
	put("proc/31/comm", "kthread"); /* no fd/: skipped */
	is_verdict(NQN_MP, 1, "/dev/ng0n2 is open by process 4242 (holder)",
		   "a process without fd/ is skipped");
	put(SUBSYS0 "/ng0n2/dev", "4000:2");
	is_verdict(NQN_MP, 1, "", "an open file that is none of the devices");
	put(SUBSYS0 "/ng0n2/dev", null_devt);
	unlink_rel("proc/4242/fd/5");
}

static void test_broken_sysfs(void)
{
	put(SUBSYS0 "/nvme0n2/dev", "garbage");
	is_verdict(NQN_MP, 1, "error -74", "an unreadable device number is an error, not \"unused\"");
	put(SUBSYS0 "/nvme0n2/dev", "259:3");
	unlink_rel(SUBSYS0 "/ng0n1/dev");
	is_verdict(NQN_MP, 0, "", "a namespace without a generic device (older kernels)");
}

static void test_dev_in_use_refuses(void)
{
	_cleanup_free_ char *why = NULL;

	is_int(dev_in_use("/dev/null", 0, &why), -ENOTBLK, "dev_in_use: a char device is no block device");
	is_int(dev_in_use("/nonexistent/node", 0, &why), -ENOENT, "dev_in_use: missing node");
}

/* The real /proc: this process holds a scratch file, then closes it. */
static void test_proc_opener_file(void)
{
	char path[] = "/tmp/nvmf-raid-test-opener.XXXXXX";
	struct dev_key keys[2] = { { .type = S_IFCHR, .dev = makedev(4000, 9) } };
	struct stat st;
	size_t i = 99;
	pid_t pid = 0;
	int fd = mkstemp(path);

	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	dev_key_from_stat(&st, &keys[1]);
	is_int(dev_proc_opener("/proc", keys, 2, &i, &pid), 1, "scratch file open: found in /proc");
	is_int(pid, getpid(), "by this process");
	is_int(i, 1, "the key that matched");
	close(fd);
	is_int(dev_proc_opener("/proc", keys, 2, &i, &pid), 0, "closed: no opener");
	unlink(path);
	is_int(dev_proc_opener("/nonexistent", keys, 2, &i, &pid), -ENOENT, "no proc: error");
}

/* A pty slave has a device number nobody else holds: matched by st_rdev. */
static void test_proc_opener_chardev(void)
{
	struct dev_key key;
	struct stat st;
	size_t i = 99;
	pid_t pid = 0;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    (s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		ok(1, "# SKIP no pty: %m");
		if (m >= 0)
			close(m);
		return;
	}
	if (fstat(s, &st) < 0)
		abort();
	dev_key_from_stat(&st, &key);
	is_int(key.type, S_IFCHR, "a pty slave is a char device");
	is_int(dev_proc_opener("/proc", &key, 1, &i, &pid), 1, "char device open: found by its number");
	is_int(pid, getpid(), "by this process");
	close(s);
	is_int(dev_proc_opener("/proc", &key, 1, &i, &pid), 0, "closed: no opener");
	close(m);
}

int main(void)
{
	struct stat st;

	log_set_max_level(LOG_WARNING);
	if (!mkdtemp(root) || stat("/dev/null", &st) < 0) {
		printf("Bail out! mkdtemp: %m\n");
		return 1;
	}
	snprintf(null_devt, sizeof(null_devt), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	own[0].has_uuid = vol_uuid_parse(U_OWN, own[0].uuid) == 0;
	roots = (struct dev_roots){ .sys = xasprintf("%s/sys", root),
				    .proc = xasprintf("%s/proc", root),
				    .dev = xasprintf("%s/dev", root) };
	make_tree();
	test_nothing_in_use();
	test_own_by_nsid();
	test_mounts();
	test_holders();
	test_openers();
	test_broken_sysfs();
	test_dev_in_use_refuses();
	test_proc_opener_file();
	test_proc_opener_chardev();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free((char *)roots.sys);
	free((char *)roots.proc);
	free((char *)roots.dev);
	return tap_done();
}
