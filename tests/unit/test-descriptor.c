/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "descriptor.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "tap.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static char tmp[] = "/tmp/nvmf-raid-test-descriptor.XXXXXX";
static char run[sizeof(tmp) + 32]; /* $tmp/run/nvmf-raid */
static int tmp_fd = -EBADF;

#define UUID_FMT "96e25fb4-9f91-4c88-ab59-275fd35477%02x"
#define NQN_FMT "nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277%02x"

/* ---- helpers ------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

/* A volume as vol_load() would return it, built by hand. */
static struct vol_volume *make_volume(const char *name, unsigned n)
{
	struct vol_volume *v = calloc(1, sizeof(*v));
	char uuid[37];

	if (!v || asprintf(&v->path, "/etc/nvmf-raid/volumes/%s.conf", name) < 0)
		abort();
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->persistent = true;
	v->auto_start = true;
	v->min_replicas = 1;
	v->degraded_timeout = 30;
	v->fast_io_fail_tmo = 2;
	v->ctrl_loss_tmo = -1;
	v->reconnect_delay = 2;
	v->keep_alive_tmo = 5;
	for (unsigned i = 0; i < n; i++) {
		struct vol_replica *r = &v->replicas[i];

		snprintf(r->name, sizeof(r->name), "r%u", i);
		snprintf(r->nqn, sizeof(r->nqn), NQN_FMT, i);
		snprintf(uuid, sizeof(uuid), UUID_FMT, (uint8_t)i);
		vol_uuid_parse(uuid, r->ns.uuid);
		r->ns.has_uuid = true;
		r->portals[0] = (struct vol_portal){ VOL_TRANSPORT_TCP, "127.0.0.1", "4420", AF_INET, "" };
		r->portals[1] = (struct vol_portal){ VOL_TRANSPORT_TCP, "::1", "4421", AF_INET6, "" };
		r->n_portals = 2;
		r->outdated = i % 2;
	}
	v->n_replicas = n;
	return v;
}

static void free_volume(struct vol_volume *v)
{
	free(v->path);
	free(v->notify);
	free(v);
}

static struct desc *make_desc(const char *name, unsigned n)
{
	struct vol_volume *v = make_volume(name, n);
	struct desc *d = NULL;

	if (desc_from_volume(v, &d) < 0)
		abort();
	free_volume(v);
	return d;
}

static char *serialise(const struct desc *d)
{
	char *text = NULL;

	if (desc_serialise(d, &text) < 0)
		abort();
	return text;
}

/* The first occurrence of from in text replaced by to; NULL if absent. */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *s;

	if (!p || asprintf(&s, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from)) < 0)
		return NULL;
	return s;
}

static void reject_len(const char *text, size_t len, const char *expected, const char *what)
{
	struct desc *d = NULL;
	int r = desc_parse(text, len, expected, &d);

	ok(r == -EBADMSG && !d, "reject %s (r=%d)", what, r);
	desc_free(d);
}

static void reject(const char *text, const char *expected, const char *what)
{
	reject_len(text, strlen(text), expected, what);
}

static void reject_replaced(const char *base, const char *from, const char *to, const char *what)
{
	_cleanup_free_ char *t = replace(base, from, to);

	if (!t)
		ok(0, "reject %s: \"%s\" not in the base text", what, from);
	else
		reject(t, "db1", what);
}

static void reject_appended(const char *base, const char *tail, const char *what)
{
	_cleanup_free_ char *t = NULL;

	if (asprintf(&t, "%s%s", base, tail) < 0)
		abort();
	reject(t, "db1", what);
}

/* Sets the member at a dotted path ("replicas.0.uuid") of root to the JSON
 * text value; value NULL deletes it. */
static void set_path(json_object *root, const char *path, const char *value)
{
	_cleanup_free_ char *copy = strdup(path);
	json_object *parent = root, *v = NULL;
	char *key = copy, *dot;

	while ((dot = strchr(key, '.'))) {
		*dot = 0;
		parent = json_object_is_type(parent, json_type_array) ?
				 json_object_array_get_idx(parent, (size_t)atoi(key)) :
				 json_object_object_get(parent, key);
		key = dot + 1;
	}
	if (value && !streq(value, "null") && !(v = json_tokener_parse(value)))
		abort();
	if (json_object_is_type(parent, json_type_array))
		json_object_array_put_idx(parent, (size_t)atoi(key), v);
	else if (value)
		json_object_object_add(parent, key, v);
	else
		json_object_object_del(parent, key);
}

/* The base text with one member changed must be rejected. */
static void reject_edited(const char *base, const char *path, const char *value, const char *what)
{
	_cleanup_(json_object_putp) json_object *root = json_tokener_parse(base);

	if (!root) {
		ok(0, "reject %s: base text does not parse", what);
		return;
	}
	set_path(root, path, value);
	reject(json_object_to_json_string(root), NULL, what);
}

/* Entries of rel whose name starts with ".#": temporary files. */
static int count_temporaries(const char *rel)
{
	int fd = openat(tmp_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)))
		n += strncmp(de->d_name, ".#", 2) == 0;
	closedir(dir);
	return n;
}

static mode_t mode_at(const char *rel)
{
	struct stat st;

	return fstatat(tmp_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 ? (mode_t)-1 : st.st_mode;
}

static char *slurp(const char *rel)
{
	char *buf = NULL;
	_cleanup_close_ int fd = openat(tmp_fd, rel, O_RDONLY | O_CLOEXEC);
	off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);

	if (size < 0 || !(buf = calloc(1, (size_t)size + 1)) || pread(fd, buf, (size_t)size, 0) != size) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the model and the JSON form ---------------------------------------- */

static const char golden[] =
	"{\n"
	"  \"format\": \"nvmf-raid-descriptor\",\n"
	"  \"version\": 2,\n"
	"  \"volume\": \"db1\",\n"
	"  \"source\": \"/etc/nvmf-raid/volumes/db1.conf\",\n"
	"  \"persistent\": true,\n"
	"  \"device\": \"/dev/nvmf-raid/db1\",\n"
	"  \"settings\": {\n"
	"    \"min-replicas\": 1,\n"
	"    \"degraded-timeout\": 30,\n"
	"    \"fast-io-fail-tmo\": 2,\n"
	"    \"ctrl-loss-tmo\": -1,\n"
	"    \"reconnect-delay\": 2,\n"
	"    \"keep-alive-tmo\": 5,\n"
	"    \"notify\": null\n"
	"  },\n"
	"  \"md\": {\n"
	"    \"device\": null,\n"
	"    \"uuid\": null,\n"
	"    \"name\": null\n"
	"  },\n"
	"  \"replicas\": [\n"
	"    {\n"
	"      \"name\": \"r0\",\n"
	"      \"nqn\": \"nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e9505127700\",\n"
	"      \"uuid\": \"96e25fb4-9f91-4c88-ab59-275fd3547700\",\n"
	"      \"nguid\": null,\n"
	"      \"nsid\": null,\n"
	"      \"portals\": [\n"
	"        \"tcp://127.0.0.1:4420\",\n"
	"        \"tcp://[::1]:4421\"\n"
	"      ],\n"
	"      \"outdated\": false,\n"
	"      \"state\": \"absent\",\n"
	"      \"device\": null,\n"
	"      \"dhchap-key\": null,\n"
	"      \"dhchap-ctrl-key\": null,\n"
	"      \"tls\": false,\n"
	"      \"write-mostly\": false\n"
	"    }\n"
	"  ],\n"
	"  \"record-stale\": false\n"
	"}\n";

/* @buf without its first @cut. */
static void cut_out(char *buf, const char *cut)
{
	char *p = strstr(buf, cut);

	if (!p)
		abort();
	memmove(p, p + strlen(cut), strlen(p + strlen(cut)) + 1);
}

/* What a descriptor written before "dhchap-key", "dhchap-ctrl-key", "tls",
 * "write-mostly" and "record-stale" holds. */
static const char *old_layout(void)
{
	static char buf[sizeof(golden)];

	snprintf(buf, sizeof(buf), "%s", golden);
	cut_out(buf, ",\n      \"dhchap-key\": null,\n      \"dhchap-ctrl-key\": null,\n      \"tls\": false,\n"
		     "      \"write-mostly\": false");
	cut_out(buf, ",\n  \"record-stale\": false");
	return buf;
}

/* The key path the monitor reconnects with, the record-stale mark, and
 * the volume rebuilt from the descriptor (desc_to_volume()). */
static void test_added_keys(void)
{
	_cleanup_desc_ struct desc *d = make_desc("db1", 2), *back = NULL, *old = NULL;
	_cleanup_vol_ struct vol_volume *v = NULL;
	struct vol_volume *orig = make_volume("db1", 2);
	_cleanup_free_ char *text = NULL;
	const char *o = old_layout();

	is_int(desc_parse(o, strlen(o), "db1", &old), 0, "a descriptor without the added keys is read");
	ok(old && !old->replicas[0].dhchap_key && !old->replicas[0].dhchap_ctrl_key &&
		   !old->replicas[0].tls && !old->replicas[0].write_mostly && !old->record_stale,
	   "  ... as no keys, no TLS, not write-mostly, record not stale");

	desc_set_string(&d->replicas[1].dhchap_key, "/etc/nvme/db1-r1.key");
	desc_set_string(&d->replicas[1].dhchap_ctrl_key, "/etc/nvme/db1-r1.ctrl.key");
	d->replicas[1].tls = true;
	d->replicas[1].write_mostly = true;
	d->record_stale = true;
	text = serialise(d);
	ok(!strstr(text, "DHHC-1"), "added keys: the paths of the key files, no key");
	is_int(desc_parse(text, strlen(text), "db1", &back), 0, "added keys: parses");
	ok(back && !back->replicas[0].dhchap_key && back->replicas[1].dhchap_key &&
		   streq(back->replicas[1].dhchap_key, "/etc/nvme/db1-r1.key") && back->record_stale,
	   "added keys: read back");
	ok(back && !back->replicas[0].dhchap_ctrl_key && !back->replicas[0].tls &&
		   back->replicas[1].dhchap_ctrl_key &&
		   streq(back->replicas[1].dhchap_ctrl_key, "/etc/nvme/db1-r1.ctrl.key") &&
		   back->replicas[1].tls,
	   "added keys: the controller key and tls read back");
	ok(back && !back->replicas[0].write_mostly && back->replicas[1].write_mostly,
	   "added keys: write-mostly read back");
	reject_replaced(text, "\"write-mostly\": true", "\"write-mostly\": \"yes\"",
			"write-mostly not a boolean");
	reject_replaced(text, "\"/etc/nvme/db1-r1.key\"", "\"db1-r1.key\"", "relative dhchap-key");
	reject_replaced(text, "\"record-stale\": true", "\"record-stale\": 1",
			"record-stale not a boolean");

	is_int(desc_to_volume(d, &v), 0, "desc_to_volume");
	ok(v && streq(v->name, "db1") && v->n_replicas == 2 && v->keep_alive_tmo == orig->keep_alive_tmo &&
		   v->reconnect_delay == orig->reconnect_delay && v->ctrl_loss_tmo == orig->ctrl_loss_tmo &&
		   v->fast_io_fail_tmo == orig->fast_io_fail_tmo,
	   "  ... name and connect settings");
	for (unsigned i = 0; v && i < 2; i++)
		ok(streq(v->replicas[i].nqn, orig->replicas[i].nqn) && v->replicas[i].n_portals == 2 &&
			   vol_portal_eq(&v->replicas[i].portals[0], &orig->replicas[i].portals[0]) &&
			   vol_portal_eq(&v->replicas[i].portals[1], &orig->replicas[i].portals[1]) &&
			   vol_ns_id_eq(&v->replicas[i].ns, &orig->replicas[i].ns),
		   "  ... replica %u: nqn, namespace, portals", i);
	ok(v && !v->replicas[0].dhchap_key && streq(v->replicas[1].dhchap_key, "/etc/nvme/db1-r1.key"),
	   "  ... the key path, from the descriptor");
	ok(v && !v->replicas[0].dhchap_ctrl_key && !v->replicas[0].tls &&
		   streq(v->replicas[1].dhchap_ctrl_key, "/etc/nvme/db1-r1.ctrl.key") && v->replicas[1].tls,
	   "  ... the controller key path and tls, from the descriptor");
	ok(v && !v->replicas[0].write_mostly && v->replicas[1].write_mostly,
	   "  ... write-mostly, from the descriptor");
	free_volume(orig);
}

static void test_from_volume(void)
{
	_cleanup_desc_ struct desc *d = make_desc("db1", 2);
	_cleanup_free_ char *text = NULL;
	struct vol_volume *v;

	is_str(d->volume, "db1", "volume name");
	is_str(d->device, "/dev/nvmf-raid/db1", "stable device path");
	is_str(d->source, "/etc/nvmf-raid/volumes/db1.conf", "source");
	ok(d->n_replicas == 2 && d->replicas[0].state == STATE_ABSENT && d->replicas[1].state == STATE_ABSENT,
	   "every replica starts absent");
	ok(!d->replicas[0].outdated && d->replicas[1].outdated, "outdated flags copied");
	is_str(d->replicas[1].portals[1], "tcp://[::1]:4421", "portal in URI form");
	ok(!d->md.device && !d->md.uuid && !d->md.name, "no md yet");
	ok(desc_find_replica(d, "r1") == &d->replicas[1], "find replica by name");
	ok(d->replicas[1].ns.has_uuid && d->replicas[1].ns.uuid[15] == 1 && !d->replicas[1].ns.nsid,
	   "namespace identity copied");
	is_int(desc_set_string(&d->md.device, "/dev/md127"), 1, "set_string: changed");
	is_int(desc_set_string(&d->md.device, "/dev/md127"), 0, "set_string: unchanged");
	is_int(desc_set_string(&d->md.device, NULL), 1, "set_string: cleared");
	desc_free(TAKE_PTR(d));

	d = make_desc("db1", 1);
	text = serialise(d);
	is_str(text, golden, "serialised layout is the documented one");

	v = make_volume("db1", 0);
	is_int(desc_from_volume(v, &d), -EINVAL, "volume without replicas refused");
	snprintf(v->name, sizeof(v->name), "../x");
	v->n_replicas = 1;
	is_int(desc_from_volume(v, &d), -EINVAL, "invalid volume name refused");
	free_volume(v);
}

static void check_equal(const struct desc *a, const struct desc *b, const char *what)
{
	bool same = streq(a->volume, b->volume) && streq(a->source, b->source) &&
		    a->persistent == b->persistent && streq(a->device, b->device) &&
		    memcmp(&a->settings, &b->settings, offsetof(struct desc_settings, notify)) == 0 &&
		    (a->settings.notify ? streq(a->settings.notify, b->settings.notify) :
					  !b->settings.notify) &&
		    a->n_replicas == b->n_replicas;

	for (unsigned i = 0; same && i < a->n_replicas; i++) {
		const struct desc_replica *x = &a->replicas[i], *y = &b->replicas[i];

		same = streq(x->name, y->name) && streq(x->nqn, y->nqn) && vol_ns_id_eq(&x->ns, &y->ns) &&
		       x->n_portals == y->n_portals && x->outdated == y->outdated &&
		       x->state == y->state && (x->device ? streq(x->device, y->device) : !y->device);
		for (unsigned j = 0; same && j < x->n_portals; j++)
			same = streq(x->portals[j], y->portals[j]);
	}
	ok(same, "%s: read back equal to what was written", what);
}

static void test_round_trip(const char *name, unsigned n)
{
	_cleanup_desc_ struct desc *d = make_desc(name, n), *back = NULL;
	char file[128];
	int r;

	d->settings.notify = strdup("/usr/local/bin/notify");
	desc_set_string(&d->md.device, "/dev/md127");
	desc_set_string(&d->md.uuid, "3aa2a1c4:2e5b9f0d:5e1c2b7a:9d8f6e01");
	/* md.c's short form of a long name, as in md.h. */
	desc_set_string(&d->md.name, n == 1 ? "nvmf-raid:db1" : "volum~0123456789abcdef");
	for (unsigned i = 0; i < n; i++) {
		char dev[32];

		d->replicas[i].state = (enum state)(i % _STATE_MAX);
		snprintf(dev, sizeof(dev), "/dev/nvme%un1", i);
		desc_set_string(&d->replicas[i].device, dev);
	}
	d->settings.min_replicas = n;
	is_int(desc_write(d), 0, "desc_write succeeds");
	snprintf(file, sizeof(file), "run/nvmf-raid/%s.json", name);
	is_int(mode_at(file) & 07777, 0644, "descriptor is 0644");
	r = desc_read(name, &back);
	is_int(r, 0, "desc_read succeeds");
	if (r == 0) {
		check_equal(d, back, n == 1 ? "1 replica" : "16 replicas");
		is_str(back->md.uuid, d->md.uuid, "md uuid read back");
		is_str(back->md.name, d->md.name, "md name read back");
	}
}

static void test_runtime_dir(void)
{
	_cleanup_close_ int fd = -EBADF;
	const char *dir;

	ok(desc_runtime_dir(&dir) == 0 && streq(dir, run), "$NVMF_RAID_RUNTIME_DIR honoured");
	is_int(mode_at("run/nvmf-raid") & 07777, 0755, "runtime directory created 0755");
	is_int(desc_open_runtime_dir(false, &fd), 0, "runtime directory opens");
	setenv(DESC_RUNTIME_DIR_ENV, "relative/dir", 1);
	is_int(desc_runtime_dir(&dir), -EINVAL, "relative override refused");
	setenv(DESC_RUNTIME_DIR_ENV, "/", 1);
	is_int(desc_runtime_dir(&dir), -EINVAL, "\"/\" refused");
	setenv(DESC_RUNTIME_DIR_ENV, run, 1);
}

/* A 17th replica, otherwise valid: r16 with its own UUID. */
static void reject_17_replicas(const char *base16)
{
	_cleanup_(json_object_putp) json_object *root = json_tokener_parse(base16);
	json_object *a = json_object_object_get(root, "replicas"), *copy = NULL;
	char uuid[37];

	json_object_deep_copy(json_object_array_get_idx(a, 0), &copy, NULL);
	json_object_object_add(copy, "name", json_object_new_string("r16"));
	snprintf(uuid, sizeof(uuid), UUID_FMT, (uint8_t)16);
	json_object_object_add(copy, "uuid", json_object_new_string(uuid));
	json_object_array_add(a, copy);
	reject(json_object_to_json_string(root), NULL, "17 replicas");
}

static const struct edit {
	const char *what, *path, *value;
} edits[] = {
	{ "wrong type: double for int", "settings.min-replicas", "1.0" },
	{ "wrong type: replicas an object", "replicas", "{}" },
	{ "wrong type: portals a string", "replicas.0.portals", "\"tcp://1.2.3.4:1\"" },
	{ "wrong type: replica an int", "replicas.0", "7" },
	{ "wrong type: md null", "md", "null" },
	{ "null where a value is required", "replicas.0.outdated", "null" },
	{ "missing key", "md", NULL },
	{ "missing replica key", "replicas.0.state", NULL },
	{ "0 replicas", "replicas", "[]" },
	{ "portal with a host name", "replicas.0.portals.0", "\"tcp://host.example:4420\"" },
	{ "17 portals", "replicas.0.portals",
	  "[\"tcp://[::1]:1\", \"tcp://[::1]:2\", \"tcp://[::1]:3\", \"tcp://[::1]:4\","
	  " \"tcp://[::1]:5\", \"tcp://[::1]:6\", \"tcp://[::1]:7\", \"tcp://[::1]:8\","
	  " \"tcp://[::1]:9\", \"tcp://[::1]:10\", \"tcp://[::1]:11\", \"tcp://[::1]:12\","
	  " \"tcp://[::1]:13\", \"tcp://[::1]:14\", \"tcp://[::1]:15\", \"tcp://[::1]:16\","
	  " \"tcp://[::1]:17\"]" },
	{ "invalid volume name", "volume", "\"../../etc\"" },
	{ "device not /dev/nvmf-raid/<volume>", "device", "\"/dev/sda\"" },
	{ "relative source", "source", "\"db1.conf\"" },
	{ "relative notify", "settings.notify", "\"bin/notify\"" },
	{ "min-replicas above the 2 replicas", "settings.min-replicas", "3" },
	{ "negative degraded-timeout", "settings.degraded-timeout", "-5" },
	{ "integer beyond int64", "settings.keep-alive-tmo", "18446744073709551615" },
	{ "md device with ..", "md.device", "\"/dev/../etc/shadow\"" },
	{ "invalid md uuid", "md.uuid", "\"xyz\"" },
	{ "md name over 32 bytes", "md.name", "\"0123456789012345678901234567890123\"" },
	{ "replica device outside /dev", "replicas.0.device", "\"/etc/passwd\"" },
	{ "invalid replica name", "replicas.0.name", "\"a b\"" },
	{ "invalid replica UUID", "replicas.0.uuid", "\"not-a-uuid\"" },
	{ "invalid NQN", "replicas.0.nqn", "\"nqn.2001-04.com.x:a,b\"" },
	{ "two replicas with one UUID", "replicas.1.uuid", "\"96e25fb4-9f91-4c88-ab59-275fd3547700\"" },
	{ "two replicas with one name", "replicas.1.name", "\"r0\"" },
};

static void test_reject(void)
{
	_cleanup_desc_ struct desc *d1 = make_desc("db1", 1), *d2 = make_desc("db1", 2);
	_cleanup_desc_ struct desc *d16 = make_desc("db1", 16);
	_cleanup_free_ char *base = serialise(d1), *base2 = serialise(d2), *base16 = serialise(d16);
	_cleanup_free_ char *huge = malloc(DESC_SIZE_MAX + 1);
	char nul[] = "{\"format\": \"nvmf-raid-descriptor\"\0}";
	char deep[64];

	reject("{ not json }", "db1", "malformed JSON");
	reject_len(base, strlen(base) / 2, "db1", "truncated JSON");
	reject_len(base, strlen(base) - 3, "db1", "JSON without its closing brace");
	reject_appended(base, "x", "trailing garbage");
	reject_appended(base, "{}", "a second object after the first");
	reject_appended(base, "\n,", "a comma after the object");
	reject_replaced(base, "\"nvmf-raid-descriptor\"", "\"nvmf-raid-other\"", "wrong format");
	reject_replaced(base, "\"version\": 2", "\"version\": 3", "wrong version");
	reject_replaced(base, "\"version\": 2", "\"version\": \"2\"", "version as a string");
	reject_replaced(base, "\"uuid\": \"96e25fb4-9f91-4c88-ab59-275fd3547700\"", "\"uuid\": null",
			"a replica without uuid, nguid or nsid");
	reject_replaced(base, "\"nsid\": null", "\"nsid\": 0", "nsid 0");
	reject_replaced(base, "\"nguid\": null", "\"nguid\": \"xyz\"", "invalid nguid");
	reject(base, "db2", "foreign volume name");
	reject_replaced(base, "\"absent\"", "\"sleeping\"", "bad state string");
	reject_replaced(base, "\"absent\"", "\"ABSENT\"", "state in the wrong case");
	reject_replaced(base, "\"persistent\": true", "\"persistent\": \"yes\"", "wrong type: bool");
	reject_replaced(base, "\"persistent\": true", "\"persistent\": 1", "wrong type: int for bool");
	for (size_t i = 0; i < ELEMENTSOF(edits); i++)
		reject_edited(base2, edits[i].path, edits[i].value, edits[i].what);
	reject_17_replicas(base16);
	reject("[]", NULL, "top level an array");
	reject("", NULL, "empty input");
	reject_len(nul, sizeof(nul) - 1, NULL, "embedded NUL byte");
	reject_replaced(base, "\"r0\"", "\"r\xff\"", "invalid UTF-8");
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0;
	reject(deep, NULL, "deep nesting");
	memset(huge, ' ', DESC_SIZE_MAX + 1);
	memcpy(huge, base, strlen(base));
	reject_len(huge, DESC_SIZE_MAX + 1, NULL, "over the size bound");
}

static void test_accept(void)
{
	_cleanup_desc_ struct desc *d1 = make_desc("db1", 1), *d = NULL;
	_cleanup_free_ char *base = serialise(d1), *t1 = NULL, *t2 = NULL, *t3 = NULL;

	is_int(desc_parse(base, strlen(base), "db1", &d), 0, "the serialised text parses");
	desc_free(TAKE_PTR(d));
	is_int(desc_parse(base, strlen(base), NULL, &d), 0, "NULL expected volume skips the check");
	desc_free(TAKE_PTR(d));
	if (asprintf(&t1, "%s\n \t\r\n", base) < 0)
		abort();
	is_int(desc_parse(t1, strlen(t1), "db1", &d), 0, "trailing whitespace accepted");
	desc_free(TAKE_PTR(d));
	t2 = replace(base, "\"version\": 2,", "\"version\": 2, \"future\": [1, {}],");
	is_int(desc_parse(t2, strlen(t2), "db1", &d), 0, "unknown keys ignored");
	desc_free(TAKE_PTR(d));
	{
		/* A descriptor written before an upgrade: version 1, no
		 * "nguid"/"nsid" keys, a UUID for every replica. */
		_cleanup_free_ char *a = replace(base, "\"version\": 2,", "\"version\": 1,"),
				    *b = replace(a, "      \"nguid\": null,\n      \"nsid\": null,\n", "");

		is_int(desc_parse(b, strlen(b), "db1", &d), 0, "a version 1 descriptor is read");
		ok(d && d->replicas[0].ns.has_uuid && !d->replicas[0].ns.nsid, "  ... its UUID kept");
		desc_free(TAKE_PTR(d));
	}
	t3 = replace(base, "96e25fb4-9f91-4c88-ab59-275fd3547700", "96E25FB4-9F91-4C88-AB59-275FD3547700");
	is_int(desc_parse(t3, strlen(t3), "db1", &d), 0, "upper-case UUID accepted");
	if (d) {
		char u[37];

		vol_uuid_format(d->replicas[0].ns.uuid, u);
		is_str(u, "96e25fb4-9f91-4c88-ab59-275fd3547700", "and stored as bytes");
	}
	is_int(desc_parse(base, strlen(base), "../x", &d), -EINVAL,
	       "invalid expected volume is the caller's error");
}

/* ---- files -------------------------------------------------------------- */

static void test_files(void)
{
	_cleanup_desc_ struct desc *d = make_desc("db1", 1), *back = NULL;
	_cleanup_free_ char *victim = NULL, *text = NULL;
	_cleanup_close_ int fd = -EBADF;

	/* A symlink planted at the descriptor path is replaced, not followed. */
	write_file_atomic_at(tmp_fd, "victim", "victim\n", 7, 0644);
	unlinkat(tmp_fd, "run/nvmf-raid/db1.json", 0);
	fixture(symlinkat("../../victim", tmp_fd, "run/nvmf-raid/db1.json"));
	is_int(desc_write(d), 0, "desc_write over a planted symlink succeeds");
	victim = slurp("victim");
	is_str(victim, "victim\n", "the symlink target is unchanged");
	ok(S_ISREG(mode_at("run/nvmf-raid/db1.json")), "the symlink was replaced, not written through");
	text = slurp("run/nvmf-raid/db1.json");
	is_str(text, golden, "the file holds the descriptor");

	unlinkat(tmp_fd, "run/nvmf-raid/db1.json", 0);
	fixture(symlinkat("../../victim", tmp_fd, "run/nvmf-raid/db1.json"));
	is_int(desc_read("db1", &back), -ELOOP, "desc_read does not follow a symlink");
	unlinkat(tmp_fd, "run/nvmf-raid/db1.json", 0);

	is_int(desc_read("db1", &back), -ENOENT, "no descriptor: -ENOENT");
	is_int(desc_read("../db1", &back), -EINVAL, "invalid volume name: -EINVAL");
	desc_open_runtime_dir(false, &fd);
	write_file_atomic_at(fd, "db1.json", "{\"format\": 3}", 13, 0644);
	is_int(desc_read("db1", &back), -EBADMSG, "malformed file: -EBADMSG");
	write_file_atomic_at(fd, "db1.json", "", 0, 0644);
	is_int(desc_read("db1", &back), -EBADMSG, "empty file: -EBADMSG");
	remove_file_at(fd, "db1.json");
	desc_set_string(&d->md.device, "/tmp/md0");
	is_int(desc_write(d), -EINVAL, "descriptor with md device outside /dev is not written");
	desc_set_string(&d->md.device, NULL);
	d->replicas[0].state = (enum state)42;
	is_int(desc_write(d), -EINVAL, "descriptor with an invalid state is not written");
	ok(mode_at("run/nvmf-raid/db1.json") == (mode_t)-1, "and nothing was written");
}

static void test_big_file(void)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *big = calloc(1, DESC_SIZE_MAX + 1);
	_cleanup_desc_ struct desc *d = NULL;

	desc_open_runtime_dir(false, &fd);
	memset(big, ' ', DESC_SIZE_MAX + 1);
	write_file_atomic_at(fd, "big.json", big, DESC_SIZE_MAX + 1, 0644);
	is_int(desc_read("big", &d), -EFBIG, "descriptor over 1 MiB: -EFBIG");
	remove_file_at(fd, "big.json");
}

/* The volume owning namespace @uuid of subsystem r@i's NQN, as the probe
 * asks: -ENOENT, -EBADMSG, or 0 with the name in @ret. */
static int lookup(unsigned i, const char *uuid, char ret[VOL_NAME_MAX + 1])
{
	struct vol_ns_id seen = { .has_uuid = true, .nsid = 1 };
	struct desc_index_entry e;
	char nqn[VOL_NQN_MAX + 1];
	int r;

	snprintf(nqn, sizeof(nqn), NQN_FMT, i);
	if (vol_uuid_parse(uuid, seen.uuid) < 0)
		return -EINVAL;
	r = desc_index_find(nqn, &seen, &e);
	if (r == 0)
		memcpy(ret, e.volume, sizeof(e.volume));
	return r;
}

static void test_index(void)
{
	_cleanup_desc_ struct desc *d = make_desc("db1", 3), *other = make_desc("db2", 1);
	_cleanup_free_ char *entry = NULL;
	_cleanup_close_ int fd = -EBADF, idx = -EBADF;
	char uuid0[37], uuid1[37], vol[VOL_NAME_MAX + 1];

	snprintf(uuid0, sizeof(uuid0), UUID_FMT, (uint8_t)0);
	snprintf(uuid1, sizeof(uuid1), UUID_FMT, (uint8_t)1);
	is_int(desc_write(d), 0, "write db1");
	is_int(desc_write_index(d), 1, "index written: 1");
	is_int(desc_write_index(d), 0, "index already right: 0");
	is_int(mode_at("run/nvmf-raid/by-uuid") & 07777, 0755, "by-uuid is 0755");
	entry = slurp("run/nvmf-raid/by-uuid/96e25fb4-9f91-4c88-ab59-275fd3547702");
	is_str(entry,
	       "NVMF_RAID_VOLUME=db1\nNVMF_RAID_REPLICA=r2\nNVMF_RAID_SINGLE=0\n"
	       "NVMF_RAID_NQN=nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e9505127702\n"
	       "NVMF_RAID_NS_UUID=96e25fb4-9f91-4c88-ab59-275fd3547702\n",
	       "entry holds KEY=VALUE lines: volume, replica, single, subsystem, namespace");
	ok(lookup(1, uuid1, vol) == 0 && streq(vol, "db1"), "lookup finds db1");
	ok(lookup(1, "96E25FB4-9F91-4C88-AB59-275FD3547701", vol) == 0 && streq(vol, "db1"),
	   "lookup with an upper-case UUID");
	is_int(lookup(2, uuid1, vol), -ENOENT, "the UUID in another subsystem: -ENOENT");
	is_int(lookup(1, "96e25fb4-9f91-4c88-ab59-275fd35477ff", vol), -ENOENT,
	       "unknown namespace: -ENOENT");

	/* db2 claims r0's namespace while db1 is attached: a conflict. */
	vol_uuid_parse(uuid0, other->replicas[0].ns.uuid);
	is_int(desc_write(other), 0, "write db2");
	is_int(desc_write_index(other), -EEXIST, "namespace of an attached volume: -EEXIST");
	ok(lookup(0, uuid0, vol) == 0 && streq(vol, "db1"), "entry still names db1");

	desc_open_runtime_dir(false, &fd);
	remove_file_at(fd, "db1.json");
	is_int(desc_write_index(other), 1, "entry of a volume without descriptor is stale: replaced");
	ok(lookup(0, uuid0, vol) == 0 && streq(vol, "db2"), "entry now names db2");
	is_int(desc_remove_index(d), 1, "remove db1's entries: 1");
	ok(lookup(0, uuid0, vol) == 0 && streq(vol, "db2"), "db2's entry left alone");
	is_int(lookup(1, uuid1, vol), -ENOENT, "db1's entry gone");
	is_int(desc_remove_index(d), 0, "nothing left to remove: 0");

	open_dir_nofollow(fd, "by-uuid", &idx);
	write_file_atomic_at(idx, uuid1, "NVMF_RAID_VOLUME=db 1\n", 22, 0644);
	is_int(lookup(1, uuid1, vol), -EBADMSG, "junk entry: -EBADMSG");
	write_file_atomic_at(idx, uuid1, "db1\n", 4, 0644);
	is_int(lookup(1, uuid1, vol), -EBADMSG, "entry without the key: -EBADMSG");
	write_file_atomic_at(idx, uuid1, "NVMF_RAID_VOLUME=db1", 20, 0644);
	is_int(lookup(1, uuid1, vol), -EBADMSG, "entry without newline: -EBADMSG");
	{
		static const char v1[] = "NVMF_RAID_VOLUME=db1\nNVMF_RAID_REPLICA=r1\nNVMF_RAID_SINGLE=0\n";

		write_file_atomic_at(idx, uuid1, v1, STRLEN(v1), 0644);
	}
	ok(lookup(1, uuid1, vol) == 0 && streq(vol, "db1"), "an entry of version 1 (no NQN) still works");
	remove_file_at(idx, uuid1);
	is_int(desc_remove("db2"), 1, "desc_remove db2: 1");
	is_int(lookup(0, uuid0, vol), -ENOENT, "its entry is gone");
	ok(mode_at("run/nvmf-raid/db2.json") == (mode_t)-1, "its descriptor is gone");
	is_int(desc_remove("db2"), 0, "desc_remove again: 0");
	is_int(desc_remove("a/b"), -EINVAL, "desc_remove of an invalid name: -EINVAL");
	is_int(count_temporaries("run/nvmf-raid"), 0, "no temporary file left in the runtime dir");
	is_int(count_temporaries("run/nvmf-raid/by-uuid"), 0, "no temporary file left in by-uuid");
}

/* Replicas found by NGUID and by NSID alone (contract.md): their entries,
 * and the probe's lookup, which checks the subsystem and every identifier. */
static void test_index_nguid_nsid(void)
{
	_cleanup_desc_ struct desc *d = make_desc("db3", 3);
	_cleanup_free_ char *e1 = NULL, *e2 = NULL;
	struct desc_index_entry e;
	struct vol_ns_id seen = { .has_nguid = true, .nsid = 5 };
	const char *dir;
	char name[NAME_MAX + 1], slashy[VOL_NQN_MAX + 1];

	d->replicas[1].ns = (struct vol_ns_id){ .has_nguid = true };
	vol_nguid_parse("1a2b3c4d5e6f70818293a4b5c6d7e8f9", d->replicas[1].ns.nguid);
	d->replicas[2].ns = (struct vol_ns_id){ .nsid = 10 };
	snprintf(d->replicas[2].nqn, sizeof(d->replicas[2].nqn), "nqn.nvme-subsystem-1-a/b%%c");
	is_int(desc_write(d), 0, "write db3");
	is_int(desc_write_index(d), 1, "index of uuid, nguid and nsid replicas written");
	e1 = slurp("run/nvmf-raid/by-nguid/1a2b3c4d5e6f70818293a4b5c6d7e8f9");
	ok(e1 && strstr(e1, "NVMF_RAID_REPLICA=r1\n") &&
		   strstr(e1, "NVMF_RAID_NS_NGUID=1a2b3c4d5e6f70818293a4b5c6d7e8f9\n"),
	   "by-nguid entry");
	e2 = slurp("run/nvmf-raid/by-nsid/10@nqn.nvme-subsystem-1-a%2Fb%25c");
	ok(e2 && strstr(e2, "NVMF_RAID_NSID=10\n"), "by-nsid entry, '/' and '%%' escaped");

	memcpy(seen.nguid, d->replicas[1].ns.nguid, 16);
	ok(desc_index_find(d->replicas[1].nqn, &seen, &e) == 0 && streq(e.replica, "r1"),
	   "an NGUID-only replica is found by the namespace's nguid");
	seen.has_uuid = true; /* the kernel shows the NGUID as "uuid" too */
	memcpy(seen.uuid, seen.nguid, 16);
	ok(desc_index_find(d->replicas[1].nqn, &seen, &e) == 0 && streq(e.replica, "r1"),
	   "  ... also when sysfs shows it as uuid as well");
	is_int(desc_index_find(d->replicas[0].nqn, &seen, &e), -ENOENT, "  ... not in another subsystem");
	seen = (struct vol_ns_id){ .nsid = 10, .has_uuid = true };
	ok(desc_index_find("nqn.nvme-subsystem-1-a/b%c", &seen, &e) == 0 && streq(e.replica, "r2") &&
		   e.ns.nsid == 10,
	   "an NSID-only replica is found by subsystem and nsid");
	seen.nsid = 11;
	is_int(desc_index_find("nqn.nvme-subsystem-1-a/b%c", &seen, &e), -ENOENT,
	       "  ... not by another nsid");

	memset(slashy, '/', VOL_NQN_MAX);
	slashy[VOL_NQN_MAX] = 0;
	memcpy(slashy, "nqn.", 4);
	is_int(desc_index_entry_name(slashy, &(struct vol_ns_id){ .nsid = 1 }, &dir, name),
	       -ENAMETOOLONG, "an NQN of 219 '/' does not fit a file name escaped: -ENAMETOOLONG");
	is_int(desc_remove("db3"), 1, "desc_remove db3");
	ok(mode_at("run/nvmf-raid/by-nsid/10@nqn.nvme-subsystem-1-a%2Fb%25c") == (mode_t)-1 &&
		   mode_at("run/nvmf-raid/by-nguid/1a2b3c4d5e6f70818293a4b5c6d7e8f9") == (mode_t)-1,
	   "  ... its by-nguid and by-nsid entries gone too");
}

static void test_index_symlink(void)
{
	_cleanup_desc_ struct desc *d = make_desc("db1", 1);
	char vol[VOL_NAME_MAX + 1];
	int r;

	mkdirat(tmp_fd, "elsewhere", 0755);
	unlinkat(tmp_fd, "run/nvmf-raid/by-uuid", AT_REMOVEDIR);
	fixture(symlinkat("../../elsewhere", tmp_fd, "run/nvmf-raid/by-uuid"));
	r = desc_write_index(d);
	ok(r == -ELOOP || r == -ENOTDIR, "by-uuid as a symlink is refused (r=%d)", r);
	ok(mode_at("elsewhere/96e25fb4-9f91-4c88-ab59-275fd3547700") == (mode_t)-1,
	   "nothing written through it");
	r = lookup(0, "96e25fb4-9f91-4c88-ab59-275fd3547700", vol);
	ok(r == -ELOOP || r == -ENOTDIR, "lookup refuses it too (r=%d)", r);
	unlinkat(tmp_fd, "run/nvmf-raid/by-uuid", 0);
}

int main(void)
{
	log_setup("test-descriptor");
	log_set_target(LOG_TARGET_CONSOLE);
	umask(077);
	if (!mkdtemp(tmp) || (tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdirat(tmp_fd, "run", 0755) < 0) {
		printf("Bail out! mkdtemp: %m\n");
		return 1;
	}
	snprintf(run, sizeof(run), "%s/run/nvmf-raid", tmp);
	setenv(DESC_RUNTIME_DIR_ENV, run, 1);

	test_from_volume();
	test_added_keys();
	test_round_trip("db1", 1);
	test_round_trip("volume-0c468c4d-a385-47e0-8299-6e95051277db", 16);
	test_runtime_dir();
	test_accept();
	test_reject();
	test_files();
	test_big_file();
	test_index();
	test_index_nguid_nsid();
	test_index_symlink();

	close(tmp_fd);
	if (!getenv("NVMF_RAID_TEST_KEEP"))
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
