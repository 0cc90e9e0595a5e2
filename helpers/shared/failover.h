/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fo_: when a replica's I/O fails over to md — decided here, per volume,
 * not by the kernel's fast_io_fail_tmo.
 *
 * Why not the kernel's timer: it runs per controller and knows nothing of
 * the other replicas.  When every replica goes at once (a switch reboots),
 * each controller's timer fails its I/O; md fails all members but the
 * last, then hands the last one's error to the application and marks the
 * array broken (raid1_error(), kernel 5.19+: MD_BROKEN refuses every
 * later write until the array is stopped).  A plain NVMe volume with
 * os-brick's options would have waited.  So the kernel's fast_io_fail_tmo
 * is off (I/O queues while a path reconnects, as multipath's
 * queue_if_no_path), and the monitor fails a replica over
 * only when another in-sync replica is reachable: by deleting its
 * controllers, which fails its queued I/O at once ("no available path")
 * so md marks it faulty.  With no in-sync replica reachable, nothing is
 * deleted: I/O waits (the volume is "suspended") and resumes when any of
 * them returns.
 *
 * Controllers are connected with the volume's fast_io_fail_tmo, for the
 * attach, which has no monitor yet; the monitor turns it off as it takes
 * a member over (fo_sample()).
 *
 * A replica is lost when none of its paths is live, or when I/O is in
 * flight on it and none completes (a silent partition: the controller
 * stays live until keep-alive notices, 2 x keep-alive-tmo and more), for
 * fast-io-fail-tmo seconds.  The in-flight I/O of a live but silent
 * controller completes only when it times out, so each path's block
 * queue gets an I/O timeout of fast-io-fail-tmo + 1 s (fo_io_timeout_ms()):
 * it fires after the controller is being deleted, and a request that
 * times out then is failed, not retried (nvme_tcp_timeout()).
 */

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "descriptor.h"
#include "volume.h"

/* What the paths of one replica's namespace show now (sysfs). */
struct fo_sample {
	unsigned paths;	    /* path devices nvmeXcYnZ of the head */
	unsigned live;	    /* of them, on a controller in state "live" */
	uint64_t inflight;  /* requests in flight, all paths */
	uint64_t completed; /* requests completed, all paths (reads, writes, discards, flushes) */
};

/* A path device of a replica's namespace, open between samples: a sample
 * then costs two pread()s per path, not the lookups and opens of two to
 * five sysfs files (of a monitor that samples four times a second). */
struct fo_path {
	char name[40]; /* "nvme0c1n1" */
	ino_t ino;     /* of its /sys/block entry: a new device of the same name is another */
	int state_fd;  /* device/state: the controller's state */
	int stat_fd;   /* stat: completed and in-flight requests */
};

#define FO_PATHS_MAX 8
/* A healthy replica's paths are looked up again (a scan of /sys/block)
 * every this many samples; an unhealthy one's at every sample. */
#define FO_RESCAN_SAMPLES 16

/* What the monitor remembers of a replica between samples. */
struct fo_track {
	char name[VOL_REPLICA_NAME_MAX + 1];
	char nqn[VOL_NQN_MAX + 1];
	char head[32]; /* "nvme0n1", or "" */
	bool member;   /* an array member md has not failed (in-sync or rebuilding) */
	bool in_sync;
	uint64_t completed;
	uint64_t bad_since; /* usec: not live, or stuck, since; 0: healthy */
	bool quiet; /* last sample: every path live, nothing in flight or completed since the one before */
	bool lost;
	pid_t deleting;	  /* the child deleting its controllers, or 0 */
	pid_t connecting; /* the child connecting it again, or 0 */
	bool held;	  /* lost, kept for another volume's sake (logged once) */
	/* The key files' state when a connect was tried (connect_keys) and
	 * when one was refused for its authentication (refused_keys, 0:
	 * none refused), when (refused_at, usec) and how many times in a
	 * row with the same key files (refused): retried after a back-off
	 * (reconcile.c). */
	uint64_t connect_keys, refused_keys, refused_at;
	unsigned refused;
	/* Reconnects in a row that did not connect (reconcile.c), and
	 * whether the replica's portals refusing was logged. */
	unsigned away;
	bool told_away;
	/* The paths seen at the last sample, open (fo_sample()); taken over
	 * when first seen and again after each fo_volume_load(). */
	struct fo_path paths[FO_PATHS_MAX];
	unsigned n_paths;
	bool recheck;
	unsigned since_scan; /* samples of the open paths since the last scan */
};

struct fo_volume {
	char volume[VOL_NAME_MAX + 1];
	unsigned n;
	struct fo_track r[VOL_REPLICAS_MAX];
	unsigned tmo_sec;      /* fast-io-fail-tmo; 2 when it is off */
	bool fail_over;	       /* fast-io-fail-tmo is not -1 (off) */
	char notify[PATH_MAX]; /* the notify program, or "" */
	bool suspended;
	uint64_t suspended_since; /* usec */
};

/**
 * fo_volume_load() - take the replicas of @d (names, subsystems, devices,
 * states) into @v, keeping what @v tracked of replicas of the same name;
 * closes the paths of the replicas it drops
 */
void fo_volume_load(struct fo_volume *v, const struct desc *d);

/**
 * fo_volume_close() - close the paths @v holds open
 */
void fo_volume_close(struct fo_volume *v);

/**
 * fo_sample() - read the paths of @t's namespace head (@t->head,
 * "nvme0n1") from /sys/block: every nvme<S>c<C>n<N> of it, its
 * controller's state, its completed and in-flight requests (the stat
 * file, Documentation/block/stat.rst)
 * @take_over_ms: 0, or make the monitor the one to fail the head's I/O
 *		over: on every path, set the block queue's io_timeout to this
 *		many milliseconds and the controller's fast_io_fail_tmo off
 *		(-1), where they differ.  Done for a path when it is first
 *		seen, and for all after fo_volume_load() (every pass).  Until
 *		the monitor takes a member over, its controllers keep the
 *		fast_io_fail_tmo they were connected with (the volume's): while
 *		attach or a reconnect runs there is no monitor to fail anything
 *		over, and an I/O error then fails that step, not an
 *		application's write.
 *
 * The paths stay open in @t between samples (up to FO_PATHS_MAX, the rest
 * are opened for each sample); a path whose /sys/block entry is gone or
 * is another device of the same name is closed.  /sys/block is scanned
 * again after fo_volume_load(), whenever the open paths do not all read
 * live and completing, and every FO_RESCAN_SAMPLES samples: a path added
 * to a healthy head (a controller through another portal) is counted
 * and taken over within that many samples.
 * Return: 0 (paths 0 when the head is gone or @t has none), or -EINVAL
 * for a name that is not a namespace head.
 */
int fo_sample(struct fo_track *t, unsigned take_over_ms, struct fo_sample *ret);

/**
 * fo_sysfs_block() - read the path devices under @dir instead of
 * /sys/block (unit tests); NULL: /sys/block again
 */
void fo_sysfs_block(const char *dir);

/**
 * fo_update() - account @s taken at @now (usec) to @t
 * @tmo_usec:	how long a replica may be unreachable or stuck before it
 *		counts as lost
 *
 * Unreachable: no path, or none live.  Stuck: requests in flight and the
 * completed count unchanged since the previous sample.
 * Return: true if @t is lost now.
 */
bool fo_update(struct fo_track *t, const struct fo_sample *s, uint64_t now, uint64_t tmo_usec);

/**
 * fo_can_fail() - whether the lost replica @i of @v may be failed over:
 * another in-sync member of the array is healthy (reachable, I/O
 * completing), not merely not lost yet
 */
bool fo_can_fail(const struct fo_volume *v, unsigned i);

/**
 * fo_quiet() - whether nothing happens on @v: every member was quiet at
 * its last sample (fo_update()), none is being failed over or connected,
 * I/O is not suspended.  A quiet array needs no sampling to notice a
 * stall until I/O starts again.
 */
bool fo_quiet(const struct fo_volume *v);

/**
 * fo_all_lost() - whether @v has in-sync members and every one is lost
 * (no data reachable: I/O waits)
 */
bool fo_all_lost(const struct fo_volume *v);

/**
 * fo_io_timeout_ms() - the block I/O timeout of a path for a volume with
 * fast-io-fail-tmo @tmo_sec, in milliseconds
 */
unsigned fo_io_timeout_ms(unsigned tmo_sec);

/**
 * fo_delete_ctrls() - start deleting every controller of subsystem @nqn
 * (sysfs delete_controller) in a child process: the write returns only
 * once the controller's requests are gone, which for a silent one is its
 * I/O timeout
 * Return: the child's pid, or negative errno.
 */
pid_t fo_delete_ctrls(const char *nqn);
