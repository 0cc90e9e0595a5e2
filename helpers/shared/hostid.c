/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fileio.h"
#include "hostid.h"
#include "log.h"
#include "macro.h"
#include "volume.h"

/* Both files hold one short line; a larger file is not one of them.  A
 * page, because sysfs attributes (product_uuid) report that size. */
#define HOSTID_FILE_MAX 4096

/* Where a new UUID came from, as the journal says it. */
enum source {
	SOURCE_HOSTID,
	SOURCE_HOSTNQN,
	SOURCE_DMI,
	SOURCE_MACHINE_ID,
	SOURCE_RANDOM,
};

static const char *const source_text[] = {
	[SOURCE_HOSTID] = "from the UUID of the host ID",
	[SOURCE_HOSTNQN] = "from the UUID in the host NQN",
	[SOURCE_DMI] = "from the DMI system UUID",
	[SOURCE_MACHINE_ID] = "derived from the machine ID",
	[SOURCE_RANDOM] = "random: no DMI system UUID and no machine ID",
};

struct ident {
	const char *dir;
	int dir_fd; /* also holds the creators' flock() */
	char *nqn;
	char *id;
	bool created;
};

static void ident_done(struct ident *h)
{
	free(h->nqn);
	free(h->id);
	safe_close(h->dir_fd);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *e = secure_getenv(name);

	return e && *e ? e : fallback;
}

const char *hostid_dir(void)
{
	return env_or(HOSTID_DIR_ENV, HOSTID_DIR);
}

int hostid_nqn_check(const char *nqn, const char **ret_why)
{
	/* What the kernel takes as an NQN (vol_nqn_check()), and a host NQN
	 * as nvme-cli and libnvme write one: "nqn." first. */
	if (vol_nqn_check(nqn, ret_why) < 0)
		return -EINVAL;
	if (strncmp(nqn, "nqn.", 4) != 0) {
		if (ret_why)
			*ret_why = "does not start with \"nqn.\"";
		return -EINVAL;
	}
	return 0;
}

/* Firmware without a system UUID fills it with 00 or FF bytes; every such
 * machine would share it. */
static bool uuid_is_placeholder(const uint8_t u[16])
{
	bool zero = true, ff = true;

	for (unsigned i = 0; i < 16; i++) {
		zero = zero && u[i] == 0x00;
		ff = ff && u[i] == 0xff;
	}
	return zero || ff;
}

/* The first line of @buf without surrounding blanks, in place. */
static char *first_line(char *buf)
{
	char *s = buf + strspn(buf, " \t");
	size_t n = strcspn(s, "\r\n");

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	s[n] = 0;
	return s;
}

/* Reads the first line of @name; 0 and "" for an empty file. */
static int read_line_at(int dir_fd, const char *name, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	const char *line;
	int r;

	/* Following symlinks: the directory is root's (open_dir_trusting()
	 * checked it), and a file linked in by configuration management is
	 * the identity nvme-cli uses too.  O_NONBLOCK: no hang on a FIFO. */
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		/* A dangling symlink is the admin's: not ours to replace. */
		if (errno == ENOENT && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return -ELOOP;
		return -errno;
	}
	r = read_file_fd(fd, HOSTID_FILE_MAX, &buf, NULL);
	if (r < 0)
		return r;
	/* Blank but for later lines is not "empty": someone's identity may be
	 * there, and an empty file is the only one we may fill. */
	if (strspn(buf, " \t\r\n") != strlen(buf) && !*first_line(buf))
		return -EBADMSG;
	line = first_line(buf);
	memmove(buf, line, strlen(line) + 1);
	*ret = TAKE_PTR(buf);
	return 0;
}

static int parse_nqn(const char *s, char **ret, const char **ret_why)
{
	if (hostid_nqn_check(s, ret_why) < 0)
		return -EINVAL;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int parse_id(const char *s, char **ret, const char **ret_why)
{
	uint8_t u[16];
	char c[37];

	if (vol_uuid_parse(s, u) < 0) {
		*ret_why = "not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)";
		return -EINVAL;
	}
	vol_uuid_format(u, c);
	*ret = strdup(c);
	return *ret ? 0 : -ENOMEM;
}

static int log_read_error(const struct ident *h, const char *name, int r)
{
	const char *why = r == -ELOOP	? "a symbolic link that leads nowhere" :
			  r == -EBADFD	? "not a regular file" :
			  r == -EFBIG	? "larger than 4096 bytes" :
			  r == -EBADMSG ? "its first line is blank, text follows" :
					  NULL;

	if (why)
		return log_error_errno(r, "%s/%s: %s; refusing it.", h->dir, name, why);
	return log_error_errno(r, "Failed to read %s/%s: %m", h->dir, name);
}

/* Loads @name into *@dst.  Return: 1 if read, 0 if missing or empty. */
static int load(struct ident *h, const char *name, const char *what, char **dst)
{
	_cleanup_free_ char *s = NULL;
	const char *why = NULL;
	char *v = NULL;
	int r;

	r = read_line_at(h->dir_fd, name, &s);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_read_error(h, name, r);
	if (!*s)
		return 0;
	r = streq(name, "hostnqn") ? parse_nqn(s, &v, &why) : parse_id(s, &v, &why);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "%s/%s: not a valid %s: %s.", h->dir, name, what, why);
	free(*dst);
	*dst = v;
	return 1;
}

static int load_both(struct ident *h)
{
	int r;

	r = load(h, "hostnqn", "host NQN", &h->nqn);
	if (r < 0)
		return r;
	return load(h, "hostid", "host ID", &h->id);
}

static int dmi_uuid(uint8_t ret[16])
{
	const char *path = env_or(HOSTID_DMI_UUID_ENV, HOSTID_DMI_UUID);
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	uint8_t u[16];
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return log_debug_errno(errno, "No DMI system UUID in %s: %m", path);
	r = read_file_fd(fd, HOSTID_FILE_MAX, &buf, NULL);
	if (r < 0)
		return log_debug_errno(r, "Cannot read %s: %m", path);
	if (vol_uuid_parse(first_line(buf), u) < 0 || uuid_is_placeholder(u))
		return log_debug_errno(ENXIO, "%s holds no usable UUID; ignoring it.", path);
	memcpy(ret, u, sizeof(u));
	return 0;
}

/* A UUID for this host, the same on every run where that can be had.
 * Return: its enum source, or negative errno. */
static int new_uuid(uint8_t ret[16])
{
	sd_id128_t id;
	int r;

	if (dmi_uuid(ret) >= 0)
		return SOURCE_DMI;
	r = sd_id128_get_machine_app_specific(HOSTID_APP_ID, &id);
	if (r >= 0) {
		memcpy(ret, id.bytes, sizeof(id.bytes));
		return SOURCE_MACHINE_ID;
	}
	log_debug_errno(r, "No machine ID: %m");
	r = sd_id128_randomize(&id);
	if (r < 0)
		return r;
	memcpy(ret, id.bytes, sizeof(id.bytes));
	return SOURCE_RANDOM;
}

/* The UUID of @from (the other file's) if it has a real one, else a new one. */
static int pick_uuid(const char *from, enum source from_source, char ret[37])
{
	uint8_t u[16];
	int src = from_source;

	if (!from || vol_uuid_parse(from, u) < 0 || uuid_is_placeholder(u))
		src = new_uuid(u);
	if (src < 0)
		return log_error_errno(src, "Failed to make a UUID for this host: %m");
	vol_uuid_format(u, ret);
	return src;
}

static int publish(struct ident *h, const char *name, const char *what, const char *value, int src)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (asprintf(&text, "%s\n", value) < 0)
		return log_oom();
	r = write_file_atomic_at(h->dir_fd, name, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "Failed to create %s/%s: %m", h->dir, name);
	log_notice("Created %s/%s (%s %s, %s).", h->dir, name, what, value, source_text[src]);
	h->created = true;
	return 0;
}

static int create_nqn(struct ident *h)
{
	_cleanup_free_ char *nqn = NULL;
	char uuid[37];
	int src, r;

	src = pick_uuid(h->id, SOURCE_HOSTID, uuid);
	if (src < 0)
		return src;
	if (asprintf(&nqn, HOSTID_NQN_UUID_PREFIX "%s", uuid) < 0)
		return log_oom();
	r = publish(h, "hostnqn", "host NQN", nqn, src);
	if (r < 0)
		return r;
	h->nqn = TAKE_PTR(nqn);
	return 0;
}

static int create_id(struct ident *h)
{
	const char *from = NULL;
	char uuid[37];
	int src, r;

	if (strncmp(h->nqn, HOSTID_NQN_UUID_PREFIX, STRLEN(HOSTID_NQN_UUID_PREFIX)) == 0)
		from = h->nqn + STRLEN(HOSTID_NQN_UUID_PREFIX);
	src = pick_uuid(from, SOURCE_HOSTNQN, uuid);
	if (src < 0)
		return src;
	r = publish(h, "hostid", "host ID", uuid, src);
	if (r < 0)
		return r;
	h->id = strdup(uuid);
	return h->id ? 0 : log_oom();
}

static int create_missing(struct ident *h)
{
	int r;

	if (h->dir_fd < 0) {
		r = open_dir_trusting(h->dir, NULL, true, &h->dir_fd);
		if (r < 0)
			return log_error_errno(r, "Failed to create %s: %m", h->dir);
	}
	/* Helpers attaching several volumes at boot get here together: the
	 * first creates, the others wait and read what it wrote (a random
	 * UUID would differ).  Released when dir_fd is closed. */
	while (flock(h->dir_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return log_error_errno(errno, "Failed to lock %s: %m", h->dir);
	/* Read again: what counts now is what is there under the lock. */
	free(TAKE_PTR(h->nqn));
	free(TAKE_PTR(h->id));
	r = load_both(h);
	if (r < 0)
		return r;
	if (!h->nqn && (r = create_nqn(h)) < 0)
		return r;
	if (!h->id && (r = create_id(h)) < 0)
		return r;
	return 0;
}

int hostid_get(char **ret_hostnqn, char **ret_hostid)
{
	_cleanup_(ident_done) struct ident h = { .dir_fd = -EBADF };
	int r;

	assert(ret_hostnqn);
	assert(ret_hostid);
	h.dir = hostid_dir();
	r = open_dir_trusting(h.dir, NULL, false, &h.dir_fd);
	if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "Failed to open %s%s: %m", h.dir,
				       r == -EPERM   ? " (writable by others, or not root's)" :
				       r == -ENOTDIR ? " (a symbolic link, or not a directory)" :
						       "");
	if (r >= 0 && (r = load_both(&h)) < 0)
		return r;
	if ((!h.nqn || !h.id) && (r = create_missing(&h)) < 0)
		return r;
	*ret_hostnqn = TAKE_PTR(h.nqn);
	*ret_hostid = TAKE_PTR(h.id);
	return h.created;
}
