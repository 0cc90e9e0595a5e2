/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid-detach VOLUME: ExecStop= of nvmf-raid@.service.
 *
 * Refuses while the volume's device is mounted or held open; otherwise
 * stops the array, disconnects the subsystems nobody else needs (no other
 * attached volume, no other namespace in use: teardown_connections()) and
 * removes the runtime files.  Detaching a volume that is not
 * attached succeeds and changes nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descriptor.h"
#include "device.h"
#include "exit-status.h"
#include "helper.h"
#include "fileio.h"
#include "log.h"
#include "session.h"
#include "teardown.h"
#include "volume.h"

/* The device users hold: the array, or the namespace of one replica.
 * Mounted (also through a partition) or held by another device: busy.  For
 * a lone namespace an exclusive open also catches other exclusive users;
 * an array is checked by md itself when it is stopped. */
static int refuse_if_busy(const struct desc *d, const char *devnode)
{
	_cleanup_free_ char *why = NULL;
	int r;

	r = dev_in_use(devnode, d->md.device ? 0 : DEV_USE_EXCLUSIVE, &why);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "%s: cannot tell whether %s is in use: %m", d->volume, devnode);
	if (r > 0)
		return log_error_errno(EBUSY, "%s: %s; not detaching.", d->volume, why);
	return 0;
}

static int detach_locked(struct vs_session *s)
{
	const char *name = s->name;
	struct desc *d;
	const char *devnode;
	int r;

	r = vs_read_desc(s);
	if (r == -ENOENT) {
		/* Not attached; clear whatever a crashed helper left behind. */
		desc_remove(name);
		log_info("%s: not attached.", name);
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "%s: cannot read its descriptor: %m", name);
	d = s->desc;

	/* Without an md device in the descriptor (an attach killed before it
	 * wrote it), the members are md's: teardown_array() checks use. */
	devnode = d->md.device ? d->md.device : d->n_replicas == 1 ? d->replicas[0].device : NULL;
	if (devnode) {
		r = refuse_if_busy(d, devnode);
		if (r < 0)
			return r;
	}
	r = teardown_array(d);
	if (r < 0)
		return r;
	r = teardown_connections(d);
	if (r < 0)
		log_warning_errno(r, "%s: some controllers could not be disconnected: %m", name);
	r = teardown_runtime(d);
	if (r < 0)
		return log_error_errno(r, "%s: failed to remove the runtime files: %m", name);
	log_info("%s: detached.", name);
	return 0;
}

static int detach(const char *name)
{
	_cleanup_vs_ struct vs_session *s = NULL;
	int r;

	r = vs_open(name, VS_LOCK, &s);
	if (r == -ENOENT && s && s->run_fd < 0) {
		log_info("%s: not attached.", name);
		return EXIT_OK;
	}
	if (r < 0) {
		log_error_errno(r, "%s: failed to lock the volume: %m", name);
		return vs_exit_status(s, r);
	}
	r = detach_locked(s);
	vs_unlock(s, r >= 0);
	return vs_exit_status(s, r);
}

int main(int argc, char *argv[])
{
	return helper_main(argc, argv, "nvmf-raid-detach",
			   "Detach an nvmf-raid volume: stop its array, disconnect the subsystems\n"
			   "nobody else needs (no other volume, no other namespace in use) and\n"
			   "remove its runtime files.  Run by\n"
			   "nvmf-raid@VOLUME.service; see nvmf-raid@.service(8).\n",
			   detach);
}
