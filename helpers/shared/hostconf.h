/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hostconf_: /etc/nvmf-raid/host.conf, the settings of the host rather
 * than of one volume (nvmf-raid.conf(5)).  Optional, and so is every key;
 * read with the volume files' reader, so the same strict rules and the
 * same messages apply (file, section, key, line).
 *
 *   [rebuild]
 *   max-concurrent = 2   ; arrays rebuilding at once, host-wide (0: no limit)
 *   rate =               ; KiB/s cap of each rebuild (md's sync_speed_max);
 *                        ; empty or 0: md's own default
 *
 *   [metrics]
 *   path = /var/lib/prometheus/node-exporter/nvmf-raid.prom
 *                        ; the textfile collector's file; empty: none
 *   interval = 15        ; seconds between updates of the counters
 */

#include <limits.h>

#include <stdbool.h>

#define HOSTCONF_PATH SYSCONFDIR "/nvmf-raid/host.conf"
/* The tests point hostconf_path() elsewhere; ignored in setuid programs. */
#define HOSTCONF_PATH_ENV "NVMF_RAID_HOST_CONF"

/* Two: one long full recovery does not hold back every short bitmap
 * re-add behind it, and the surviving replicas and the returning node
 * still serve the applications (see nvmf-raid.conf(5)). */
#define HOSTCONF_MAX_CONCURRENT_DEFAULT 2
#define HOSTCONF_MAX_CONCURRENT_MAX 256
#define HOSTCONF_RATE_MAX 100000000 /* KiB/s: 100 GiB/s, beyond any link */
/* The directory Debian's prometheus-node-exporter reads
 * (--collector.textfile.directory in /etc/default/prometheus-node-exporter). */
#define HOSTCONF_METRICS_PATH_DEFAULT "/var/lib/prometheus/node-exporter/nvmf-raid.prom"
/* node_exporter's default scrape is every 15 s: fresher is not seen. */
#define HOSTCONF_METRICS_INTERVAL_DEFAULT 15
#define HOSTCONF_METRICS_INTERVAL_MAX 3600

struct hostconf {
	unsigned rebuild_max_concurrent; /* 0: no limit */
	unsigned rebuild_rate;		 /* KiB/s, 0: md's default */
	char metrics_path[PATH_MAX];	 /* absolute, ends in ".prom"; "" for none */
	unsigned metrics_interval;	 /* seconds, 1.. */
};

/**
 * hostconf_path() - $NVMF_RAID_HOST_CONF if set and not empty, else
 * HOSTCONF_PATH
 */
const char *hostconf_path(void);

/**
 * hostconf_defaults() - @ret with every key at its default
 */
void hostconf_defaults(struct hostconf *ret);

/**
 * hostconf_load() - read and validate the file @path (NULL: hostconf_path())
 * @flags:	0, or VOL_LOAD_QUIET: log none of its problems (vol_load_flags())
 * @ret:	the settings; the defaults if the file does not exist
 *
 * The file is opened O_NOFOLLOW and must be a regular file, as a volume
 * file.
 * Return: 1 if the file was read, 0 if it does not exist (defaults), or
 * as vol_load(): -EINVAL, -ELOOP, -EFBIG, other negative errno; every
 * failure is logged (unless quiet), and @ret then holds the defaults.
 */
int hostconf_load(const char *path, unsigned flags, struct hostconf *ret);
