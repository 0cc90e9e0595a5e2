/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The descriptor model and its file.  The JSON side (serialise, parse) is
 * descriptor-json.c, the by-uuid index descriptor-index.c.
 */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "descriptor-internal.h"
#include "descriptor.h"
#include "fileio.h"
#include "log.h"
#include "session.h"

struct desc *desc_alloc(const char *volume)
{
	struct desc *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->format = DESC_FORMAT;
	d->version = DESC_VERSION;
	snprintf(d->volume, sizeof(d->volume), "%s", volume);
	snprintf(d->device, sizeof(d->device), DESC_DEVICE_PREFIX "%s", volume);
	for (unsigned i = 0; i < VOL_REPLICAS_MAX; i++)
		d->replicas[i].state = STATE_ABSENT;
	return d;
}

void desc_free(struct desc *d)
{
	if (!d)
		return;
	free(d->source);
	free(d->settings.notify);
	free(d->md.device);
	free(d->md.uuid);
	free(d->md.name);
	/* All slots: a half-parsed descriptor may have filled one past
	 * n_replicas; calloc() zeroed the rest. */
	for (unsigned i = 0; i < VOL_REPLICAS_MAX; i++) {
		free(d->replicas[i].device);
		free(d->replicas[i].dhchap_key);
		free(d->replicas[i].dhchap_ctrl_key);
	}
	free(d);
}

static bool char_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool chars_are(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!char_is_alnum(*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* "/dev/…" with plain components only: no "", ".", "..". */
bool desc_devpath_is_valid(const char *s)
{
	const char *p;

	if (strncmp(s, "/dev/", STRLEN("/dev/")) != 0 || strlen(s) > DESC_DEVPATH_MAX ||
	    !chars_are(s, "/_.:+-"))
		return false;
	for (p = s + STRLEN("/dev/");; p += strcspn(p, "/") + 1) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
	}
}

/* mdadm prints xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx; accept the dashed form too. */
bool desc_md_uuid_is_valid(const char *s)
{
	unsigned hex = 0;

	for (; *s; s++) {
		if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))
			hex++;
		else if (*s != ':' && *s != '-')
			return false;
	}
	return hex == 32;
}

bool desc_md_name_is_valid(const char *s)
{
	/* '~': md.c shortened long volume names to "volum~<hash>" before
	 * mdadm 4.3 refused it; a descriptor of such an array may still be
	 * read after an upgrade. */
	return *s && strlen(s) <= DESC_MD_NAME_MAX && chars_are(s, "_.:~-");
}

int desc_set_string(char **field, const char *value)
{
	char *copy = NULL;

	assert(field);
	if (*field == value || (*field && value && streq(*field, value)))
		return 0;
	if (value && !(copy = strdup(value)))
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 1;
}

static int replica_from_volume(struct desc_replica *dr, const struct vol_replica *vr)
{
	if (!vol_replica_name_is_valid(vr->name) || vr->n_portals < 1 || vr->n_portals > VOL_PORTALS_MAX)
		return -EINVAL;
	snprintf(dr->name, sizeof(dr->name), "%s", vr->name);
	snprintf(dr->nqn, sizeof(dr->nqn), "%s", vr->nqn);
	dr->ns = vr->ns;
	for (unsigned i = 0; i < vr->n_portals; i++)
		vol_portal_format(&vr->portals[i], dr->portals[i], sizeof(dr->portals[i]));
	dr->n_portals = vr->n_portals;
	dr->outdated = vr->outdated;
	dr->write_mostly = vr->write_mostly;
	dr->state = STATE_ABSENT;
	dr->tls = vr->tls;
	if (desc_set_string(&dr->dhchap_key, vr->dhchap_key) < 0 ||
	    desc_set_string(&dr->dhchap_ctrl_key, vr->dhchap_ctrl_key) < 0)
		return -ENOMEM;
	return 0;
}

int desc_to_volume(const struct desc *d, struct vol_volume **ret)
{
	_cleanup_vol_ struct vol_volume *v = NULL;

	assert(d);
	assert(ret);
	if (d->n_replicas > VOL_REPLICAS_MAX)
		return -EBADMSG;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	snprintf(v->name, sizeof(v->name), "%s", d->volume);
	v->persistent = d->persistent;
	if (desc_set_string(&v->path, d->source) < 0 || desc_set_string(&v->notify, d->settings.notify) < 0)
		return -ENOMEM;
	v->min_replicas = d->settings.min_replicas;
	v->degraded_timeout = d->settings.degraded_timeout;
	v->fast_io_fail_tmo = d->settings.fast_io_fail_tmo;
	v->ctrl_loss_tmo = d->settings.ctrl_loss_tmo;
	v->reconnect_delay = d->settings.reconnect_delay;
	v->keep_alive_tmo = d->settings.keep_alive_tmo;
	v->rebuild_rate = -1;
	for (unsigned i = 0; i < d->n_replicas; i++) {
		const struct desc_replica *dr = &d->replicas[i];
		struct vol_replica *vr = &v->replicas[i];

		v->n_replicas = i + 1; /* vol_free() frees the key of each */
		snprintf(vr->name, sizeof(vr->name), "%s", dr->name);
		snprintf(vr->nqn, sizeof(vr->nqn), "%s", dr->nqn);
		vr->ns = dr->ns;
		vr->outdated = dr->outdated;
		vr->write_mostly = dr->write_mostly;
		if (dr->n_portals > VOL_PORTALS_MAX)
			return -EBADMSG;
		for (unsigned k = 0; k < dr->n_portals; k++)
			if (vol_portal_parse(dr->portals[k], &vr->portals[k], NULL) < 0)
				return -EBADMSG;
		vr->n_portals = dr->n_portals;
		vr->tls = dr->tls;
		if (desc_set_string(&vr->dhchap_key, dr->dhchap_key) < 0 ||
		    desc_set_string(&vr->dhchap_ctrl_key, dr->dhchap_ctrl_key) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

int desc_from_volume(const struct vol_volume *v, struct desc **ret)
{
	_cleanup_desc_ struct desc *d = NULL;
	int r;

	assert(v);
	assert(ret);
	if (!vol_name_is_valid(v->name) || !v->path || v->n_replicas < 1 || v->n_replicas > VOL_REPLICAS_MAX)
		return -EINVAL;
	d = desc_alloc(v->name);
	if (!d)
		return -ENOMEM;
	d->persistent = v->persistent;
	if (desc_set_string(&d->source, v->path) < 0 || desc_set_string(&d->settings.notify, v->notify) < 0)
		return -ENOMEM;
	d->settings.min_replicas = v->min_replicas;
	d->settings.degraded_timeout = v->degraded_timeout;
	d->settings.fast_io_fail_tmo = v->fast_io_fail_tmo;
	d->settings.ctrl_loss_tmo = v->ctrl_loss_tmo;
	d->settings.reconnect_delay = v->reconnect_delay;
	d->settings.keep_alive_tmo = v->keep_alive_tmo;
	for (unsigned i = 0; i < v->n_replicas; i++) {
		r = replica_from_volume(&d->replicas[i], &v->replicas[i]);
		if (r < 0)
			return r;
	}
	d->n_replicas = v->n_replicas;
	*ret = TAKE_PTR(d);
	return 0;
}

struct desc_replica *desc_find_replica(struct desc *d, const char *name)
{
	assert(d);
	for (unsigned i = 0; i < d->n_replicas; i++)
		if (streq(d->replicas[i].name, name))
			return &d->replicas[i];
	return NULL;
}

int desc_runtime_dir(const char **ret)
{
	/* secure_getenv(): should a helper ever run set-uid, the caller
	 * must not pick where root writes. */
	const char *e = secure_getenv(DESC_RUNTIME_DIR_ENV);

	assert(ret);
	if (!e || !*e) {
		*ret = DESC_RUNTIME_DIR;
		return 0;
	}
	if (e[0] != '/' || !filename_is_valid(strrchr(e, '/') + 1))
		return -EINVAL;
	*ret = e;
	return 0;
}

int desc_open_runtime_dir(bool create, int *ret_fd)
{
	const char *dir;
	int r;

	assert(ret_fd);
	r = desc_runtime_dir(&dir);
	if (r < 0)
		return log_error_errno(r, "$%s must be an absolute path to a directory.",
				       DESC_RUNTIME_DIR_ENV);
	/* The parent (/run) is trusted as it is; from the runtime directory
	 * down, no symlink is followed. */
	r = open_dir_trusting(dir, NULL, create, ret_fd);
	if (r < 0)
		return log_debug_errno(r, "Failed to open %s: %m", dir);
	return 0;
}

int desc_file_name(const char *volume, char buf[static NAME_MAX + 1])
{
	return vs_file_name(VS_FILE_DESCRIPTOR, volume, buf);
}

/* The file's path, for messages only. */
static char *desc_origin(const char *name)
{
	const char *dir = DESC_RUNTIME_DIR;
	char *s;

	(void)desc_runtime_dir(&dir);
	if (asprintf(&s, "%s/%s", dir, name) < 0)
		return NULL;
	return s;
}

int desc_write(const struct desc *d)
{
	_cleanup_free_ char *text = NULL, *origin = NULL;
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_desc_ struct desc *check = NULL;
	char name[NAME_MAX + 1];
	int r;

	assert(d);
	if (!vol_name_is_valid(d->volume) || desc_file_name(d->volume, name) < 0)
		return log_error_errno(EINVAL, "Refusing to write a descriptor: %s", DESC_INVALID_NAME_MSG);
	origin = desc_origin(name);
	if (!origin)
		return log_oom();
	r = desc_serialise(d, &text);
	if (r < 0)
		return log_error_errno(r, "%s: failed to serialise the descriptor: %m", origin);
	/* Write only what desc_read() accepts back: the writer and every
	 * reader agree on the format by construction. */
	r = desc_parse_origin(text, strlen(text), d->volume, origin, &check);
	if (r == -ENOMEM)
		return r;
	if (r < 0) /* the parser named the key */
		return log_debug_errno(EINVAL, "%s: refusing to write an invalid descriptor.", origin);
	r = desc_open_runtime_dir(true, &dir_fd);
	if (r < 0)
		return r;
	r = write_file_atomic_at(dir_fd, name, text, strlen(text), 0644);
	if (r < 0)
		return log_debug_errno(r, "Failed to write %s: %m", origin);
	return 0;
}

int desc_read(const char *volume, struct desc **ret)
{
	_cleanup_free_ char *buf = NULL, *origin = NULL;
	_cleanup_close_ int dir_fd = -EBADF;
	char name[NAME_MAX + 1];
	size_t len;
	int r;

	assert(ret);
	if (!vol_name_is_valid(volume) || desc_file_name(volume, name) < 0)
		return log_error_errno(EINVAL, DESC_INVALID_NAME_MSG);
	r = desc_open_runtime_dir(false, &dir_fd);
	if (r < 0)
		return r;
	origin = desc_origin(name);
	if (!origin)
		return log_oom();
	r = read_file_at(dir_fd, name, DESC_SIZE_MAX, &buf, &len);
	if (r < 0)
		return log_debug_errno(r, "Failed to read %s: %m", origin);
	return desc_parse_origin(buf, len, volume, origin, ret);
}
