/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * event_: what admins and tools key on (contract.md "Events").  Each event
 * is one journal message with a MESSAGE_ID (catalog/nvmf-raid.catalog
 * explains it), and, for the six the contract names, a run of the
 * volume's notify program as "PROGRAM EVENT VOLUME REPLICA" (argv, no
 * shell, not waited for).  Each is counted for the metrics too
 * (metrics_count_event()).
 */

#include "volume.h"

enum event {
	EVENT_REPLICA_LOST, /* notify: replica-faulty */
	EVENT_REPLICA_BACK, /* the namespace returned; re-added */
	EVENT_RESYNC_STARTED,
	EVENT_RESYNC_FINISHED, /* notify: replica-in-sync */
	EVENT_DEGRADED_START,  /* notify: degraded */
	EVENT_STALE_REFUSED,   /* notify: stale-refused */
	EVENT_ARRAY_STOPPED,
	EVENT_SUSPENDED,	/* notify: suspended; no replica reachable, I/O waits */
	EVENT_RESUMED,		/* notify: resumed */
	EVENT_LINK_REPAIRED,	/* udev made /dev/nvmf-raid/VOLUME again */
	EVENT_LINK_LOST,	/* ... and could not */
	EVENT_ARRAY_UNWRITABLE, /* md: broken, read-only, stopped */
	_EVENT_MAX,
};

#define EVENT_ID_REPLICA_LOST "f3675bc128d2499a8c1fd939a540608a"
#define EVENT_ID_REPLICA_BACK "9770b55987d44e6a9285b3224f949d12"
#define EVENT_ID_RESYNC_STARTED "4466a29b6aa84874849dcbfd32d3c3aa"
#define EVENT_ID_RESYNC_FINISHED "73adcdd4e0ad4466b6418dd5d4100791"
#define EVENT_ID_DEGRADED_START "ff933a302c9c46358ef8bc08b81fb4cb"
#define EVENT_ID_STALE_REFUSED "a32e29b027114861a81493ddfb2fa54d"
#define EVENT_ID_ARRAY_STOPPED "5922dc56c7ba4989ba28ae077acf96a7"
#define EVENT_ID_SUSPENDED "1f496015685d4292af959a2c6a8c5db2"
#define EVENT_ID_RESUMED "63dc815b5a7d45c08534ffdf724c308c"
#define EVENT_ID_LINK_REPAIRED "078d4918aff04959a1b48310c5f3df6a"
#define EVENT_ID_LINK_LOST "83cb778f4ed549c4b6b71788e487bb55"
#define EVENT_ID_ARRAY_UNWRITABLE "9496dcaa37d24189ba507444c37a9999"

/**
 * event_emit() - log @e for @volume (and @replica, or NULL) with @message,
 * then run @notify (NULL: none) if @e is one of the notified events
 */
void event_emit(enum event e, const char *volume, const char *replica, const char *notify,
		const char *format, ...) __attribute__((format(printf, 5, 6)));

/**
 * event_to_string() - the event's name, the "event" label of
 * nvmf_raid_events_total ("replica-lost"), or NULL for an invalid @e
 */
const char *event_to_string(enum event e);

/**
 * event_from_string() - the event named @s (event_to_string())
 * Return: the event, or -EINVAL.
 */
int event_from_string(const char *s);

/**
 * event_notify_name() - the notify argument of @e, or NULL if @e is not
 * passed to the notify program
 */
const char *event_notify_name(enum event e);
