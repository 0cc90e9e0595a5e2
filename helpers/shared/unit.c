/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * unit_: systemd jobs over sd-bus, the way systemctl's bus-wait-for-jobs
 * does it: subscribe, add the JobRemoved match, then enqueue the job, so
 * that its removal cannot slip by between the call and the match.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_PRIVATE_PATH "/run/systemd/private"
#define SD_PRIVATE "unix:path=" SD_PRIVATE_PATH

/* What one job's JobRemoved said. */
struct job_wait {
	const char *path; /* the job's object path, once known */
	char *result;	  /* "done", "failed", …; NULL until removed */
	bool oom;
};

static void bus_error_free(sd_bus_error *e)
{
	sd_bus_error_free(e);
}

/* The private socket is only trusted when systemd (root) is behind it. */
static int check_peer_root(sd_bus *bus)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = sd_bus_get_fd(bus);

	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.uid == 0 ? 0 : -EPERM;
}

static int open_private(sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, SD_PRIVATE);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = check_peer_root(bus);
	if (r < 0) {
		sd_bus_flush_close_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

int unit_bus_open(sd_bus **ret)
{
	_cleanup_(bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_bus_ sd_bus *bus = NULL;
	int r, r2;

	assert(ret);
	r = sd_bus_open_system(&bus);
	if (r < 0 && geteuid() == 0) {
		r2 = open_private(&bus);
		if (r2 < 0)
			return log_error_errno(r2, "Failed to connect to systemd (system bus: %s; %s): %m",
					       strerror(-r), SD_PRIVATE_PATH);
		log_debug("No system bus (%s); using %s.", strerror(-r), SD_PRIVATE_PATH);
		r = 0;
	}
	if (r < 0)
		return log_error_errno(r, "Failed to connect to the system bus: %m");
	/* On the system bus systemd emits job signals only to subscribers;
	 * direct connections are subscribed already and get a no-op. */
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &error, NULL, NULL);
	if (r < 0 && !sd_bus_error_has_name(&error, "org.freedesktop.systemd1.AlreadySubscribed"))
		return log_error_errno(r, "Failed to subscribe to systemd's signals: %s",
				       error.message ? error.message : strerror(-r));
	*ret = TAKE_PTR(bus);
	return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct job_wait *w = userdata;
	const char *path, *unit, *result;
	uint32_t id;
	int r;

	(void)ret_error;
	r = sd_bus_message_read(m, "uoss", &id, &path, &unit, &result);
	if (r < 0) {
		log_debug_errno(r, "Ignoring a malformed JobRemoved signal: %m");
		return 0;
	}
	if (!w->path || !streq(path, w->path) || w->result)
		return 0;
	w->result = strdup(result);
	w->oom = !w->result;
	return 0;
}

/* Dispatches messages until @w's job is removed. */
static int wait_job(sd_bus *bus, struct job_wait *w, const char *unit)
{
	while (!w->result && !w->oom) {
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			return log_error_errno(r, "Lost the connection to systemd while waiting for %s: %m",
					       unit);
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0 && r != -EINTR)
			return log_error_errno(r, "Failed to wait for systemd: %m");
	}
	return w->oom ? log_oom() : 0;
}

/* StartUnit/StopUnit @unit and wait for the job; *@ret_result is its result. */
static int run_job(sd_bus *bus, const char *method, const char *unit, char **ret_result)
{
	_cleanup_(bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	struct job_wait w = {};
	int r;

	/* Before the call: the job may finish before its reply is read.  A
	 * direct connection carries no sender, so matching on one would drop
	 * every signal (systemd's bus_wait_for_jobs_new() does the same). */
	r = sd_bus_match_signal(bus, &slot, sd_bus_is_bus_client(bus) > 0 ? SD_DEST : NULL, SD_PATH,
				SD_MANAGER, "JobRemoved", on_job_removed, &w);
	if (r < 0)
		return log_error_errno(r, "Failed to watch systemd's jobs: %m");
	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &error, &reply, "ss", unit,
			       "replace");
	if (r < 0)
		return log_error_errno(r, "Failed to %s %s: %s",
				       streq(method, "StartUnit") ? "start" : "stop", unit,
				       error.message ? error.message : strerror(-r));
	r = sd_bus_message_read(reply, "o", &w.path);
	if (r < 0)
		return log_error_errno(r, "Malformed reply from systemd to %s: %m", method);
	/* Signals that came with the reply are queued, not yet dispatched. */
	r = wait_job(bus, &w, unit);
	if (r < 0) {
		free(w.result);
		return r;
	}
	*ret_result = w.result;
	return 0;
}

int unit_start(sd_bus *bus, const char *unit)
{
	_cleanup_free_ char *result = NULL;
	int r;

	assert(bus);
	assert(unit);
	r = run_job(bus, "StartUnit", unit, &result);
	if (r < 0)
		return r;
	if (!streq(result, "done"))
		return log_error_errno(EIO, "Failed to start %s: job %s; see 'journalctl -u %s'.", unit,
				       result, unit);
	return 0;
}

static int reset_failed(sd_bus *bus, const char *unit)
{
	_cleanup_(bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &error, NULL, "s",
			       unit);
	if (r < 0)
		return log_error_errno(r, "Failed to reset the failed state of %s: %s", unit,
				       error.message ? error.message : strerror(-r));
	return 0;
}

int unit_stop(sd_bus *bus, const char *unit)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *result = NULL;
	int r;

	assert(bus);
	assert(unit);
	r = unit_active_state(bus, unit, &before);
	if (r >= 0)
		r = run_job(bus, "StopUnit", unit, &result);
	if (r >= 0)
		r = unit_active_state(bus, unit, &after);
	if (r < 0)
		return r;
	if (!streq(result, "done"))
		return log_error_errno(EIO, "Failed to stop %s: job %s; see 'journalctl -u %s'.", unit,
				       result, unit);
	if (!streq(after, "failed"))
		return 0;
	/* "failed" from before (an earlier start failed): nothing ran now,
	 * and the unit is stopped; leave it inactive rather than failed. */
	if (streq(before, "failed"))
		return reset_failed(bus, unit);
	return log_error_errno(EIO, "Failed to stop %s: its ExecStop= failed; see 'journalctl -u %s'.",
			       unit, unit);
}

/* The unit's object path, or -ENOENT if it is not loaded. */
static int unit_path(sd_bus *bus, const char *unit, char **ret)
{
	_cleanup_(bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &error, &reply, "s", unit);
	if (r < 0 && sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit"))
		return -ENOENT;
	if (r < 0)
		return log_error_errno(r, "Failed to look up %s: %s", unit,
				       error.message ? error.message : strerror(-r));
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return log_error_errno(r, "Malformed reply from systemd to GetUnit: %m");
	*ret = strdup(path);
	return *ret ? 0 : log_oom();
}

int unit_active_state(sd_bus *bus, const char *unit, char **ret)
{
	_cleanup_(bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	assert(bus);
	assert(unit);
	assert(ret);
	r = unit_path(bus, unit, &path);
	if (r == -ENOENT) {
		*ret = strdup("inactive");
		return *ret ? 0 : log_oom();
	}
	if (r < 0)
		return r;
	r = sd_bus_get_property_string(bus, SD_DEST, path, "org.freedesktop.systemd1.Unit",
				       "ActiveState", &error, ret);
	if (r < 0)
		return log_error_errno(r, "Failed to read the state of %s: %s", unit,
				       error.message ? error.message : strerror(-r));
	return 0;
}

int unit_exit_status(sd_bus *bus, const char *unit, uint64_t since, int *ret)
{
	_cleanup_(bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	int32_t code = 0, status = 0;
	uint64_t started = 0;
	int r;

	assert(bus);
	assert(unit);
	assert(ret);
	r = unit_path(bus, unit, &path);
	if (r == -ENOENT)
		return -ENODATA;
	if (r < 0)
		return r;
	r = sd_bus_get_property_trivial(bus, SD_DEST, path, "org.freedesktop.systemd1.Service",
					"ExecMainStartTimestampMonotonic", &error, 't', &started);
	if (r >= 0)
		r = sd_bus_get_property_trivial(bus, SD_DEST, path, "org.freedesktop.systemd1.Service",
						"ExecMainCode", &error, 'i', &code);
	if (r >= 0)
		r = sd_bus_get_property_trivial(bus, SD_DEST, path, "org.freedesktop.systemd1.Service",
						"ExecMainStatus", &error, 'i', &status);
	if (r < 0)
		return log_error_errno(r, "Failed to read the exit status of %s: %s", unit,
				       error.message ? error.message : strerror(-r));
	/* ExecMainCode is a CLD_* code: only CLD_EXITED carries an exit status. */
	if (started < since || code != CLD_EXITED || status < 0 || status > 255)
		return -ENODATA;
	*ret = status;
	return 0;
}
