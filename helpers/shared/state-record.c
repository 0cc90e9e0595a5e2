/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "descriptor.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "session.h"
#include "state-record.h"

#define RECORD_FORMAT "nvmf-raid-record"
#define RECORD_VERSION 2
#define RECORD_SIZE_MAX (64 * 1024)
#define RECORD_DEPTH_MAX 6 /* record > in-sync > replica > its identifiers */

const char *state_record_dir(void)
{
	const char *e = secure_getenv("NVMF_RAID_STATE_DIR");

	return e && e[0] == '/' ? e : LOCALSTATEDIR "/lib/nvmf-raid";
}

static int open_record_dir(bool create, int *ret_fd)
{
	const char *dir = state_record_dir();
	const char *slash = strrchr(dir, '/');
	_cleanup_free_ char *parent = NULL;

	/* The parent (/var/lib) is trusted as it is; our directory below it
	 * is created 0755 and never reached through a symlink. */
	if (!slash || !slash[1])
		return -EINVAL;
	parent = strndup(dir, slash == dir ? 1 : (size_t)(slash - dir));
	if (!parent)
		return -ENOMEM;
	if (create)
		return mkdir_parents_secure(parent, slash + 1, 0755, ret_fd);
	return open_dir_secure(parent, slash + 1, ret_fd);
}

static int find(const struct state_record *rec, const char *name)
{
	for (unsigned i = 0; i < rec->n_in_sync; i++)
		if (streq(rec->in_sync[i], name))
			return (int)i;
	return -1;
}

bool state_record_has(const struct state_record *rec, const char *name)
{
	return find(rec, name) >= 0;
}

bool state_record_vouches(const struct state_record *rec, const char *name, const char *nqn,
			  const struct vol_ns_id *ns)
{
	int i = find(rec, name);

	if (i < 0)
		return false;
	/* The record holds what the namespace showed: the replica is that
	 * namespace if it would have been found by what the file says now. */
	return !rec->has_ns[i] || (streq(rec->nqn[i], nqn) && vol_ns_id_matches(ns, &rec->ns[i]));
}

int state_record_add(struct state_record *rec, const char *name, const char *nqn, const struct vol_ns_id *ns)
{
	unsigned i = rec->n_in_sync;

	if (i >= VOL_REPLICAS_MAX)
		return -E2BIG;
	snprintf(rec->in_sync[i], sizeof(rec->in_sync[i]), "%s", name);
	snprintf(rec->nqn[i], sizeof(rec->nqn[i]), "%s", nqn);
	rec->ns[i] = *ns;
	rec->has_ns[i] = true;
	rec->n_in_sync++;
	return 0;
}

static int bad(const char *volume, const char *what)
{
	return log_error_errno(EBADMSG, "%s: %s/%s.json: %s.", volume ? volume : "?",
			       state_record_dir(), volume ? volume : "?", what);
}

static int ns_string(json_object *o, const char *key, const char **ret)
{
	json_object *v = NULL;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = json_object_get_string(v);
	return 0;
}

/* One entry of version 2: the replica and its namespace. */
static int parse_member(json_object *e, struct state_record *rec)
{
	unsigned i = rec->n_in_sync;
	const char *name, *nqn, *key, *why;

	if (!json_object_is_type(e, json_type_object) || ns_string(e, "name", &name) < 0 ||
	    ns_string(e, "nqn", &nqn) < 0 || !name || !nqn || !vol_replica_name_is_valid(name) ||
	    !vol_nqn_is_valid(nqn) || state_record_has(rec, name) ||
	    desc_ns_id_from_json(e, &rec->ns[i], &key, &why) < 0)
		return -EBADMSG;
	snprintf(rec->in_sync[i], sizeof(rec->in_sync[i]), "%s", name);
	snprintf(rec->nqn[i], sizeof(rec->nqn[i]), "%s", nqn);
	rec->has_ns[i] = true;
	rec->n_in_sync++;
	return 0;
}

/* Version 1: a replica name. */
static int parse_name(json_object *e, struct state_record *rec)
{
	const char *s = json_object_get_string(e);

	if (!json_object_is_type(e, json_type_string) || !vol_replica_name_is_valid(s) ||
	    state_record_has(rec, s))
		return -EBADMSG;
	snprintf(rec->in_sync[rec->n_in_sync++], VOL_REPLICA_NAME_MAX + 1, "%s", s);
	return 0;
}

static int parse_in_sync(json_object *arr, const char *vol, int64_t version, struct state_record *rec)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return bad(vol, "in-sync is not an array");
	n = json_object_array_length(arr);
	if (n > VOL_REPLICAS_MAX)
		return bad(vol, "more than 16 in-sync replicas");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if ((version == 1 ? parse_name(e, rec) : parse_member(e, rec)) < 0)
			return bad(vol,
				   version == 1 ?
					   "in-sync holds an invalid or repeated replica name" :
					   "in-sync holds an invalid or repeated replica, or one without its namespace");
	}
	return 0;
}

int state_record_parse(const char *buf, size_t len, const char *expected_volume, struct state_record *ret)
{
	_cleanup_json_ json_object *root = NULL;
	struct state_record rec = {};
	json_object *v;
	int64_t version;
	const char *s;
	char why[128];
	int r;

	/* Strict, as descriptors and os-brick's JSON: this file decides which
	 * replicas may be served, so what json-c would let by is refused. */
	r = json_parse_object(buf, len, RECORD_SIZE_MAX, RECORD_DEPTH_MAX, &root, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bad(expected_volume, why);
	if (!json_object_object_get_ex(root, "format", &v) ||
	    !streq(json_object_get_string(v), RECORD_FORMAT) ||
	    !json_object_object_get_ex(root, "version", &v) || !json_object_is_type(v, json_type_int) ||
	    (json_object_get_int64(v) != 1 && json_object_get_int64(v) != RECORD_VERSION))
		return bad(expected_volume, "not an nvmf-raid record of version 1 or 2");
	version = json_object_get_int64(v);
	if (!json_object_object_get_ex(root, "volume", &v) || !(s = json_object_get_string(v)) ||
	    !json_object_is_type(v, json_type_string) || !vol_name_is_valid(s) ||
	    (expected_volume && !streq(s, expected_volume)))
		return bad(expected_volume, "names another volume");
	snprintf(rec.volume, sizeof(rec.volume), "%s", s);
	if (!json_object_object_get_ex(root, "md-uuid", &v) || !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) >= sizeof(rec.md_uuid))
		return bad(expected_volume, "md-uuid missing or too long");
	snprintf(rec.md_uuid, sizeof(rec.md_uuid), "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(root, "events", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return bad(expected_volume, "events missing or negative");
	rec.events = (uint64_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(root, "in-sync", &v))
		return bad(expected_volume, "in-sync missing");
	if (parse_in_sync(v, expected_volume, version, &rec) < 0)
		return -EBADMSG;
	*ret = rec;
	return 0;
}

int state_record_read(const char *volume, struct state_record *ret)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	char name[NAME_MAX + 1];
	size_t len;
	int r;

	if (!vol_name_is_valid(volume))
		return -EINVAL;
	r = open_record_dir(false, &dfd);
	if (r < 0)
		return r;
	if (vs_file_name(VS_FILE_RECORD, volume, name) < 0)
		return -EINVAL;
	r = read_file_at(dfd, name, RECORD_SIZE_MAX, &buf, &len);
	if (r == -ELOOP || r == -EFBIG)
		return bad(volume, "not a regular file of a sane size");
	if (r < 0)
		return r;
	return state_record_parse(buf, len, volume, ret);
}

static json_object *member_to_json(const struct state_record *rec, unsigned i)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o || json_object_object_add(o, "name", json_object_new_string(rec->in_sync[i])) < 0 ||
	    json_object_object_add(o, "nqn", json_object_new_string(rec->nqn[i])) < 0 ||
	    desc_ns_id_to_json(o, &rec->ns[i]) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static int record_to_json(const struct state_record *rec, char **ret)
{
	_cleanup_json_ json_object *root = json_object_new_object();
	json_object *arr = json_object_new_array();
	const char *text;

	if (!root || !arr) {
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(root, "format", json_object_new_string(RECORD_FORMAT));
	json_object_object_add(root, "version", json_object_new_int(RECORD_VERSION));
	json_object_object_add(root, "volume", json_object_new_string(rec->volume));
	json_object_object_add(root, "md-uuid", json_object_new_string(rec->md_uuid));
	json_object_object_add(root, "events", json_object_new_int64((int64_t)rec->events));
	json_object_object_add(root, "in-sync", arr);
	for (unsigned i = 0; i < rec->n_in_sync; i++) {
		json_object *m;

		/* Only what a reader can check is written: no entry without
		 * its namespace. */
		if (!rec->has_ns[i])
			return -EINVAL;
		m = member_to_json(rec, i);
		if (!m || json_object_array_add(arr, m) < 0) {
			json_object_put(m);
			return -ENOMEM;
		}
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	if (!text || asprintf(ret, "%s\n", text) < 0)
		return -ENOMEM;
	return 0;
}

int state_record_write(const struct state_record *rec)
{
	_cleanup_close_ int dfd = -EBADF;
	_cleanup_free_ char *text = NULL, *old = NULL;
	char name[NAME_MAX + 1];
	size_t len;
	int r;

	if (!vol_name_is_valid(rec->volume))
		return -EINVAL;
	r = record_to_json(rec, &text);
	if (r < 0)
		return r;
	r = open_record_dir(true, &dfd);
	if (r < 0)
		return r;
	if (vs_file_name(VS_FILE_RECORD, rec->volume, name) < 0)
		return -EINVAL;
	if (read_file_at(dfd, name, RECORD_SIZE_MAX, &old, &len) >= 0 && len == strlen(text) &&
	    memcmp(old, text, len) == 0)
		return 0;
	r = write_file_atomic_at(dfd, name, text, strlen(text), 0644);
	if (r < 0)
		return r;
	return 1;
}

int state_record_remove(const char *volume)
{
	_cleanup_close_ int dfd = -EBADF;
	char name[NAME_MAX + 1];
	int r;

	if (!vol_name_is_valid(volume))
		return -EINVAL;
	r = open_record_dir(false, &dfd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (vs_file_name(VS_FILE_RECORD, volume, name) < 0)
		return -EINVAL;
	r = remove_file_at(dfd, name);
	return r == -ENOENT ? 0 : r;
}
