/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-probe: run by rules/63-nvmf-raid.rules (IMPORT{program}) for
 * every visible NVMe namespace.  Prints the KEY=VALUE lines that make it
 * a replica of an attached volume, or nothing:
 *
 *   NVMF_RAID_VOLUME=<volume>
 *   NVMF_RAID_REPLICA=<replica>
 *   NVMF_RAID_SINGLE=<0|1>
 *
 * A replica's namespace is named by UUID, NGUID or NSID within its
 * subsystem (contract.md), which a udev rule cannot compare on its own:
 * the NQN and the identifiers of the namespace are checked here against
 * the index entry (descriptor-index.c).  Read-only and quick, as udev
 * wants from an import: sysfs and at most three small files.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "descriptor.h"
#include "device.h"
#include "exit-status.h"
#include "log.h"
#include "macro.h"

static int probe(const char *devpath)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(udev_device_unrefp) struct udev_device *dev = NULL;
	_cleanup_free_ char *syspath = NULL;
	char nqn[VOL_NQN_MAX + 1];
	struct desc_index_entry e;
	struct vol_ns_id seen;
	int r;

	/* udev's $devpath: "/devices/…", never "..". */
	if (devpath[0] != '/' || strstr(devpath, "/..") || asprintf(&syspath, "/sys%s", devpath) < 0)
		return log_error_errno(EINVAL, "Not a device path: %s", devpath);
	if (!udev)
		return log_oom();
	dev = udev_device_new_from_syspath(udev, syspath);
	if (!dev)
		return log_debug_errno(errno, "%s: no such device: %m", syspath);
	r = dev_ns_identity(dev, nqn, &seen);
	if (r < 0)
		return log_debug_errno(r, "%s: not a visible NVMe namespace.", syspath);
	r = desc_index_find(nqn, &seen, &e);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_warning_errno(r, "%s: cannot read the nvmf-raid index: %m", syspath);
	printf("NVMF_RAID_VOLUME=%s\nNVMF_RAID_REPLICA=%s\nNVMF_RAID_SINGLE=%d\n", e.volume, e.replica,
	       e.single);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "version", no_argument, NULL, 'V' },
						 {} };
	int c;

	log_setup("nvmf-raid-probe");
	while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			printf("Usage: nvmf-raid-probe DEVPATH\n\n"
			       "Run by udev for an NVMe namespace (DEVPATH as udev's $devpath): prints\n"
			       "NVMF_RAID_VOLUME=, NVMF_RAID_REPLICA= and NVMF_RAID_SINGLE= if it is a\n"
			       "replica of an attached nvmf-raid volume, else nothing.\n"
			       "  -h --help      Show this help\n"
			       "  -V --version   Show the version\n");
			return EXIT_OK;
		case 'V':
			printf("nvmf-raid-probe %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind != 1) {
		log_error("Expected one device path; see --help.");
		return EXIT_USAGE;
	}
	/* Not ours, or unreadable: print nothing, and let udev go on. */
	return probe(argv[optind]) < 0 ? EXIT_FAILED : EXIT_OK;
}
