/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * metrics_: event counters, gathering and rendering (metrics.h).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libudev.h>

#include "descriptor.h"
#include "device.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "parse-util.h"
#include "state.h"

static void metrics_volumes_free_one(struct metrics_volume *v)
{
	status_volume_free(v->status);
	free(v->events);
	*v = (struct metrics_volume){};
}

void metrics_volumes_free(struct metrics_volume *v, unsigned n)
{
	for (unsigned i = 0; v && i < n; i++)
		metrics_volumes_free_one(&v[i]);
	free(v);
}

/* The next blank-separated number of a stat line. */
static int parse_field(const char **s, uint64_t *ret)
{
	*s += strspn(*s, " \t");
	return parse_u64_at(s, ret);
}

int metrics_parse_stat(const char *text, struct metrics_io *ret)
{
	uint64_t f[8];

	assert(text);
	assert(ret);
	*ret = (struct metrics_io){};
	for (size_t i = 0; i < ELEMENTSOF(f); i++)
		if (parse_field(&text, &f[i]) < 0)
			return -EINVAL;
	*ret = (struct metrics_io){ .valid = true,
				    .reads = f[0],
				    .read_sectors = f[2],
				    .read_ms = f[3],
				    .writes = f[4],
				    .write_sectors = f[6],
				    .write_ms = f[7] };
	return 0;
}

static void io_add(struct metrics_io *to, const struct metrics_io *a)
{
	to->valid = true;
	to->reads += a->reads;
	to->read_sectors += a->read_sectors;
	to->read_ms += a->read_ms;
	to->writes += a->writes;
	to->write_sectors += a->write_sectors;
	to->write_ms += a->write_ms;
}

/* @dev's counters.  A multipath namespace head "nvmeAnB" counts nothing
 * on kernels without io stats on the head, and its requests are really
 * done on its paths, "nvmeAcCnB" (nvme_mpath_set_disk_name(),
 * drivers/nvme/host/multipath.c): their sum, C each controller "nvmeC" of
 * subsystem A (/sys/class/nvme-subsystem/nvme-subsysA, a few entries,
 * where /sys/block holds every device of the host).  A device without
 * paths (multipath off) has its own. */
static void replica_io(const char *dev, struct metrics_io *ret)
{
	_cleanup_closedir_ DIR *dir = NULL;
	const char *name = strrchr(dev, '/');
	unsigned subsys, nsid;
	struct metrics_io one;
	struct dirent *de;
	char buf[256];
	int end = 0;

	*ret = (struct metrics_io){};
	name = name ? name + 1 : dev;
	if (sscanf(name, "nvme%un%u%n", &subsys, &nsid, &end) == 2 && name[end] == 0) {
		snprintf(buf, sizeof(buf), "/sys/class/nvme-subsystem/nvme-subsys%u", subsys);
		dir = opendir(buf);
	}
	while (dir && (de = readdir(dir))) {
		char path[64];
		unsigned c;

		end = 0;
		if (sscanf(de->d_name, "nvme%u%n", &c, &end) != 1 || de->d_name[end] != 0)
			continue;
		snprintf(path, sizeof(path), "nvme%uc%un%u", subsys, c, nsid);
		if (dev_sysfs_read(path, "stat", buf, sizeof(buf)) == 0 &&
		    metrics_parse_stat(buf, &one) == 0)
			io_add(ret, &one);
	}
	if (!ret->valid && dev_sysfs_read(name, "stat", buf, sizeof(buf)) == 0)
		(void)metrics_parse_stat(buf, ret);
}

static const char *event_replica_label(const char *replica)
{
	return replica && *replica ? replica : "-";
}

int metrics_parse_events(const char *text, struct metrics_event_count **ret, unsigned *ret_n)
{
	_cleanup_free_ struct metrics_event_count *c = NULL;
	unsigned n = 0;

	assert(text);
	c = calloc(METRICS_EVENT_LINES_MAX, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (const char *l = text; *l && n < METRICS_EVENT_LINES_MAX;) {
		const char *end = strchrnul(l, '\n');
		char name[32], replica[VOL_REPLICA_NAME_MAX + 2];
		unsigned long long count;
		char line[128];
		int e = -1;

		if ((size_t)(end - l) < sizeof(line)) {
			memcpy(line, l, (size_t)(end - l));
			line[end - l] = 0;
			if (sscanf(line, "%31s %33s %llu", name, replica, &count) == 3 &&
			    strlen(replica) <= VOL_REPLICA_NAME_MAX)
				e = event_from_string(name);
		}
		if (e >= 0) {
			c[n] = (struct metrics_event_count){ .event = (enum event)e, .count = count };
			if (!streq(replica, "-"))
				strcpy(c[n].replica, replica);
			n++;
		}
		l = *end ? end + 1 : end;
	}
	*ret = TAKE_PTR(c);
	*ret_n = n;
	return 0;
}

static int events_format(const struct metrics_event_count *c, unsigned n, char **ret, size_t *ret_size)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *text = NULL;
	size_t size = 0;

	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s %s %" PRIu64 "\n", event_to_string(c[i].event),
			event_replica_label(c[i].replica), c[i].count);
	if (fclose(TAKE_PTR(f)) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(text);
	*ret_size = size;
	return 0;
}

int metrics_count_event(const char *volume, const char *replica, enum event e)
{
	_cleanup_free_ struct metrics_event_count *c = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dir = -EBADF, fd = -EBADF;
	unsigned n = 0, i;
	size_t size;
	int r;

	if (!vol_name_is_valid(volume) || (replica && strlen(replica) > VOL_REPLICA_NAME_MAX) ||
	    e >= _EVENT_MAX)
		return -EINVAL;
	r = desc_open_subdir(METRICS_EVENTS_DIR, true, NULL, &dir);
	if (r < 0)
		return r;
	fd = openat(dir, volume, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0)
		return -errno;
	r = read_file_fd(fd, 64 * 1024, &text, NULL);
	if (r < 0)
		return r;
	r = metrics_parse_events(text, &c, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (c[i].event == e && streq(c[i].replica, replica ? replica : ""))
			break;
	if (i == n) {
		if (n == METRICS_EVENT_LINES_MAX)
			return -E2BIG;
		c[n] = (struct metrics_event_count){ .event = e };
		if (replica)
			strcpy(c[n].replica, replica);
		n++;
	}
	c[i].count++;
	free(TAKE_PTR(text));
	r = events_format(c, n, &text, &size);
	if (r < 0)
		return r;
	/* In place, under the lock: readers take it shared. */
	if (pwrite(fd, text, size, 0) != (ssize_t)size || ftruncate(fd, (off_t)size) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

static int read_events(int dir, const char *volume, struct metrics_volume *v)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = openat(dir, volume, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH) < 0)
		return -errno;
	r = read_file_fd(fd, 64 * 1024, &text, NULL);
	if (r < 0)
		return r;
	return metrics_parse_events(text, &v->events, &v->n_events);
}

static int cmp_volumes(const void *a, const void *b)
{
	return strcmp(((const struct metrics_volume *)a)->status->name,
		      ((const struct metrics_volume *)b)->status->name);
}

static void gather_one(int events, struct metrics_volume *v)
{
	struct status_volume *s = v->status;
	char buf[32];

	if (events >= 0 && read_events(events, s->name, v) < 0)
		log_debug("%s: cannot read its event counters.", s->name);
	if (s->md && s->has_sync && dev_sysfs_read(s->md, "md/sync_speed", buf, sizeof(buf)) == 0)
		v->sync_speed_kib = (unsigned)strtoul(buf, NULL, 10);
	for (unsigned i = 0; i < s->n_replicas; i++)
		if (s->replicas[i].device)
			replica_io(s->replicas[i].device, &v->io[i]);
}

int metrics_gather(struct metrics_volume **ret, unsigned *ret_n, unsigned *ret_attached)
{
	_cleanup_(udev_unrefp) struct udev *udev = NULL;
	_cleanup_close_ int run = -EBADF, events = -EBADF;
	struct metrics_volume *v = NULL;
	char **names = NULL;
	unsigned n = 0, nv = 0, attached = 0;
	int r;

	*ret = NULL;
	*ret_n = *ret_attached = 0;
	r = desc_open_runtime_dir(false, &run);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = vol_names_in_dir(run, ".json", &names, &n, NULL);
	if (r >= 0 && open_dir_secure_at(run, METRICS_EVENTS_DIR, &events) == 0)
		r = vol_names_in_dir(events, "", &names, &n, NULL);
	if (r >= 0 && n > 0) {
		udev = udev_new();
		v = calloc(n, sizeof(*v));
		if (!udev || !v)
			r = -ENOMEM;
	}
	for (unsigned i = 0; r >= 0 && i < n; i++) {
		int k = status_gather(udev, names[i], &v[nv].status);

		if (k == -ENOMEM)
			r = k;
		if (k < 0)
			continue;
		gather_one(events, &v[nv]);
		attached += v[nv].status->attached;
		nv++;
	}
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0) {
		metrics_volumes_free(v, nv);
		return r;
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), cmp_volumes);
	*ret = v;
	*ret_n = nv;
	*ret_attached = attached;
	return 0;
}

/* Whether @name is to be exported: attached (a descriptor), or with
 * events counted. */
static bool exported(int run, int events, const char *name)
{
	char json[VOL_NAME_MAX + sizeof(".json")];

	snprintf(json, sizeof(json), "%s.json", name);
	return faccessat(run, json, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	       (events >= 0 && faccessat(events, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0);
}

int metrics_regather(struct metrics_volume **v, unsigned *n, char *const *names, unsigned n_names,
		     unsigned *ret_attached)
{
	_cleanup_(udev_unrefp) struct udev *udev = NULL;
	_cleanup_close_ int run = -EBADF, events = -EBADF;
	int r;

	r = desc_open_runtime_dir(false, &run);
	if (r < 0 && r != -ENOENT)
		return r;
	if (run >= 0)
		(void)open_dir_secure_at(run, METRICS_EVENTS_DIR, &events);
	for (unsigned i = 0; i < n_names; i++) {
		struct metrics_volume one = {};
		unsigned j = 0;

		if (!vol_name_is_valid(names[i]))
			continue;
		while (j < *n && !streq((*v)[j].status->name, names[i]))
			j++;
		if (run >= 0 && exported(run, events, names[i])) {
			if (!udev && !(udev = udev_new()))
				return -ENOMEM;
			r = status_gather(udev, names[i], &one.status);
			if (r == -ENOMEM)
				return r;
		}
		if (one.status)
			gather_one(events, &one);
		if (j < *n) {
			metrics_volumes_free_one(&(*v)[j]);
			if (one.status)
				(*v)[j] = one;
			else {
				memmove(&(*v)[j], &(*v)[j + 1], (*n - j - 1) * sizeof(**v));
				(*n)--;
			}
		} else if (one.status) {
			struct metrics_volume *p = reallocarray(*v, *n + 1, sizeof(**v));

			if (!p) {
				metrics_volumes_free_one(&one);
				return -ENOMEM;
			}
			*v = p;
			(*v)[(*n)++] = one;
		}
	}
	if (*n > 0)
		qsort(*v, *n, sizeof(**v), cmp_volumes);
	*ret_attached = 0;
	for (unsigned i = 0; i < *n; i++)
		*ret_attached += (*v)[i].status->attached;
	return 0;
}

/* --- rendering ---------------------------------------------------------- */

/* Label values are names we validated (volume, replica, states), but
 * escape as the format asks anyway: \\, \" and \n. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void vol_sample(FILE *f, const char *name, const struct status_volume *s, const char *extra_key,
		       const char *extra_val, const char *value)
{
	fprintf(f, "%s{volume=", name);
	label(f, s->name);
	if (extra_key) {
		fprintf(f, ",%s=", extra_key);
		label(f, extra_val);
	}
	fprintf(f, "} %s\n", value);
}

static void rep_sample(FILE *f, const char *name, const struct status_volume *s, unsigned i,
		       const char *extra_key, const char *extra_val, const char *value)
{
	fprintf(f, "%s{volume=", name);
	label(f, s->name);
	fputs(",replica=", f);
	label(f, s->replicas[i].name);
	if (extra_key) {
		fprintf(f, ",%s=", extra_key);
		label(f, extra_val);
	}
	fprintf(f, "} %s\n", value);
}

static const char *u64s(char buf[static 32], uint64_t n)
{
	snprintf(buf, 32, "%" PRIu64, n);
	return buf;
}

/* Milliseconds as seconds, exactly: "1.234". */
static const char *ms_s(char buf[static 32], uint64_t ms)
{
	snprintf(buf, 32, "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
	return buf;
}

static void render_volumes(FILE *f, const struct metrics_volume *v, unsigned n)
{
	char b[32];

	family(f, "nvmf_raid_volume_state", "gauge",
	       "Volume state as nvmf-raid status reports it: 1 for the current state.");
	for (unsigned i = 0; i < n; i++)
		for (int st = 0; st < _STATUS_STATE_MAX; st++)
			vol_sample(f, "nvmf_raid_volume_state", v[i].status, "state",
				   status_state_to_string(st), v[i].status->state == st ? "1" : "0");
	family(f, "nvmf_raid_volume_attached", "gauge", "1 while the volume is attached.");
	for (unsigned i = 0; i < n; i++)
		vol_sample(f, "nvmf_raid_volume_attached", v[i].status, NULL, NULL,
			   v[i].status->attached ? "1" : "0");
	family(f, "nvmf_raid_volume_size_bytes", "gauge", "Size of /dev/nvmf-raid/VOLUME.");
	for (unsigned i = 0; i < n; i++)
		if (v[i].status->size != STATUS_SIZE_UNKNOWN)
			vol_sample(f, "nvmf_raid_volume_size_bytes", v[i].status, NULL, NULL,
				   u64s(b, v[i].status->size));
	family(f, "nvmf_raid_md_degraded", "gauge", "md's count of array members missing (md/degraded).");
	for (unsigned i = 0; i < n; i++)
		if (v[i].status->md && v[i].status->running)
			vol_sample(f, "nvmf_raid_md_degraded", v[i].status, NULL, NULL,
				   u64s(b, v[i].status->md_degraded));
	family(f, "nvmf_raid_rebuild_progress_ratio", "gauge",
	       "Part of the array md has resynced or recovered, 0 to 1, while it does.");
	for (unsigned i = 0; i < n; i++)
		if (v[i].status->has_sync) {
			snprintf(b, sizeof(b), "%.4f",
				 (double)v[i].status->sync_completed / (double)v[i].status->sync_total);
			vol_sample(f, "nvmf_raid_rebuild_progress_ratio", v[i].status, NULL, NULL, b);
		}
	family(f, "nvmf_raid_rebuild_rate_bytes_per_second", "gauge",
	       "md's current resync or recovery speed (md/sync_speed), while it runs.");
	for (unsigned i = 0; i < n; i++)
		if (v[i].status->has_sync)
			vol_sample(f, "nvmf_raid_rebuild_rate_bytes_per_second", v[i].status, NULL,
				   NULL, u64s(b, (uint64_t)v[i].sync_speed_kib * 1024));
	family(f, "nvmf_raid_rebuild_queued", "gauge",
	       "1 while the array waits for a host-wide rebuild slot (host.conf max-concurrent).");
	for (unsigned i = 0; i < n; i++)
		if (v[i].status->attached)
			vol_sample(f, "nvmf_raid_rebuild_queued", v[i].status, NULL, NULL,
				   v[i].status->rebuild_queued ? "1" : "0");
}

static void render_replicas(FILE *f, const struct metrics_volume *v, unsigned n)
{
	family(f, "nvmf_raid_replica_state", "gauge", "Replica state: 1 for the current state.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned r = 0; v[i].status->attached && r < v[i].status->n_replicas; r++)
			for (int st = 0; st < _STATE_MAX; st++)
				rep_sample(f, "nvmf_raid_replica_state", v[i].status, r, "state",
					   state_to_string(st),
					   v[i].status->replicas[r].state == st ? "1" : "0");
	family(f, "nvmf_raid_replica_in_sync", "gauge", "1 while the replica is an in-sync array member.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned r = 0; v[i].status->attached && r < v[i].status->n_replicas; r++)
			rep_sample(f, "nvmf_raid_replica_in_sync", v[i].status, r, NULL, NULL,
				   v[i].status->replicas[r].state == STATE_IN_SYNC ? "1" : "0");
	family(f, "nvmf_raid_replica_reachable", "gauge",
	       "1 while a controller of the replica's subsystem is live.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned r = 0; v[i].status->attached && r < v[i].status->n_replicas; r++)
			rep_sample(f, "nvmf_raid_replica_reachable", v[i].status, r, NULL, NULL,
				   v[i].status->replicas[r].reachable ? "1" : "0");
}

/* The block layer's counters of each replica, as the host sees it. */
static void render_io(FILE *f, const struct metrics_volume *v, unsigned n)
{
	static const struct {
		const char *name, *help;
		size_t off;
		int kind; /* 0 count, 1 sectors as bytes, 2 ms as seconds */
	} fams[] = {
		{ "nvmf_raid_replica_reads_completed_total", "Reads completed on the replica.",
		  offsetof(struct metrics_io, reads), 0 },
		{ "nvmf_raid_replica_read_bytes_total", "Bytes read from the replica.",
		  offsetof(struct metrics_io, read_sectors), 1 },
		{ "nvmf_raid_replica_read_time_seconds_total", "Time the replica's reads took, summed.",
		  offsetof(struct metrics_io, read_ms), 2 },
		{ "nvmf_raid_replica_writes_completed_total", "Writes completed on the replica.",
		  offsetof(struct metrics_io, writes), 0 },
		{ "nvmf_raid_replica_written_bytes_total", "Bytes written to the replica.",
		  offsetof(struct metrics_io, write_sectors), 1 },
		{ "nvmf_raid_replica_write_time_seconds_total",
		  "Time the replica's writes took, summed.", offsetof(struct metrics_io, write_ms), 2 },
	};
	char b[32];

	for (size_t k = 0; k < ELEMENTSOF(fams); k++) {
		family(f, fams[k].name, "counter", fams[k].help);
		for (unsigned i = 0; i < n; i++)
			for (unsigned r = 0; r < v[i].status->n_replicas; r++) {
				uint64_t x;

				if (!v[i].io[r].valid)
					continue;
				memcpy(&x, (const char *)&v[i].io[r] + fams[k].off, sizeof(x));
				rep_sample(f, fams[k].name, v[i].status, r, NULL, NULL,
					   fams[k].kind == 2 ? ms_s(b, x) :
							       u64s(b, fams[k].kind ? x * 512 : x));
			}
	}
}

static void render_events(FILE *f, const struct metrics_volume *v, unsigned n)
{
	char b[32];

	family(f, "nvmf_raid_events_total", "counter",
	       "Events since boot (journal MESSAGE_IDs of nvmf-raid.catalog), by replica (\"\" for the "
	       "volume's own).");
	for (unsigned i = 0; i < n; i++)
		for (unsigned e = 0; e < v[i].n_events; e++) {
			const struct metrics_event_count *c = &v[i].events[e];

			fputs("nvmf_raid_events_total{volume=", f);
			label(f, v[i].status->name);
			fputs(",replica=", f);
			label(f, c->replica);
			fputs(",event=", f);
			label(f, event_to_string(c->event));
			fprintf(f, "} %s\n", u64s(b, c->count));
		}
}

int metrics_render(const struct metrics_volume *v, unsigned n, char **ret_text)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *text = NULL;
	size_t size = 0;

	assert(ret_text);
	for (unsigned i = 0; i < n; i++)
		if (!status_state_to_string(v[i].status->state))
			return -EINVAL;
	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	render_volumes(f, v, n);
	render_replicas(f, v, n);
	render_io(f, v, n);
	render_events(f, v, n);
	if (fclose(TAKE_PTR(f)) != 0)
		return -ENOMEM;
	*ret_text = TAKE_PTR(text);
	return 0;
}
