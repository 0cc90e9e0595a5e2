/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-attach VOLUME: ExecStart= of nvmf-raid@.service.
 *
 * Validates the volume file, writes the descriptor and the by-uuid index
 * (which the udev rule reads), connects every replica, waits for udev to
 * report the namespaces, then creates or assembles the RAID1 and returns
 * once /dev/nvmf-raid/VOLUME exists.  Waiting is on udev events with a
 * deadline, never on sleeps.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/blk.h"
#include "lib/descriptor.h"
#include "lib/device.h"
#include "lib/exec.h"
#include "lib/exit-status.h"
#include "lib/fabrics.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/md.h"
#include "lib/teardown.h"
#include "lib/volume.h"

#define LINK_TIMEOUT_USEC (30ULL * 1000000)	/* udev linking a device we made */

struct attach {
	struct vol_volume *vol;
	struct desc *desc;
	struct udev *udev;
	struct udev_monitor *mon;
	char md_name[MD_NAME_MAX + 1];
	char md_uuid[36];
	char link[PATH_MAX];
	bool connected;		/* something was connected: roll back on failure */
};

static void help(void)
{
	printf("Usage: nvmf-raid-attach [OPTIONS] VOLUME\n\n"
	       "Attach an nvmf-raid volume: connect its replicas, create or assemble\n"
	       "its RAID1 array and provide /dev/nvmf-raid/VOLUME.  Run by\n"
	       "nvmf-raid@VOLUME.service; see nvmf-raid@.service(8).\n\n"
	       "  -h --help      Show this help\n"
	       "     --version   Show the version\n");
}

/* Other volume files may be broken; that is their unit's business.  Only a
 * namespace UUID shared with one of them stops this volume. */
static int check_against_others(const struct vol_volume *v)
{
	char **paths = NULL;
	unsigned n = 0;
	int r, saved = log_get_max_level(), ret = 0;

	r = vol_list_files(&paths, &n);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		_cleanup_vol_ struct vol_volume *o = NULL;

		if (ret == 0 && !streq(paths[i], v->path)) {
			log_set_max_level(LOG_CRIT);
			r = vol_load(paths[i], &o);
			log_set_max_level(saved);
			if (r >= 0 && vol_check_cross((struct vol_volume *const[]){ (struct vol_volume *)v, o }, 2) < 0)
				ret = -EINVAL;
		}
		free(paths[i]);
	}
	free(paths);
	return ret;
}

static int load_module(const char *module)
{
	_cleanup_free_ char *modprobe = NULL, *err = NULL;
	struct utsname u;
	int r;

	r = exec_find("modprobe", &modprobe);
	if (r == 0)
		r = exec_run((char *[]){ modprobe, (char *)"-q", (char *)module, NULL }, NULL, &err);
	if (r == 0)
		return 0;
	uname(&u);
	log_error("Kernel module %s is not available: install the Debian package "
		  "linux-image-%s (and kmod).", module, u.release);
	return -ENOENT;
}

static int check_requirements(const struct vol_volume *v)
{
	_cleanup_free_ char *mdadm = NULL;
	static const char *const modules[] = {
		[VOL_TRANSPORT_TCP] = "nvme-tcp",
		[VOL_TRANSPORT_RDMA] = "nvme-rdma",
		[VOL_TRANSPORT_FC] = "nvme-fc",
	};
	bool need[3] = {};
	int r;

	if (v->n_replicas > 1 && exec_find("mdadm", &mdadm) < 0) {
		log_error("%s: mdadm not found: install the Debian package mdadm.", v->name);
		return -ENOENT;
	}
	for (unsigned i = 0; i < v->n_replicas; i++)
		for (unsigned j = 0; j < v->replicas[i].n_portals; j++)
			need[v->replicas[i].portals[j].transport] = true;
	for (unsigned t = 0; t < ELEMENTSOF(modules); t++)
		if (need[t] && (r = load_module(modules[t])) < 0)
			return r;
	if (v->n_replicas > 1)
		return load_module("raid1");
	return 0;
}

/* Records that replica @name of our volume is @dev; 1 if newly present. */
static int note_member(struct attach *a, struct udev_device *dev)
{
	const char *vol = udev_device_get_property_value(dev, "NVMF_RAID_VOLUME");
	const char *rep = udev_device_get_property_value(dev, "NVMF_RAID_REPLICA");
	const char *node = udev_device_get_devnode(dev);
	struct desc_replica *r;
	int k;

	if (!streq(vol, a->vol->name) || !rep || !node)
		return 0;
	if (streq(udev_device_get_action(dev), "remove"))
		return 0;
	r = desc_find_replica(a->desc, rep);
	if (!r || r->state != STATE_ABSENT)
		return 0;
	k = desc_set_string(&r->device, node);
	if (k < 0)
		return k;
	k = state_transition(&r->state, STATE_PRESENT);
	if (k < 0)
		return k;
	log_info("%s: replica %s is %s.", a->vol->name, r->name, node);
	return 1;
}

static unsigned count_present(const struct desc *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->n_replicas; i++)
		n += d->replicas[i].state == STATE_PRESENT;
	return n;
}

/* Namespaces that were there before our index entry (a subsystem shared
 * with another volume, a second start) get a "change" so that udev tags
 * them; ours already tagged are taken as they are. */
static int scan_existing(struct attach *a)
{
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		int r = dev_namespace_by_uuid(a->udev, a->desc->replicas[i].uuid, &dev);

		if (r <= 0)
			continue;
		if (streq(udev_device_get_property_value(dev, "NVMF_RAID_VOLUME"), a->vol->name) &&
		    streq(udev_device_get_property_value(dev, "NVMF_RAID_REPLICA"), a->desc->replicas[i].name))
			r = note_member(a, dev);
		else
			r = dev_trigger_change(udev_device_get_syspath(dev));
		if (r < 0)
			return r;
	}
	return 0;
}

static int wait_members(struct attach *a)
{
	uint64_t deadline = now_usec() + (uint64_t)a->vol->degraded_timeout * 1000000;
	int r;

	r = scan_existing(a);
	while (r >= 0 && count_present(a->desc) < a->desc->n_replicas) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;

		r = dev_monitor_next(a->mon, deadline, &dev);
		if (r == 0)
			break;
		if (r > 0)
			r = note_member(a, dev);
	}
	if (r < 0)
		return log_error_errno(r, "%s: failed waiting for replicas: %m", a->vol->name);
	if (count_present(a->desc) == a->desc->n_replicas)
		return 0;
	for (unsigned i = 0; i < a->desc->n_replicas; i++)
		if (a->desc->replicas[i].state == STATE_ABSENT)
			log_error("%s: replica %s (%s, namespace %s) did not appear within %us.",
				  a->vol->name, a->desc->replicas[i].name, a->desc->replicas[i].nqn,
				  a->desc->replicas[i].uuid, a->vol->degraded_timeout);
	return -ETIMEDOUT;
}

/* Waits until udev made /dev/nvmf-raid/VOLUME. */
static int wait_link(struct attach *a)
{
	uint64_t deadline = now_usec() + LINK_TIMEOUT_USEC;

	for (;;) {
		_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
		int r;

		if (access(a->link, F_OK) == 0)
			return 0;
		r = dev_monitor_next(a->mon, deadline, &dev);
		if (r < 0)
			return r;
		if (r == 0)
			return log_error_errno(ETIMEDOUT, "%s: udev did not create %s.", a->vol->name, a->link);
	}
}

enum md_plan { PLAN_CREATE, PLAN_ASSEMBLE };

/* Create only on blank members, assemble only members of this volume's
 * array; anything else is refused before mdadm touches a byte. */
static int plan_array(struct attach *a, enum md_plan *ret)
{
	unsigned ours = 0, blank = 0;
	int bad = 0;

	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		const struct desc_replica *r = &a->desc->replicas[i];
		_cleanup_free_ char *what = NULL;
		struct md_examine e;
		int k;

		k = md_examine(r->device, &e);
		if (k < 0)
			return k;
		if (e.is_member) {
			if (streq(e.uuid, a->md_uuid)) {
				ours++;
				continue;
			}
			log_error("%s: replica %s (%s) belongs to another md array (%s, uuid %s); not touching it.",
				  a->vol->name, r->name, r->device, e.name, e.uuid);
			bad = -EEXIST;
			continue;
		}
		k = blk_probe_signature(r->device, &what);
		if (k < 0)
			return log_error_errno(k, "%s: failed to probe %s: %m", a->vol->name, r->device);
		if (k > 0) {
			log_error("%s: replica %s (%s) holds a signature (%s); refusing to create the array over it.",
				  a->vol->name, r->name, r->device, what);
			bad = -EEXIST;
			continue;
		}
		blank++;
	}
	if (bad < 0)
		return bad;
	if (ours == a->desc->n_replicas) {
		*ret = PLAN_ASSEMBLE;
		return 0;
	}
	if (blank == a->desc->n_replicas) {
		*ret = PLAN_CREATE;
		return 0;
	}
	log_error("%s: %u replica(s) carry this volume's array and %u are blank; "
		  "refusing to guess (add the blank ones after assembling).",
		  a->vol->name, ours, blank);
	return -EEXIST;
}

static uint64_t device_size(const char *devnode)
{
	char path[128], buf[32];
	_cleanup_fclose_ FILE *f = NULL;
	const char *base = strrchr(devnode, '/');

	snprintf(path, sizeof(path), "/sys/class/block/%s/size", base ? base + 1 : devnode);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		return 0;
	return strtoull(buf, NULL, 10) * 512;
}

static int run_mdadm(struct attach *a, enum md_plan plan)
{
	char mddev[64], ndev[32], chunk[32], name[64], uuid[64], homehost[32];
	const char *argv[32 + VOL_REPLICAS_MAX];
	uint64_t size = UINT64_MAX;
	size_t n = 0;

	snprintf(mddev, sizeof(mddev), "/dev/md/%s", a->md_name);
	snprintf(ndev, sizeof(ndev), "--raid-devices=%u", a->desc->n_replicas);
	snprintf(name, sizeof(name), "--name=%s", a->md_name);
	snprintf(uuid, sizeof(uuid), "--uuid=%s", a->md_uuid);
	snprintf(homehost, sizeof(homehost), "--homehost=%s", MD_HOMEHOST);
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		uint64_t s = device_size(a->desc->replicas[i].device);

		if (s < size)
			size = s;
	}
	snprintf(chunk, sizeof(chunk), "--bitmap-chunk=%uK", md_bitmap_chunk_kib(size));

	if (plan == PLAN_CREATE) {
		const char *create[] = { "--create", mddev, "--run", "--level=1", ndev,
					 "--metadata=1.2", "--bitmap=internal", chunk, homehost,
					 name, uuid };
		memcpy(argv, create, sizeof(create));
		n = ELEMENTSOF(create);
		log_info("%s: creating RAID1 %s over %u replicas.", a->vol->name, mddev, a->desc->n_replicas);
	} else {
		const char *assemble[] = { "--assemble", mddev, homehost, uuid };
		memcpy(argv, assemble, sizeof(assemble));
		n = ELEMENTSOF(assemble);
		log_info("%s: assembling %s from %u replicas.", a->vol->name, mddev, a->desc->n_replicas);
	}
	for (unsigned i = 0; i < a->desc->n_replicas; i++)
		argv[n++] = a->desc->replicas[i].device;
	argv[n] = NULL;
	return md_mdadm_argv(argv);
}

/* The md device (behind the link udev made) and each member's state. */
static int record_array(struct attach *a)
{
	char real[PATH_MAX];
	int r;

	if (!realpath(a->link, real))
		return log_error_errno(errno, "%s: %s vanished: %m", a->vol->name, a->link);
	r = desc_set_string(&a->desc->md.device, real);
	if (r >= 0)
		r = desc_set_string(&a->desc->md.uuid, a->md_uuid);
	if (r >= 0)
		r = desc_set_string(&a->desc->md.name, a->md_name);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < a->desc->n_replicas; i++) {
		struct desc_replica *rep = &a->desc->replicas[i];

		r = state_transition(&rep->state, md_member_in_sync(real, rep->device) ?
					  STATE_IN_SYNC : STATE_REBUILDING);
		if (r < 0)
			return r;
	}
	return 0;
}

static int attach_md(struct attach *a)
{
	enum md_plan plan = PLAN_CREATE;
	int r;

	r = plan_array(a, &plan);
	if (r < 0)
		return r;
	r = md_index_write(a->md_uuid, a->vol->name);
	if (r < 0)
		return log_error_errno(r, "%s: failed to write the array index: %m", a->vol->name);
	r = desc_set_string(&a->desc->md.uuid, a->md_uuid);
	if (r >= 0)
		r = desc_write(a->desc);
	if (r < 0)
		return r;
	r = run_mdadm(a, plan);
	if (r < 0)
		return r;
	r = wait_link(a);
	if (r < 0)
		return r;
	return record_array(a);
}

static int attach_single(struct attach *a)
{
	struct desc_replica *rep = &a->desc->replicas[0];
	int r;

	r = wait_link(a);
	if (r < 0)
		return r;
	return state_transition(&rep->state, STATE_IN_SYNC);
}

/* A second start finds the volume attached and changes nothing. */
static bool already_attached(const struct vol_volume *v, const char *link)
{
	_cleanup_desc_ struct desc *d = NULL;
	struct stat st;

	if (desc_read(v->name, &d) < 0 || stat(link, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	if (v->n_replicas > 1 && (!d->md.device || !md_array_active(d->md.device)))
		return false;
	return true;
}

static int attach_locked(struct attach *a)
{
	int r;

	r = desc_from_volume(a->vol, &a->desc);
	if (r < 0)
		return r;
	r = desc_write_index(a->desc);
	if (r >= 0)
		r = desc_write(a->desc);
	if (r < 0)
		return log_error_errno(r, "%s: failed to write the runtime files: %m", a->vol->name);

	a->udev = udev_new();
	if (!a->udev)
		return log_oom();
	r = dev_monitor_open(a->udev, &a->mon);
	if (r < 0)
		return log_error_errno(r, "%s: failed to listen to udev: %m", a->vol->name);

	/* Connect everything first: the replicas come up in parallel. */
	a->connected = true;
	for (unsigned i = 0; i < a->vol->n_replicas; i++) {
		r = fab_connect_replica(a->vol, &a->vol->replicas[i]);
		if (r < 0)
			log_warning_errno(r, "%s: replica %s: no portal could be connected: %m",
					  a->vol->name, a->vol->replicas[i].name);
	}
	r = wait_members(a);
	if (r < 0)
		return r;
	r = a->vol->n_replicas > 1 ? attach_md(a) : attach_single(a);
	if (r < 0)
		return r;
	r = desc_write(a->desc);
	if (r < 0)
		return r;
	log_info("%s: attached as %s.", a->vol->name, a->link);
	return 0;
}

static void attach_done(struct attach *a)
{
	if (a->mon)
		udev_monitor_unref(a->mon);
	if (a->udev)
		udev_unref(a->udev);
	if (a->desc)
		desc_free(a->desc);
	if (a->vol)
		vol_free(a->vol);
}

static int attach(const char *name)
{
	_cleanup_(attach_done) struct attach a = {};
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int run_fd = -EBADF, lock_fd = -EBADF;
	int r;

	if (!vol_name_is_valid(name)) {
		log_error("Invalid volume name \"%s\": 1 to 64 of [A-Za-z0-9_.-], not starting with '.', '_' or '-'.", name);
		return EXIT_USAGE;
	}
	r = vol_find(name, &path);
	if (r == -ENOENT) {
		log_error("%s: no volume file %s/%s.conf or %s/%s.conf.", name, vol_etc_dir(), name,
			  vol_run_dir(), name);
		return EXIT_USAGE;
	}
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
	/* vol_load() logs why; a file that is not a valid volume file is a
	 * usage error, one that cannot be read a failure. */
	r = vol_load(path, &a.vol);
	if (r < 0)
		return IN_SET(r, -EINVAL, -ELOOP, -EFBIG, -ENOENT) ? EXIT_USAGE : EXIT_FAILED;
	if (check_against_others(a.vol) < 0)
		return EXIT_USAGE;
	r = check_requirements(a.vol);
	if (r < 0)
		return EXIT_MISSING;

	snprintf(a.link, sizeof(a.link), "/dev/nvmf-raid/%s", name);
	md_name_for_volume(name, a.md_name);
	md_uuid_for_volume(name, a.md_uuid);

	r = desc_open_runtime_dir(true, &run_fd);
	if (r >= 0)
		r = lock_volume_at(run_fd, name, true, &lock_fd);
	if (r < 0) {
		log_error_errno(r, "%s: failed to lock the volume: %m", name);
		return EXIT_FAILED;
	}

	if (already_attached(a.vol, a.link)) {
		log_info("%s: already attached as %s.", name, a.link);
		return EXIT_OK;
	}
	r = attach_locked(&a);
	if (r < 0 && a.desc) {
		log_error("%s: attach failed; disconnecting what this volume connected.", name);
		if (a.connected)
			teardown_connections(a.desc);
		teardown_runtime(a.desc);
	}
	lock_fd = unlock_volume_at(run_fd, name, TAKE_FD(lock_fd), false);
	return r < 0 ? EXIT_FAILED : EXIT_OK;
}

int main(int argc, char *argv[])
{
	enum { ARG_VERSION = 0x100 };
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{}
	};
	int c;

	log_setup("nvmf-raid-attach");
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return EXIT_OK;
		case ARG_VERSION:
			printf("nvmf-raid-attach %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind != 1) {
		log_error("Expected exactly one volume name; see --help.");
		return EXIT_USAGE;
	}
	return attach(argv[optind]);
}
