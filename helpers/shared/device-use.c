/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether block devices are in use: dev_in_use() for one device,
 * dev_subsys_in_use() for the namespaces of an NVMe subsystem.
 *
 * The devices to look at (a disk, its partitions, an NVMe namespace's
 * generic char device) are gathered into a set first; each check then runs
 * over the whole set, cheapest first, so that /proc is walked once however
 * many namespaces a subsystem has.  The first use found is the answer: the
 * caller needs one reason, not an inventory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "device.h"
#include "fileio.h"
#include "log.h"

struct use_target {
	char name[NAME_MAX + 1]; /* kernel name: the node is /dev/<name> */
	char *holders;		 /* its holders/ in sysfs; NULL for a char device */
};

struct use_set {
	const struct dev_roots *roots;
	struct use_target *t;
	struct dev_key *keys; /* keys[i] is t[i]'s device, for dev_proc_opener() */
	size_t n;
};

static const struct dev_roots real_roots = { .sys = "/sys", .proc = "/proc", .dev = "/dev" };

static void use_set_done(struct use_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->t[i].holders);
	free(s->t);
	free(s->keys);
}

/* Reads "MAJ:MIN" from <sysdir>/dev. */
static int read_devt(const char *sysdir, dev_t *ret)
{
	char path[PATH_MAX], buf[32];
	unsigned ma, mi;
	int n = 0, r;

	if (snprintf(path, sizeof(path), "%s/dev", sysdir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	r = dev_attr_read(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (sscanf(buf, "%u:%u%n", &ma, &mi, &n) != 2 || buf[n])
		return -EBADMSG;
	*ret = makedev(ma, mi);
	return 0;
}

/* Adds the device whose sysfs directory is @sysdir.  One that is not
 * there is no error: it went away meanwhile (nobody uses it then), or it
 * is a generic char device, which older kernels do not have. */
static int set_add(struct use_set *s, const char *sysdir, const char *name, mode_t type)
{
	struct use_target *t;
	struct dev_key *k;
	dev_t devt;
	int r;

	if (!filename_is_valid(name))
		return -EINVAL;
	r = read_devt(sysdir, &devt);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_debug_errno(r, "Cannot read the device number in %s: %m", sysdir);
	t = reallocarray(s->t, s->n + 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	s->t = t;
	k = reallocarray(s->keys, s->n + 1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	s->keys = k;
	t = &s->t[s->n];
	*t = (struct use_target){};
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (type == S_IFBLK && asprintf(&t->holders, "%s/holders", sysdir) < 0)
		return -ENOMEM;
	s->keys[s->n++] = (struct dev_key){ .type = type, .dev = devt };
	return 0;
}

/* Adds the disk whose sysfs directory is @sysdir and its partitions (the
 * subdirectories with a "partition" attribute): a filesystem on a
 * partition uses the disk as much as one on the disk itself. */
static int set_add_disk(struct use_set *s, const char *sysdir, const char *name)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = set_add(s, sysdir, name, S_IFBLK);
	if (r < 0)
		return r;
	d = opendir(sysdir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *part = NULL;
		char attr[NAME_MAX + 16];

		if (de->d_name[0] == '.')
			continue;
		snprintf(attr, sizeof(attr), "%s/partition", de->d_name);
		if (faccessat(dirfd(d), attr, F_OK, 0) < 0)
			continue;
		if (asprintf(&part, "%s/%s", sysdir, de->d_name) < 0)
			return -ENOMEM;
		r = set_add(s, part, de->d_name, S_IFBLK);
		if (r < 0)
			return r;
	}
	return 0;
}

static int why_new(char **ret_why, const char *fmt, ...) _printf_(2, 3);
static int why_new(char **ret_why, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(ret_why, fmt, ap);
	va_end(ap);
	return r < 0 ? -ENOMEM : 1;
}

/* md and dm list themselves in their members' holders/. */
static int check_holders(const struct use_set *s, char **ret_why)
{
	for (size_t i = 0; i < s->n; i++) {
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *de;

		if (!s->t[i].holders)
			continue;
		d = opendir(s->t[i].holders);
		if (!d) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				return why_new(ret_why, "/dev/%s is held by %s", s->t[i].name, de->d_name);
	}
	return 0;
}

/* Mounts in our mount namespace; one elsewhere claims the device
 * exclusively, which check_exclusive() finds. */
static int check_mounts(const struct use_set *s, char **ret_why)
{
	_cleanup_free_ char *path = NULL, *line = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t len = 0;

	if (asprintf(&path, "%s/self/mountinfo", s->roots->proc) < 0)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		char where[PATH_MAX];
		unsigned ma, mi;

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, where) != 3)
			continue;
		for (size_t i = 0; i < s->n; i++)
			if (s->keys[i].type == S_IFBLK && s->keys[i].dev == makedev(ma, mi))
				return why_new(ret_why, "/dev/%s is mounted on %s", s->t[i].name, where);
	}
	return 0;
}

/* Tries an O_EXCL open through the node in /dev, if it is the device (a
 * node that is missing or another device tells nothing).  Read-only, so
 * that closing it makes no udev "change" event. */
static int check_exclusive(const struct use_set *s, char **ret_why)
{
	for (size_t i = 0; i < s->n; i++) {
		_cleanup_free_ char *node = NULL;
		_cleanup_close_ int fd = -EBADF;
		struct stat st;

		if (s->keys[i].type != S_IFBLK)
			continue;
		if (asprintf(&node, "%s/%s", s->roots->dev, s->t[i].name) < 0)
			return -ENOMEM;
		if (stat(node, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != s->keys[i].dev)
			continue;
		fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0 && errno == EBUSY)
			return why_new(ret_why, "/dev/%s is claimed exclusively by another user",
				       s->t[i].name);
	}
	return 0;
}

static int check_openers(const struct use_set *s, char **ret_why)
{
	_cleanup_free_ char *path = NULL;
	char comm[64] = "?";
	size_t i;
	pid_t pid;
	int r;

	r = dev_proc_opener(s->roots->proc, s->keys, s->n, &i, &pid);
	if (r <= 0)
		return r;
	if (asprintf(&path, "%s/%d/comm", s->roots->proc, (int)pid) < 0)
		return -ENOMEM;
	(void)dev_attr_read(path, comm, sizeof(comm));
	return why_new(ret_why, "/dev/%s is open by process %d (%s)", s->t[i].name, (int)pid, comm);
}

static int use_set_check(const struct use_set *s, unsigned flags, char **ret_why)
{
	int r;

	r = check_holders(s, ret_why);
	if (r == 0)
		r = check_mounts(s, ret_why);
	if (r == 0 && (flags & DEV_USE_EXCLUSIVE))
		r = check_exclusive(s, ret_why);
	if (r == 0 && (flags & DEV_USE_OPENERS))
		r = check_openers(s, ret_why);
	return r;
}

int dev_in_use(const char *devnode, unsigned flags, char **ret_why)
{
	_cleanup_(use_set_done) struct use_set s = { .roots = &real_roots };
	_cleanup_free_ char *sysdir = NULL;
	char link[64];
	struct stat st;
	int r;

	if (stat(devnode, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	/* The real directory, whose last component is the kernel name. */
	sysdir = realpath(link, NULL);
	if (!sysdir)
		return -errno;
	r = set_add_disk(&s, sysdir, strrchr(sysdir, '/') + 1);
	if (r < 0)
		return r;
	return use_set_check(&s, flags, ret_why);
}

void dev_key_from_stat(const struct stat *st, struct dev_key *ret)
{
	mode_t type = st->st_mode & S_IFMT;
	bool node = type == S_IFBLK || type == S_IFCHR;

	*ret = (struct dev_key){
		.type = type,
		.dev = node ? st->st_rdev : st->st_dev,
		.ino = node ? 0 : st->st_ino,
	};
}

/* Which of @keys process @pid (a name in @proc_fd) has open. */
static int pid_opens(int proc_fd, const char *pid, const struct dev_key *keys, size_t n, size_t *ret_index)
{
	_cleanup_closedir_ DIR *d = NULL;
	char path[NAME_MAX + 8];
	struct dirent *de;
	int fd;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone, or a kernel thread */
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char target[16];
		struct dev_key k;
		struct stat st;
		ssize_t l;

		/* Only what has a path: sockets, pipes and anonymous inodes
		 * are none of our devices, and fewer stat() calls are fewer
		 * chances to hang on a dead network filesystem. */
		l = readlinkat(dirfd(d), de->d_name, target, sizeof(target));
		if (l <= 0 || target[0] != '/')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		dev_key_from_stat(&st, &k);
		for (size_t i = 0; i < n; i++)
			if (k.type == keys[i].type && k.dev == keys[i].dev && k.ino == keys[i].ino) {
				*ret_index = i;
				return 1;
			}
	}
	return 0;
}

int dev_proc_opener(const char *proc, const struct dev_key *keys, size_t n, size_t *ret_index, pid_t *ret_pid)
{
	_cleanup_closedir_ DIR *d = opendir(proc);
	struct dirent *de;

	if (!d)
		return -errno;
	if (n == 0)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		long pid;
		int r;

		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (errno || end == de->d_name || *end || pid <= 0)
			continue;
		r = pid_opens(dirfd(d), de->d_name, keys, n, ret_index);
		if (r < 0)
			return r;
		if (r > 0) {
			*ret_pid = (pid_t)pid;
			return 1;
		}
	}
	return 0;
}

/* Kernel names: a namespace's block device nvme<N>n<M>, a controller
 * nvme<N>; hidden multipath paths nvme<N>c<C>n<M> are neither. */
static bool name_is(const char *name, bool ns)
{
	unsigned a, b;
	int n = -1;

	if (ns)
		sscanf(name, "nvme%un%u%n", &a, &b, &n);
	else
		sscanf(name, "nvme%u%n", &a, &n);
	return n > 0 && name[n] == 0 && name[4] >= '0' && name[4] <= '9';
}

/* What the namespace in sysfs directory @dir shows: uuid, nguid, nsid
 * (read from @dir, which may be a scratch tree, not through libudev). */
static void ns_seen(const char *dir, struct vol_ns_id *ret)
{
	static const char *const names[] = { "uuid", "nguid", "nsid" };
	char v[ELEMENTSOF(names)][64];
	const char *p[ELEMENTSOF(names)];

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		p[i] = dev_attr_read(path, v[i], sizeof(v[i])) >= 0 ? v[i] : NULL;
	}
	/* A fake tree may leave out nsid: whatever is there still counts. */
	(void)dev_ns_id_parse(p[0], p[1], p[2], ret);
}

/* Adds namespace @name of directory @parent (the subsystem's, or a
 * controller's), its partitions and its generic char device ng<N>n<M>,
 * which sits beside it, unless it is one of @skip (the subsystem is the
 * caller's, so an NSID alone names it too). */
static int set_add_ns(struct use_set *s, const char *parent, const char *name,
		      const struct vol_ns_id *skip, size_t n_skip)
{
	_cleanup_free_ char *dir = NULL, *ng = NULL;
	struct vol_ns_id seen;
	int r;

	if (asprintf(&dir, "%s/%s", parent, name) < 0 ||
	    asprintf(&ng, "%s/ng%s", parent, name + STRLEN("nvme")) < 0)
		return -ENOMEM;
	ns_seen(dir, &seen);
	for (size_t i = 0; i < n_skip; i++)
		if (vol_ns_id_matches(&skip[i], &seen)) {
			log_debug("%s: ours, not counted.", name);
			return 0;
		}
	r = set_add_disk(s, dir, name);
	if (r < 0)
		return r;
	return set_add(s, ng, strrchr(ng, '/') + 1, S_IFCHR);
}

/* Adds the namespaces in @dir; with @descend also those below the
 * controllers in it (no native multipath: no heads, namespaces hang under
 * each controller). */
static int set_add_ns_in(struct use_set *s, const char *dir, bool descend, const struct vol_ns_id *skip,
			 size_t n_skip)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r >= 0 && (de = readdir(d))) {
		_cleanup_free_ char *ctrl = NULL;

		if (name_is(de->d_name, true))
			r = set_add_ns(s, dir, de->d_name, skip, n_skip);
		else if (descend && name_is(de->d_name, false)) {
			if (asprintf(&ctrl, "%s/%s", dir, de->d_name) < 0)
				return -ENOMEM;
			r = set_add_ns_in(s, ctrl, false, skip, n_skip);
		}
	}
	return r;
}

/* The sysfs directory of subsystem @nqn.
 * Return: 1 with @ret, 0 when it is not there, negative errno. */
static int subsys_dir(const char *sys, const char *nqn, char **ret)
{
	_cleanup_free_ char *class = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (asprintf(&class, "%s/class/nvme-subsystem", sys) < 0)
		return -ENOMEM;
	d = opendir(class);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX], val[256];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/subsysnqn", class, de->d_name);
		if (dev_attr_read(path, val, sizeof(val)) < 0 || !streq(val, nqn))
			continue;
		return asprintf(ret, "%s/%s", class, de->d_name) < 0 ? -ENOMEM : 1;
	}
	return 0;
}

int dev_subsys_in_use(const struct dev_roots *roots, const char *nqn, const struct vol_ns_id *skip,
		      size_t n_skip, char **ret_why)
{
	_cleanup_(use_set_done) struct use_set s = { .roots = roots ? roots : &real_roots };
	_cleanup_free_ char *dir = NULL;
	int r;

	r = subsys_dir(s.roots->sys, nqn, &dir);
	if (r <= 0)
		return r;
	r = set_add_ns_in(&s, dir, true, skip, n_skip);
	if (r < 0)
		return r;
	return use_set_check(&s, DEV_USE_EXCLUSIVE | DEV_USE_OPENERS, ret_why);
}
