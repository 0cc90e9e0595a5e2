/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "exec.h"
#include "failover.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

/* "nvme<S>n<N>" -> S and N; a path of it is "nvme<S>c<C>n<N>". */
static int parse_head(const char *head, unsigned *s, unsigned *n)
{
	int end = 0;

	if (sscanf(head, "nvme%un%u%n", s, n, &end) != 2 || head[end] != 0)
		return -EINVAL;
	return 0;
}

static bool is_path_of(const char *name, unsigned s, unsigned n)
{
	unsigned s2, c, n2;
	int end = 0;

	return sscanf(name, "nvme%uc%un%u%n", &s2, &c, &n2, &end) == 3 && name[end] == 0 && s2 == s &&
	       n2 == n;
}

/* Where the path devices are: /sys/block, or a unit test's tree. */
static const char *sys_block = "/sys/block";

void fo_sysfs_block(const char *dir)
{
	sys_block = dir ?: "/sys/block";
}

/* /sys/block/P/stat: the completed reads (1), writes (5), discards (12)
 * and flushes (16), and the requests in flight (9), of
 * Documentation/block/stat.rst; older kernels print fewer fields. */
static void stat_parse(const char *stat, uint64_t *completed, uint64_t *inflight)
{
	uint64_t f[17] = {};
	unsigned k = 0;
	const char *p = stat;

	while (k < ELEMENTSOF(f)) {
		char *end;
		uint64_t v = strtoull(p, &end, 10);

		if (end == p)
			break;
		f[k++] = v;
		p = end;
	}
	*completed += f[0] + f[4] + f[11] + f[15];
	*inflight += f[8];
}

static void path_close(struct fo_path *p)
{
	p->state_fd = safe_close(p->state_fd);
	p->stat_fd = safe_close(p->stat_fd);
}

static void paths_close(struct fo_track *t)
{
	for (unsigned i = 0; i < t->n_paths; i++)
		path_close(&t->paths[i]);
	t->n_paths = 0;
}

void fo_volume_close(struct fo_volume *v)
{
	for (unsigned i = 0; i < v->n; i++)
		paths_close(&v->r[i]);
}

void fo_volume_load(struct fo_volume *v, const struct desc *d)
{
	struct fo_volume old = *v;
	bool kept[ELEMENTSOF(old.r)] = {};

	memset(v, 0, sizeof(*v));
	snprintf(v->volume, sizeof(v->volume), "%s", d->volume);
	/* Off: never fail over; "suspended" is still told, after 2 s. */
	v->fail_over = d->settings.fast_io_fail_tmo >= 0;
	v->tmo_sec = v->fail_over ? (unsigned)d->settings.fast_io_fail_tmo : 2;
	snprintf(v->notify, sizeof(v->notify), "%s", d->settings.notify ?: "");
	v->suspended = old.suspended;
	v->suspended_since = old.suspended_since;
	for (unsigned i = 0; i < d->n_replicas && i < ELEMENTSOF(v->r); i++) {
		const struct desc_replica *r = &d->replicas[i];
		struct fo_track *t = &v->r[v->n++];
		const char *base = r->device ? strrchr(r->device, '/') : NULL;

		for (unsigned j = 0; j < old.n; j++)
			if (!kept[j] && streq(old.r[j].name, r->name)) {
				*t = old.r[j];
				kept[j] = true;
				break;
			}
		snprintf(t->name, sizeof(t->name), "%s", r->name);
		snprintf(t->nqn, sizeof(t->nqn), "%s", r->nqn);
		snprintf(t->head, sizeof(t->head), "%s", base ? base + 1 : "");
		t->in_sync = r->state == STATE_IN_SYNC;
		t->member = t->in_sync || r->state == STATE_REBUILDING;
		/* A pass: whoever reset a path's settings, they are set again. */
		t->recheck = true;
	}
	for (unsigned j = 0; j < old.n; j++)
		if (!kept[j])
			paths_close(&old.r[j]);
}

/* Writes @value to the sysfs attribute @path unless it reads @shown. */
static int attr_ensure(const char *path, const char *shown, const char *value)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	size_t len = strlen(value);

	if (dev_attr_read(path, buf, sizeof(buf)) == 0 && streq(buf, shown))
		return 0;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		return -errno;
	return 1;
}

/* fo_sample()'s take-over of path @name; a write that fails is tried
 * again after the next pass. */
static void take_over(const char *name, unsigned io_timeout_ms)
{
	char path[PATH_MAX], ms[16];
	int k;

	snprintf(ms, sizeof(ms), "%u", io_timeout_ms);
	snprintf(path, sizeof(path), "%s/%s/queue/io_timeout", sys_block, name);
	k = attr_ensure(path, ms, ms);
	if (k < 0)
		log_debug_errno(k, "Cannot set %s: %m", path);
	/* The kernel shows -1 as "off". */
	snprintf(path, sizeof(path), "%s/%s/device/fast_io_fail_tmo", sys_block, name);
	k = attr_ensure(path, "off", "-1");
	if (k < 0)
		log_debug_errno(k, "Cannot set %s: %m", path);
}

static void path_open(struct fo_path *p, const char *name, ino_t ino)
{
	char path[PATH_MAX];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->ino = ino;
	snprintf(path, sizeof(path), "%s/%s/device/state", sys_block, name);
	p->state_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s/stat", sys_block, name);
	p->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
}

/* The first line of the attribute open at @fd, read again from its start:
 * sysfs shows it anew for a read at offset 0 (seq_read_iter()). */
static int fd_attr_read(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENODATA;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Adds path @p to @s.  Return: whether both its files could be read (a
 * deleted device's read -ENODEV, kernfs). */
static bool path_read(const struct fo_path *p, struct fo_sample *s)
{
	char buf[512];
	bool ok = true;

	if (fd_attr_read(p->state_fd, buf, sizeof(buf)) == 0) {
		if (streq(buf, "live"))
			s->live++;
	} else
		ok = false;
	if (fd_attr_read(p->stat_fd, buf, sizeof(buf)) == 0)
		stat_parse(buf, &s->completed, &s->inflight);
	else
		ok = false;
	return ok;
}

/* Reads the paths @t holds open, as they were at the last scan.
 * Return: true if the sample is healthy (every path read, every one live,
 * requests completing or none in flight): nothing for a scan to add. */
static bool sample_open(const struct fo_track *t, struct fo_sample *s)
{
	for (unsigned i = 0; i < t->n_paths; i++) {
		s->paths++;
		if (!path_read(&t->paths[i], s) || s->live != s->paths)
			return false;
	}
	return s->paths > 0 && (s->inflight == 0 || s->completed != t->completed);
}

int fo_sample(struct fo_track *t, unsigned take_over_ms, struct fo_sample *ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct fo_sample s = {};
	bool seen[FO_PATHS_MAX] = {};
	struct dirent *de;
	unsigned sub, ns, k = 0;

	*ret = s;
	if (!t->head[0]) {
		paths_close(t);
		return 0;
	}
	if (parse_head(t->head, &sub, &ns) < 0)
		return -EINVAL;
	/* Between scans, the open paths: a scan of /sys/block for each
	 * replica at every sample cost 8 monitors healing at once a fifth
	 * of the guest's CPU.  A path that is not healthy, a pass, or every
	 * FO_RESCAN_SAMPLES samples (a path added: another portal's
	 * controller) scan again. */
	if (!t->recheck && t->since_scan + 1 < FO_RESCAN_SAMPLES && sample_open(t, &s)) {
		t->since_scan++;
		*ret = s;
		return 0;
	}
	s = (struct fo_sample){};
	t->since_scan = 0;
	d = opendir(sys_block);
	while (d && (de = readdir(d))) {
		struct fo_path extra = { .state_fd = -EBADF, .stat_fd = -EBADF }, *p = NULL;

		if (!is_path_of(de->d_name, sub, ns))
			continue;
		for (unsigned i = 0; i < t->n_paths && !p; i++)
			if (!seen[i] && t->paths[i].ino == de->d_ino &&
			    streq(t->paths[i].name, de->d_name)) {
				p = &t->paths[i];
				seen[i] = true;
			}
		if (take_over_ms > 0 && (!p || t->recheck))
			take_over(de->d_name, take_over_ms);
		if (!p) {
			p = t->n_paths < FO_PATHS_MAX ? &t->paths[t->n_paths] : &extra;
			path_open(p, de->d_name, de->d_ino);
			if (p != &extra)
				seen[t->n_paths++] = true;
		}
		s.paths++;
		(void)path_read(p, &s);
		if (p == &extra)
			path_close(&extra);
	}
	t->recheck = false;
	/* The paths that went (a deleted controller, a removed namespace). */
	for (unsigned i = 0; i < t->n_paths; i++) {
		if (seen[i])
			t->paths[k++] = t->paths[i];
		else
			path_close(&t->paths[i]);
	}
	t->n_paths = k;
	*ret = s;
	return 0;
}

bool fo_update(struct fo_track *t, const struct fo_sample *s, uint64_t now, uint64_t tmo_usec)
{
	bool unreachable = s->live == 0;
	bool stuck = s->inflight > 0 && s->completed == t->completed;

	t->quiet = s->paths > 0 && s->live == s->paths && s->inflight == 0 && s->completed == t->completed;
	t->completed = s->completed;
	if (!unreachable && !stuck) {
		t->bad_since = 0;
		t->lost = false;
		return false;
	}
	if (t->bad_since == 0)
		t->bad_since = now;
	t->lost = now - t->bad_since >= tmo_usec;
	return t->lost;
}

/* Healthy, not merely not lost yet: when every replica went at once, the
 * first to reach the timeout must not be failed because the others have
 * not reached it. */
bool fo_can_fail(const struct fo_volume *v, unsigned i)
{
	for (unsigned j = 0; j < v->n; j++)
		if (j != i && v->r[j].in_sync && v->r[j].bad_since == 0)
			return true;
	return false;
}

bool fo_quiet(const struct fo_volume *v)
{
	if (v->suspended)
		return false;
	for (unsigned j = 0; j < v->n; j++) {
		const struct fo_track *t = &v->r[j];

		if (t->deleting > 0 || t->connecting > 0 || (t->member && (!t->quiet || t->bad_since)))
			return false;
	}
	return true;
}

bool fo_all_lost(const struct fo_volume *v)
{
	unsigned in_sync = 0;

	for (unsigned j = 0; j < v->n; j++) {
		if (!v->r[j].in_sync)
			continue;
		if (!v->r[j].lost)
			return false;
		in_sync++;
	}
	return in_sync > 0;
}

unsigned fo_io_timeout_ms(unsigned tmo_sec)
{
	return (tmo_sec + 1) * 1000;
}

pid_t fo_delete_ctrls(const char *nqn)
{
	pid_t pid = exec_fork();

	if (pid != 0)
		return pid;

	/* The child: only sysfs writes, then _exit(). */
	_cleanup_closedir_ DIR *d = opendir("/sys/class/nvme");
	struct dirent *de;
	int failed = 0;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX], val[256];
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/nvme/%s/subsysnqn", de->d_name);
		if (dev_attr_read(path, val, sizeof(val)) < 0 || !streq(val, nqn))
			continue;
		snprintf(path, sizeof(path), "/sys/class/nvme/%s/delete_controller", de->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1)
			failed = 1;
		if (fd >= 0)
			close(fd);
	}
	_exit(failed);
}
