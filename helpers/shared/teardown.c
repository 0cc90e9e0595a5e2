/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "event.h"
#include "fabrics.h"
#include "fileio.h"
#include "log.h"
#include "md.h"
#include "teardown.h"

/* Whether another attached volume has a replica on subsystem @nqn. */
static int nqn_used_elsewhere(const char *volume, const char *nqn)
{
	_cleanup_closedir_ DIR *dir = NULL;
	const char *rt;
	struct dirent *de;
	int r;

	r = desc_runtime_dir(&rt);
	if (r < 0)
		return r;
	dir = opendir(rt);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		_cleanup_desc_ struct desc *o = NULL;
		char name[VOL_NAME_MAX + 1];
		size_t l = strlen(de->d_name);

		if (l <= 5 || l - 5 > VOL_NAME_MAX || !streq(de->d_name + l - 5, ".json"))
			continue;
		memcpy(name, de->d_name, l - 5);
		name[l - 5] = 0;
		if (streq(name, volume) || !vol_name_is_valid(name))
			continue;
		if (desc_read(name, &o) < 0)
			continue;
		for (unsigned i = 0; i < o->n_replicas; i++)
			if (streq(o->replicas[i].nqn, nqn)) {
				log_info("%s: keeping %s connected, volume %s uses it too.", volume,
					 nqn, name);
				return 1;
			}
	}
	return 0;
}

/* Whether subsystem @nqn must stay connected although @d lets it go: for
 * another volume, or for whoever uses one of its other namespaces.  Our
 * own namespaces are not counted (released by now: array stopped).  When
 * that cannot be told, it stays: a controller left connected costs a
 * reconnecting connection, one pulled from under its user costs data. */
static int nqn_kept(const struct desc *d, const char *nqn)
{
	struct vol_ns_id own[VOL_REPLICAS_MAX];
	_cleanup_free_ char *why = NULL;
	size_t n = 0;
	int r;

	r = nqn_used_elsewhere(d->volume, nqn);
	if (r != 0)
		return r;
	for (unsigned i = 0; i < d->n_replicas; i++)
		if (streq(d->replicas[i].nqn, nqn))
			own[n++] = d->replicas[i].ns;
	r = dev_subsys_in_use(NULL, nqn, own, n, &why);
	if (r < 0) {
		log_warning_errno(r, "%s: keeping %s connected: cannot tell whether its other namespaces are in use: %m",
				  d->volume, nqn);
		return 1;
	}
	if (r > 0)
		log_info("%s: keeping %s connected: %s.", d->volume, nqn, why);
	return r;
}

int teardown_connections(const struct desc *d)
{
	int ret = 0;

	for (unsigned i = 0; i < d->n_replicas; i++) {
		const char *nqn = d->replicas[i].nqn;
		bool seen = false;
		int r;

		for (unsigned j = 0; j < i; j++)
			seen = seen || streq(d->replicas[j].nqn, nqn);
		if (seen)
			continue;
		r = nqn_kept(d, nqn);
		if (r == 0)
			r = fab_disconnect_nqn(nqn);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* The array of @d: the one holding a namespace of @d's replicas, found by
 * its identity (the descriptor's device names may be stale, or reused by
 * another volume's namespaces); md_holder() lists inactive arrays too (a
 * killed mdadm --assemble). */
static bool array_of(const struct desc *d, char ret[static 32])
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	char link[PATH_MAX], real[PATH_MAX];

	for (unsigned i = 0; udev && i < d->n_replicas; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		const char *node;

		if (dev_namespace_find_at(udev, d->replicas[i].nqn, &d->replicas[i].ns,
					  d->replicas[i].device, &dev) > 0 &&
		    (node = udev_device_get_devnode(dev)) && md_holder(NULL, node, ret) > 0)
			return true;
	}
	/* No namespace left in it (all lost): the descriptor's array, if
	 * our link still names it; its number may be another's by now. */
	if (!d->md.device || snprintf(link, sizeof(link), "/dev/nvmf-raid/%s", d->volume) < 0 ||
	    !realpath(link, real) || !streq(real, d->md.device) || !md_array_active(d->md.device))
		return false;
	snprintf(ret, 32, "%s", d->md.device);
	return true;
}

int teardown_array(const struct desc *d)
{
	char mddev[32];
	bool active;

	if (d->n_replicas < 2 || !array_of(d, mddev))
		return 0;
	active = md_array_active(mddev);
	/* md refuses to stop an array that is open: that is the "held open"
	 * check for arrays, done by the kernel, race free. */
	if (md_stop(mddev) < 0)
		return log_error_errno(EBUSY, "%s: %s could not be stopped (held open?); not detaching.",
				       d->volume, mddev);
	if (active)
		event_emit(EVENT_ARRAY_STOPPED, d->volume, NULL, NULL, "%s: array %s stopped.",
			   d->volume, mddev);
	return 1;
}

int teardown_runtime(const struct desc *d)
{
	int r, ret = 0;

	if (d->md.uuid) {
		r = desc_md_index_remove(d->md.uuid);
		if (r < 0)
			ret = r;
	}
	if (d->md.device) {
		r = desc_md_dev_index_remove(d->md.device, d->volume);
		if (r < 0 && ret == 0)
			ret = r;
	}
	r = desc_remove(d->volume);
	if (r < 0 && ret == 0)
		ret = r;
	/* A namespace that stays connected (shared subsystem) still carries
	 * our tag and, for one replica, the /dev/nvmf-raid link: let udev
	 * process it again now that the index entry is gone. */
	for (unsigned i = 0; i < d->n_replicas; i++) {
		const char *dev = d->replicas[i].device;
		char syspath[128];

		if (!dev || strncmp(dev, "/dev/", 5) != 0 || !filename_is_valid(dev + 5))
			continue;
		snprintf(syspath, sizeof(syspath), "/sys/class/block/%s", dev + 5);
		if (access(syspath, F_OK) == 0)
			dev_trigger_change(syspath);
	}
	return ret;
}
