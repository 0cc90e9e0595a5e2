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

/* /sys/block/P/stat: the completed reads (1), writes (5), discards (12)
 * and flushes (16) of Documentation/block/stat.rst; older kernels print
 * fewer fields. */
static uint64_t completed_of(const char *stat)
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
	return f[0] + f[4] + f[11] + f[15];
}

void fo_volume_load(struct fo_volume *v, const struct desc *d)
{
	struct fo_volume old = *v;

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
			if (streq(old.r[j].name, r->name)) {
				*t = old.r[j];
				break;
			}
		snprintf(t->name, sizeof(t->name), "%s", r->name);
		snprintf(t->nqn, sizeof(t->nqn), "%s", r->nqn);
		snprintf(t->head, sizeof(t->head), "%s", base ? base + 1 : "");
		t->in_sync = r->state == STATE_IN_SYNC;
		t->member = t->in_sync || r->state == STATE_REBUILDING;
	}
}

/* Writes @value to the sysfs attribute @path unless it reads @shown. */
static int attr_ensure(const char *path, const char *shown, const char *value)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	size_t len = strlen(value);

	if (dev_attr_read(path, buf, sizeof(buf)) == 0 && streq(buf, shown))
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len)
		return -errno;
	return 1;
}

/* fo_sample()'s take-over of path @name; a write that fails is tried
 * again on the next sample. */
static void take_over(const char *name, unsigned io_timeout_ms)
{
	char path[PATH_MAX], ms[16];
	int k;

	snprintf(ms, sizeof(ms), "%u", io_timeout_ms);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/io_timeout", name);
	k = attr_ensure(path, ms, ms);
	if (k < 0)
		log_debug_errno(k, "Cannot set %s: %m", path);
	/* The kernel shows -1 as "off". */
	snprintf(path, sizeof(path), "/sys/block/%s/device/fast_io_fail_tmo", name);
	k = attr_ensure(path, "off", "-1");
	if (k < 0)
		log_debug_errno(k, "Cannot set %s: %m", path);
}

int fo_sample(const char *head, unsigned take_over_ms, struct fo_sample *ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct fo_sample s = {};
	struct dirent *de;
	unsigned sub, ns;

	if (parse_head(head, &sub, &ns) < 0)
		return -EINVAL;
	d = opendir("/sys/block");
	while (d && (de = readdir(d))) {
		char path[PATH_MAX], buf[512];
		unsigned long long rd, wr;

		if (!is_path_of(de->d_name, sub, ns))
			continue;
		if (take_over_ms > 0)
			take_over(de->d_name, take_over_ms);
		s.paths++;
		snprintf(path, sizeof(path), "/sys/block/%s/device/state", de->d_name);
		if (dev_attr_read(path, buf, sizeof(buf)) == 0 && streq(buf, "live"))
			s.live++;
		snprintf(path, sizeof(path), "/sys/block/%s/inflight", de->d_name);
		if (dev_attr_read(path, buf, sizeof(buf)) == 0 && sscanf(buf, "%llu %llu", &rd, &wr) == 2)
			s.inflight += rd + wr;
		snprintf(path, sizeof(path), "/sys/block/%s/stat", de->d_name);
		if (dev_attr_read(path, buf, sizeof(buf)) == 0)
			s.completed += completed_of(buf);
	}
	*ret = s;
	return 0;
}

bool fo_update(struct fo_track *t, const struct fo_sample *s, uint64_t now, uint64_t tmo_usec)
{
	bool unreachable = s->live == 0;
	bool stuck = s->inflight > 0 && s->completed == t->completed;

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
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
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
