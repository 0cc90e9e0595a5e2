/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "device.h"
#include "fabsec.h"
#include "log.h"
#include "macro.h"

#define KALLSYMS "/proc/kallsyms"
#define FABRICS_DEV "/dev/nvme-fabrics"

/* "ffffffffc0a1b2c0 T nvme_auth_negotiate\t[nvme_core]": the name is the
 * third field, a module's in brackets after a tab. */
static int kallsyms_has(const char *symbol)
{
	_cleanup_fclose_ FILE *f = fopen(KALLSYMS, "re");
	char line[512];
	size_t n = strlen(symbol);

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ' ');

		if (!p || !(p = strchr(p + 1, ' ')))
			continue;
		p++;
		if (strncmp(p, symbol, n) == 0 && (p[n] == '\n' || p[n] == '\t' || p[n] == 0))
			return 1;
	}
	return ferror(f) ? -EIO : 0;
}

/* Without a controller, reading /dev/nvme-fabrics gives the options the
 * kernel takes: "instance=-1,cntlid=-1,transport=%s,...,tls" (6.1 and
 * later, nvmf_dev_show()). */
static int fabrics_has_option(const char *option)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[4096];
	ssize_t k;
	size_t n = strlen(option);

	fd = open(FABRICS_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = read(fd, buf, sizeof(buf) - 1);
	if (k < 0)
		return -errno;
	buf[k] = 0;
	for (char *p = buf; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, option, n) == 0 && IN_SET(p[n], '=', ',', '\n', 0))
			return 1;
	return 0;
}

int fabsec_kernel_features(void)
{
	static int cached = -1;
	int auth, tls;

	if (cached >= 0)
		return cached;
	tls = fabrics_has_option("tls");
	if (tls < 0)
		return tls;
	auth = kallsyms_has("nvme_auth_negotiate");
	if (auth < 0)
		return auth;
	cached = (auth ? FABSEC_AUTH : 0) | (tls ? FABSEC_TLS : 0);
	return cached;
}

unsigned fabsec_replica_needs(const struct vol_replica *r)
{
	return (r->dhchap_key ? FABSEC_AUTH : 0u) | (r->tls ? FABSEC_TLS : 0u);
}

int fabsec_replica_check(const char *volume, const struct vol_replica *r)
{
	unsigned need = fabsec_replica_needs(r), missing;
	struct utsname u;
	int have;

	if (!need)
		return 0;
	have = fabsec_kernel_features();
	if (have < 0)
		return log_error_errno(have,
				       "%s: replica %s: cannot tell whether this kernel can authenticate "
				       "or encrypt NVMe-oF connections (%s, %s): %m; not connected.",
				       volume, r->name, FABRICS_DEV, KALLSYMS);
	missing = need & ~(unsigned)have;
	if (!missing)
		return 0;
	uname(&u);
	if (missing & FABSEC_AUTH)
		log_error("%s: replica %s has a dhchap-key, but kernel %s has no NVMe in-band "
			  "authentication (CONFIG_NVME_HOST_AUTH, Linux 6.7; CONFIG_NVME_AUTH "
			  "before; Debian 13's kernel, linux-image-amd64 6.12, has it): not "
			  "connected; an unauthenticated connection is never made in its place.",
			  volume, r->name, u.release);
	else
		log_error("%s: replica %s has tls = yes, but kernel %s has no NVMe/TCP TLS "
			  "(CONFIG_NVME_TCP_TLS, Linux 6.7; Debian 13's kernel, linux-image-amd64 "
			  "6.12, has it): not connected; a connection in clear text is never made "
			  "in its place.",
			  volume, r->name, u.release);
	return -EOPNOTSUPP;
}

int fabsec_kernel_check(const struct vol_volume *v)
{
	for (unsigned i = 0; i < v->n_replicas; i++) {
		int r = fabsec_replica_check(v->name, &v->replicas[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

int fabsec_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

bool fabsec_kmsg_record_matches(const char *rec, const char *ctrl, const char *what)
{
	const char *msg = strchr(rec, ';');
	size_t n = strlen(what);

	if (!msg)
		return false;
	msg++;
	if (strncmp(msg, "nvme nvme", STRLEN("nvme nvme")) != 0)
		return false;
	msg += STRLEN("nvme ");
	if (ctrl) {
		size_t c = strlen(ctrl);

		if (strncmp(msg, ctrl, c) != 0 || msg[c] != ':')
			return false;
		msg += c;
	} else {
		msg += STRLEN("nvme") + strspn(msg + STRLEN("nvme"), "0123456789");
		if (*msg != ':')
			return false;
	}
	msg += 1 + strspn(msg + 1, " ");
	if (n >= 2 && strcmp(what + n - 2, "%d") == 0) {
		n -= 2;
		if (strncmp(msg, what, n) != 0)
			return false;
		msg += n + (msg[n] == '-');
		n = strspn(msg, "0123456789");
		return n > 0 && IN_SET(msg[n], '\n', 0);
	}
	return strncmp(msg, what, n) == 0 && IN_SET(msg[n], '\n', ',', 0);
}

int fabsec_kmsg_find(int fd, const char *ctrl, const char *what)
{
	return fabsec_kmsg_find_any(fd, ctrl, &what, 1);
}

int fabsec_kmsg_find_any(int fd, const char *ctrl, const char *const *whats, size_t n)
{
	char rec[8192];
	int found = 0;

	for (;;) {
		ssize_t k = read(fd, rec, sizeof(rec) - 1);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* EPIPE: records were overwritten before being read;
			 * read on from the oldest still there. */
			if (errno == EPIPE)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		if (k == 0)
			break;
		rec[k] = 0;
		for (size_t i = 0; i < n && !found; i++)
			if (fabsec_kmsg_record_matches(rec, ctrl, whats[i]))
				found = (int)i + 1;
	}
	return found;
}

bool fabsec_tls_active(const char *ctrl)
{
	char path[PATH_MAX], val[64];

	if (snprintf(path, sizeof(path), "/sys/class/nvme/%s/tls_key", ctrl) >= (int)sizeof(path))
		return false;
	if (dev_attr_read(path, val, sizeof(val)) < 0)
		return false;
	return val[0] && !streq(val, "none") && strspn(val, "0") != strlen(val);
}
