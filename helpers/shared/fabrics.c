/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nvme/fabrics.h>
#include <nvme/ioctl.h>
#include <nvme/tree.h>
#include <nvme/util.h>

#include "device.h"
#include "fabrics.h"
#include "fabsec.h"
#include "hostid.h"
#include "log.h"
#include "macro.h"
#include "secret.h"

/* libnvme keeps each controller's DH-HMAC-CHAP keys as it read them from
 * sysfs (dhchap_secret, dhchap_ctrl_secret) or was given them, and frees
 * them as they are: wiped here first. */
static void wipe(const char *s)
{
	if (s)
		explicit_bzero((char *)s, strlen(s));
}

static void wipe_ctrl_keys(nvme_ctrl_t c)
{
	wipe(nvme_ctrl_get_dhchap_host_key(c));
	wipe(nvme_ctrl_get_dhchap_key(c));
}

static void free_tree(nvme_root_t root)
{
	nvme_host_t h;
	nvme_subsystem_t s;
	nvme_ctrl_t c;

	if (!root)
		return;
	nvme_for_each_host (root, h) {
		wipe(nvme_host_get_dhchap_key(h));
		nvme_for_each_subsystem (h, s)
			nvme_subsystem_for_each_ctrl (s, c)
				wipe_ctrl_keys(c);
	}
	nvme_free_tree(root);
}

static inline void nvme_free_treep(nvme_root_t *r)
{
	free_tree(*r);
}

int fab_errno(int e)
{
	switch (e) {
	case ENVME_CONNECT_ALREADY:
		return EALREADY;
	case ENVME_CONNECT_CONNREFUSED:
		return ECONNREFUSED;
	case ENVME_CONNECT_ADDRINUSE:
		return EADDRINUSE;
	case ENVME_CONNECT_NODEV:
		return ENODEV;
	case ENVME_CONNECT_OPNOTSUPP:
		return EOPNOTSUPP;
	case ENVME_CONNECT_INVAL:
	case ENVME_CONNECT_INVAL_TR:
	case ENVME_CONNECT_TARG:
	case ENVME_CONNECT_AARG:
	case ENVME_CONNECT_ADDRFAM:
		return EINVAL;
	case ENVME_CONNECT_OPEN:
		return ENOENT; /* no /dev/nvme-fabrics: module not loaded */
	default:
		return e > 0 && e < 1000 ? e : EIO;
	}
}

static const char *transport_name(enum vol_transport t)
{
	static const char *const names[] = {
		[VOL_TRANSPORT_TCP] = "tcp",
		[VOL_TRANSPORT_RDMA] = "rdma",
		[VOL_TRANSPORT_FC] = "fc",
	};
	return names[t];
}

static int read_attr(const char *ctrl, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "/sys/class/nvme/%s/%s", ctrl, attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return dev_attr_read(path, buf, size);
}

/* Writes one controller attribute, in one write(). */
static int ctrl_attr_write_string(const char *ctrl, const char *attr, const char *value)
{
	char path[128];
	_cleanup_close_ int fd = -EBADF;
	size_t n = strlen(value);

	snprintf(path, sizeof(path), "/sys/class/nvme/%s/%s", ctrl, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		return -errno;
	return 0;
}

/* Order matters for ctrl_loss_tmo, which the kernel stores as a count of
 * reconnect_delay periods. */
static int ctrl_attr_write(const char *ctrl, const char *attr, int value)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", value);
	return ctrl_attr_write_string(ctrl, attr, buf);
}

/* The kernel's fast_io_fail_tmo: the volume's until the monitor takes the
 * member over (failover.h).  One replica: off, as for a plain NVMe volume
 * with os-brick's options; there is nothing to fail over to. */
static int kernel_fast_io_fail(const struct vol_volume *v)
{
	return v->n_replicas > 1 ? v->fast_io_fail_tmo : -1;
}

static void ctrl_apply_timeouts(const struct vol_volume *v, const char *ctrl)
{
	int r;

	r = ctrl_attr_write(ctrl, "reconnect_delay", (int)v->reconnect_delay);
	if (r >= 0)
		r = ctrl_attr_write(ctrl, "ctrl_loss_tmo", v->ctrl_loss_tmo);
	if (r >= 0)
		r = ctrl_attr_write(ctrl, "fast_io_fail_tmo", kernel_fast_io_fail(v));
	if (r < 0)
		log_warning_errno(r, "Failed to set timeouts of controller %s: %m", ctrl);
}

/* This host's identity (hostid.h) as a libnvme host, which puts hostnqn=
 * and hostid= into the connect options.  Not nvme_default_host(): without
 * /etc/nvme/hostnqn it makes up a random NQN per call and sends no host ID,
 * and targets with host ACLs refuse that. */
static int lookup_host(nvme_root_t root, nvme_host_t *ret)
{
	_cleanup_free_ char *nqn = NULL, *id = NULL;
	nvme_host_t h;
	int r;

	r = hostid_get(&nqn, &id);
	if (r < 0)
		return r; /* logged there, naming the file */
	h = nvme_lookup_host(root, nqn, id);
	if (!h)
		return log_oom();
	*ret = h;
	return 0;
}

/* A link-local portal is reached through its zone's interface: the
 * kernel takes the zone in traddr ("fe80::1%eth0", inet_pton_with_scope())
 * for every IP transport, and nvme-tcp also binds its socket to host_iface
 * (kernel 5.14), an option nvme-rdma refuses.  libnvme 1.3 reads a zone
 * as an interface name only (if_nametoindex()), so an index, which the
 * kernel would take, is turned into its name here.
 * Return: 0 with @traddr and @iface (empty: none) set, or -ENODEV (not
 * logged: it is asked for every controller compared). */
static int portal_zone(const struct vol_portal *p, char traddr[static sizeof(p->traddr)],
		       char iface[static IF_NAMESIZE])
{
	const char *z = p->host_iface;
	char *pct;

	snprintf(traddr, sizeof(p->traddr), "%s", p->traddr);
	iface[0] = 0;
	if (!*z)
		return 0;
	if (strspn(z, "0123456789") == strlen(z)) {
		if (!if_indextoname((unsigned)strtoul(z, NULL, 10), iface))
			return -ENODEV;
		pct = strchr(traddr, '%');
		if (pct)
			snprintf(pct + 1, sizeof(p->traddr) - (size_t)(pct + 1 - traddr), "%s", iface);
	} else {
		snprintf(iface, IF_NAMESIZE, "%s", z);
	}
	if (p->transport != VOL_TRANSPORT_TCP)
		iface[0] = 0;
	return 0;
}

static bool ctrl_matches(nvme_ctrl_t c, const char *nqn, const struct vol_portal *p)
{
	const char *svc = nvme_ctrl_get_trsvcid(c);
	char traddr[sizeof(p->traddr)], iface[IF_NAMESIZE];

	/* The kernel shows the address as it was connected: the zone by name. */
	if (portal_zone(p, traddr, iface) < 0)
		return false;
	return streq(nvme_ctrl_get_subsysnqn(c), nqn) &&
	       streq(nvme_ctrl_get_transport(c), transport_name(p->transport)) &&
	       streq(nvme_ctrl_get_traddr(c), traddr) &&
	       (p->transport == VOL_TRANSPORT_FC || streq(svc, p->trsvcid));
}

/* Whether controller state @state (sysfs) is on its way out: "deleting",
 * "deleting (no IO)" or "dead" (nvme_sysfs_show_state() in the kernel's
 * drivers/nvme/host/sysfs.c).  No state (gone) counts as going. */
static bool state_going(const char *state)
{
	return !state || strncmp(state, "deleting", 8) == 0 || streq(state, "dead");
}

/* The controller of subsystem @nqn through portal @p in the scanned
 * topology, but not one being deleted: a new one may come beside it
 * (fab_count_ctrls()). */
static nvme_ctrl_t find_ctrl(nvme_root_t root, const char *nqn, const struct vol_portal *p)
{
	nvme_host_t h;
	nvme_subsystem_t s;
	nvme_ctrl_t c;

	nvme_for_each_host (root, h)
		nvme_for_each_subsystem (h, s)
			nvme_subsystem_for_each_ctrl (s, c)
				if (ctrl_matches(c, nqn, p) && !state_going(nvme_ctrl_get_state(c)))
					return c;
	return NULL;
}

/* Reads a key file of replica @r into @ret; logs why not.
 * Return: 0, or -EKEYREJECTED (logged). */
static int read_key(const struct vol_replica *r, const char *what, const char *path, char **ret)
{
	int k = secret_read(path, ret);

	if (k < 0) {
		log_error("Replica %s: %s %s %s.", r->name, what, path, secret_strerror(k));
		return -EKEYREJECTED;
	}
	return 0;
}

/* After a connect with a dhchap-key: the kernel says "qid 0:
 * authenticated" of the new controller (nvmf_connect_admin_queue()), or
 * it was connected without authentication (the target did not ask) and
 * is disconnected here. */
static int verify_auth(const struct vol_replica *r, const struct vol_portal *p, int kmsg, nvme_ctrl_t c)
{
	int k;

	k = fabsec_kmsg_find(kmsg, nvme_ctrl_get_name(c), "qid 0: authenticated");
	if (k > 0)
		return 0;
	log_error("Replica %s (%s) through %s:%s: controller %s was connected without "
		  "authentication (the target did not ask for it), although the replica has a "
		  "dhchap-key: disconnected.",
		  r->name, r->nqn, p->traddr, p->trsvcid, nvme_ctrl_get_name(c));
	if (nvme_disconnect_ctrl(c) < 0)
		log_error_errno(fab_errno(errno), "Failed to disconnect %s: %m", nvme_ctrl_get_name(c));
	return -EKEYREJECTED;
}

/* A failed connect of a replica with a key or TLS: the kernel's log says
 * what refused it (of any controller: the failed one has no name we know).
 * "qid 0: authentication failed" (nvmf_connect_admin_queue()); "no valid
 * PSK found" (nvme_tcp_alloc_admin_queue(), drivers/nvme/host/tcp.c: the
 * keyring has no PSK for the host and subsystem NQN); "queue 0: failed to
 * start TLS: -3" (ESRCH from the handshake upcall, net/handshake/: no
 * tlshd listens); "queue 0: TLS handshake complete, error -110"
 * (nvme_tcp_start_tls(): tlshd ran the handshake and it failed, as it does
 * when the target holds another PSK under the same identity: its tlshd
 * fails the client's binder and closes the connection).  The connect
 * itself fails with EIO for the last three.  Each is logged here, as what
 * the admin must fix, and is no reason to try again before the admin has
 * (-EKEYREJECTED). */
static int connect_refused(const struct vol_replica *r, const struct vol_portal *p, const char *hostnqn,
			   int kmsg, int err)
{
	static const char *const why[] = {
		"qid 0: authentication failed",
		"no valid PSK found",
		"queue 0: failed to start TLS: -3",
		"queue 0: TLS handshake complete, error -%d",
	};
	int k = kmsg >= 0 ? fabsec_kmsg_find_any(kmsg, NULL, why, ELEMENTSOF(why)) : 0;

	switch (k) {
	case 1:
		log_error("Replica %s (%s) through %s:%s: authentication failed: the target "
			  "refused the dhchap-key (or, with dhchap-ctrl-key, the host refused "
			  "the target's).",
			  r->name, r->nqn, p->traddr, p->trsvcid);
		return -EKEYREJECTED;
	case 2:
		log_error("Replica %s (%s) through %s:%s: no TLS PSK: the kernel keyring .nvme has "
			  "none for host NQN %s and this subsystem NQN; provision it with nvme-cli "
			  "(nvmf-raid.conf(5), TLS).",
			  r->name, r->nqn, p->traddr, p->trsvcid, hostnqn);
		return -EKEYREJECTED;
	case 3:
		log_error("Replica %s (%s) through %s:%s: no TLS handshake daemon answered: start "
			  "tlshd (Debian package ktls-utils).",
			  r->name, r->nqn, p->traddr, p->trsvcid);
		return -EKEYREJECTED;
	case 4:
		log_error("Replica %s (%s) through %s:%s: the TLS handshake failed: the target "
			  "holds another PSK for host NQN %s and this subsystem NQN (or none); "
			  "give both the same (nvmf-raid.conf(5), TLS).",
			  r->name, r->nqn, p->traddr, p->trsvcid, hostnqn);
		return -EKEYREJECTED;
	}
	return -err;
}

static int connect_portal(nvme_root_t root, nvme_host_t host, const struct vol_volume *v,
			  const struct vol_replica *r, const struct vol_portal *p)
{
	_cleanup_secret_ char *host_key = NULL, *ctrl_key = NULL;
	_cleanup_close_ int kmsg = -EBADF;
	struct nvme_fabrics_config cfg;
	char traddr[sizeof(p->traddr)], iface[IF_NAMESIZE];
	nvme_ctrl_t c;
	int r_zone, k, err = 0;

	/* -ENODEV: no interface of that index; the caller names the portal. */
	r_zone = portal_zone(p, traddr, iface);
	if (r_zone < 0)
		return r_zone;
	if (r->dhchap_key) {
		k = read_key(r, "dhchap-key", r->dhchap_key, &host_key);
		if (k < 0)
			return k;
		if (r->dhchap_ctrl_key) {
			k = read_key(r, "dhchap-ctrl-key", r->dhchap_ctrl_key, &ctrl_key);
			if (k < 0)
				return k;
		}
	}
	if (host_key || r->tls) {
		/* Positioned before the connect: its messages come after. */
		kmsg = fabsec_kmsg_open();
		if (kmsg < 0 && host_key) {
			log_error_errno(kmsg,
					"Replica %s: cannot read the kernel log to verify its "
					"authentication (/dev/kmsg): %m; not connected.",
					r->name);
			return -EKEYREJECTED;
		}
	}
	c = nvme_create_ctrl(root, r->nqn, transport_name(p->transport), traddr, NULL,
			     iface[0] ? iface : NULL,
			     p->transport == VOL_TRANSPORT_FC ? NULL : p->trsvcid);
	if (!c)
		return -fab_errno(errno);
	nvmf_default_config(&cfg);
	cfg.keep_alive_tmo = (int)v->keep_alive_tmo;
	cfg.reconnect_delay = (int)v->reconnect_delay;
	cfg.ctrl_loss_tmo = v->ctrl_loss_tmo;
	cfg.fast_io_fail_tmo = kernel_fast_io_fail(v);
	cfg.tls = r->tls;
	if (host_key)
		nvme_ctrl_set_dhchap_host_key(c, host_key);
	if (ctrl_key)
		nvme_ctrl_set_dhchap_key(c, ctrl_key);
	if (nvmf_add_ctrl(host, c, &cfg) < 0)
		err = fab_errno(errno);
	wipe_ctrl_keys(c);
	if (err) {
		nvme_free_ctrl(c);
		return connect_refused(r, p, nvme_host_get_hostnqn(host), kmsg, err);
	}
	if (host_key) {
		k = verify_auth(r, p, kmsg, c);
		if (k < 0) {
			nvme_free_ctrl(c);
			return k;
		}
	}
	if (r->tls && !fabsec_tls_active(nvme_ctrl_get_name(c))) {
		log_error("Replica %s (%s) through %s:%s: controller %s was connected without TLS, "
			  "although the replica has tls = yes: disconnected.",
			  r->name, r->nqn, p->traddr, p->trsvcid, nvme_ctrl_get_name(c));
		if (nvme_disconnect_ctrl(c) < 0)
			log_error_errno(fab_errno(errno), "Failed to disconnect %s: %m",
					nvme_ctrl_get_name(c));
		nvme_free_ctrl(c);
		return -EKEYREJECTED;
	}
	ctrl_apply_timeouts(v, nvme_ctrl_get_name(c));
	log_info("Connected replica %s (%s) through %s %s:%s as %s%s%s.", r->name, r->nqn,
		 transport_name(p->transport), p->traddr, p->trsvcid, nvme_ctrl_get_name(c),
		 host_key ? (ctrl_key ? ", authenticated both ways" : ", authenticated") : "",
		 r->tls ? ", over TLS" : "");
	return 1;
}

static bool key_unset(const char *has)
{
	return !has || !*has || streq(has, "none");
}

/* A controller found connected serves a replica with a dhchap-key only if
 * it was connected with a key (its dhchap_secret attribute, 6.0), as
 * connect_portal() does and then verifies; one connected without (by
 * hand) is not this replica's to use.  One with another key was connected
 * with the key file's old content: the file's key (and controller key)
 * replace it, and the kernel authenticates with them from now on, on a
 * reconnect too.  That is how a rotated key reaches a replica that is
 * reconnecting in vain (systemctl reload). */
static int ctrl_keys_sync(const struct vol_replica *r, nvme_ctrl_t c)
{
	_cleanup_secret_ char *key = NULL, *ckey = NULL;
	const char *name = nvme_ctrl_get_name(c);
	char has[SECRET_MAX + 2] = "";
	int k;

	if (!r->dhchap_key)
		return 0;
	k = read_attr(name, "dhchap_secret", has, sizeof(has));
	if (k < 0 || key_unset(has)) {
		explicit_bzero(has, sizeof(has));
		log_error("Replica %s (%s): controller %s is connected already, but without "
			  "authentication (connected by hand?): not used; disconnect it, then "
			  "start again.",
			  r->name, r->nqn, name);
		return -EKEYREJECTED;
	}
	k = read_key(r, "dhchap-key", r->dhchap_key, &key);
	if (k >= 0 && r->dhchap_ctrl_key)
		k = read_key(r, "dhchap-ctrl-key", r->dhchap_ctrl_key, &ckey);
	if (k < 0) {
		explicit_bzero(has, sizeof(has));
		return k;
	}
	k = streq(has, key);
	explicit_bzero(has, sizeof(has));
	if (!k) {
		/* The kernel keeps it for every reconnect from now on and
		 * re-authenticates (nvme_ctrl_dhchap_secret_store(), 6.0). */
		k = ctrl_attr_write_string(name, "dhchap_secret", key);
		if (k < 0)
			return log_error_errno(k, "Replica %s: failed to give controller %s the key of %s: %m",
					       r->name, name, r->dhchap_key);
		log_info("Replica %s: controller %s authenticates with the key of %s from now on.",
			 r->name, name, r->dhchap_key);
	}
	if (ckey) {
		k = read_attr(name, "dhchap_ctrl_secret", has, sizeof(has));
		k = k >= 0 && streq(has, ckey);
		explicit_bzero(has, sizeof(has));
	}
	if (ckey && !k) {
		k = ctrl_attr_write_string(name, "dhchap_ctrl_secret", ckey);
		if (k < 0)
			return log_error_errno(k,
					       "Replica %s: failed to give controller %s the controller key "
					       "of %s: %m",
					       r->name, name, r->dhchap_ctrl_key);
		log_info("Replica %s: controller %s checks the target with the key of %s from now on.",
			 r->name, name, r->dhchap_ctrl_key);
	}
	return 0;
}

/* Whether /sys/class/nvme/@ctrl is a controller of subsystem @nqn. */
static bool ctrl_of(const char *ctrl, const char *nqn)
{
	char val[256];

	return ctrl[0] != '.' && read_attr(ctrl, "subsysnqn", val, sizeof(val)) == 0 && streq(val, nqn);
}

/* A topology of the controllers of subsystem @nqn only, not nvme_scan():
 * scanning a controller reads its "address", and while another volume's
 * detach deletes a TCP controller that read can oops the kernel
 * (nvme_sysfs_show_address() on a released socket, Debian 12's 6.1);
 * libnvme 1.3 also frees twice a controller that vanishes under its scan.
 * And 32 volumes attaching at boot each scanned all 64 controllers.
 * Return: 0 with @ret set, or negative errno. */
static int scan_nqn(const char *nqn, nvme_root_t *ret)
{
	_cleanup_(nvme_free_treep) nvme_root_t root = nvme_create_root(NULL, LOG_WARNING);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (!root)
		return -ENOMEM;
	d = opendir("/sys/class/nvme");
	while (d && (de = readdir(d)))
		/* One that vanished meanwhile is not there: NULL, no harm. */
		if (ctrl_of(de->d_name, nqn))
			(void)nvme_scan_ctrl(root, de->d_name);
	*ret = root;
	root = NULL;
	return 0;
}

int fab_connect_replica(const struct vol_volume *v, const struct vol_replica *r)
{
	_cleanup_(nvme_free_treep) nvme_root_t root = NULL;
	int connected = 0, present = 0, last = 0, k0;
	nvme_host_t host = NULL;

	/* Before the scan: a kernel that cannot secure it connects nothing. */
	k0 = fabsec_replica_check(v->name, r);
	if (k0 < 0)
		return k0;
	k0 = scan_nqn(r->nqn, &root);
	if (k0 < 0)
		return log_error_errno(k0, "Failed to scan the controllers of %s: %m", r->nqn);
	for (unsigned i = 0; i < r->n_portals; i++) {
		const struct vol_portal *p = &r->portals[i];
		nvme_ctrl_t c = find_ctrl(root, r->nqn, p);
		int k;

		if (c) {
			/* Connected already (another volume on the same
			 * subsystem, or a second start): keep it, if it was
			 * connected with this replica's key. */
			k = ctrl_keys_sync(r, c);
			if (k < 0) {
				last = k;
				continue;
			}
			log_debug("Replica %s: %s already connected as %s.", r->name, p->traddr,
				  nvme_ctrl_get_name(c));
			ctrl_apply_timeouts(v, nvme_ctrl_get_name(c));
			present++;
			continue;
		}
		/* Only when something is to be connected: looking may create
		 * the identity files. */
		if (!host && (k = lookup_host(root, &host)) < 0)
			return k;
		k = connect_portal(root, host, v, r, p);
		if (k == -EALREADY) {
			present++;
			continue;
		}
		if (k < 0) {
			if (k != -EKEYREJECTED) /* logged there, as the refusal it is */
				log_warning_errno(k, "Failed to connect replica %s (%s) through %s:%s: %m%s",
						  r->name, r->nqn, p->traddr, p->trsvcid,
						  r->tls ? " (over TLS: the target refused the handshake, "
							   "or is not reached)" :
							   "");
			last = k;
			continue;
		}
		connected++;
	}
	if (connected + present == 0)
		return last < 0 ? last : -EIO;
	return connected;
}

/* A TCP handshake with @p's address.  Return: true if it was refused. */
static bool portal_refuses(const struct vol_portal *p, int timeout_ms)
{
	struct addrinfo hints = { .ai_family = p->family,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct pollfd pfd;
	int err = 0;
	socklen_t len = sizeof(err);

	if (p->transport != VOL_TRANSPORT_TCP || p->host_iface[0] ||
	    getaddrinfo(p->traddr, p->trsvcid, &hints, &ai) != 0)
		return false;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		err = errno;
	freeaddrinfo(ai);
	if (fd < 0)
		return false;
	if (err == EINPROGRESS) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, timeout_ms) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return false;
	}
	return err == ECONNREFUSED;
}

bool fab_replica_refuses(const struct vol_replica *r, int timeout_ms)
{
	for (unsigned i = 0; i < r->n_portals; i++)
		if (!portal_refuses(&r->portals[i], timeout_ms))
			return false;
	return r->n_portals > 0;
}

/* Whether /sys/class/nvme/@ctrl is on its way out (state_going()). */
static bool ctrl_going(const char *ctrl)
{
	char val[32];

	return read_attr(ctrl, "state", val, sizeof(val)) < 0 || state_going(val);
}

int fab_disconnect_nqn(const char *nqn)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/nvme");
	struct dirent *de;
	int n = 0;

	/* sysfs, not nvme_scan() (see scan_nqn()); deleting is what
	 * nvme_disconnect_ctrl() does: "1" to delete_controller. */
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		int k;

		if (!ctrl_of(de->d_name, nqn) || ctrl_going(de->d_name))
			continue;
		k = ctrl_attr_write_string(de->d_name, "delete_controller", "1");
		/* Gone meanwhile, or its deletion under way already (another
		 * request fails with EBUSY): not ours to count. */
		if (k == -ENOENT || k == -ENODEV || k == -EBUSY)
			continue;
		if (k < 0)
			return log_error_errno(k, "Failed to disconnect %s (%s): %m", de->d_name, nqn);
		log_info("Disconnected %s (%s).", de->d_name, nqn);
		n++;
	}
	return n;
}

int fab_count_ctrls(const char *nqn)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/nvme");
	struct dirent *de;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (ctrl_of(de->d_name, nqn) && !ctrl_going(de->d_name))
			n++;
	return n;
}

static bool ctrl_live(const char *ctrl)
{
	char val[32];

	return read_attr(ctrl, "state", val, sizeof(val)) == 0 && streq(val, "live");
}

bool fab_ctrl_live(const char *nqn)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/nvme");
	struct dirent *de;

	/* sysfs, not a libnvme scan: this runs on every event. */
	while (d && (de = readdir(d)))
		if (ctrl_of(de->d_name, nqn) && ctrl_live(de->d_name))
			return true;
	return false;
}

int fab_rescan_nqn(const char *nqn)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/nvme");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX];
		_cleanup_close_ int fd = -EBADF;

		if (!ctrl_of(de->d_name, nqn))
			continue;
		snprintf(path, sizeof(path), "/sys/class/nvme/%s/rescan_controller", de->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1) {
			log_debug_errno(errno, "Cannot rescan %s: %m", de->d_name);
			continue;
		}
		n++;
	}
	return n;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The identifiers namespace @nsid of the controller open at @fd gives, as
 * the kernel shows them in sysfs (nvme_identify_ns_descs() and
 * nvme_identify_ns() in drivers/nvme/host/core.c): UUID and NGUID from the
 * Namespace Identification Descriptor list, else the NGUID of Identify
 * Namespace; a namespace without a UUID shows its NGUID as one
 * (uuid_show()). */
static void ns_identity(int fd, __u32 nsid, struct vol_ns_id *ret)
{
	_cleanup_free_ uint8_t *buf = calloc(1, NVME_IDENTIFY_DATA_SIZE);
	struct vol_ns_id id = { .nsid = nsid };

	if (buf && nvme_identify_ns_descs(fd, nsid, (struct nvme_ns_id_desc *)buf) == 0)
		for (size_t off = 0; off + sizeof(struct nvme_ns_id_desc) <= NVME_IDENTIFY_DATA_SIZE;) {
			const struct nvme_ns_id_desc *d = (const void *)(buf + off);

			if (!d->nidl || off + sizeof(*d) + d->nidl > NVME_IDENTIFY_DATA_SIZE)
				break;
			if (d->nidt == NVME_NIDT_NGUID && d->nidl == 16 && !all_zero(d->nid, 16)) {
				memcpy(id.nguid, d->nid, 16);
				id.has_nguid = true;
			} else if (d->nidt == NVME_NIDT_UUID && d->nidl == 16 && !all_zero(d->nid, 16)) {
				memcpy(id.uuid, d->nid, 16);
				id.has_uuid = true;
			}
			off += sizeof(*d) + d->nidl;
		}
	if (!id.has_nguid) {
		struct nvme_id_ns ns;

		if (nvme_identify_ns(fd, nsid, &ns) == 0 && !all_zero(ns.nguid, 16)) {
			memcpy(id.nguid, ns.nguid, 16);
			id.has_nguid = true;
		}
	}
	if (!id.has_uuid && id.has_nguid) {
		memcpy(id.uuid, id.nguid, 16);
		id.has_uuid = true;
	}
	*ret = id;
}

/* Whether the controller open at @fd lists an active namespace @want names
 * (Identify, Active Namespace ID list, 1024 to a page).  Return: 1 or 0,
 * negative errno if it did not answer. */
static int ctrl_lists_ns(int fd, const struct vol_ns_id *want)
{
	_cleanup_free_ struct nvme_ns_list *list = calloc(1, sizeof(*list));
	__u32 after = 0;

	if (!list)
		return -ENOMEM;
	for (;;) {
		unsigned i;

		if (nvme_identify_active_ns_list(fd, after, list) != 0)
			return errno > 0 ? -errno : -EIO;
		for (i = 0; i < ELEMENTSOF(list->ns); i++) {
			__u32 nsid = le32toh(list->ns[i]);
			struct vol_ns_id seen;

			if (!nsid)
				return 0;
			after = nsid;
			if (want->nsid && nsid != want->nsid)
				continue;
			if (!want->has_uuid && !want->has_nguid)
				return 1;
			ns_identity(fd, nsid, &seen);
			if (vol_ns_id_matches(want, &seen))
				return 1;
		}
	}
}

int fab_ns_listed(const char *nqn, const struct vol_ns_id *want)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/class/nvme");
	struct dirent *de;
	int r = -ENODEV;

	while (d && (de = readdir(d))) {
		_cleanup_close_ int fd = -EBADF;
		char node[PATH_MAX];
		int k;

		if (!ctrl_of(de->d_name, nqn) || !ctrl_live(de->d_name))
			continue;
		snprintf(node, sizeof(node), "/dev/%s", de->d_name);
		fd = open(node, O_RDONLY | O_CLOEXEC);
		k = fd < 0 ? -errno : ctrl_lists_ns(fd, want);
		if (k > 0)
			return 1;
		if (k == 0)
			r = 0;
		else
			log_debug_errno(k, "Cannot list the namespaces of %s: %m", node);
	}
	return r;
}

int fab_ns_size(const char *node, uint64_t *ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct nvme_id_ns id;
	__u32 nsid;
	__u8 lbaf;

	fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (nvme_get_nsid(fd, &nsid) < 0 || nvme_identify_ns(fd, nsid, &id) != 0)
		return errno > 0 ? -errno : -EIO;
	nvme_id_ns_flbas_to_lbaf_inuse(id.flbas, &lbaf);
	if (lbaf > id.nlbaf || id.lbaf[lbaf].ds < 9 || id.lbaf[lbaf].ds > 16)
		return -EIO;
	*ret = le64toh(id.nsze) << id.lbaf[lbaf].ds;
	return 0;
}
