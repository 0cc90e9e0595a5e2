/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "exec.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "md.h"

static uint64_t fnv1a64(const char *prefix, size_t plen, const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < plen; i++)
		h = (h ^ (uint8_t)prefix[i]) * UINT64_C(0x100000001b3);
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return h;
}

void md_name_for_volume(const char *vol, char *ret)
{
	size_t len = strlen(vol);

	if (len <= MD_NAME_MAX) {
		memcpy(ret, vol, len + 1);
		return;
	}
	snprintf(ret, MD_NAME_MAX + 1, "%.5s_%016" PRIx64, vol, fnv1a64("", 0, vol));
}

void md_uuid_for_volume(const char *vol, char *ret)
{
	static const char p1[] = "nvmf-raid", p2[] = "nvmf-raid-uuid";
	uint64_t hi = fnv1a64(p1, sizeof(p1), vol); /* sizeof: includes the NUL */
	uint64_t lo = fnv1a64(p2, sizeof(p2), vol);

	hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x8000);	    /* version 8 */
	lo = (lo & ~(UINT64_C(0xc) << 60)) | (UINT64_C(0x8) << 60); /* variant 10 */
	snprintf(ret, 36, "%08" PRIx32 ":%08" PRIx32 ":%08" PRIx32 ":%08" PRIx32, (uint32_t)(hi >> 32),
		 (uint32_t)hi, (uint32_t)(lo >> 32), (uint32_t)lo);
}

unsigned md_bitmap_chunk_kib(uint64_t size_bytes)
{
	uint64_t want = size_bytes / 4096 / 1024, kib = 1024;

	while (kib < want && kib < 64 * 1024)
		kib <<= 1;
	return (unsigned)kib;
}

static int copy_value(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

int md_parse_examine(const char *out, struct md_examine *ret)
{
	struct md_examine e = {};
	_cleanup_free_ char *copy = strdup(out);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(l, '=');
		int r = 0;

		if (!v)
			return -EINVAL;
		*v++ = 0;
		if (streq(l, "MD_UUID"))
			r = copy_value(e.uuid, sizeof(e.uuid), v);
		else if (streq(l, "MD_NAME"))
			r = copy_value(e.name, sizeof(e.name), v);
		else if (streq(l, "MD_LEVEL"))
			r = copy_value(e.level, sizeof(e.level), v);
		else if (streq(l, "MD_DEV_UUID"))
			r = copy_value(e.dev_uuid, sizeof(e.dev_uuid), v);
		else if (streq(l, "MD_DEVICES"))
			e.devices = (unsigned)strtoul(v, NULL, 10);
		else if (streq(l, "MD_EVENTS"))
			e.events = strtoull(v, NULL, 10);
		if (r < 0)
			return r;
	}
	e.is_member = e.uuid[0] != 0;
	*ret = e;
	return 0;
}

static int mdadm_path(char **ret)
{
	int r = exec_find("mdadm", ret);

	if (r == -ENOENT)
		return log_error_errno(r, "mdadm not found: install the Debian package mdadm.");
	return r;
}

int md_examine(const char *dev, struct md_examine *ret)
{
	_cleanup_free_ char *mdadm = NULL, *out = NULL, *err = NULL;
	int r;

	r = mdadm_path(&mdadm);
	if (r < 0)
		return r;
	r = exec_run((char *[]){ mdadm, (char *)"--examine", (char *)"--export", (char *)dev, NULL },
		     &out, &err);
	if (r < 0)
		return log_error_errno(r, "Failed to run %s: %m", mdadm);
	/* mdadm exits 1 with nothing on stdout when there is no superblock. */
	if (r != 0 && !*out) {
		*ret = (struct md_examine){};
		return 0;
	}
	r = md_parse_examine(out, ret);
	if (r < 0)
		return log_error_errno(r, "Unexpected output of mdadm --examine --export %s", dev);
	return 0;
}

/* Runs mdadm with @args.  A failure is logged here, once, with mdadm's own
 * message: at error level, or at debug level when @quiet (an attempt that
 * may fail, or one whose caller says what the failure means). */
static int mdadm_run_why(const char *const *args, bool quiet, char **ret_why)
{
	_cleanup_free_ char *mdadm = NULL, *err = NULL;
	const char *argv[64];
	size_t n = 0;
	int r;

	r = mdadm_path(&mdadm);
	if (r < 0)
		return r;
	argv[n++] = mdadm;
	for (; *args; args++) {
		if (n >= ELEMENTSOF(argv) - 1)
			return -E2BIG;
		argv[n++] = *args;
	}
	argv[n] = NULL;

	r = exec_run((char *const *)argv, NULL, &err);
	if (r < 0)
		return log_error_errno(r, "Failed to run %s: %m", mdadm);
	if (r != 0) {
		size_t l = strlen(err);

		while (l && err[l - 1] == '\n')
			err[--l] = 0;
		/* One journal line: mdadm writes one line per complaint. */
		for (char *c = err; (c = strchr(c, '\n')); c++)
			*c = ' ';
		log_full_errno(quiet ? LOG_DEBUG : LOG_ERR, 0, "mdadm %s %s%s%s failed (exit %d): %s",
			       argv[1], argv[2] ? argv[2] : "", argv[2] && argv[3] ? " " : "",
			       argv[2] && argv[3] ? argv[3] : "", r, *err ? err : "no message");
		if (ret_why)
			*ret_why = *err ? TAKE_PTR(err) : NULL;
		return -EIO;
	}
	return 0;
}

static int mdadm_run(const char *const *args, bool quiet)
{
	return mdadm_run_why(args, quiet, NULL);
}

/* mdadm @mddev @op [@member]: the manage mode of one array. */
static int manage(const char *mddev, const char *op, const char *member, bool quiet)
{
	const char *args[] = { mddev, op, member, NULL };

	return mdadm_run(args, quiet);
}

int md_add(const char *mddev, const char *member)
{
	return manage(mddev, "--add", member, false);
}

int md_re_add(const char *mddev, const char *member, char **ret_why)
{
	const char *args[] = { mddev, "--re-add", member, NULL };

	if (ret_why)
		*ret_why = NULL;
	return mdadm_run_why(args, true, ret_why);
}

int md_remove(const char *mddev, const char *member)
{
	return manage(mddev, "--remove", member, false);
}

int md_fail(const char *mddev, const char *member)
{
	return manage(mddev, "--fail", member, false);
}

int md_stop(const char *mddev)
{
	const char *args[] = { "--stop", mddev, NULL };

	return mdadm_run(args, true);
}

int md_zero_superblock(const char *member)
{
	const char *args[] = { "--zero-superblock", member, NULL };

	return mdadm_run(args, false);
}

/* Reads /sys/block/<mdX>/md/<attr> (first line) into @buf. */
static int md_sysfs_read(const char *mddev, const char *attr, char *buf, size_t size)
{
	char md_attr[256];

	if (snprintf(md_attr, sizeof(md_attr), "md/%s", attr) >= (int)sizeof(md_attr))
		return -ENAMETOOLONG;
	return dev_sysfs_read(mddev, md_attr, buf, size);
}

static int md_sysfs_write(const char *mddev, const char *attr, const char *value)
{
	const char *base = strrchr(mddev, '/');
	_cleanup_close_ int fd = -EBADF;
	char path[256];
	ssize_t n;

	base = base ? base + 1 : mddev;
	if (snprintf(path, sizeof(path), "/sys/block/%s/md/%s", base, attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

/* The sync thread an md freeze interrupts ends, and md reaps it, a moment
 * later; until then md still refuses size and slot changes (EBUSY), so
 * wait, bounded, for sync_completed to say "none" (no thread running). */
#define FREEZE_SETTLE_USEC (10ULL * 1000 * 1000)

static void wait_sync_stopped(const char *mddev)
{
	uint64_t deadline = now_usec() + FREEZE_SETTLE_USEC;
	char done[64];

	while (md_sysfs_read(mddev, "sync_completed", done, sizeof(done)) == 0 && !streq(done, "none")) {
		if (now_usec() >= deadline) {
			log_warning("%s: resync still running after freezing it (%s).", mddev, done);
			return;
		}
		(void)poll(NULL, 0, 20);
	}
}

int md_freeze(const char *mddev)
{
	char action[32];
	int r, frozen = 1;

	r = md_sysfs_read(mddev, "sync_action", action, sizeof(action));
	if (r < 0)
		return r;
	if (streq(action, "frozen"))
		frozen = 0;
	else if ((r = md_sysfs_write(mddev, "sync_action", "frozen")) < 0)
		return r;
	wait_sync_stopped(mddev);
	return frozen;
}

void md_thaw(const char *mddev, int frozen)
{
	int r;

	if (frozen <= 0)
		return;
	r = md_sysfs_write(mddev, "sync_action", "idle");
	if (r < 0)
		log_warning_errno(r, "Cannot unfreeze %s; resync waits: %m", mddev);
}

int md_thaw_leftover(const char *mddev)
{
	char action[32];
	int r;

	r = md_sysfs_read(mddev, "sync_action", action, sizeof(action));
	if (r < 0 || !streq(action, "frozen"))
		return r < 0 ? r : 0;
	r = md_sysfs_write(mddev, "sync_action", "idle");
	return r < 0 ? r : 1;
}

int md_grow(const char *mddev, const char *arg, bool force)
{
	int r, frozen;

	/* md refuses to change the size or the slots while a resync or
	 * recovery runs (-EBUSY); frozen, it stops and later resumes from
	 * its checkpoint. */
	frozen = md_freeze(mddev);
	if (frozen < 0)
		log_debug_errno(frozen, "Cannot freeze %s: %m", mddev);
	{
		const char *args[] = { "--grow", mddev, arg, force ? "--force" : NULL, NULL };

		r = mdadm_run(args, false);
	}
	md_thaw(mddev, frozen);
	return r;
}

static int md_sysfs_read_u64(const char *mddev, const char *attr, uint64_t *ret)
{
	char buf[64], *end;
	int r;

	r = md_sysfs_read(mddev, attr, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	*ret = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

int md_member_state(const char *mddev, const char *member, char *buf, size_t size)
{
	const char *base = strrchr(member, '/');
	char attr[96];

	snprintf(attr, sizeof(attr), "dev-%s/state", base ? base + 1 : member);
	return md_sysfs_read(mddev, attr, buf, size);
}

int md_member_read_u64(const char *mddev, const char *member, const char *attr, uint64_t *ret)
{
	const char *base = strrchr(member, '/');
	char path[128];

	snprintf(path, sizeof(path), "dev-%s/%s", base ? base + 1 : member, attr);
	return md_sysfs_read_u64(mddev, path, ret);
}

int md_member_set_write_mostly(const char *mddev, const char *member, bool on)
{
	const char *base = strrchr(member, '/');
	char state[128], attr[96];
	int r;

	r = md_member_state(mddev, member, state, sizeof(state));
	if (r < 0)
		return r;
	/* Flags are ','-separated words; "write_mostly" is one of them. */
	if ((strstr(state, "write_mostly") != NULL) == on)
		return 0;
	snprintf(attr, sizeof(attr), "dev-%s/state", base ? base + 1 : member);
	r = md_sysfs_write(mddev, attr, on ? "writemostly" : "-writemostly");
	return r < 0 ? r : 1;
}

int md_remove_gone(const char *mddev)
{
	const char *base = strrchr(mddev, '/');
	_cleanup_closedir_ DIR *d = NULL;
	char path[256];
	struct dirent *de;
	int r = 0;

	/* What `mdadm --remove failed` does, without an mdadm (a tenth of a
	 * second each in a loaded guest, on the way of a heal): "remove" to
	 * the state of each faulty member (the kernel's state_store()).  A
	 * member md still uses answers EBUSY; its device gone ("detached")
	 * or not, md removes no member it has not failed. */
	base = base ? base + 1 : mddev;
	if (snprintf(path, sizeof(path), "/sys/block/%s/md", base) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char state[128], attr[96];
		int k;

		if (strncmp(de->d_name, "dev-", 4) != 0 ||
		    md_member_state(mddev, de->d_name + 4, state, sizeof(state)) < 0 ||
		    !strstr(state, "faulty") ||
		    snprintf(attr, sizeof(attr), "%s/state", de->d_name) >= (int)sizeof(attr))
			continue;
		k = md_sysfs_write(mddev, attr, "remove");
		if (k == -EBUSY || k == -ENOENT)
			continue;
		if (k < 0) {
			log_debug_errno(k, "Cannot remove faulty member %s of %s: %m", de->d_name + 4,
					mddev);
			if (r == 0)
				r = k;
			continue;
		}
		log_debug("Removed faulty member %s of %s.", de->d_name + 4, mddev);
	}
	return r;
}

bool md_member_in_sync(const char *mddev, const char *member)
{
	char state[128];

	if (md_member_state(mddev, member, state, sizeof(state)) < 0)
		return false;
	/* "in_sync" alone or with flags such as ",write_mostly"; never
	 * together with "faulty". */
	return strstr(state, "in_sync") && !strstr(state, "faulty");
}

int md_holder(const char *sys_block, const char *member, char ret[static 32])
{
	_cleanup_closedir_ DIR *d = NULL;
	const char *base = strrchr(member, '/');
	char path[PATH_MAX];
	struct dirent *de;

	base = base ? base + 1 : member;
	if (!filename_is_valid(base))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s/holders", sys_block ?: "/sys/class/block", base);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((errno = 0, de = readdir(d)))
		if (strncmp(de->d_name, "md", 2) == 0 && strlen(de->d_name) < 32 - STRLEN("/dev/")) {
			snprintf(ret, 32, "/dev/%s", de->d_name);
			return 1;
		}
	return -errno;
}

bool md_array_active(const char *mddev)
{
	char state[64];

	if (md_sysfs_read(mddev, "array_state", state, sizeof(state)) < 0)
		return false;
	return !streq(state, "clear") && !streq(state, "inactive");
}

static int md_start(bool create, const char *name, const char *uuid, const char *const *members,
		    unsigned n, bool run)
{
	char mddev[64], ndev[32], chunk[32], name_arg[64], uuid_arg[64], homehost[32], state[32];
	const char *argv[32 + 64];
	uint64_t size = UINT64_MAX;
	_cleanup_free_ char *node = NULL;
	size_t k = 0;
	int r;

	if (n == 0 || n > 64)
		return -EINVAL;
	snprintf(mddev, sizeof(mddev), "/dev/md/%s", name);
	snprintf(ndev, sizeof(ndev), "--raid-devices=%u", n);
	snprintf(name_arg, sizeof(name_arg), "--name=%s", name);
	snprintf(uuid_arg, sizeof(uuid_arg), "--uuid=%s", uuid);
	snprintf(homehost, sizeof(homehost), "--homehost=%s", MD_HOMEHOST);
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = members[i] ? dev_size_bytes(members[i]) : UINT64_MAX;

		if (s < size)
			size = s;
	}
	snprintf(chunk, sizeof(chunk), "--bitmap-chunk=%uK", md_bitmap_chunk_kib(size));

	if (create) {
		const char *c[] = {
			"--create",	     mddev, "--run",  "--level=1", ndev,    "--metadata=1.2",
			"--bitmap=internal", chunk, homehost, name_arg,	   uuid_arg
		};
		memcpy(argv, c, sizeof(c));
		k = ELEMENTSOF(c);
	} else {
		const char *c[] = { "--assemble", mddev, homehost, uuid_arg };
		memcpy(argv, c, sizeof(c));
		k = ELEMENTSOF(c);
		if (run)
			argv[k++] = "--run";
	}
	for (unsigned i = 0; i < n; i++)
		if (members[i])
			argv[k++] = members[i];
		else if (create)
			argv[k++] = "missing";
	argv[k] = NULL;
	r = mdadm_run(argv, false);
	if (r < 0)
		return r;
	/* An array that was not shut down clean can come up auto-read-only
	 * (md_run() with start_ro, or mdadm -I getting there first), and md
	 * then holds its resync back until the first write: the replicas
	 * would differ, and "in sync" be untrue, for as long as nobody
	 * writes.  Read-write now starts the resync (mdadm --readwrite). */
	node = realpath(mddev, NULL); /* /dev/md/NAME -> /dev/mdN, for sysfs */
	if (node && md_sysfs_read(node, "array_state", state, sizeof(state)) == 0 &&
	    streq(state, "read-auto")) {
		const char *rw[] = { "--readwrite", mddev, NULL };

		r = mdadm_run(rw, false);
	}
	return r;
}

int md_create(const char *name, const char *uuid, const char *const *members, unsigned n)
{
	return md_start(true, name, uuid, members, n, true);
}

int md_assemble(const char *name, const char *uuid, const char *const *members, unsigned n, bool run)
{
	return md_start(false, name, uuid, members, n, run);
}

int md_array_state(const char *mddev, char *buf, size_t size)
{
	return md_sysfs_read(mddev, "array_state", buf, size);
}

int md_sync_action(const char *mddev, char *buf, size_t size)
{
	return md_sysfs_read(mddev, "sync_action", buf, size);
}

int md_sync_completed(const char *mddev, char *buf, size_t size)
{
	return md_sysfs_read(mddev, "sync_completed", buf, size);
}

int md_degraded(const char *mddev, uint64_t *ret)
{
	return md_sysfs_read_u64(mddev, "degraded", ret);
}

int md_component_size_kib(const char *mddev, uint64_t *ret)
{
	return md_sysfs_read_u64(mddev, "component_size", ret);
}

int md_raid_disks(const char *mddev, uint64_t *ret)
{
	return md_sysfs_read_u64(mddev, "raid_disks", ret);
}

int md_sync_speed_read(const char *mddev, const char *attr, unsigned *ret, bool *ret_local)
{
	char buf[64], how[16];
	unsigned long long n;
	int r;

	if (!streq(attr, "sync_speed_max") && !streq(attr, "sync_speed_min"))
		return -EINVAL;
	r = md_sysfs_read(mddev, attr, buf, sizeof(buf));
	if (r < 0)
		return r;
	/* "20000 (local)": set for this array; "200000 (system)": md's sysctl. */
	if (sscanf(buf, "%llu (%15[a-z])", &n, how) != 2 || n > UINT_MAX)
		return -EINVAL;
	*ret = (unsigned)n;
	*ret_local = streq(how, "local");
	return 0;
}

int md_sync_speed_local(const char *mddev, unsigned *ret)
{
	unsigned n;
	bool local;
	int r = md_sync_speed_read(mddev, "sync_speed_max", &n, &local);

	if (r < 0)
		return r;
	if (!local)
		return 0;
	*ret = n;
	return 1;
}

int md_set_sync_speed_min(const char *mddev, const char *min)
{
	return md_sysfs_write(mddev, "sync_speed_min", min);
}

int md_set_sync_speed(const char *mddev, const char *min, const char *max)
{
	int r = md_set_sync_speed_min(mddev, min);

	return r < 0 ? r : md_sysfs_write(mddev, "sync_speed_max", max);
}

unsigned md_open_watches(const char *mddev, int *fds, char (*vals)[MD_WATCH_VAL_MAX], unsigned max)
{
	static const char *const attrs[] = { "degraded", "sync_action", "array_state" };
	_cleanup_closedir_ DIR *d = NULL;
	const char *base = strrchr(mddev, '/');
	char dir[PATH_MAX], path[PATH_MAX + 320];
	struct dirent *de;
	unsigned n = 0;

	snprintf(dir, sizeof(dir), "/sys/block/%s/md", base ? base + 1 : mddev);
	for (size_t i = 0; i < ELEMENTSOF(attrs) && n < max; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, attrs[i]);
		fds[n] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[n] >= 0)
			n++;
	}
	d = opendir(dir);
	while (d && (de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, "dev-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/state", dir, de->d_name);
		fds[n] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[n] >= 0)
			n++;
	}
	/* sysfs: read once, then poll for POLLPRI|POLLERR. */
	for (unsigned i = 0; i < n; i++) {
		char buf[256];
		ssize_t k = pread(fds[i], buf, sizeof(buf) - 1, 0);

		buf[k > 0 ? k : 0] = 0;
		snprintf(vals[i], MD_WATCH_VAL_MAX, "%.*s", (int)strcspn(buf, "\n"), buf);
	}
	return n;
}
