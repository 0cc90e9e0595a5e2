/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"

extern char **environ;

static const struct {
	const char *id;
	const char *name; /* the "event" label of nvmf_raid_events_total */
	const char *notify;
	int level;
} events[_EVENT_MAX] = {
	[EVENT_REPLICA_LOST] = { EVENT_ID_REPLICA_LOST, "replica-lost", "replica-faulty", LOG_WARNING },
	[EVENT_REPLICA_BACK] = { EVENT_ID_REPLICA_BACK, "replica-back", NULL, LOG_NOTICE },
	[EVENT_RESYNC_STARTED] = { EVENT_ID_RESYNC_STARTED, "resync-started", NULL, LOG_NOTICE },
	[EVENT_RESYNC_FINISHED] = { EVENT_ID_RESYNC_FINISHED, "resync-finished", "replica-in-sync",
				    LOG_NOTICE },
	[EVENT_DEGRADED_START] = { EVENT_ID_DEGRADED_START, "degraded-start", "degraded", LOG_WARNING },
	[EVENT_STALE_REFUSED] = { EVENT_ID_STALE_REFUSED, "stale-refused", "stale-refused", LOG_ERR },
	[EVENT_ARRAY_STOPPED] = { EVENT_ID_ARRAY_STOPPED, "array-stopped", NULL, LOG_NOTICE },
	[EVENT_SUSPENDED] = { EVENT_ID_SUSPENDED, "suspended", "suspended", LOG_ERR },
	[EVENT_RESUMED] = { EVENT_ID_RESUMED, "resumed", "resumed", LOG_NOTICE },
	[EVENT_LINK_REPAIRED] = { EVENT_ID_LINK_REPAIRED, "link-repaired", NULL, LOG_WARNING },
	[EVENT_LINK_LOST] = { EVENT_ID_LINK_LOST, "link-lost", NULL, LOG_ERR },
	[EVENT_ARRAY_UNWRITABLE] = { EVENT_ID_ARRAY_UNWRITABLE, "array-unwritable", NULL, LOG_ERR },
};

const char *event_to_string(enum event e)
{
	return e < _EVENT_MAX ? events[e].name : NULL;
}

int event_from_string(const char *s)
{
	for (int e = 0; s && e < _EVENT_MAX; e++)
		if (strcmp(events[e].name, s) == 0)
			return e;
	return -EINVAL;
}

const char *event_notify_name(enum event e)
{
	return e < _EVENT_MAX ? events[e].notify : NULL;
}

/* Started, not waited for: a slow or hanging program must not hold up
 * the array.  Its exit is reaped by the caller (the monitor's loop; the
 * short-lived helpers exit soon anyway). */
static void run_notify(const char *notify, const char *event, const char *volume, const char *replica)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	r = posix_spawn(&pid, notify, &fa, NULL,
			(char *[]){ (char *)notify, (char *)event, (char *)volume,
				    (char *)(replica ? replica : ""), NULL },
			environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		log_warning_errno(r, "%s: failed to run notify program %s: %m", volume, notify);
	else
		log_debug("%s: notify %s %s %s (pid %d)", volume, notify, event, strna(replica), (int)pid);
}

void event_emit(enum event e, const char *volume, const char *replica, const char *notify,
		const char *format, ...)
{
	char msg[1024];
	va_list ap;
	int r;

	if (e >= _EVENT_MAX)
		return;
	va_start(ap, format);
	vsnprintf(msg, sizeof(msg), format, ap);
	va_end(ap);
	log_internal(events[e].level, 0, events[e].id, __FILE__, __LINE__, __func__, "%s", msg);
	/* The journal has the event; a counter that misses it is no reason
	 * to fail what raised it. */
	r = metrics_count_event(volume, replica, e);
	if (r < 0)
		log_debug_errno(r, "%s: cannot count event %s: %m", volume, events[e].name);
	if (notify && events[e].notify)
		run_notify(notify, events[e].notify, volume, replica);
}
