/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nvmf-raid os-brick connect|disconnect|extend|paths [--volume NAME]: the adapter
 * for OpenStack os-brick (contract.md "Commands").  Reads os-brick's NVMe-oF
 * connection_properties on stdin (lib/osbrick.h), writes the transient
 * volume file and drives nvmf-raid@VOLUME.service (lib/unit.h).  stdout
 * carries os-brick's answer as JSON and nothing else, so that the caller
 * can parse it as it is; everything else goes to the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "descriptor.h"
#include "device.h"
#include "exit-status.h"
#include "fileio.h"
#include "grow.h"
#include "hostid.h"
#include "log.h"
#include "macro.h"
#include "osbrick.h"
#include "session.h"
#include "unit.h"
#include "volume.h"
#include "verbs.h"

/* Every character a volume name may hold is valid in a unit name as it
 * is, and the template passes %i on unescaped: systemd-escape would turn
 * "db-1" into "db\x2d1", which the helper would then be given. */
#define UNIT_FMT "nvmf-raid@%s.service"
#define UNIT_NAME_MAX (STRLEN("nvmf-raid@.service") + VOL_NAME_MAX + 1)

struct request {
	struct osb_volume *o;
	struct vol_volume *vol;
	char unit[UNIT_NAME_MAX];
	char file[NAME_MAX + 1]; /* in the transient directory */
	char lock[NAME_MAX + 1]; /* likewise, hidden from vol_list_files() */
	int dir_fd;
	int lock_fd;
};

static void request_done(struct request *q)
{
	if (q->lock_fd >= 0)
		q->lock_fd = unlock_file_at(q->dir_fd, q->lock, q->lock_fd, true);
	safe_close(q->dir_fd);
	vol_free(q->vol);
	osb_free(q->o);
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: nvmf-raid os-brick connect|disconnect|extend|paths [OPTIONS] < PROPERTIES.json\n"
		"\n"
		"Attach, detach or extend a volume for OpenStack os-brick.  Reads os-brick's\n"
		"NVMe-oF connection_properties (JSON) on stdin; prints os-brick's answer as\n"
		"JSON on stdout:\n"
		"  connect     write %s/VOLUME.conf, start\n"
		"              nvmf-raid@VOLUME.service and print\n"
		"              {\"type\": \"block\", \"path\": \"/dev/nvmf-raid/VOLUME\"}.\n"
		"              An attached volume is refused: multi-attach is not supported.\n"
		"  disconnect  stop the unit, remove the file and print null.\n"
		"  extend      rescan and grow the attached volume, print its size in bytes.\n"
		"  paths       print [\"/dev/nvmf-raid/VOLUME\"] when connect attached the\n"
		"              volume and it is attached, else [] (os-brick's\n"
		"              get_volume_paths).\n"
		"\n"
		"Accepted: os-brick's NVMe-oF connection_properties in its four shapes:\n"
		"  1, 2  \"volume_replicas\": [TARGET, ...] (1 to 16), with \"vol_uuid\" (the\n"
		"        Cinder volume id, a UUID), \"alias\" and \"replica_count\"\n"
		"  3     one TARGET as the top level (\"target_nqn\" present)\n"
		"  4     the original form: \"nqn\", \"target_portal\", \"target_port\",\n"
		"        \"transport_type\", optional \"volume_nguid\", \"ns_id\", \"host_nqn\";\n"
		"        a \"vol_uuid\" here names the volume, never the namespace\n"
		"TARGET: \"target_nqn\" (or \"nqn\"); \"portals\": 1 to 16 of\n"
		"  [ADDRESS, PORT, TRANSPORT] or {\"address\", \"port\", \"transport\"};\n"
		"  the namespace by \"vol_uuid\" (or \"uuid\"), else \"volume_nguid\", else\n"
		"  \"ns_id\", the first given being the one written; optional \"host_nqn\"\n"
		"  (must be this host's NQN).\n"
		"TRANSPORT: tcp, rdma, roce or RoCEv2 in any case; fc, loop and pcie are\n"
		"refused, other strings are tcp.  Unknown keys are ignored.\n"
		"The volume name is --volume, else \"alias\", else the top-level \"vol_uuid\",\n"
		"else the namespace UUID or NGUID of the only target.\n"
		"\n"
		"Options:\n"
		"  -h --help          Show this help\n"
		"     --volume NAME   The volume name, whatever the JSON says\n"
		"\n"
		"Exit status: 0 success, 1 operation failed or already attached, 2 invalid\n"
		"input or volume, 3 a required tool or kernel module is missing.\n",
		vol_run_dir());
}

/* All of stdin, at most OSB_INPUT_MAX bytes: os-brick's JSON is a few KiB. */
static int read_input(char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = malloc(OSB_INPUT_MAX + 1);
	size_t len = 0;

	if (!buf)
		return log_oom();
	while (len <= OSB_INPUT_MAX) {
		ssize_t n = read(STDIN_FILENO, buf + len, OSB_INPUT_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_error_errno(errno, "Failed to read the connection properties: %m");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > OSB_INPUT_MAX)
		return log_error_errno(EFBIG, "connection_properties: larger than %d bytes; refused.",
				       OSB_INPUT_MAX);
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* The transient directory.  The default is walked from /run down, so no
 * symlink below /run is followed; one from $NVMF_RAID_VOLUMES_RUN (tests)
 * has its parent trusted as it is, as desc_open_runtime_dir() does.
 * Without @create, a missing one is -ENOENT, not logged. */
static int open_volume_dir(bool create, int *ret_fd)
{
	const char *dir = vol_run_dir();
	int r;

	r = open_dir_trusting(dir, streq(dir, VOL_RUN_DIR) ? "/run" : NULL, create, ret_fd);
	if (r == -ENOENT && !create)
		return r;
	if (r == -EINVAL)
		return log_error_errno(r, "$%s must be an absolute path to a directory.", VOL_RUN_DIR_ENV);
	if (r < 0)
		return log_error_errno(r, "Failed to %s %s: %m", create ? "create" : "open", dir);
	return 0;
}

/* 1 if @name exists in @dir_fd (a symlink counts), 0 if not. */
static int exists_at(int dir_fd, const char *name)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

/* A file in /etc would be attached instead of ours (it wins) or is the
 * admin's volume: either way not ours to touch. */
static int refuse_persistent(const char *name)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s.conf", vol_etc_dir(), name) < 0)
		return log_oom();
	r = exists_at(AT_FDCWD, path);
	if (r < 0)
		return log_error_errno(r, "%s: cannot look for %s: %m", name, path);
	if (r > 0)
		return log_error_errno(EEXIST,
				       "%s: %s exists; this volume belongs to the admin, not to "
				       "os-brick. Refusing.",
				       name, path);
	return 0;
}

/* Whether the descriptor /run/nvmf-raid/VOLUME.json exists: the volume is
 * attached (or being attached) by whatever means. */
static int descriptor_exists(const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	char file[NAME_MAX + 1];
	int r;

	r = desc_open_runtime_dir(false, &fd);
	if (r == -ENOENT)
		return 0;
	if (r >= 0) {
		r = vs_file_name(VS_FILE_DESCRIPTOR, name, file);
		if (r >= 0)
			r = exists_at(fd, file);
	}
	if (r < 0)
		return log_error_errno(r, "%s: cannot look for its descriptor: %m", name);
	return r;
}

static bool state_is_down(const char *state)
{
	return streq(state, "inactive") || streq(state, "failed");
}

/* connect uses this host's identity: a request for another is refused
 * rather than quietly served with ours.  Return: an exit status. */
static int check_host_nqn(const struct osb_volume *o)
{
	_cleanup_free_ char *ours = NULL, *id = NULL;

	for (unsigned i = 0; i < o->n_replicas; i++) {
		const struct osb_replica *rep = &o->replicas[i];

		if (!rep->host_nqn)
			continue;
		/* The one the connect will use (fabrics.c), created if
		 * missing; its errors are logged there. */
		if (!ours && hostid_get(&ours, &id) < 0)
			return EXIT_FAILED;
		if (!streq(ours, rep->host_nqn)) {
			log_error("%s%shost_nqn: not this host's NQN (%s, %s/hostnqn); "
				  "connecting would use another identity. Refusing.",
				  rep->path, *rep->path ? "." : "", ours, hostid_dir());
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

/* Serialises os-brick calls for one volume: two connects must not both
 * see it detached.  Not the volume lock, which the unit's helper takes
 * while we wait for it. */
static int lock_request(struct request *q)
{
	int r = open_volume_dir(true, &q->dir_fd);

	if (r < 0)
		return r;
	r = lock_file_at(q->dir_fd, q->lock, true, &q->lock_fd);
	if (r < 0)
		return log_error_errno(r, "%s: failed to lock %s/%s: %m", q->o->name, vol_run_dir(),
				       q->lock);
	return 0;
}

/* The checks of connect that touch nothing: EXIT_OK to go on. */
static int connect_checks(struct request *q, sd_bus **ret_bus)
{
	_cleanup_free_ char *state = NULL;
	const char *name = q->o->name;
	int r;

	r = check_host_nqn(q->o);
	if (r != EXIT_OK)
		return r;
	if (refuse_persistent(name) < 0)
		return EXIT_FAILED;
	if (lock_request(q) < 0)
		return EXIT_FAILED;
	r = descriptor_exists(name);
	if (r < 0)
		return EXIT_FAILED;
	if (r > 0) {
		log_error("%s: already attached; multi-attach is not supported.", name);
		return EXIT_FAILED;
	}
	r = vol_check_against_others(q->vol);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
	if (unit_bus_open(ret_bus) < 0 || unit_active_state(*ret_bus, q->unit, &state) < 0)
		return EXIT_FAILED;
	if (!state_is_down(state)) {
		log_error("%s: already attached (%s is %s); multi-attach is not supported.", name,
			  q->unit, state);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* A failed start: 2 (invalid volume) and 3 (tool missing) from the helper
 * of this start (begun at @since) are passed on, anything else is 1. */
static int start_failed(sd_bus *bus, struct request *q, uint64_t since)
{
	int status = 0, r;

	r = remove_file_at(q->dir_fd, q->file);
	if (r < 0)
		log_warning_errno(r, "%s: failed to remove %s/%s again: %m", q->o->name, vol_run_dir(),
				  q->file);
	if (unit_exit_status(bus, q->unit, since, &status) < 0 || !IN_SET(status, EXIT_USAGE, EXIT_MISSING))
		return EXIT_FAILED;
	return status;
}

static int do_connect(struct request *q)
{
	_cleanup_bus_ sd_bus *bus = NULL;
	const char *name = q->o->name;
	uint64_t since;
	int r;

	r = connect_checks(q, &bus);
	if (r != EXIT_OK)
		return r;
	r = write_file_atomic_at(q->dir_fd, q->file, q->o->text, strlen(q->o->text), 0644);
	if (r < 0) {
		log_error_errno(r, "%s: failed to write %s/%s: %m", name, vol_run_dir(), q->file);
		return EXIT_FAILED;
	}
	log_info("%s: wrote %s/%s; starting %s.", name, vol_run_dir(), q->file, q->unit);
	since = now_usec();
	if (unit_start(bus, q->unit) < 0)
		return start_failed(bus, q, since);
	printf("{\"type\": \"block\", \"path\": \"%s%s\"}\n", DESC_DEVICE_PREFIX, name);
	return EXIT_OK;
}

/* Stops the unit; a volume still attached while its unit is down (an
 * earlier stop failed, e.g. busy) is brought back under the unit first:
 * starting an attached volume changes nothing, and only the unit's stop
 * detaches it. */
static int stop_unit(sd_bus *bus, struct request *q, bool attached)
{
	_cleanup_free_ char *state = NULL;

	if (unit_active_state(bus, q->unit, &state) < 0)
		return -EIO;
	if (attached && state_is_down(state)) {
		log_info("%s: attached but %s is %s; starting it to stop it.", q->o->name, q->unit, state);
		if (unit_start(bus, q->unit) < 0)
			return -EIO;
	}
	return unit_stop(bus, q->unit);
}

static int do_disconnect(struct request *q)
{
	_cleanup_bus_ sd_bus *bus = NULL;
	const char *name = q->o->name;
	int r;

	if (refuse_persistent(name) < 0 || lock_request(q) < 0)
		return EXIT_FAILED;
	r = descriptor_exists(name);
	if (r < 0 || unit_bus_open(&bus) < 0)
		return EXIT_FAILED;
	if (stop_unit(bus, q, r > 0) < 0) {
		log_error("%s: not detached; %s/%s is kept.", name, vol_run_dir(), q->file);
		return EXIT_FAILED;
	}
	/* The helper removes the descriptor once it detached. */
	r = descriptor_exists(name);
	if (r != 0) {
		if (r > 0)
			log_error("%s: still attached after %s stopped; see 'journalctl -u %s'.", name,
				  q->unit, q->unit);
		return EXIT_FAILED;
	}
	r = remove_file_at(q->dir_fd, q->file);
	if (r < 0) {
		log_error_errno(r, "%s: failed to remove %s/%s: %m", name, vol_run_dir(), q->file);
		return EXIT_FAILED;
	}
	if (r > 0)
		log_info("%s: detached; removed %s/%s.", name, vol_run_dir(), q->file);
	printf("null\n");
	return EXIT_OK;
}

static int do_extend(struct request *q)
{
	const char *name = q->o->name;
	uint64_t size = 0;
	int r;

	if (lock_request(q) < 0)
		return EXIT_FAILED;
	r = descriptor_exists(name);
	if (r == 0)
		log_error("%s: not attached; nothing to extend.", name);
	if (r <= 0)
		return EXIT_FAILED;
	/* grow_volume() logged why it failed, or that a replica lags. */
	r = grow_volume(name, &size);
	if (r == -ENOPKG)
		return EXIT_MISSING;
	if (r == -ENOENT)
		log_error("%s: not attached; nothing to extend.", name);
	if (r < 0)
		return EXIT_FAILED;
	printf("%" PRIu64 "\n", size);
	return EXIT_OK;
}

/* os-brick's get_volume_paths(): the device, when os-brick had nvmf-raid
 * attach this volume (its transient file) and it is attached (its
 * descriptor).  Read only, so without the request lock: os-brick asks it
 * to learn whether a volume is ours at all. */
static int do_paths(struct request *q)
{
	const char *name = q->o->name;
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = open_volume_dir(false, &fd);
	if (r < 0 && r != -ENOENT)
		return EXIT_FAILED;
	r = r < 0 ? 0 : exists_at(fd, q->file);
	if (r < 0) {
		log_error_errno(r, "%s: cannot look for %s/%s: %m", name, vol_run_dir(), q->file);
		return EXIT_FAILED;
	}
	if (r > 0)
		r = descriptor_exists(name);
	if (r < 0)
		return EXIT_FAILED;
	if (r > 0)
		printf("[\"%s%s\"]\n", DESC_DEVICE_PREFIX, name);
	else
		printf("[]\n");
	return EXIT_OK;
}

static const struct action {
	const char *name;
	int (*run)(struct request *q);
} actions[] = {
	{ .name = "connect", .run = do_connect },
	{ .name = "disconnect", .run = do_disconnect },
	{ .name = "extend", .run = do_extend },
	{ .name = "paths", .run = do_paths },
};

/* Reads and validates the request; EXIT_OK to go on. */
static int load_request(struct request *q, const char *volume)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_input(&buf, &len);
	if (r < 0)
		return r == -EFBIG ? EXIT_USAGE : EXIT_FAILED;
	r = osb_parse(buf, len, volume, &q->o);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
	r = osb_validate(q->o, &q->vol);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
	snprintf(q->unit, sizeof(q->unit), UNIT_FMT, q->o->name);
	if (vs_file_name(VS_FILE_CONF, q->o->name, q->file) < 0 ||
	    vs_file_name(VS_FILE_OSBRICK_LOCK, q->o->name, q->lock) < 0)
		return EXIT_USAGE; /* osb_validate() took the name: not reached */
	return EXIT_OK;
}

int verb_os_brick(int argc, char *argv[])
{
	enum {
		ARG_VOLUME = 0x100
	};
	static const struct option options[] = { { "help", no_argument, NULL, 'h' },
						 { "volume", required_argument, NULL, ARG_VOLUME },
						 {} };
	_cleanup_(request_done) struct request q = { .dir_fd = -EBADF, .lock_fd = -EBADF };
	const struct action *action = NULL;
	const char *volume = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (opt) {
		case 'h':
			help(stdout);
			return EXIT_OK;
		case ARG_VOLUME:
			volume = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	if (argc - optind != 1) {
		log_error("Expected one action: connect, disconnect, extend or paths; see --help.");
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ELEMENTSOF(actions); i++)
		if (streq(argv[optind], actions[i].name))
			action = &actions[i];
	if (!action) {
		log_error("Unknown action '%s': connect, disconnect, extend or paths; see --help.",
			  argv[optind]);
		return EXIT_USAGE;
	}
	if (volume && !vol_name_is_valid(volume)) {
		log_error("--volume: not a valid volume name (1-%d of A-Z a-z 0-9 _ . -, starting with "
			  "a letter or digit).",
			  VOL_NAME_MAX);
		return EXIT_USAGE;
	}
	r = load_request(&q, volume);
	if (r != EXIT_OK)
		return r;
	r = action->run(&q);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error_errno(errno, "Failed to write the answer: %m");
		return EXIT_FAILED;
	}
	return r;
}
