/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vol_: volume files (contract.md "Volume files").  An admin's declarative
 * INI file, read with iniparser into a typed structure, defaults applied,
 * every key validated.  This is the trust boundary of the tool: helpers run
 * as root from udev and systemd, so nothing here may crash on input, and
 * every refusal names the file, the section, the key and the line.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VOL_NAME_MAX 64		/* [A-Za-z0-9][A-Za-z0-9_.-]{0,63} */
#define VOL_REPLICA_NAME_MAX 32 /* [A-Za-z0-9_-]{1,32} */
#define VOL_NQN_MAX 223		/* NVMe base spec: NQN is at most 223 bytes */
#define VOL_REPLICAS_MAX 16
#define VOL_PORTALS_MAX 16		/* one vendor sends up to 16 paths */
#define VOL_NSID_MAX 0xfffffffeU	/* 0xffffffff is the broadcast NSID */
#define VOL_IFACE_MAX 15		/* IFNAMSIZ - 1 */
#define VOL_FILE_SIZE_MAX (1024 * 1024) /* larger files are refused unread */
/* iniparser 4.1 reads lines into 1024-byte buffers and refuses longer ones. */
#define VOL_LINE_MAX 1000
#define VOL_REBUILD_RATE_MAX 100000000 /* KiB/s, as host.conf's rate */

#define VOL_ETC_DIR SYSCONFDIR "/nvmf-raid/volumes"
#define VOL_RUN_DIR "/run/nvmf-raid/volumes"

/* The tests point vol_etc_dir()/vol_run_dir() at a scratch directory with
 * these; ignored in setuid/setgid programs (secure_getenv()). */
#define VOL_ETC_DIR_ENV "NVMF_RAID_VOLUMES_ETC"
#define VOL_RUN_DIR_ENV "NVMF_RAID_VOLUMES_RUN"

enum vol_transport {
	VOL_TRANSPORT_TCP,
	VOL_TRANSPORT_RDMA,
	VOL_TRANSPORT_FC,
};

struct vol_portal {
	enum vol_transport transport;
	/* As libnvme and /dev/nvme-fabrics take them: traddr is the address
	 * without brackets ("::1"), or "nn-0x…:pn-0x…" for fc; trsvcid the
	 * decimal port, empty for fc. */
	char traddr[128];
	char trsvcid[8];
	int family; /* AF_INET, AF_INET6, or AF_UNSPEC for fc */
	/* The zone of a link-local IPv6 address ("fe80::1%eth0"): the
	 * interface the kernel must use (host_iface), else empty. */
	char host_iface[VOL_IFACE_MAX + 1];
};

/*
 * How a replica's namespace is found within its subsystem (contract.md):
 * by UUID, else NGUID, else NSID, as os-brick does; at least one is given,
 * and every one given must match.  The NGUID is compared as 16 bytes; the
 * kernel shows it in /sys/block/nvmeXnY/nguid in the UUID layout, nvme-cli
 * as 32 hex digits.
 */
struct vol_ns_id {
	bool has_uuid;
	bool has_nguid;
	uint8_t uuid[16];
	uint8_t nguid[16];
	uint32_t nsid; /* 1..VOL_NSID_MAX, 0 if not given */
};

struct vol_replica {
	char name[VOL_REPLICA_NAME_MAX + 1]; /* the part after "replica." */
	char nqn[VOL_NQN_MAX + 1];
	struct vol_ns_id ns; /* its namespace in subsystem nqn */
	struct vol_portal portals[VOL_PORTALS_MAX];
	unsigned n_portals;
	bool outdated;
	bool write_mostly;			   /* md's write-mostly: reads avoid it */
	char *dhchap_key;			   /* path of the host key file, or NULL */
	char *dhchap_ctrl_key;			   /* path of the controller key file, or NULL */
	bool tls;				   /* NVMe/TCP TLS (tls, else [volume] tls) */
	unsigned tls_line;			   /* line of its tls key, 0 if absent */
	unsigned line;				   /* line of the section header */
	unsigned uuid_line, nguid_line, nsid_line; /* lines of its keys, 0 if absent */
};

struct vol_volume {
	char name[VOL_NAME_MAX + 1];
	char *path;	 /* the file it was read from */
	bool persistent; /* from VOL_ETC_DIR */

	bool auto_start;	   /* auto */
	unsigned min_replicas;	   /* 1..16, <= n_replicas */
	unsigned degraded_timeout; /* seconds, 0..86400 */
	int fast_io_fail_tmo;	   /* -1 (off) or 0..3600 */
	int ctrl_loss_tmo;	   /* -1 (never) or 0..86400 */
	unsigned reconnect_delay;  /* 1..3600 */
	unsigned keep_alive_tmo;   /* 1..3600 */
	char *notify;		   /* absolute path, or NULL */
	int rebuild_rate;	   /* KiB/s, 0: md's default, -1: host.conf's */
	bool tls;		   /* tls: the default of its replicas */

	struct vol_replica replicas[VOL_REPLICAS_MAX];
	unsigned n_replicas;
};

/**
 * vol_name_is_valid() - whether @name is a valid volume name
 * Return: true for [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
 */
bool vol_name_is_valid(const char *name);

/**
 * vol_replica_name_is_valid() - whether @name is a valid replica name
 * Return: true for [A-Za-z0-9_-]{1,32}.
 */
bool vol_replica_name_is_valid(const char *name);

/**
 * vol_nqn_is_valid() - whether @nqn can name a subsystem (vol_nqn_check())
 */
bool vol_nqn_is_valid(const char *nqn);

/**
 * vol_nqn_check() - whether @nqn can work as a subsystem NQN
 * @nqn:	the NQN, not NULL
 * @ret_why:	if not NULL, set to a static reason on failure
 *
 * The kernel takes any subsystem NQN (drivers/nvme/host/fabrics.c
 * nvmf_parse_options(): "nqn=%s", at most NVMF_NQN_SIZE - 1 bytes) and so
 * does os-brick; Cinder's own nvmet target names subsystems
 * "nqn.nvme-subsystem-1-<volume id>", without the NVMe base spec's date
 * code.  Refused is only what cannot work: empty, longer than 223 bytes,
 * a byte outside printable ASCII, ',' (splits the kernel's option string),
 * '"' or '\' (end or escape an iniparser value), or leading and trailing
 * blanks (iniparser strips them).
 * Return: 0, or -EINVAL.
 */
int vol_nqn_check(const char *nqn, const char **ret_why);

/**
 * vol_nqn_is_standard() - whether @nqn has the NVMe base spec's form
 * ("nqn.yyyy-mm.reverse.domain:…" or "nqn.2014-08.org.nvmexpress:uuid:…");
 * others work and earn a notice, never a refusal
 */
bool vol_nqn_is_standard(const char *nqn);

/**
 * vol_nqn_needs_quotes() - whether @nqn must be written "quoted" in a
 * volume file (it holds ';' or '#', which start a comment otherwise)
 */
bool vol_nqn_needs_quotes(const char *nqn);

/**
 * vol_nguid_parse() - parse an NGUID: 32 hex digits in any case, dashes
 * anywhere between them allowed ("1a2b…" or the kernel's UUID layout)
 * Return: 0, or -EINVAL.
 */
int vol_nguid_parse(const char *s, uint8_t ret[16]);

/**
 * vol_nguid_format() - 32 lower-case hex digits, as nvme-cli prints one
 */
void vol_nguid_format(const uint8_t nguid[16], char ret[33]);

/**
 * vol_ns_id_describe() - @id for a message: "uuid …, nguid …, nsid N"
 * (those given)
 */
void vol_ns_id_describe(const struct vol_ns_id *id, char *buf, size_t size);

/**
 * vol_ns_id_matches() - whether a namespace that shows @seen (its sysfs
 * uuid, nguid and nsid) is the one @want names: every identifier @want
 * gives is shown and equal; false if @want gives none
 */
bool vol_ns_id_matches(const struct vol_ns_id *want, const struct vol_ns_id *seen);

/**
 * vol_ns_id_eq() - whether @a and @b give the same identifiers
 */
bool vol_ns_id_eq(const struct vol_ns_id *a, const struct vol_ns_id *b);

/**
 * vol_ns_id_shared() - whether two replicas name the same namespace: equal
 * UUIDs or equal NGUIDs (both unique across subsystems; a UUID equal to
 * an NGUID too, as the kernel shows an NGUID as the uuid of a namespace
 * without one), or the same subsystem and NSID
 * Return: the key that says so ("uuid", "nguid" or "nsid"), or NULL.
 */
const char *vol_ns_id_shared(const char *nqn_a, const struct vol_ns_id *a, const char *nqn_b,
			     const struct vol_ns_id *b);

/**
 * vol_uuid_parse() - parse a UUID (any case, with dashes) into 16 bytes
 * Return: 0, or -EINVAL.
 */
int vol_uuid_parse(const char *s, uint8_t ret[16]);
void vol_uuid_format(const uint8_t uuid[16], char ret[37]);

/**
 * vol_portal_parse() - parse "tcp://ADDR:PORT", "rdma://ADDR:PORT"
 * (IPv6 in brackets, a link-local one with its zone: "[fe80::1%eth0]")
 * or "fc://nn-0x…:pn-0x…"
 * Return: 0, or -EINVAL with a reason in @ret_why (static string).
 */
int vol_portal_parse(const char *s, struct vol_portal *ret, const char **ret_why);

/**
 * vol_ip_parse() - an IP address without brackets, a link-local IPv6 one
 * with its zone ("fe80::1%eth0"), into @p's family, traddr (canonical, the
 * zone kept) and host_iface (the zone)
 * @s, @len:	the text, not NUL-terminated
 * @family:	AF_INET, AF_INET6, or AF_UNSPEC to tell by a ':'
 * Return: 0, or -EINVAL with a reason in @ret_why (static string).
 */
int vol_ip_parse(const char *s, size_t len, int family, struct vol_portal *p, const char **ret_why);

/**
 * vol_portal_eq() - whether @a and @b are one portal (one path)
 */
bool vol_portal_eq(const struct vol_portal *a, const struct vol_portal *b);

/**
 * vol_portal_format() - the URI form of @p, as the volume file spells it.
 */
void vol_portal_format(const struct vol_portal *p, char *buf, size_t size);

/**
 * vol_parse_int() - strict decimal: digits only, no sign, no spaces, no
 * trailing garbage; "-1" only if @minus_one
 * @min:	lowest value, >= 0 (-1 is governed by @minus_one alone)
 * @max:	highest value
 * Return: 0 with the value in @ret, -EINVAL if not a number, -ERANGE if out
 * of range (a negative number other than an allowed -1 included).
 */
int vol_parse_int(const char *s, long min, long max, bool minus_one, long *ret);

/**
 * vol_parse_bool() - yes/no, true/false, on/off, 1/0 in any case
 * Return: 1, 0, or -EINVAL for anything else.
 */
int vol_parse_bool(const char *s);

/**
 * vol_etc_dir() - the persistent volume directory: $NVMF_RAID_VOLUMES_ETC
 * if set and not empty, else VOL_ETC_DIR
 */
const char *vol_etc_dir(void);

/**
 * vol_run_dir() - the transient volume directory: $NVMF_RAID_VOLUMES_RUN
 * if set and not empty, else VOL_RUN_DIR
 */
const char *vol_run_dir(void);

/**
 * vol_load() - read and validate one volume file
 * @path:	the file; its base name minus ".conf" is the volume name
 * @ret:	the volume, free with vol_free()
 *
 * The file is opened with O_NOFOLLOW and must be a regular file of at most
 * VOL_FILE_SIZE_MAX bytes.  Logs every problem found (file, section, key,
 * line) at error level, all of them, not just the first.  Uses iniparser's
 * global error callback while it runs: not thread-safe.
 * Return: 0, -EINVAL if the file is invalid (also a non-regular file),
 * -ELOOP if it is a symlink, -EFBIG if it is larger than VOL_FILE_SIZE_MAX,
 * other negative errno if it cannot be read (-ENOENT, -EACCES, …); every
 * failure is logged.
 */
int vol_load(const char *path, struct vol_volume **ret);

enum {
	VOL_LOAD_QUIET = 1 << 0, /* log none of the file's problems */
};

/**
 * vol_load_flags() - vol_load() with @flags
 * @flags:	VOL_LOAD_QUIET: for a caller that looks at a file again and
 *		again (the monitor) or for another purpose (status, the
 *		other volumes of a check), where `nvmf-raid check` and the
 *		attach are the ones to list the problems; out of memory is
 *		still logged
 * Return: as vol_load().
 */
int vol_load_flags(const char *path, unsigned flags, struct vol_volume **ret);

/* One problem of a volume file, as vol_load() would have logged it. */
struct vol_problem {
	int error;     /* errno of the message, or 0 */
	char *message; /* "VOLUME: PATH:LINE [SECTION] KEY: ..." */
};

/* The problems of one file, in the order they were found. */
struct vol_problems {
	struct vol_problem *list;
	unsigned n;
	bool lost; /* out of memory: some are missing */
};

/**
 * vol_load_collect() - vol_load() that keeps the file's problems in
 * @problems instead of logging them: the caller decides whether and how
 * to report them (vol_problems_log()); out of memory is still logged
 * @problems:	emptied first; free with vol_problems_clear()
 * Return: as vol_load().
 */
int vol_load_collect(const char *path, struct vol_problems *problems, struct vol_volume **ret);

/**
 * vol_problems_log() - log every problem of @p at error level, as
 * vol_load() would have
 */
void vol_problems_log(const struct vol_problems *p);

/**
 * vol_problems_clear() - free the problems of @p and empty it
 */
void vol_problems_clear(struct vol_problems *p);

/**
 * vol_parse() - vol_load() on a file already in memory
 * @path:	the name to report and to take the volume name from; not opened
 * @buf:	@size bytes, any content (the fuzzer's entry point)
 * Return: as vol_load(), without the errors of reading.
 */
int vol_parse(const char *path, const char *buf, size_t size, struct vol_volume **ret);

/**
 * vol_find() - the file of volume @name: vol_etc_dir() wins over vol_run_dir()
 *
 * A symlink or other non-regular entry counts as found (vol_load() then
 * refuses it), so a bad file in /etc is reported rather than silently
 * shadowed by /run.
 * Return: 0 with a malloc'ed path in @ret_path, -ENOENT (not logged),
 * -EINVAL for an invalid name (logged), other negative errno if a
 * directory cannot be searched.
 */
int vol_find(const char *name, char **ret_path);

/**
 * vol_check_cross() - rules across volumes: a namespace named by two
 * volume files (vol_ns_id_same(); both named in the error).  @vols are loaded volumes; two
 * entries with the same path are one file named twice and not compared.
 * Return: 0, or -EINVAL (logged).
 */
int vol_check_cross(struct vol_volume *const *vols, unsigned n);

/**
 * vol_is_conf_name() - whether @name ends in ".conf" after something
 */
bool vol_is_conf_name(const char *name);

/**
 * vol_names_add() - add volume name @name (its first @len bytes) to the
 * list @names of @n, unless it is there already
 * Return: 1 added, 0 there already, -EINVAL not a valid volume name (the
 * caller says so, or not), -ENOMEM.
 */
int vol_names_add(char ***names, unsigned *n, const char *name, size_t len);

/**
 * vol_names_in_dir() - vol_names_add() of the name of each entry of the
 * directory @dir_fd that ends in @suffix ("" for every entry), less the
 * suffix; hidden entries (an atomic write's temporary files) skipped
 * @ret_invalid: NULL, or set to how many entries were no volume name
 * Return: 0, or negative errno (-ENOMEM, or readdir's).
 */
int vol_names_in_dir(int dir_fd, const char *suffix, char ***names, unsigned *n, unsigned *ret_invalid);

/**
 * vol_list_files() - every volume file: the *.conf of vol_etc_dir(), then
 * those of vol_run_dir() not shadowed by a file of the same name in
 * vol_etc_dir(); each directory sorted, hidden files skipped
 * @ret_paths:	malloc'ed array of malloc'ed paths
 * Return: 0, or negative errno (logged).  Missing directories hold none.
 */
int vol_list_files(char ***ret_paths, unsigned *ret_n);

/**
 * vol_check_against_others() - vol_check_cross() of @v against every other
 * volume file (vol_list_files()); files that do not load are skipped, they
 * fail their own unit
 * Return: 0, -EINVAL (logged) on a shared namespace, negative errno.
 */
int vol_check_against_others(const struct vol_volume *v);

void vol_free(struct vol_volume *v);
static inline void vol_freep(struct vol_volume **v)
{
	if (*v)
		vol_free(*v);
}
#define _cleanup_vol_ __attribute__((cleanup(vol_freep)))
