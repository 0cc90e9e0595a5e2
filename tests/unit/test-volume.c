/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vol_: the volume-file parser is the trust boundary of helpers that run as
 * root, so every key gets good and bad values, every limit both sides, and
 * every refusal its message.  Fixtures are written into a mkdtemp()
 * directory; NVMF_RAID_VOLUMES_ETC/_RUN point vol_find() and the check verb
 * there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exit-status.h"
#include "log.h"
#include "macro.h"
#include "volume.h"
#include "tap.h"
#include "check-tap.h"
#include "verbs.h"

#define NQN1 "nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277db"
#define UUID1 "96e25fb4-9f91-4c88-ab59-275fd354777e"
#define UUID2 "4a5b6c7d-1111-4222-8333-944455556666"
#define PORTAL1 "tcp://127.0.0.1:4420"

/* contract.md "Volume files", verbatim; conf/example.conf is the same. */
static const char contract_example[] =
	"[volume]\n"
	"# every key optional; defaults shown\n"
	"auto = yes              ; assemble at boot (only for files in /etc)\n"
	"min-replicas = 1        ; fewest in-sync replicas the array may start with\n"
	"degraded-timeout = 30   ; seconds to wait for missing replicas before starting degraded\n"
	"fast-io-fail-tmo = 2    ; nvme: seconds before I/O on a lost path fails over to md\n"
	"ctrl-loss-tmo = -1      ; nvme: seconds before a lost controller is given up (-1: never)\n"
	"reconnect-delay = 2     ; nvme: seconds between reconnect attempts\n"
	"keep-alive-tmo = 5      ; nvme: keep-alive timeout, bounds how fast a silent partition is seen\n"
	"notify =                ; absolute path of a program run on replica events (below)\n"
	"\n"
	"[replica.a]             ; one section per replica, \"replica.\" + 1-32 of [A-Za-z0-9_-]\n"
	"nqn = nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277db\n"
	"uuid = 96e25fb4-9f91-4c88-ab59-275fd354777e   ; the namespace: uuid, or nguid, or nsid\n"
	"# nguid = 1a2b3c4d5e6f70818293a4b5c6d7e8f9    ; 32 hex digits (dashes allowed)\n"
	"# nsid = 10                                    ; namespace id within the subsystem\n"
	"portals = tcp://127.0.0.1:4420, tcp://[::1]:4421   ; 1..16, comma or space separated\n"
	"outdated = no           ; yes: the backend knows this replica is stale; never start from it\n"
	"write-mostly = no       ; yes: a far or slow replica; reads avoid it (md write-mostly)\n"
	"dhchap-key =            ; optional NVMe in-band auth host key (file must then be mode 0600)\n"
	"dhchap-ctrl-key =       ; optional controller key for bidirectional auth (same rules)\n"
	"tls = no                ; yes: NVMe/TCP TLS (kernel with TLS and tlshd); see nvmf-raid.conf(5)\n";

static char dir[] = "/tmp/nvmf-raid-test-volume.XXXXXX";
static char etc_dir[256], run_dir[256];

static void skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++tap_n, why);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		abort();
	close(fd);
}

/* Loads @len bytes of @text as @subdir/@name (a file name), messages into
 * errs; the file is removed again. */
static int load_file(const char *subdir, const char *name, const char *text, size_t len,
		     struct vol_volume **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", subdir, name);
	struct vol_volume *v = NULL;
	struct capture c;
	int r;

	write_file(path, text, len, 0644);
	capture_begin(&c, STDERR_FILENO);
	r = vol_load(path, &v);
	capture_end(&c, errs, sizeof(errs));
	unlink(path);
	if (ret)
		*ret = v;
	else
		vol_free(v);
	return r;
}

/* As /etc/…/db1.conf. */
static int load(const char *text, struct vol_volume **ret)
{
	return load_file(etc_dir, "db1.conf", text, strlen(text), ret);
}

static int diag_errs(int ok)
{
	if (!ok)
		printf("#   messages: %s\n", errs);
	return ok;
}

static int accepted(const char *text, const char *name)
{
	int r = load(text, NULL);

	return diag_errs(tap_result(r == 0, __FILE__, __LINE__, "%s", name));
}

/* Refused with -EINVAL and a message containing @needle. */
static int refused(const char *text, const char *needle, const char *name)
{
	int r = load(text, NULL);

	return diag_errs(tap_result(r == -EINVAL && strstr(errs, needle), __FILE__, __LINE__, "%s", name));
}

/* [replica.a] with @key = @value in place of its default, or added. */
static char *replica_with(const char *key, const char *value)
{
	const char *nqn = NQN1, *uuid = UUID1, *portals = PORTAL1;
	bool extra = false;

	if (streq(key, "nqn"))
		nqn = value;
	else if (streq(key, "uuid"))
		uuid = value;
	else if (streq(key, "portals"))
		portals = value;
	else
		extra = true;
	return xasprintf("[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\n%s%s%s%s", nqn, uuid, portals,
			 extra ? key : "", extra ? " = " : "", extra ? value : "", extra ? "\n" : "");
}

static const char *const replica_keys[] = { "nqn",     "uuid",	      "nguid",	    "nsid",
					    "portals", "outdated",    "dhchap-key", "dhchap-ctrl-key",
					    "tls",     "write-mostly" };

/* One TAP line: @key = @value in its section is accepted or refused with a
 * message naming the section and the key. */
static void key_case(const char *key, const char *value, bool want)
{
	bool in_replica = false;
	_cleanup_free_ char *text = NULL, *needle = NULL;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(replica_keys); i++)
		in_replica = in_replica || streq(key, replica_keys[i]);
	if (in_replica) {
		text = replica_with(key, value);
		needle = xasprintf("[replica.a] %s: ", key);
	} else {
		_cleanup_free_ char *rep = replica_with("outdated", "no");

		text = xasprintf("[volume]\n%s = %s\n%s", key, value, rep);
		needle = xasprintf("[volume] %s: ", key);
	}
	r = load(text, NULL);
	if (want)
		diag_errs(tap_result(r == 0, __FILE__, __LINE__, "%s = '%s' accepted", key, value));
	else
		diag_errs(tap_result(r == -EINVAL && strstr(errs, needle), __FILE__, __LINE__,
				     "%s = '%s' refused", key, value));
}

static const struct {
	const char *key, *value;
	bool ok;
} key_cases[] = {
	{ "auto", "yes", true },
	{ "auto", "No", true },
	{ "auto", "TRUE", true },
	{ "auto", "false", true },
	{ "auto", "on", true },
	{ "auto", "OFF", true },
	{ "auto", "1", true },
	{ "auto", "0", true },
	{ "auto", "maybe", false },
	{ "auto", "yess", false },
	{ "auto", "y", false },
	{ "auto", "2", false },
	{ "auto", "", false },
	{ "min-replicas", "1", true },
	{ "min-replicas", "0", false },
	{ "min-replicas", "2", false },
	{ "min-replicas", "17", false },
	{ "min-replicas", "-1", false },
	{ "min-replicas", "1x", false },
	{ "min-replicas", "+1", false },
	{ "min-replicas", "", false },
	{ "degraded-timeout", "0", true },
	{ "degraded-timeout", "30", true },
	{ "degraded-timeout", "86400", true },
	{ "degraded-timeout", "86401", false },
	{ "degraded-timeout", "-1", false },
	{ "degraded-timeout", "0x10", false },
	{ "degraded-timeout", "3 0", false },
	{ "degraded-timeout", "1.5", false },
	{ "degraded-timeout", "99999999999999999999999999", false },
	{ "degraded-timeout", "18446744073709551646", false },
	{ "fast-io-fail-tmo", "-1", true },
	{ "fast-io-fail-tmo", "0", true },
	{ "fast-io-fail-tmo", "3600", true },
	{ "fast-io-fail-tmo", "3601", false },
	{ "fast-io-fail-tmo", "-2", false },
	{ "fast-io-fail-tmo", "-0", false },
	{ "fast-io-fail-tmo", "--1", false },
	{ "fast-io-fail-tmo", "-1x", false },
	{ "ctrl-loss-tmo", "-1", true },
	{ "ctrl-loss-tmo", "0", true },
	{ "ctrl-loss-tmo", "86400", true },
	{ "ctrl-loss-tmo", "86401", false },
	{ "ctrl-loss-tmo", "-2", false },
	{ "ctrl-loss-tmo", "never", false },
	{ "reconnect-delay", "1", true },
	{ "reconnect-delay", "3600", true },
	{ "reconnect-delay", "0", false },
	{ "reconnect-delay", "3601", false },
	{ "reconnect-delay", "-1", false },
	{ "keep-alive-tmo", "1", true },
	{ "keep-alive-tmo", "3600", true },
	{ "keep-alive-tmo", "0", false },
	{ "keep-alive-tmo", "3601", false },
	{ "keep-alive-tmo", "-1", false },
	{ "rebuild-rate", "0", true },
	{ "rebuild-rate", "20000", true },
	{ "rebuild-rate", "", true },
	{ "rebuild-rate", "100000000", true },
	{ "rebuild-rate", "100000001", false },
	{ "rebuild-rate", "-1", false },
	{ "rebuild-rate", "20M", false },
	{ "notify", "", true },
	{ "notify", "bin/notify", false },
	{ "notify", "/nonexistent/notify", false },
	{ "nqn", NQN1, true },
	{ "nqn", "nqn.2024-01.io.nvmf-raid.test:r1", true },
	{ "nqn", "nqn.1992-08.com.netapp:sn.0123456789abcdef:vs.1", true },
	{ "nqn", "nqn.2016-06.io.spdk:cnode1", true },
	/* Whatever the kernel and os-brick take (contract.md "NQNs"). */
	{ "nqn", "nqn.nvme-subsystem-1-3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d", true },
	{ "nqn", "NQN.2014-08.org.example:x", true },
	{ "nqn", "iqn.2014-08.org.example:x", true },
	{ "nqn", "nqn.2014-13.org.example:x", true },
	{ "nqn", "nqn.2014-08.org.example", true },
	{ "nqn", "nqn.2014-08.org.ex_ample:x/y=z", true },
	{ "nqn", "nqn.2014-08.org.example:a b", true },
	{ "nqn", "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", true },
	{ "nqn", "\"nqn.2014-08.org.example:a;b#c\"", true },
	{ "nqn", "nqn.2014-08.org.example:a,b", false },
	{ "nqn", "nqn.2014-08.org.example:a\\b", false },
	{ "nqn", "'nqn.2014-08.org.example:a\"b'", false },
	{ "nqn", NQN1 "0", true },
	{ "nqn", "nqn.2014-08.org.example:caf\xc3\xa9", false },
	{ "nqn", "", false },
	{ "nqn", "\"nqn.2014-08.org.example:x", false },
	{ "nqn", "'nqn.2014-08.org.example:x", false },
	{ "uuid", UUID1, true },
	{ "uuid", "96E25FB4-9F91-4C88-AB59-275FD354777E", true },
	{ "uuid", "96e25fb49f914c88ab59275fd354777e", false },
	{ "uuid", "{96e25fb4-9f91-4c88-ab59-275fd354777e}", false },
	{ "uuid", "96e25fb4-9f91-4c88-ab59-275fd354777", false },
	{ "uuid", "96e25fb4-9f91-4c88-ab59-275fd354777e0", false },
	{ "uuid", "96e25fb4-9f91-4c88-ab59-275fd354777g", false },
	{ "uuid", "96e25fb4-9f914-c88-ab59-275fd354777e", false },
	{ "uuid", "00000000-0000-0000-0000-000000000000", false },
	{ "uuid", "", false },
	{ "nguid", "1a2b3c4d5e6f70818293a4b5c6d7e8f9", true },
	{ "nguid", "1A2B3C4D-5E6F-7081-8293-A4B5C6D7E8F9", true },
	{ "nguid", "1a2b3c4d5e6f70818293a4b5c6d7e8f", false },
	{ "nguid", "1a2b3c4d5e6f70818293a4b5c6d7e8f90", false },
	{ "nguid", "-1a2b3c4d5e6f70818293a4b5c6d7e8f9", false },
	{ "nguid", "1a2b3c4d5e6f70818293a4b5c6d7e8f9-", false },
	{ "nguid", "1a2b--3c4d5e6f70818293a4b5c6d7e8f9", false },
	{ "nguid", "1a2b3c4d5e6f70818293a4b5c6d7e8fg", false },
	{ "nguid", "00000000000000000000000000000000", false },
	{ "nguid", "", false },
	{ "nsid", "1", true },
	{ "nsid", "10", true },
	{ "nsid", "4294967294", true },
	{ "nsid", "0", false },
	{ "nsid", "4294967295", false },
	{ "nsid", "-1", false },
	{ "nsid", "0x10", false },
	{ "nsid", "010", true },
	{ "nsid", "", false },
	{ "portals", PORTAL1, true },
	{ "portals", "rdma://10.0.0.1:4420", true },
	{ "portals", "tcp://[::1]:4420", true },
	{ "portals", "tcp://[fe80::1:2%e1]:1", true },
	{ "portals", "tcp://1.2.3.4:65535", true },
	{ "portals", "fc://nn-0x1000000000000001:pn-0x20000000000000Af", true },
	{ "portals", PORTAL1 ",tcp://127.0.0.1:4421", true },
	{ "portals", PORTAL1 " tcp://127.0.0.1:4421", true },
	{ "portals", PORTAL1 " ,  tcp://[::1]:4420,rdma://[::1]:4420", true },
	{ "portals", PORTAL1 "\ttcp://127.0.0.1:4421", true },
	{ "portals", "udp://1.2.3.4:1", false },
	{ "portals", "TCP://1.2.3.4:4420", false },
	{ "portals", "1.2.3.4:4420", false },
	{ "portals", "tcp://1.2.3.4", false },
	{ "portals", "tcp://1.2.3.4:", false },
	{ "portals", "tcp://1.2.3.4:0", false },
	{ "portals", "tcp://1.2.3.4:65536", false },
	{ "portals", "tcp://1.2.3.4:04420", false },
	{ "portals", "tcp://1.2.3.4:+4420", false },
	{ "portals", "tcp://1.2.3.4:-1", false },
	{ "portals", "tcp://1.2.3.4:44x", false },
	{ "portals", "tcp://1.2.3.4:999999", false },
	{ "portals", "tcp://1.2.3:4420", false },
	{ "portals", "tcp://1.2.3.256:4420", false },
	{ "portals", "tcp://01.2.3.4:4420", false },
	{ "portals", "tcp://localhost:4420", false },
	{ "portals", "tcp://::1:4420", false },
	{ "portals", "tcp://[::1:4420", false },
	{ "portals", "tcp://[::1]4420", false },
	{ "portals", "tcp://[1.2.3.4]:4420", false },
	{ "portals", "tcp://[fe80::1%eth0]:4420", true },
	{ "portals", "tcp://[fe80::5054:ff:fe12:3456%ens3]:4420", true },
	{ "portals", "rdma://[FE80::1%ib0.8001]:4420", true },
	{ "portals", "tcp://[fe80::1]:4420", false },
	{ "portals", "tcp://[::1%eth0]:4420", false },
	{ "portals", "tcp://[fe80::1%]:4420", false },
	{ "portals", "tcp://[fe80::1%eth/0]:4420", false },
	{ "portals", "tcp://[fe80::1%eth,0]:4420", false },
	{ "portals", "tcp://[fe80::1%abcdefghijklmnop]:4420", false },
	{ "portals", "tcp://[fe80::1%eth0]:4420 tcp://[fe80::1%eth1]:4420", true },
	{ "portals", "tcp://[fe80::1%eth0]:4420 tcp://[FE80::1%eth0]:4420", false },
	{ "portals", "tcp://1.2.3.4%eth0:4420", false },
	{ "portals", "tcp://[]:4420", false },
	{ "portals", "tcp://:4420", false },
	{ "portals", "fc://nn-0x1234:pn-0x5678", false },
	{ "portals", "fc://nn-0x1000000000000001:pn-0x200000000000000g", false },
	{ "portals", "fc://nn-0x1000000000000001:pn-0x2000000000000002x", false },
	{ "portals", "fc://NN-0x1000000000000001:pn-0x2000000000000002", false },
	{ "portals", "rdma://nn-0x1000000000000001:pn-0x2000000000000002", false },
	{ "portals", PORTAL1 ",", false },
	{ "portals", "," PORTAL1, false },
	{ "portals", PORTAL1 ",,tcp://127.0.0.1:4421", false },
	{ "portals", PORTAL1 ", " PORTAL1, false },
	{ "portals", "tcp://[::1]:4420 tcp://[0:0::1]:4420", false },
	{ "portals",
	  "fc://nn-0x100000000000000a:pn-0x2000000000000002 "
	  "fc://nn-0x100000000000000A:pn-0x2000000000000002",
	  false },
	{ "portals", "", false },
	{ "outdated", "yes", true },
	{ "outdated", "no", true },
	{ "outdated", "stale", false },
	{ "write-mostly", "yes", true },
	{ "write-mostly", "no", true },
	{ "write-mostly", "far", false },
	{ "dhchap-key", "", true },
	{ "dhchap-key", "keys/host.key", false },
	{ "dhchap-key", "/nonexistent/host.key", false },
	{ "dhchap-ctrl-key", "", true },
	{ "dhchap-ctrl-key", "keys/ctrl.key", false },
	{ "dhchap-ctrl-key", "/nonexistent/ctrl.key", false },
	{ "tls", "yes", true },
	{ "tls", "no", true },
	{ "tls", "required", false },
	{ "tls", "", false },
};

static void test_keys(void)
{
	for (size_t i = 0; i < ELEMENTSOF(key_cases); i++)
		key_case(key_cases[i].key, key_cases[i].value, key_cases[i].ok);
}

static void test_names(void)
{
	static const char *const good[] = {
		"a",
		"db1",
		"A-b_c.d",
		"0",
		"volume-0c468c4d-a385-47e0-8299-6e95051277db",
		UUID1,
		"a..b",
		"a123456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const bad[] = {
		"",
		"../x",
		"..",
		".",
		"a/b",
		"/a",
		"-a",
		".a",
		"_a",
		"a b",
		"a\nb",
		"a\tb",
		"caf\xc3\xa9",
		"a:b",
		"a*",
		"a\x7f",
		"a1234567890123456789012345678901234567890123456789012345678901234",
	};

	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		ok(vol_name_is_valid(good[i]), "volume name '%s' accepted", good[i]);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ok(!vol_name_is_valid(bad[i]), "volume name %zu of the hostile list refused", i);
	ok(!vol_name_is_valid(NULL), "NULL volume name refused");
	is_int(strlen(good[7]), 64, "the long good name has 64 characters");
	is_int(strlen(bad[16]), 65, "the long bad name has 65 characters");

	ok(vol_replica_name_is_valid("a"), "replica name 'a'");
	ok(vol_replica_name_is_valid("-_Az09"), "replica name '-_Az09'");
	ok(vol_replica_name_is_valid("12345678901234567890123456789012"), "32-char replica name");
	ok(!vol_replica_name_is_valid("123456789012345678901234567890123"), "33-char replica name refused");
	ok(!vol_replica_name_is_valid(""), "empty replica name refused");
	ok(!vol_replica_name_is_valid("a.b"), "replica name with '.' refused");
	ok(!vol_replica_name_is_valid("a b"), "replica name with a space refused");
}

static void test_syntax(void)
{
	struct vol_portal p;
	const char *why = NULL;
	uint8_t u[16];
	char buf[256], s[37];

	ok(vol_uuid_parse("96E25FB4-9F91-4C88-AB59-275FD354777E", u) == 0, "upper-case UUID parses");
	vol_uuid_format(u, s);
	is_str(s, UUID1, "UUID printed canonical, lower case");
	is_int(u[0], 0x96, "UUID byte 0");
	is_int(u[15], 0x7e, "UUID byte 15");
	is_int(vol_uuid_parse(NULL, u), -EINVAL, "NULL UUID refused");

	is_int(vol_portal_parse("tcp://[0:0::1]:4420", &p, &why), 0, "IPv6 portal parses");
	is_str(p.traddr, "::1", "IPv6 traddr canonical, without brackets");
	is_str(p.trsvcid, "4420", "trsvcid");
	is_int(p.family, AF_INET6, "family AF_INET6");
	vol_portal_format(&p, buf, sizeof(buf));
	is_str(buf, "tcp://[::1]:4420", "IPv6 portal printed with brackets");
	is_int(vol_portal_parse("rdma://10.1.2.3:4421", &p, &why), 0, "rdma portal parses");
	is_int(p.transport, VOL_TRANSPORT_RDMA, "transport rdma");
	is_int(p.family, AF_INET, "family AF_INET");
	vol_portal_format(&p, buf, sizeof(buf));
	is_str(buf, "rdma://10.1.2.3:4421", "rdma portal printed");
	is_int(vol_portal_parse("fc://nn-0x10000000000000AB:pn-0x20000000000000cd", &p, &why), 0,
	       "fc portal parses");
	is_str(p.traddr, "nn-0x10000000000000ab:pn-0x20000000000000cd", "fc traddr lower case");
	is_str(p.trsvcid, "", "fc has no trsvcid");
	is_int(p.family, AF_UNSPEC, "fc family AF_UNSPEC");
	vol_portal_format(&p, buf, sizeof(buf));
	is_str(buf, "fc://nn-0x10000000000000ab:pn-0x20000000000000cd", "fc portal printed");
	why = NULL;
	is_int(vol_portal_parse("tcp://::1:4420", &p, &why), -EINVAL, "bare IPv6 refused");
	ok(why && strstr(why, "brackets"), "... saying it needs brackets");
}

static void test_nqn_numbers(void)
{
	char buf[256];
	long v;

	ok(vol_nqn_is_valid(NQN1), "vol_nqn_is_valid() on the example NQN");
	ok(!vol_nqn_is_valid(NULL), "vol_nqn_is_valid(NULL)");
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "nqn.2014-08.org.example:", 24);
	buf[VOL_NQN_MAX] = 0;
	ok(vol_nqn_is_valid(buf), "223-byte NQN valid");
	buf[VOL_NQN_MAX] = 'a';
	buf[VOL_NQN_MAX + 1] = 0;
	ok(!vol_nqn_is_valid(buf), "224-byte NQN invalid");

	is_int(vol_parse_int("007", 0, 10, false, &v), 0, "leading zeros are decimal");
	is_int(v, 7, "... and read as 7");
	is_int(vol_parse_int("11", 0, 10, false, &v), -ERANGE, "out of range is -ERANGE");
	is_int(vol_parse_int(" 1", 0, 10, false, &v), -EINVAL, "a blank is -EINVAL");
	is_int(vol_parse_int("-1", 0, 10, false, &v), -ERANGE, "-1 out of range unless allowed");
	is_int(vol_parse_int("-1", 0, 10, true, &v), 0, "-1 if allowed");
	is_int(v, -1, "... is -1");
	is_int(vol_parse_int("-", 0, 10, true, &v), -EINVAL, "a lone '-' is not a number");
	is_int(vol_parse_int("-1x", 0, 10, true, &v), -EINVAL, "'-1x' is not a number");
	is_int(vol_parse_bool("On"), 1, "bool On");
	is_int(vol_parse_bool(NULL), -EINVAL, "bool NULL");
}

#define NGUID1 "1a2b3c4d5e6f70818293a4b5c6d7e8f9"
#define NQN_CINDER "nqn.nvme-subsystem-1-3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d"

/* [replica.NAME] of subsystem @nqn whose namespace is @id ("uuid = …"). */
static char *ns_replica(const char *name, const char *nqn, const char *id)
{
	return xasprintf("[replica.%s]\nnqn = %s\n%s\nportals = " PORTAL1 "\n", name, nqn, id);
}

/* contract.md: a namespace by uuid, else nguid, else nsid within its
 * subsystem; several may be given; two replicas naming one are refused. */
static void test_namespace_identity(void)
{
	_cleanup_vol_ struct vol_volume *v = NULL;
	_cleanup_free_ char *a = ns_replica("a", NQN1, "nguid = " NGUID1),
			    *b = ns_replica("b", NQN_CINDER, "nsid = 10"), *t = xasprintf("%s%s", a, b);
	char g[33];

	is_int(load(t, &v), 0, "an NGUID-only and an NSID-only replica");
	if (v) {
		vol_nguid_format(v->replicas[0].ns.nguid, g);
		ok(v->replicas[0].ns.has_nguid && !v->replicas[0].ns.has_uuid, "  ... a by NGUID");
		is_str(g, NGUID1, "  ... the NGUID");
		ok(v->replicas[1].ns.nsid == 10 && !v->replicas[1].ns.has_uuid &&
			   !v->replicas[1].ns.has_nguid,
		   "  ... b by NSID 10 alone");
		is_str(v->replicas[1].nqn, NQN_CINDER, "  ... in Cinder's nvmet subsystem");
	}
	free(b), free(t);
	b = ns_replica("b", NQN1, "nsid = 10\nuuid = " UUID2 "\nnguid = 0f2b3c4d5e6f70818293a4b5c6d7e8f9");
	t = xasprintf("%s%s", a, b);
	accepted(t, "all three given");
	free(b), free(t);
	b = ns_replica("b", NQN1, "nguid = 1A2B3C4D-5E6F-7081-8293-A4B5C6D7E8F9");
	t = xasprintf("%s%s", a, b);
	refused(t, "[replica.b] nguid: the namespace (nguid " NGUID1 ") is also the one of [replica.a]",
		"one NGUID in two replicas refused");
	free(b), free(t);
	b = ns_replica("b", NQN_CINDER, "uuid = 1a2b3c4d-5e6f-7081-8293-a4b5c6d7e8f9");
	t = xasprintf("%s%s", a, b);
	refused(t,
		"[replica.b] uuid: the namespace (uuid 1a2b3c4d-5e6f-7081-8293-a4b5c6d7e8f9) is also "
		"the one of [replica.a]",
		"a UUID equal to another replica's NGUID refused");
	free(a), free(b), free(t);
	a = ns_replica("a", NQN1, "nsid = 1");
	b = ns_replica("b", NQN1, "nsid = 1");
	t = xasprintf("%s%s", a, b);
	refused(t, "[replica.b] nsid: the namespace (nsid 1) is also the one of [replica.a]",
		"one NSID of one subsystem in two replicas refused");
	free(b), free(t);
	b = ns_replica("b", NQN1, "uuid = " UUID2 "\nnsid = 1");
	t = xasprintf("%s%s", a, b);
	refused(t, "db1.conf:8 [replica.b] nsid: the namespace", "  ... the line of the nsid key named");
	free(b), free(t);
	b = ns_replica("b", NQN_CINDER, "nsid = 1");
	t = xasprintf("%s%s", a, b);
	accepted(t, "NSID 1 of two subsystems: two namespaces");
}

static void test_ns_id_helpers(void)
{
	struct vol_ns_id want = { .nsid = 3 }, seen = { .nsid = 3, .has_uuid = true };
	uint8_t g[16];
	char buf[160];

	ok(vol_ns_id_matches(&want, &seen), "NSID alone matches a namespace with a UUID too");
	want.has_nguid = true;
	ok(!vol_ns_id_matches(&want, &seen), "an NGUID the namespace does not show: no match");
	seen.has_nguid = true;
	ok(vol_ns_id_matches(&want, &seen), "every identifier equal: match");
	seen.nsid = 4;
	ok(!vol_ns_id_matches(&want, &seen), "one differs: no match");
	ok(!vol_ns_id_matches(&(struct vol_ns_id){}, &seen), "nothing wanted matches nothing");
	ok(vol_nguid_parse("1a2b3c4d-5e6f-7081-8293-a4b5c6d7e8f9", g) == 0,
	   "the kernel's layout of an NGUID parses");
	want = (struct vol_ns_id){ .has_uuid = true, .nsid = 7 };
	vol_uuid_parse(UUID1, want.uuid);
	vol_ns_id_describe(&want, buf, sizeof(buf));
	is_str(buf, "uuid " UUID1 ", nsid 7", "vol_ns_id_describe()");
	ok(vol_nqn_is_standard(NQN1), "a uuid NQN is standard");
	ok(!vol_nqn_is_standard(NQN_CINDER), "Cinder's nvmet NQN is not, and is still valid");
	ok(vol_nqn_is_valid(NQN_CINDER), "  ... valid");
}

static void test_example(void)
{
	_cleanup_free_ char *path =
		xasprintf("%s/conf/example.conf", getenv("NVMF_RAID_SRCDIR") ?: "../..");
	_cleanup_free_ char *file = calloc(1, sizeof(contract_example) + 1);
	struct vol_volume *v = NULL;
	struct capture c;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, file, sizeof(contract_example)) == sizeof(contract_example) - 1,
	   "conf/example.conf readable");
	if (fd >= 0)
		close(fd);
	is_str(file, contract_example, "conf/example.conf is the contract's example");
	capture_begin(&c, STDERR_FILENO);
	r = vol_load(path, &v);
	capture_end(&c, errs, sizeof(errs));
	diag_errs(is_int(r, 0, "conf/example.conf loads"));
	is_str(v ? v->name : NULL, "example", "volume named after the file");
	vol_free(v);

	r = load(contract_example, &v);
	diag_errs(is_int(r, 0, "the contract's example loads"));
	if (!v)
		return;
	is_str(v->name, "db1", "name");
	ok(v->persistent, "a file in the etc directory is persistent");
	ok(v->auto_start && v->min_replicas == 1 && v->degraded_timeout == 30 &&
		   v->fast_io_fail_tmo == 2 && v->ctrl_loss_tmo == -1 && v->reconnect_delay == 2 &&
		   v->keep_alive_tmo == 5 && !v->notify,
	   "[volume] values");
	is_int(v->n_replicas, 1, "one replica");
	is_str(v->replicas[0].name, "a", "replica name");
	is_str(v->replicas[0].nqn, NQN1, "nqn");
	{
		char u[37];

		vol_uuid_format(v->replicas[0].ns.uuid, u);
		is_str(u, UUID1, "uuid");
		ok(v->replicas[0].ns.has_uuid && !v->replicas[0].ns.has_nguid && !v->replicas[0].ns.nsid,
		   "only the uuid given");
	}
	is_int(v->replicas[0].line, 12, "line of the replica section");
	is_int(v->replicas[0].uuid_line, 14, "line of the uuid key");
	is_int(v->replicas[0].n_portals, 2, "two portals");
	is_str(v->replicas[0].portals[1].traddr, "::1", "second portal address");
	is_str(v->replicas[0].portals[1].trsvcid, "4421", "second portal port");
	ok(!v->replicas[0].outdated && !v->replicas[0].dhchap_key, "outdated no, no key");
	ok(!v->replicas[0].dhchap_ctrl_key && !v->replicas[0].tls, "no controller key, no TLS");
	vol_free(v);
}

/* @text with every "\n" made "\r\n". */
static char *crlf(const char *text)
{
	char *s = calloc(2, strlen(text) + 1), *p = s;

	for (; *text; text++) {
		if (*text == '\n')
			*p++ = '\r';
		*p++ = *text;
	}
	return s;
}

static void test_file_forms(void)
{
	_cleanup_free_ char *dos = crlf(contract_example), *bom = NULL, *big = NULL;
	_cleanup_free_ char *rep = replica_with("outdated", "no");
	struct vol_volume *v = NULL;
	size_t n;

	is_int(load(dos, &v), 0, "CRLF line endings accepted");
	is_str(v ? v->replicas[0].nqn : NULL, NQN1, "... and no CR in the values");
	ok(v && v->replicas[0].n_portals == 2, "... nor in the last value of a line");
	vol_free(v);
	bom = xasprintf("\xef\xbb\xbf%s", contract_example);
	accepted(bom, "a UTF-8 byte order mark is ignored");
	is_int(load("", NULL), -EINVAL, "empty file refused");
	ok(strstr(errs, "db1.conf: no [replica.*] section"), "... no [replica.*] section");
	refused("# nothing\n\n; here\n", "no [replica.*] section", "comments only refused");
	refused("[volume]\nauto = no\n", "no [replica.*] section", "[volume] only refused");
	v = NULL;
	is_int(load(rep, &v), 0, "[volume] is optional");
	ok(v && v->auto_start && v->min_replicas == 1 && v->degraded_timeout == 30 &&
		   v->fast_io_fail_tmo == 2 && v->ctrl_loss_tmo == -1 && v->reconnect_delay == 2 &&
		   v->keep_alive_tmo == 5 && !v->notify && !v->replicas[0].outdated,
	   "defaults applied");
	vol_free(v);

	/* Exactly VOL_FILE_SIZE_MAX bytes: the replica, then comment lines. */
	big = malloc(VOL_FILE_SIZE_MAX + 2);
	n = strlen(rep);
	memcpy(big, rep, n);
	memset(big + n, '#', VOL_FILE_SIZE_MAX + 1 - n);
	for (size_t i = n + 500; i < VOL_FILE_SIZE_MAX; i += 500)
		big[i] = '\n';
	is_int(load_file(etc_dir, "db1.conf", big, VOL_FILE_SIZE_MAX, NULL), 0,
	       "a file of exactly 1 MiB accepted");
	is_int(load_file(etc_dir, "db1.conf", big, VOL_FILE_SIZE_MAX + 1, NULL), -EFBIG,
	       "a file of 1 MiB + 1 byte refused");
	ok(strstr(errs, "db1.conf: too large (1048577 bytes, at most 1048576)"),
	   "... saying it is too large");
}

/* Text before and after a good [replica.a] (5 lines); refused with a
 * message containing needle, or accepted if needle is NULL. */
static const struct {
	const char *before, *after, *needle, *name;
} structure_cases[] = {
	{ "[volume]\nauto = no\nauto = yes\n", "",
	  "db1.conf:3 [volume] auto: duplicate key (first at line 2)", "duplicate key" },
	{ "[volume]\nauto = no\nAUTO = no\n", "", "AUTO: duplicate key", "duplicate key, other case" },
	{ "", "[replica.a]\n", "db1.conf:6 [replica.a]: duplicate section (first at line 1",
	  "duplicate section" },
	{ "", "[Replica.A]\n", "[Replica.A]: duplicate section", "duplicate section, other case" },
	{ "[volume]\n[volume]\n", "", "duplicate section", "duplicate [volume]" },
	{ "[volumes]\n", "", "db1.conf:1 [volumes]: unknown section", "unknown section" },
	{ "", "[other]\nkey = 1\n", "[other]: unknown section", "unknown section with keys" },
	{ "[volume]\nautostart = yes\n", "", "db1.conf:2 [volume] autostart: unknown key",
	  "unknown [volume] key" },
	{ "", "portal = " PORTAL1 "\n", "[replica.a] portal: unknown key", "unknown replica key" },
	{ "[volume]\nnqn = " NQN1 "\n", "", "[volume] nqn: unknown key", "replica key in [volume]" },
	{ "", "[replica.b]\nauto = no\n", "[replica.b] auto: unknown key", "volume key in a replica" },
	{ "auto = no\n", "", "db1.conf:1: key outside any section", "key before any section" },
	{ "[volume]\nauto\n", "", "db1.conf:2: syntax error", "line without '='" },
	{ "[volume]\n= yes\n", "", "db1.conf:2 [volume]: no key name", "'= value'" },
	{ "[volume]\nauto = \\\n  no\n", "", "db1.conf:2: continuation lines", "continuation line" },
	{ "[volume\n", "", "db1.conf:1: section header without ']'", "unterminated header" },
	{ "[volume] auto = no\n", "", "db1.conf:1: text after the section header", "text after a header" },
	{ "[]\n", "", "db1.conf:1: empty section name", "empty section name" },
	{ "[replica.]\nnqn = " NQN1 "\n", "", "[replica.]: invalid replica name", "empty replica name" },
	{ "", "[replica.a.b]\n", "[replica.a.b]: invalid replica name", "replica name with '.'" },
	{ "", "[replica.123456789012345678901234567890123]\n", "invalid replica name",
	  "33-character replica name" },
	{ "",
	  "[replica.12345678901234567890123456789012]\nnqn = " NQN1 "\nuuid = " UUID2
	  "\nportals = " PORTAL1 "\n",
	  NULL, "32-character replica name" },
	{ "[volume]\nauto = n\x01o\n", "", "db1.conf:2: control character 0x01", "control character" },
	{ "[volume]\nnotify = /usr/bin/caf\xc3\xa9\n", "",
	  "[volume] notify: control or non-ASCII character in the value", "non-ASCII value" },
	{ "[vol\xc3\xbbme]\n", "", "db1.conf:1: control or non-ASCII character in the section name",
	  "non-ASCII section name" },
	{ "[volume]\n\xc3\xa0uto = no\n", "",
	  "db1.conf:2 [volume]: control or non-ASCII character in a key", "non-ASCII key" },
	{ "# caf\xc3\xa9 \xe2\x9c\x93\n", "", NULL, "non-ASCII comment" },
	{ "\n  [ volume ]  # c\n\tAuto\t=\tno # c\nMIN-REPLICAS = 1 ; c\n", "", NULL,
	  "blanks, comments and upper-case names" },
	{ "[volume]\nauto = \"no\"\n", "", NULL, "double-quoted value" },
	{ "[volume]\nauto = 'no' ; c\n", "", NULL, "single-quoted value and a comment" },
	{ "[volume]\nnotify = ''\n", "", NULL, "quoted empty value" },
	{ "[volume]\nauto = \"no\" x\n", "", "db1.conf:2 [volume] auto: text after the quoted value",
	  "text after a quoted value" },
	{ "[volume]\nauto = no;c\n", "", "db1.conf:2 [volume] auto: ';' inside the value",
	  "';' right after a value" },
	{ "", "[replica.b]\nnqn = \"nqn.2014-08.org.example:a;b#c\"\nuuid = " UUID2 "\nportals = " PORTAL1 "\n",
	  NULL, "';' and '#' inside a quoted value" },
	/* last: checked below for a follow-on "missing" */
	{ "", "[replica.b]\nnqn = " NQN1 "\nuuid = " UUID2 "\nportals = " PORTAL1 "#tcp://127.0.0.1:4421\n",
	  "db1.conf:9 [replica.b] portals: '#' inside the value",
	  "'#' right after a value (it would drop a portal)" },
};

static void test_structure(void)
{
	_cleanup_free_ char *rep = replica_with("outdated", "no");
	static const char nul[] = "[volume]\nauto = no\0\n";
	char line[1100];

	for (size_t i = 0; i < ELEMENTSOF(structure_cases); i++) {
		_cleanup_free_ char *t =
			xasprintf("%s%s%s", structure_cases[i].before, rep, structure_cases[i].after);
		_cleanup_free_ char *name = xasprintf("%s %s", structure_cases[i].name,
						      structure_cases[i].needle ? "refused" : "accepted");

		if (structure_cases[i].needle)
			refused(t, structure_cases[i].needle, name);
		else
			accepted(t, name);
	}
	ok(!strstr(errs, "missing"), "... and the refused portals are not called missing too");

	is_int(load_file(etc_dir, "db1.conf", nul, sizeof(nul) - 1, NULL), -EINVAL, "NUL byte refused");
	ok(strstr(errs, "db1.conf:2: control character 0x00"), "... naming the line");
	memset(line, '#', sizeof(line));
	memcpy(line + 1001, "\n", 2);
	refused(line, "db1.conf:1: line too long (1001 bytes, at most 1000)", "1001-byte line refused");
	line[1000] = 0;
	refused(line, "no [replica.*]", "1000-byte line: only the missing replica is an error");
	ok(!strstr(errs, "too long"), "... and not too long");
	refused("[replica.a]\nuuid = " UUID1 "\n", "db1.conf:1 [replica.a] nqn: missing",
		"missing nqn refused");
	ok(strstr(errs, "[replica.a] portals: missing"), "... and missing portals too");
	refused("[replica.a]\nnqn = " NQN1 "\nportals = " PORTAL1 "\n",
		"[replica.a]: no namespace: give uuid, nguid or nsid", "no uuid, nguid or nsid refused");
}

/* @n replicas r0, r1, … each with its own UUID and @portals. */
static char *replicas(unsigned n, const char *portals)
{
	char *t = xasprintf("%s", "");

	for (unsigned i = 0; i < n; i++) {
		char *u = xasprintf("%s[replica.r%u]\nnqn = %s\nuuid = 00000000-0000-4000-8000-0000000000%02x\n"
				    "portals = %s\n",
				    t, i, NQN1, i + 1, portals);

		free(t);
		t = u;
	}
	return t;
}

static void test_limits(void)
{
	_cleanup_free_ char *t = NULL, *nqn = NULL;
	struct vol_volume *v = NULL;

	t = replicas(16, PORTAL1);
	is_int(load(t, &v), 0, "16 replicas accepted");
	is_int(v ? v->n_replicas : 0, 16, "... all 16 kept");
	vol_free(v);
	free(t);
	t = replicas(17, PORTAL1);
	refused(t, "db1.conf: too many replicas (17, at most 16)", "17 replicas refused");
	free(t);
	/* One vendor sends up to 16 paths (contract.md: 1..16). */
	t = replicas(8, "tcp://[::1]:1 tcp://[::1]:2 tcp://[::1]:3 tcp://[::1]:4, tcp://[::1]:5,"
			"tcp://[::1]:6 ,tcp://[::1]:7 , tcp://[::1]:8 tcp://[::1]:9 tcp://[::1]:10 "
			"tcp://[::1]:11 tcp://[::1]:12 tcp://[::1]:13 tcp://[::1]:14 tcp://[::1]:15 "
			"tcp://[::1]:16");
	v = NULL;
	is_int(load(t, &v), 0, "16 portals accepted");
	is_int(v ? v->replicas[7].n_portals : 0, 16, "... all 16 kept");
	is_str(v ? v->replicas[7].portals[15].trsvcid : NULL, "16", "... in order");
	vol_free(v);
	free(t);
	t = replicas(1, "tcp://[::1]:1 tcp://[::1]:2 tcp://[::1]:3 tcp://[::1]:4 tcp://[::1]:5 "
			"tcp://[::1]:6 tcp://[::1]:7 tcp://[::1]:8 tcp://[::1]:9 tcp://[::1]:10 "
			"tcp://[::1]:11 tcp://[::1]:12 tcp://[::1]:13 tcp://[::1]:14 tcp://[::1]:15 "
			"tcp://[::1]:16 tcp://[::1]:17");
	refused(t, "db1.conf:4 [replica.r0] portals: too many portals (17, at most 16)",
		"17 portals refused");
	free(t);
	t = xasprintf("[volume]\nmin-replicas = 2\n%s", nqn = replicas(2, PORTAL1));
	v = NULL;
	is_int(load(t, &v), 0, "min-replicas = 2 with 2 replicas accepted");
	is_int(v ? v->min_replicas : 0, 2, "... and kept");
	vol_free(v);
	free(t);
	t = xasprintf("[volume]\nmin-replicas = 3\n%s", nqn);
	refused(t, "db1.conf:2 [volume] min-replicas: 3, but the volume has only 2 replicas",
		"min-replicas above the replica count refused");
	free(t);
	free(nqn);
	nqn = replica_with("outdated", "no");
	t = xasprintf("%s[replica.b]\nnqn = %s\nuuid = 96E25FB4-9F91-4C88-AB59-275FD354777E\n"
		      "portals = " PORTAL1 "\n",
		      nqn, NQN1);
	refused(t,
		"db1.conf:8 [replica.b] uuid: the namespace (uuid " UUID1
		") is also the one of [replica.a] (line 3)",
		"one namespace UUID in two replicas refused");
}

static void test_messages(void)
{
	_cleanup_free_ char *t = NULL, *want = NULL, *rep = replica_with("outdated", "no");
	char nqn[231];
	unsigned lines = 0;

	memset(nqn, 'x', 230);
	memcpy(nqn, "nqn.2014-08.org.example:", 24);
	nqn[230] = 0;
	t = xasprintf("%s[replica.2]\nnqn = %s\nuuid = %s\nportals = %s\n", rep, nqn, UUID2, PORTAL1);
	refused(t, "nqn: too long", "230-byte NQN refused");
	want = xasprintf("test-volume: db1: %s/db1.conf:7 [replica.2] nqn: too long (230 bytes, at most 223)\n",
			 etc_dir);
	ok(strstr(errs, want), "message: 'VOLUME: FILE:LINE [SECTION] KEY: what'");
	ok(!strchr(strstr(errs, want) ? strstr(errs, want) + strlen(want) : "x", 'x'),
	   "... and the value is not echoed");

	/* Three problems in three places: all are reported, each in one line. */
	free(t);
	t = xasprintf("[volume]\nauto = maybe\nfrobnicate = 1\n%s[wrong]\n", rep);
	refused(t, "db1.conf:2 [volume] auto: 'maybe' is not a boolean", "every error reported (1)");
	ok(strstr(errs, "db1.conf:3 [volume] frobnicate: unknown key"), "every error reported (2)");
	ok(strstr(errs, "db1.conf:9 [wrong]: unknown section"), "every error reported (3)");
	for (const char *p = errs; (p = strchr(p, '\n')); p++)
		lines++;
	is_int(lines, 3, "one line per error");
}

static void test_file_names(void)
{
	static const char *const good[] = {
		"db1.conf",
		"volume-0c468c4d-a385-47e0-8299-6e95051277db.conf",
		UUID1 ".conf",
		"a123456789012345678901234567890123456789012345678901234567890123.conf",
	};
	static const char *const bad[] = {
		"-x.conf",    ".x.conf",
		"a b.conf",   "caf\xc3\xa9.conf",
		"a\x01.conf", ".conf",
		"db1",	      "db1.conf.bak",
		"db1.ini",    "a1234567890123456789012345678901234567890123456789012345678901234.conf",
	};
	_cleanup_free_ char *rep = replica_with("outdated", "no"), *p = NULL;
	struct vol_volume *v = NULL;
	struct capture c;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		diag_errs(is_int(load_file(etc_dir, good[i], rep, strlen(rep), NULL), 0, good[i]));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		r = load_file(etc_dir, bad[i], rep, strlen(rep), NULL);
		ok(r == -EINVAL && (strstr(errs, "invalid volume name") || strstr(errs, "VOLUME.conf")),
		   "file name %zu of the hostile list refused", i);
	}
	is_int(load_file(run_dir, "db1.conf", rep, strlen(rep), &v), 0, "a file in the run directory");
	ok(v && !v->persistent, "... is not persistent");
	vol_free(v);

	p = xasprintf("%s/link.conf", etc_dir);
	if (symlink("db1.conf", p) < 0) /* dangling will do: it is not followed */
		abort();
	capture_begin(&c, STDERR_FILENO);
	r = vol_load(p, &v);
	capture_end(&c, errs, sizeof(errs));
	ok(r == -ELOOP && strstr(errs, "link.conf: is a symbolic link"), "a symlinked volume file refused");
	unlink(p);
	if (mkdir(p, 0755) < 0)
		abort();
	capture_begin(&c, STDERR_FILENO);
	r = vol_load(p, &v);
	capture_end(&c, errs, sizeof(errs));
	ok(r == -EINVAL && strstr(errs, "link.conf: not a regular file"), "a directory refused");
	rmdir(p);
	if (mkfifo(p, 0644) < 0)
		abort();
	capture_begin(&c, STDERR_FILENO);
	r = vol_load(p, &v);
	capture_end(&c, errs, sizeof(errs));
	ok(r == -EINVAL && strstr(errs, "not a regular file"), "a FIFO refused without hanging");
	unlink(p);
	capture_begin(&c, STDERR_FILENO);
	r = vol_load(p, &v);
	capture_end(&c, errs, sizeof(errs));
	ok(r == -ENOENT && strstr(errs, "link.conf: cannot open: No such file"), "a missing file: -ENOENT");
}

/* [volume] notify = @path, or [replica.a] dhchap-key = @path. */
static int load_path_key(bool notify, const char *path)
{
	_cleanup_free_ char *rep = replica_with("dhchap-key", notify ? "" : path), *t = NULL;

	t = xasprintf("[volume]\nnotify = %s\n%s", notify ? path : "", rep);
	return load(t, NULL);
}

static void test_notify(void)
{
	_cleanup_free_ char *prog = xasprintf("%s/notify", dir), *t = NULL;
	_cleanup_free_ char *rep = replica_with("outdated", "no");
	struct vol_volume *v = NULL;

	write_file(prog, "#!/bin/sh\n", 10, 0755);
	t = xasprintf("[volume]\nnotify = %s\n%s", prog, rep);
	is_int(load(t, &v), 0, "notify: an executable accepted");
	is_str(v ? v->notify : NULL, prog, "... and kept");
	vol_free(v);
	chmod(prog, 0644);
	is_int(load_path_key(true, prog), -EINVAL, "notify: a file without x bits refused");
	ok(strstr(errs, "[volume] notify: '") && strstr(errs, "is not executable"), "... saying why");
	chmod(prog, 0777);
	is_int(load_path_key(true, prog), -EINVAL, "notify: a world-writable program refused");
	ok(strstr(errs, "writable by group or others"), "... saying why");
	chmod(prog, 0775);
	is_int(load_path_key(true, prog), -EINVAL, "notify: a group-writable program refused");
	is_int(load_path_key(true, dir), -EINVAL, "notify: a directory refused");
	ok(strstr(errs, "is not a regular file"), "... saying why");
	is_int(load_path_key(true, "notify"), -EINVAL, "notify: a relative path refused");
	ok(strstr(errs, "'notify' is not an absolute path"), "... saying why");
	is_int(load_path_key(true, "/nonexistent"), -EINVAL, "notify: a missing program refused");
	ok(strstr(errs, "'/nonexistent': No such file or directory"), "... saying why");
	unlink(prog);
}

static void test_dhchap_key(void)
{
	_cleanup_free_ char *key = xasprintf("%s/host.key", dir), *link = xasprintf("%s/link.key", dir);
	_cleanup_free_ char *t = replica_with("dhchap-key", key);
	struct vol_volume *v = NULL;

	write_file(key, "DHHC-1:00:x:\n", 13, 0600);
	if (geteuid() == 0) {
		is_int(load(t, &v), 0, "dhchap-key: a 0600 file of root accepted");
		is_str(v ? v->replicas[0].dhchap_key : NULL, key, "... and kept");
		vol_free(v);
		chmod(key, 0400);
		is_int(load_path_key(false, key), 0, "dhchap-key: a 0400 file of root accepted");
	} else {
		skip("not root: cannot own a key file by root");
		skip("not root");
		skip("not root");
	}
	chmod(key, 0644);
	is_int(load_path_key(false, key), -EINVAL, "dhchap-key: mode 0644 refused");
	ok(strstr(errs, "[replica.a] dhchap-key: '") && strstr(errs, "has mode 0644"), "... saying why");
	chmod(key, 0640);
	is_int(load_path_key(false, key), -EINVAL, "dhchap-key: mode 0640 refused");
	chmod(key, 0600);
	if (symlink(key, link) < 0)
		abort();
	is_int(load_path_key(false, link), -EINVAL, "dhchap-key: a symlink to a good key refused");
	ok(strstr(errs, "is a symbolic link"), "... saying why");
	if (geteuid() == 0 && chown(key, 65534, 65534) == 0) {
		is_int(load_path_key(false, key), -EINVAL, "dhchap-key: a key owned by nobody refused");
		ok(strstr(errs, "is owned by uid 65534"), "... saying why");
	} else {
		skip("not root: cannot chown");
		skip("not root");
	}
	is_int(load_path_key(false, dir), -EINVAL, "dhchap-key: a directory refused");
	is_int(load_path_key(false, "/nonexistent.key"), -EINVAL, "dhchap-key: a missing file refused");
	unlink(link);
	unlink(key);
}

/* dhchap-ctrl-key: bidirectional authentication, the host key's rules, and
 * only with a host key. */
static void test_dhchap_ctrl_key(void)
{
	_cleanup_free_ char *hkey = xasprintf("%s/host.key", dir), *ckey = xasprintf("%s/ctrl.key", dir);
	_cleanup_free_ char *both = NULL, *alone = NULL, *loose = NULL;
	struct vol_volume *v = NULL;

	write_file(hkey, "DHHC-1:00:x:\n", 13, 0600);
	write_file(ckey, "DHHC-1:00:y:\n", 13, 0600);
	both = xasprintf("[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\ndhchap-key = %s\n"
			 "dhchap-ctrl-key = %s\n",
			 NQN1, UUID1, PORTAL1, hkey, ckey);
	alone = xasprintf("[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\ndhchap-ctrl-key = %s\n",
			  NQN1, UUID1, PORTAL1, ckey);
	if (geteuid() == 0) {
		is_int(load(both, &v), 0, "dhchap-key and dhchap-ctrl-key accepted");
		is_str(v ? v->replicas[0].dhchap_ctrl_key : NULL, ckey, "... the controller key kept");
		vol_free(v);
		is_int(load(alone, NULL), -EINVAL, "dhchap-ctrl-key without dhchap-key refused");
		ok(strstr(errs, "[replica.a] dhchap-ctrl-key: ") && strstr(errs, "needs a host key"),
		   "... saying why");
	} else {
		skip("not root: cannot own a key file by root");
		skip("not root");
		skip("not root");
		skip("not root");
	}
	chmod(ckey, 0604);
	loose = replica_with("dhchap-ctrl-key", ckey);
	is_int(load(loose, NULL), -EINVAL, "dhchap-ctrl-key: mode 0604 refused");
	ok(strstr(errs, "[replica.a] dhchap-ctrl-key: '") && strstr(errs, "has mode 0604"),
	   "... saying why");
	unlink(hkey);
	unlink(ckey);
}

/* tls: a replica's own, else [volume]'s. */
static void test_tls(void)
{
	_cleanup_free_ char *t = NULL;
	struct vol_volume *v = NULL;

	t = xasprintf("[volume]\ntls = yes\n[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\n"
		      "[replica.b]\nnqn = %s\nuuid = %s\nportals = %s\ntls = no\n",
		      NQN1, UUID1, PORTAL1, NQN1, UUID2, PORTAL1);
	is_int(load(t, &v), 0, "[volume] tls = yes, one replica tls = no");
	ok(v && v->tls && v->replicas[0].tls && !v->replicas[1].tls,
	   "... a replica without tls takes the volume's, one with it keeps its own");
	vol_free(v);
	free(t);
	t = xasprintf("[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\ntls = yes\n", NQN1, UUID1, PORTAL1);
	is_int(load(t, &v), 0, "tls = yes in a replica alone");
	ok(v && !v->tls && v->replicas[0].tls, "... that replica has TLS");
	vol_free(v);
	free(t);
	t = xasprintf("[volume]\ntls = maybe\n[replica.a]\nnqn = %s\nuuid = %s\nportals = %s\n", NQN1,
		      UUID1, PORTAL1);
	is_int(load(t, NULL), -EINVAL, "[volume] tls = maybe refused");
	ok(strstr(errs, "[volume] tls: 'maybe' is not a boolean"), "... saying why");
}

/* Writes DIR/@name (a file name) holding replica @rname with @uuid. */
static char *volume_file(const char *subdir, const char *name, const char *rname, const char *uuid)
{
	char *path = xasprintf("%s/%s", subdir, name);
	_cleanup_free_ char *t = xasprintf("\n[replica.%s]\nnqn = %s\nuuid = %s\nportals = %s\n", rname,
					   NQN1, uuid, PORTAL1);

	write_file(path, t, strlen(t), 0644);
	return path;
}

static void test_cross(void)
{
	_cleanup_free_ char *a = volume_file(etc_dir, "a.conf", "x", UUID1);
	_cleanup_free_ char *b = volume_file(run_dir, "b.conf", "y", UUID1);
	_cleanup_free_ char *c = volume_file(run_dir, "c.conf", "z", UUID2), *want = NULL;
	struct vol_volume *vols[4] = {};
	struct capture cap;
	int r;

	capture_begin(&cap, STDERR_FILENO);
	r = vol_load(a, &vols[0]) | vol_load(b, &vols[1]) | vol_load(c, &vols[2]) | vol_load(a, &vols[3]);
	capture_end(&cap, errs, sizeof(errs));
	if (!diag_errs(is_int(r, 0, "three volumes load"))) {
		for (size_t i = 0; i < ELEMENTSOF(vols); i++)
			vol_free(vols[i]);
		return;
	}
	capture_begin(&cap, STDERR_FILENO);
	r = vol_check_cross((struct vol_volume *const[]){ vols[0], vols[2], vols[3] }, 3);
	capture_end(&cap, errs, sizeof(errs));
	diag_errs(is_int(r, 0, "distinct UUIDs (and one file named twice) pass"));
	capture_begin(&cap, STDERR_FILENO);
	r = vol_check_cross(vols, 3);
	capture_end(&cap, errs, sizeof(errs));
	is_int(r, -EINVAL, "one namespace UUID in two volume files refused");
	want = xasprintf("b: %s:4 [replica.y] uuid: the namespace (uuid %s) is also used by volume a (%s:4 [replica.x])",
			 b, UUID1, a);
	diag_errs(ok(strstr(errs, want), "... naming both files and sections"));
	for (size_t i = 0; i < ELEMENTSOF(vols); i++)
		vol_free(vols[i]);
	unlink(a);
	unlink(b);
	unlink(c);
}

static void test_find(void)
{
	_cleanup_free_ char *e = NULL, *r1 = NULL, *r2 = NULL, *found = NULL, *link = NULL;
	struct capture c;
	int r;

	is_str(vol_etc_dir(), etc_dir, "$" VOL_ETC_DIR_ENV " overrides the etc directory");
	is_str(vol_run_dir(), run_dir, "$" VOL_RUN_DIR_ENV " overrides the run directory");
	r1 = volume_file(run_dir, "db1.conf", "a", UUID1);
	is_int(vol_find("db1", &found), 0, "vol_find(): a volume only in run");
	is_str(found, r1, "... found there");
	free(found);
	found = NULL;
	e = volume_file(etc_dir, "db1.conf", "a", UUID1);
	is_int(vol_find("db1", &found), 0, "vol_find(): a volume in etc and run");
	is_str(found, e, "... etc wins");
	free(found);
	found = NULL;
	is_int(vol_find("db2", &found), -ENOENT, "vol_find(): no such volume");
	ok(!found, "... no path returned");
	capture_begin(&c, STDERR_FILENO);
	r = vol_find("../db1", &found);
	capture_end(&c, errs, sizeof(errs));
	ok(r == -EINVAL && strstr(errs, "Invalid volume name '../db1'"), "vol_find(): '../db1' refused");
	capture_begin(&c, STDERR_FILENO);
	r = vol_find("a\nb", &found);
	capture_end(&c, errs, sizeof(errs));
	ok(r == -EINVAL && strstr(errs, "'a?b'"), "vol_find(): a control character refused, not echoed");
	r2 = volume_file(run_dir, "db3.conf", "a", UUID1);
	link = xasprintf("%s/db3.conf", etc_dir);
	if (symlink(r2, link) < 0)
		abort();
	is_int(vol_find("db3", &found), 0, "vol_find(): a symlink in etc ...");
	is_str(found, link, "... still wins, for vol_load() to refuse");
	unlink(link);
	unlink(r2);
	unlink(r1);
	unlink(e);
}

static void test_check(void)
{
	_cleanup_free_ char *a = volume_file(etc_dir, "a.conf", "x", UUID1);
	_cleanup_free_ char *shadow = xasprintf("%s/a.conf", run_dir);
	_cleanup_free_ char *b = volume_file(run_dir, "b.conf", "y", UUID2);
	_cleanup_free_ char *bad = xasprintf("%s/bad.conf", dir), *want = NULL, *clash = NULL;

	is_int(run_check("--help", NULL), EXIT_OK, "check --help");
	ok(strstr(out, "Usage: nvmf-raid check"), "... prints the usage");
	is_int(run_check("--frobnicate", NULL), EXIT_USAGE, "check with a bad option: 2");

	write_file(shadow, "garbage\n", 8, 0644);
	is_int(run_check(NULL), EXIT_OK, "check: all volumes valid, a bad shadowed file ignored");
	want = xasprintf("a: %s: ok (1 replica)\nb: %s: ok (1 replica)\n", a, b);
	is_str(out, want, "... one line per volume");
	unlink(shadow);

	is_int(run_check("a", NULL), EXIT_OK, "check VOLUME");
	is_int(run_check(b, NULL), EXIT_OK, "check FILE");
	is_int(run_check("a", a, NULL), EXIT_OK, "check of one file named twice");
	ok(!strstr(errs, "also used"), "... does not clash with itself");
	is_int(run_check("nosuch", NULL), EXIT_USAGE, "check of an unknown volume: 2");
	ok(strstr(errs, "nosuch: no volume file"), "... saying so");
	is_int(run_check("../a", NULL), EXIT_USAGE, "check of '../a' as a file that does not exist: 2");
	is_int(run_check("-", NULL), EXIT_USAGE, "check of the volume name '-': 2");
	is_int(run_check("/etc/passwd/x.conf", NULL), EXIT_FAILED, "a file that cannot be opened: 1");

	write_file(bad, "[replica.a]\nnqn = nope\n", 23, 0644);
	is_int(run_check("a", bad, "b", NULL), EXIT_USAGE, "check with one invalid file: 2");
	ok(strstr(out, "a: ") && strstr(out, "b: ") && !strstr(out, "bad:"),
	   "... the valid ones still reported ok");
	ok(strstr(errs, "bad.conf:1 [replica.a]: no namespace: give uuid, nguid or nsid"),
	   "... the error named");

	clash = volume_file(run_dir, "c.conf", "z", UUID1);
	is_int(run_check(NULL), EXIT_USAGE, "check: a UUID in two volumes: 2");
	ok(strstr(errs, "c: ") && strstr(errs, "also used by volume a"), "... naming both");
	ok(!strstr(out, "a: ") && !strstr(out, "c: ") && strstr(out, "b: "),
	   "... neither called ok, the third one is");
	is_int(run_check("a", "c", NULL), EXIT_USAGE, "check of the two named volumes: 2");
	is_int(run_check("b", NULL), EXIT_OK, "check of a volume that clashes with none");
	is_int(run_check("c", NULL), EXIT_USAGE,
	       "check of one volume named alone: checked against every volume file, as attach does: 2");
	ok(strstr(errs, "also used by volume"), "... naming the clash");

	unlink(clash);
	unlink(bad);
	unlink(a);
	unlink(b);
	is_int(run_check(NULL), EXIT_OK, "check without volume files: 0");
	is_str(out, "", "... prints nothing to stdout");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* The volume names of a directory's entries: suffix taken off, hidden and
 * invalid ones left out (counted), none twice. */
static void test_names_in_dir(void)
{
	char d[PATH_MAX], f[PATH_MAX + 32];
	const char *files[] = { "b.json", "a.json", ".a.json.tmp1", "bad name.json", "x.conf", ".json" };
	char **names = NULL;
	unsigned n = 0, invalid = 99;
	int fd;

	snprintf(d, sizeof(d), "%s/names", dir);
	if (mkdir(d, 0755) < 0)
		abort();
	for (unsigned i = 0; i < ELEMENTSOF(files); i++) {
		snprintf(f, sizeof(f), "%s/%s", d, files[i]);
		fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			abort();
		close(fd);
	}
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		abort();
	is_int(vol_names_in_dir(fd, ".json", &names, &n, &invalid), 0, "names of *.json");
	is_int(n, 2, "  ... a and b: hidden, other suffixes and invalid names left out");
	is_int(invalid, 1, "  ... one invalid name counted");
	is_int(vol_names_in_dir(fd, ".json", &names, &n, NULL), 0, "listed again");
	is_int(n, 2, "  ... none twice");
	is_int(vol_names_in_dir(fd, "", &names, &n, &invalid), 0, "every entry");
	is_int(n, 5, "  ... a.json, b.json and x.conf are volume names too");
	is_int(vol_names_add(&names, &n, "a", 1), 0, "add a name listed: 0");
	is_int(vol_names_add(&names, &n, "c/d", 3), -EINVAL, "add an invalid name: -EINVAL");
	is_int(vol_names_add(&names, &n, "c", 1), 1, "add a new name: 1");
	close(fd);
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int main(void)
{
	log_setup("test-volume");
	log_set_target(LOG_TARGET_CONSOLE);
	log_set_max_level(LOG_INFO);
	if (!mkdtemp(dir))
		abort();
	snprintf(etc_dir, sizeof(etc_dir), "%s/etc", dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	if (mkdir(etc_dir, 0755) < 0 || mkdir(run_dir, 0755) < 0)
		abort();
	setenv(VOL_ETC_DIR_ENV, etc_dir, 1);
	setenv(VOL_RUN_DIR_ENV, run_dir, 1);

	test_names();
	test_names_in_dir();
	test_syntax();
	test_nqn_numbers();
	test_namespace_identity();
	test_ns_id_helpers();
	test_keys();
	test_example();
	test_file_forms();
	test_structure();
	test_limits();
	test_messages();
	test_file_names();
	test_notify();
	test_dhchap_key();
	test_dhchap_ctrl_key();
	test_tls();
	test_cross();
	test_find();
	test_check();

	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
