/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * metrics_: the volumes and replicas in Prometheus' text exposition
 * format, for node_exporter's textfile collector (contract.md "Metrics";
 * nvmf-raid@.service(8) METRICS).  Three parts:
 *
 *   event counters  metrics_count_event(), called by event_emit(): one
 *                   file per volume in RUNTIME/events/, "EVENT REPLICA N"
 *                   lines, updated under flock(); kept across detach
 *                   until reboot, so a counter only ever grows (as the
 *                   kernel's since boot).
 *   gathering       metrics_gather(): status_gather() of every attached
 *                   volume and of every volume that counted an event,
 *                   the md rebuild speed, and each replica's block I/O
 *                   counters (/sys/block/DEV/stat; for a multipath
 *                   namespace head, the sum over its path devices, since
 *                   the head keeps none on every kernel).
 *   rendering       metrics_render(): pure; names and units as Prometheus'
 *                   conventions ask: nvmf_raid_ prefix, base units
 *                   (seconds, bytes), _total for counters, enum states as
 *                   a "state" label with 0 or 1 (node_exporter's systemd
 *                   collector does the same).
 */

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "status.h"

#define METRICS_EVENTS_DIR "events"
#define METRICS_EVENT_LINES_MAX 256

/* A replica's block I/O since its device appeared (/sys/block/DEV/stat,
 * Documentation/block/stat.rst): requests completed, 512-byte sectors,
 * milliseconds spent. */
struct metrics_io {
	bool valid;
	uint64_t reads, read_sectors, read_ms;
	uint64_t writes, write_sectors, write_ms;
};

struct metrics_event_count {
	enum event event;
	char replica[VOL_REPLICA_NAME_MAX + 1]; /* "" for the volume's own events */
	uint64_t count;
};

struct metrics_volume {
	struct status_volume *status; /* owned */
	unsigned sync_speed_kib;      /* md's sync_speed while it syncs, KiB/s */
	struct metrics_io io[VOL_REPLICAS_MAX];
	struct metrics_event_count *events; /* owned */
	unsigned n_events;
};

/**
 * metrics_volumes_free() - free @n volumes of metrics_gather() and the array
 */
void metrics_volumes_free(struct metrics_volume *v, unsigned n);

/**
 * metrics_count_event() - add one to @volume's count of @e for @replica
 * @volume:	a valid volume name
 * @replica:	the replica, or NULL for an event of the volume
 * @e:		the event
 *
 * Return: 0, -EINVAL for an invalid name, -E2BIG when the file holds
 * METRICS_EVENT_LINES_MAX counts already, other negative errno.
 */
int metrics_count_event(const char *volume, const char *replica, enum event e);

/**
 * metrics_parse_events() - parse an event counter file
 * @text:	"EVENT REPLICA N" lines, REPLICA "-" for the volume's events
 * @ret:	the counts, to free(); lines that do not parse are skipped
 * @ret_n:	how many
 *
 * Return: 0 or -ENOMEM.
 */
int metrics_parse_events(const char *text, struct metrics_event_count **ret, unsigned *ret_n);

/**
 * metrics_parse_stat() - parse /sys/block/DEV/stat
 * @text:	its content: at least 8 decimal fields
 * @ret:	reads, sectors read, ms reading (fields 1, 3, 4), and the
 *		same for writes (5, 7, 8)
 *
 * Return: 0, or -EINVAL if it has fewer fields or one is no number.
 */
int metrics_parse_stat(const char *text, struct metrics_io *ret);

/**
 * metrics_gather() - every volume to export, with its live status
 * @ret:	the volumes, sorted by name; free with metrics_volumes_free()
 * @ret_n:	how many; 0 when no volume is attached and none counted an
 *		event (then there is nothing to export)
 * @ret_attached: how many of them are attached
 *
 * A volume that cannot be read is exported with what could be (its
 * status says "failed", "error" set), never left out.
 *
 * Return: 0 or negative errno (-ENOMEM; the runtime directory unreadable).
 */
int metrics_gather(struct metrics_volume **ret, unsigned *ret_n, unsigned *ret_attached);

/**
 * metrics_regather() - metrics_gather() of the volumes @names only, into
 * the @n volumes @v of an earlier gather: each is gathered anew and
 * replaces its old entry, is added, or is dropped when it is neither
 * attached nor has events counted; @v stays sorted
 * @ret_attached: how many of all @n are attached
 *
 * For the metrics writer, on a change of a few volumes' descriptors or
 * counters: a gather of every volume, under 8 volumes changing several
 * times a second, cost a Debian 13 guest 27 s of CPU in 12 minutes.
 * Return: 0 or negative errno (-ENOMEM: @v and @n stay valid).
 */
int metrics_regather(struct metrics_volume **v, unsigned *n, char *const *names, unsigned n_names,
		     unsigned *ret_attached);

/**
 * metrics_render() - @n volumes in the text exposition format, with HELP
 * and TYPE lines for each metric family
 * @ret_text:	the text, to free()
 *
 * Return: 0, -EINVAL for an invalid state in a volume, or -ENOMEM.
 */
int metrics_render(const struct metrics_volume *v, unsigned n, char **ret_text);
