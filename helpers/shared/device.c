/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "fileio.h"
#include "log.h"

uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int dev_monitor_open(struct udev *udev, struct udev_monitor **ret)
{
	_cleanup_(udev_monitor_unrefp) struct udev_monitor *mon = NULL;

	mon = udev_monitor_new_from_netlink(udev, "udev");
	if (!mon)
		return negative_errno();
	if (udev_monitor_filter_add_match_subsystem_devtype(mon, "block", "disk") < 0 ||
	    udev_monitor_filter_add_match_tag(mon, DEV_TAG) < 0)
		return -ENOMEM;
	/* Events may come in bursts (a trigger storm); do not lose them. */
	udev_monitor_set_receive_buffer_size(mon, 8 * 1024 * 1024);
	if (udev_monitor_enable_receiving(mon) < 0)
		return negative_errno();
	*ret = TAKE_PTR(mon);
	return 0;
}

bool dev_udev_busy(struct udev *udev)
{
	_cleanup_(udev_queue_unrefp) struct udev_queue *q = udev_queue_new(udev);

	return q && udev_queue_get_queue_is_empty(q) == 0;
}

int dev_monitor_next(struct udev_monitor *mon, uint64_t deadline_usec, struct udev_device **ret)
{
	struct pollfd p = { .fd = udev_monitor_get_fd(mon), .events = POLLIN };

	for (;;) {
		struct udev_device *d;
		uint64_t now = now_usec();
		int r;

		if (now >= deadline_usec)
			return 0;
		r = poll(&p, 1, (int)((deadline_usec - now + 999) / 1000));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		d = udev_monitor_receive_device(mon);
		if (d) {
			*ret = d;
			return 1;
		}
	}
}

int dev_trigger_change(const char *syspath)
{
	_cleanup_close_ int fd = -EBADF;
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/uevent", syspath) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (write(fd, "change", 6) != 6)
		return -errno;
	return 0;
}

/* A sysfs attribute of @dev, "\n" stripped by libudev; NULL if absent. */
static const char *attr(struct udev_device *dev, const char *name)
{
	const char *v = udev_device_get_sysattr_value(dev, name);

	return v && *v ? v : NULL;
}

int dev_ns_id_parse(const char *uuid, const char *nguid, const char *nsid, struct vol_ns_id *ret)
{
	long n;

	*ret = (struct vol_ns_id){};
	ret->has_uuid = uuid && vol_uuid_parse(uuid, ret->uuid) == 0;
	ret->has_nguid = nguid && vol_nguid_parse(nguid, ret->nguid) == 0;
	if (!nsid || vol_parse_int(nsid, 1, VOL_NSID_MAX, false, &n) < 0)
		return -ENODEV;
	ret->nsid = (uint32_t)n;
	return 0;
}

int dev_ns_identity(struct udev_device *dev, char ret_nqn[static VOL_NQN_MAX + 1], struct vol_ns_id *ret)
{
	struct udev_device *parent;
	const char *v, *nqn;
	struct vol_ns_id id;

	/* Native multipath: nvmeXcYnZ are hidden paths without a device node;
	 * nvmeXnY is the head md must use. */
	v = attr(dev, "hidden");
	if ((v && streq(v, "1")) || !streq(udev_device_get_devtype(dev) ?: "", "disk"))
		return -ENODEV;
	if (dev_ns_id_parse(attr(dev, "uuid"), attr(dev, "nguid"), attr(dev, "nsid"), &id) < 0)
		return -ENODEV;
	/* The head hangs below its nvme-subsystem, a namespace without
	 * multipath below its controller: both know the subsystem NQN. */
	parent = udev_device_get_parent(dev);
	nqn = parent ? attr(parent, "subsysnqn") : NULL;
	if (!nqn || strlen(nqn) > VOL_NQN_MAX)
		return -ENODEV;
	memcpy(ret_nqn, nqn, strlen(nqn) + 1);
	*ret = id;
	return 0;
}

bool dev_ns_ctrl_live(struct udev_device *ns)
{
	struct udev_device *parent = udev_device_get_parent(ns);
	const char *sub = parent ? udev_device_get_subsystem(parent) : NULL, *v;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (!sub)
		return false;
	if (streq(sub, "nvme"))
		return (v = attr(parent, "state")) && streq(v, "live");
	if (!streq(sub, "nvme-subsystem"))
		return false;
	/* The nvme-subsystem links each of its controllers by name. */
	d = opendir(udev_device_get_syspath(parent));
	while (d && (de = readdir(d))) {
		char path[PATH_MAX], state[32];

		if (strncmp(de->d_name, "nvme", 4) != 0 || !de->d_name[4] ||
		    strspn(de->d_name + 4, "0123456789") != strlen(de->d_name + 4))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/state", udev_device_get_syspath(parent),
			     de->d_name) >= (int)sizeof(path))
			continue;
		if (dev_attr_read(path, state, sizeof(state)) == 0 && streq(state, "live"))
			return true;
	}
	return false;
}

/* Whether @d is the visible namespace of subsystem @nqn that @want names. */
static bool namespace_is(struct udev_device *d, const char *nqn, const struct vol_ns_id *want)
{
	char seen_nqn[VOL_NQN_MAX + 1];
	struct vol_ns_id seen;

	return udev_device_get_devnode(d) && dev_ns_identity(d, seen_nqn, &seen) == 0 &&
	       streq(seen_nqn, nqn) && vol_ns_id_matches(want, &seen);
}

int dev_namespace_find_at(struct udev *udev, const char *nqn, const struct vol_ns_id *want,
			  const char *hint, struct udev_device **ret)
{
	_cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e = NULL;
	struct udev_list_entry *item;
	char u[37];

	if (hint) {
		const char *base = strrchr(hint, '/');
		struct udev_device *d;

		base = base ? base + 1 : hint;
		d = filename_is_valid(base) ? udev_device_new_from_subsystem_sysname(udev, "block", base) :
					      NULL;
		if (d && namespace_is(d, nqn, want)) {
			*ret = d;
			return 1;
		}
		udev_device_unref(d);
	}
	e = udev_enumerate_new(udev);
	if (!e)
		return -ENOMEM;
	if (udev_enumerate_add_match_subsystem(e, "block") < 0 ||
	    udev_enumerate_add_match_sysattr(e, "nsid", NULL) < 0)
		return -ENOMEM;
	if (want->has_uuid) {
		vol_uuid_format(want->uuid, u);
		if (udev_enumerate_add_match_sysattr(e, "uuid", u) < 0)
			return -ENOMEM;
	}
	if (udev_enumerate_scan_devices(e) < 0)
		return -ENOMEM;
	udev_list_entry_foreach(item, udev_enumerate_get_list_entry(e))
	{
		struct udev_device *d = udev_device_new_from_syspath(udev, udev_list_entry_get_name(item));

		if (!d)
			continue;
		if (namespace_is(d, nqn, want)) {
			*ret = d;
			return 1;
		}
		udev_device_unref(d);
	}
	return 0;
}

int dev_namespace_find(struct udev *udev, const char *nqn, const struct vol_ns_id *want,
		       struct udev_device **ret)
{
	return dev_namespace_find_at(udev, nqn, want, NULL, ret);
}

int dev_attr_read(const char *path, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	assert(size > 0);
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		return ferror(f) ? -EIO : -ENODATA;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int dev_sysfs_read(const char *dev, const char *attr, char *buf, size_t size)
{
	const char *base = strrchr(dev, '/');
	char path[PATH_MAX];

	base = base ? base + 1 : dev;
	if (!filename_is_valid(base))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/sys/block/%s/%s", base, attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return dev_attr_read(path, buf, size);
}

uint64_t dev_size_bytes(const char *dev)
{
	char buf[32], *end;
	unsigned long long sectors;

	if (dev_sysfs_read(dev, "size", buf, sizeof(buf)) < 0)
		return 0;
	errno = 0;
	sectors = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return 0;
	return (uint64_t)sectors * 512;
}
