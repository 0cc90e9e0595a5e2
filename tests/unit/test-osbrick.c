/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * osb_: os-brick's connection_properties are read by a command nova runs as
 * root, so every accepted form gets its exact volume file checked, and
 * every refusal the JSON path in its message.  Accepted input is also read
 * back with vol_parse() (osb_validate()), as the verb does.
 *
 * unit_: the jobs the verb runs, against a fake systemd served by a child
 * process over a socketpair, as a direct connection like systemd's private
 * socket (which is what the test guest, without a D-Bus daemon, uses).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "device.h"
#include "log.h"
#include "macro.h"
#include "osbrick.h"
#include "unit.h"
#include "volume.h"
#include "osbrick-tap.h"
#include "tap.h"

/* The JSON texts below are glued from macros and string pieces laid out
 * as the JSON nests; clang-format 14 re-wraps them unreadably. */
/* clang-format off */

#define NQN1 "nqn.2014-08.org.nvmexpress:uuid:0c468c4d-a385-47e0-8299-6e95051277db"
#define NQN2 "nqn.2024-01.io.nvmf-raid.test:r2"
#define UUID1 "96e25fb4-9f91-4c88-ab59-275fd354777e"
#define UUID2 "12345fb4-9f91-4c88-ab59-275fd3544321"
#define CINDER "5c0a4f3e-1f57-4b43-9d3c-6ed6b3bb8a57"

/* One portal, each spelling. */
#define P_OBJ(addr, port, tr) \
	"{\"address\": \"" addr "\", \"port\": " port ", \"transport\": \"" tr "\"}"
#define P_LIST(addr, port, tr) "[\"" addr "\", " port ", \"" tr "\"]"
/* One replica, each spelling; @portals is the inside of the list. */
#define SPEC_REP(uuid, nqn, portals) \
	"{\"uuid\": \"" uuid "\", \"nqn\": \"" nqn "\", \"portals\": [" portals "]}"
#define BRICK_REP(uuid, nqn, portals) \
	"{\"vol_uuid\": \"" uuid "\", \"target_nqn\": \"" nqn "\", \"portals\": [" portals "]}"
/* A flat os-brick replica with @extra keys added ("" for none). */
#define FLAT(extra) \
	"{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", " \
	"\"portals\": [" P_LIST("127.0.0.1", "\"4420\"", "tcp") "]" extra "}"

/* The spec's two examples, with addresses filled in and in JSON. */
static void test_spec_examples(void)
{
	static const char flat[] =
		"{\"uuid\": \"" UUID1 "\",\n \"nqn\": \"" NQN1 "\",\n"
		" \"portals\": [{\n     \"address\": \"127.0.0.1\",\n     \"port\": \"4420\",\n"
		"     \"transport\": \"tcp\"}],\n \"volume_replicas\": null}\n";
	static const char replicated[] =
		"{\"volume_replicas\": [\n"
		"     {\"uuid\": \"" UUID1 "\",\n      \"nqn\": \"" NQN1 "\",\n"
		"      \"portals\": [{\"address\": \"127.0.0.1\", \"port\": \"4420\", \"transport\": \"tcp\"}]},\n"
		"     {\"uuid\": \"" UUID2 "\",\n      \"nqn\": \"" NQN2 "\",\n"
		"      \"portals\": [{\"address\": \"127.0.0.1\", \"port\": \"4420\", \"transport\": \"tcp\"}]}]}\n";
	struct osb_volume *o = NULL;
	struct vol_volume *v;

	v = accepted_as(flat, NULL, UUID1, 1, &o, "spec example 1 (flat, volume_replicas null)");
	if (v && o) {
		is_str(o->text,
		       OSB_FILE_HEADER "\n[replica.0]\nnqn = " NQN1 "\nuuid = " UUID1 "\nportals = tcp://127.0.0.1:4420\n",
		       "  ... the exact volume file");
		is_str(v->replicas[0].name, "0", "  ... its section is [replica.0]");
		is_str(v->replicas[0].portals[0].trsvcid, "4420", "  ... port 4420");
		ok(!v->persistent, "  ... transient, not persistent");
	}
	vol_free(v);
	osb_free(o);
	o = NULL;

	/* Two replicas and no name anywhere: the spec's form alone is not enough. */
	refused(replicated, NULL, "no volume name: a volume of 2 replicas needs --volume",
		"spec example 2 without a name");
	v = accepted_as(replicated, "db1", "db1", 2, &o, "spec example 2 with --volume db1");
	if (v && o) {
		char u0[37], u1[37];

		vol_uuid_format(v->replicas[0].ns.uuid, u0);
		vol_uuid_format(v->replicas[1].ns.uuid, u1);
		is_str(u0, UUID1, "  ... replica 0 is the first entry");
		is_str(u1, UUID2, "  ... replica 1 is the second entry");
		is_str(v->replicas[1].name, "1", "  ... named [replica.1]");
		is_str(v->replicas[1].nqn, NQN2, "  ... with its NQN");
		ok(strstr(o->text, "[replica.1]\nnqn = " NQN2 "\nuuid = " UUID2
				   "\nportals = tcp://127.0.0.1:4420\n") != NULL,
		   "  ... the second section in the file");
	}
	vol_free(v);
	osb_free(o);
}

/* os-brick's own form, as nova passes it from cinder. */
static void test_osbrick_forms(void)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v;
	const char *rep =
		"{\"vol_uuid\": \"" CINDER "\", \"alias\": \"volume-" CINDER "\", \"replica_count\": 2,"
		" \"qos_specs\": {\"a\": {\"b\": [1, 2, {\"c\": null}]}}, \"access_mode\": \"rw\","
		" \"encrypted\": false, \"cacheable\": false, \"discard\": true, \"device_path\": \"/dev/x\","
		" \"volume_replicas\": ["
		"  {\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"volume_nguid\": \"1a2b3c4d5e6f70818293a4b5c6d7e8f9\","
		"   \"ns_id\": 1, \"host_nqn\": \"nqn.2014-08.org.nvmexpress:uuid:11\","
		"   \"portals\": [[\"10.0.0.1\", \"4420\", \"tcp\"], [\"10.0.1.1\", 4420, \"RoCEv2\"]]},"
		"  {\"target_nqn\": \"" NQN2 "\", \"vol_uuid\": \"" UUID2 "\", \"ns_id\": \"7\","
		"   \"portals\": [[\"fe80::2%ib0\", 4421, \"rdma\"]]}]}";

	accepted(FLAT(""), NULL, UUID1, 1, "os-brick flat: target_nqn, vol_uuid, portals list");
	accepted(FLAT(", \"volume_replicas\": null"), NULL, UUID1, 1, "os-brick flat, volume_replicas null");
	v = accepted_as(rep, NULL, "volume-" CINDER, 2, &o, "os-brick volume_replicas, alias, extra keys");
	if (v && o) {
		is_int(v->replicas[0].n_portals, 2, "  ... replica 0 has 2 portals");
		is_int(v->replicas[0].portals[1].transport, VOL_TRANSPORT_RDMA, "  ... RoCEv2 is rdma");
		is_int(v->replicas[1].portals[0].transport, VOL_TRANSPORT_RDMA, "  ... rdma is rdma");
		is_str(v->replicas[1].portals[0].traddr, "fe80::2%ib0", "  ... IPv6 link-local address with its zone");
		ok(strstr(o->text, "portals = tcp://10.0.0.1:4420, rdma://10.0.1.1:4420\n") != NULL,
		   "  ... both portals in the file");
		ok(strstr(o->text, "portals = rdma://[fe80::2%ib0]:4421\n") != NULL,
		   "  ... IPv6 in brackets in the URI");
		is_str(o->replicas[0].host_nqn, "nqn.2014-08.org.nvmexpress:uuid:11", "  ... host_nqn kept for the verb");
		is_str(o->replicas[0].path, "volume_replicas[0]", "  ... with its JSON path");
		ok(!o->replicas[1].host_nqn, "  ... no host_nqn for replica 1");
	}
	vol_free(v);
	osb_free(o);
}

static void test_single_entry(void)
{
	accepted("{\"volume_replicas\": [" BRICK_REP(UUID2, NQN2, P_LIST("127.0.0.1", "4420", "tcp")) "]}",
		 NULL, UUID2, 1, "one-entry volume_replicas: the single replica's UUID names it");
	accepted("{\"volume_replicas\": [" SPEC_REP(UUID2, NQN2, P_OBJ("127.0.0.1", "4420", "tcp")) "],"
		 " \"replica_count\": 1}", NULL, UUID2, 1, "one-entry, spec spelling, replica_count 1");
	accepted("{\"alias\": \"one\", \"volume_replicas\": [" BRICK_REP(UUID2, NQN2, P_LIST("127.0.0.1", "4420", "tcp")) "]}",
		 NULL, "one", 1, "one-entry with alias");
}

static void test_names(void)
{
	const char *rep = BRICK_REP(UUID2, NQN2, P_LIST("127.0.0.1", "4420", "tcp"));
	_cleanup_free_ char *all = xasprintf("{\"alias\": \"al\", \"vol_uuid\": \"" CINDER "\", "
					     "\"volume_replicas\": [%s]}", rep);
	_cleanup_free_ char *no_alias = xasprintf("{\"vol_uuid\": \"" CINDER "\", \"volume_replicas\": [%s]}", rep);
	_cleanup_free_ char *null_alias = xasprintf("{\"alias\": null, \"vol_uuid\": null, "
						    "\"volume_replicas\": [%s]}", rep);
	_cleanup_free_ char *long64 = xasprintf("{\"alias\": \"%064d\", \"volume_replicas\": [%s]}", 0, rep);
	_cleanup_free_ char *long65 = xasprintf("{\"alias\": \"%065d\", \"volume_replicas\": [%s]}", 0, rep);
	_cleanup_free_ char *slash = xasprintf("{\"alias\": \"../etc/x\", \"volume_replicas\": [%s]}", rep);
	_cleanup_free_ char *space = xasprintf("{\"alias\": \"a b\", \"volume_replicas\": [%s]}", rep);
	_cleanup_free_ char *dot = xasprintf("{\"alias\": \".x\", \"volume_replicas\": [%s]}", rep);

	accepted(all, "cli", "cli", 1, "--volume wins over alias and vol_uuid");
	accepted(all, NULL, "al", 1, "alias wins over vol_uuid");
	accepted(no_alias, NULL, CINDER, 1, "top-level vol_uuid (cinder's id) without alias");
	accepted(null_alias, NULL, UUID2, 1, "alias and vol_uuid null: the namespace UUID");
	accepted(FLAT(""), NULL, UUID1, 1, "flat: the top-level vol_uuid");
	accepted("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"96E25FB49F914C88AB59275FD354777E\", "
		 "\"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}", NULL,
		 "96E25FB49F914C88AB59275FD354777E", 1, "flat: vol_uuid as given names it");
	accepted("{\"nqn\": \"" NQN1 "\", \"uuid\": \"96E25FB4-9F91-4C88-AB59-275FD354777E\", "
		 "\"portals\": [" P_OBJ("127.0.0.1", "4420", "tcp") "]}", NULL, UUID1, 1,
		 "flat spec: the canonical namespace UUID names it");
	accepted(long64, NULL, "0000000000000000000000000000000000000000000000000000000000000000", 1,
		 "64-character alias");
	accepted(all, "volume-" CINDER, "volume-" CINDER, 1, "a cinder volume id as --volume");
	refused(long65, NULL, "alias: '00000", "65-character alias");
	refused(slash, NULL, "alias: '../etc/x' is not a valid volume name", "alias with a slash");
	refused(space, NULL, "alias: 'a b' is not a valid volume name", "alias with a space");
	refused(dot, NULL, "alias: '.x' is not a valid volume name", "alias starting with a dot");
	refused(all, "-x", "--volume: '-x' is not a valid volume name", "invalid --volume");
	refused("{\"alias\": \"\", \"volume_replicas\": [" BRICK_REP(UUID2, NQN2, P_LIST("127.0.0.1", "4420", "tcp")) "]}",
		NULL, "alias: '' is not a valid volume name", "empty alias");
}

static void test_uuids(void)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v;

	v = accepted_as("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"96E25FB49F914C88AB59275FD354777E\", "
			"\"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}", "u", "u", 1, &o,
			"namespace UUID without dashes, upper case");
	if (o)
		ok(strstr(o->text, "uuid = " UUID1 "\n") != NULL, "  ... written in canonical form");
	vol_free(v);
	osb_free(o);
	accepted("{\"target_nqn\": \"" NQN1 "\", \"nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", "
		 "\"uuid\": \"96E25FB4-9F91-4C88-AB59-275FD354777E\", \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}",
		 NULL, UUID1, 1, "both spellings given and equal");
	refused("{\"target_nqn\": \"" NQN1 "\", \"nqn\": \"" NQN2 "\", \"vol_uuid\": \"" UUID1 "\", "
		"\"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}", NULL,
		"\"target_nqn\" and \"nqn\" are both given and differ", "target_nqn and nqn differ");
	refused("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"uuid\": \"" UUID2 "\", "
		"\"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}", NULL,
		"\"vol_uuid\" and \"uuid\" are both given and differ", "vol_uuid and uuid differ");
	refused("{\"volume_replicas\": [" BRICK_REP("not-a-uuid", NQN1, P_LIST("127.0.0.1", "4420", "tcp")) "]}",
		NULL, "volume_replicas[0].vol_uuid: 'not-a-uuid' is not a UUID", "malformed UUID");
	refused("{\"volume_replicas\": [" SPEC_REP("00000000-0000-0000-0000-000000000000", NQN1,
						   P_OBJ("127.0.0.1", "4420", "tcp")) "]}",
		NULL, "volume_replicas[0].uuid: the nil UUID names no namespace", "nil UUID");
	refused("{\"alias\": \"d\", \"volume_replicas\": [" BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "4420", "tcp")) ", "
		SPEC_REP("96E25FB4-9F91-4C88-AB59-275FD354777E", NQN2, P_OBJ("127.0.0.2", "4420", "tcp")) "]}",
		NULL, "volume_replicas[1].uuid: names the namespace of volume_replicas[0] too (uuid " UUID1 ")",
		"two replicas with one namespace UUID");
	refused("{\"alias\": \"x\", \"volume_replicas\": [{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": null, "
		"\"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}]}", NULL,
		"volume_replicas[0]: no namespace identifier (\"vol_uuid\", \"volume_nguid\" or \"ns_id\"): "
		"os-brick would then take whatever device appears while it connects", "vol_uuid null, nothing else");
}

static void test_nqns(void)
{
	refused("{\"vol_uuid\": \"" UUID1 "\", \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}", NULL,
		"connection_properties: no \"target_nqn\" (or \"nqn\")", "flat without an NQN");
	refused("{\"volume_replicas\": [{\"uuid\": \"" UUID1 "\", \"portals\": [" P_OBJ("127.0.0.1", "4420", "tcp") "]}]}",
		NULL, "volume_replicas[0]: no \"target_nqn\" (or \"nqn\")", "replica without an NQN");
	refused("{\"volume_replicas\": [" BRICK_REP(UUID1, "iqn.2001-04.com.example:x,y", P_LIST("127.0.0.1", "4420", "tcp")) "]}",
		NULL, "volume_replicas[0].target_nqn: 'iqn.2001-04.com.example:x,y' is not an NQN", "an NQN with ','");
	refused("{\"volume_replicas\": [" BRICK_REP(UUID1, "nqn.2014-08.org.example:\\n[volume]", P_LIST("127.0.0.1", "4420", "tcp")) "]}",
		NULL, "volume_replicas[0].target_nqn: 'nqn.2014-08.org.example:?[volume]' is not an NQN",
		"an NQN with a newline, printed harmlessly");
	refused("{\"volume_replicas\": [" SPEC_REP(UUID1, "nqn.2014-08.org.example:a\\\"b", P_OBJ("127.0.0.1", "4420", "tcp")) "]}",
		NULL, "volume_replicas[0].nqn: 'nqn.2014-08.org.example:a\"b' is not an NQN: a '\"' or '\\'", "an NQN with '\"'");
	accepted("{\"volume_replicas\": [" SPEC_REP(UUID1, "nqn.1992-08.com.netapp:sn.0a1b:subsystem.vol_1+x/y@z=w", P_OBJ("127.0.0.1", "4420", "tcp")) "]}",
		 NULL, UUID1, 1, "an NQN with _ + / @ =");
}

/* ';', '#' and '\'' may be in an NQN; the file then quotes it, and
 * vol_parse() reads back exactly that NQN. */
static void test_nqn_quoting(void)
{
	static const char *const nqns[] = {
		"nqn.2014-08.org.example:a;b", "nqn.2014-08.org.example:a#b",
		"nqn.2014-08.org.example:it's", "'nqn.2014-08.org.example:x'",
		"nqn.2014-08.org.example:a ;b #c",
	};

	for (size_t i = 0; i < ELEMENTSOF(nqns); i++) {
		_cleanup_free_ char *json = xasprintf("{\"target_nqn\": \"%s\", \"vol_uuid\": \"" UUID1 "\", "
						      "\"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}",
						      nqns[i]);
		_cleanup_free_ char *line = xasprintf("\nnqn = \"%s\"\n", nqns[i]);
		_cleanup_free_ char *what = xasprintf("NQN %s", nqns[i]);
		struct osb_volume *o = NULL;
		struct vol_volume *v = accepted_as(json, NULL, UUID1, 1, &o, what);

		if (v && o) {
			ok(strstr(o->text, line) != NULL, "  ... written in double quotes");
			is_str(v->replicas[0].nqn, nqns[i], "  ... vol_parse() reads back exactly that NQN");
		}
		vol_free(v);
		osb_free(o);
	}
}

#define TARGET(ids) \
	"{\"target_nqn\": \"" NQN1 "\", " ids ", \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}"
#define SECTION0(id) "\n[replica.0]\nnqn = " NQN1 "\n" id "\nportals = tcp://127.0.0.1:4420\n"
#define NGUID1 "1a2b3c4d5e6f70818293a4b5c6d7e8f9"

/* os-brick finds the namespace by uuid, else nguid, else ns_id; the file
 * gets that one, and every one given is checked. */
static void test_namespace_ids(void)
{
	attached(TARGET("\"vol_uuid\": \"" UUID1 "\", \"volume_nguid\": \"" NGUID1 "\", \"ns_id\": 7"), NULL,
		 UUID1, SECTION0("uuid = " UUID1), "uuid, nguid and ns_id: the uuid only");
	attached(TARGET("\"volume_nguid\": \"1A2B3C4D-5E6F-7081-8293-A4B5C6D7E8F9\", \"ns_id\": \"7\""), NULL,
		 NGUID1, SECTION0("nguid = " NGUID1), "nguid in UUID layout and ns_id: the nguid, canonical");
	attached(TARGET("\"ns_id\": 4294967294"), "v", "v", SECTION0("nsid = 4294967294"),
		 "ns_id only, the largest");
	attached(TARGET("\"vol_uuid\": \"\", \"volume_nguid\": \"\", \"ns_id\": \"7\""), "v", "v",
		 SECTION0("nsid = 7"), "empty vol_uuid and volume_nguid are not given, as in os-brick");
	attached(TARGET("\"vol_uuid\": \"\", \"volume_nguid\": \"" NGUID1 "\""), NULL, NGUID1,
		 SECTION0("nguid = " NGUID1), "an empty vol_uuid names nothing either: the NGUID names the volume");
	attached(TARGET("\"volume_nguid\": \"" NGUID1 "\", \"ns_id\": 0"), NULL, NGUID1,
		 SECTION0("nguid = " NGUID1), "ns_id 0 is not given, as in os-brick");
	refused(TARGET("\"ns_id\": 0"), "v", "connection_properties: no namespace identifier", "only ns_id 0");
	refused(TARGET("\"vol_uuid\": \"" UUID1 "\", \"volume_nguid\": \"xyz\""), NULL,
		"volume_nguid: 'xyz' is not an NGUID (32 hex digits, dashes allowed)",
		"a malformed NGUID beside a good UUID: refused, as os-brick does");
	refused(TARGET("\"volume_nguid\": \"" NGUID1 "0\""), NULL, "is not an NGUID", "33 hex digits");
	refused(TARGET("\"volume_nguid\": \"00000000-0000-0000-0000-000000000000\""), NULL,
		"volume_nguid: the nil NGUID names no namespace", "nil NGUID");
	refused(TARGET("\"ns_id\": \"010\""), "v", "ns_id: '010' is not a namespace ID (1..4294967294, in decimal)",
		"ns_id with a leading zero (os-brick compares text)");
	refused(TARGET("\"ns_id\": \" 7\""), "v", "ns_id: ' 7' is not a namespace ID", "ns_id with a blank");
	refused(TARGET("\"ns_id\": 4294967295"), "v", "ns_id: 4294967295 is not a namespace ID (1..4294967294)",
		"the broadcast NSID");
	refused(TARGET("\"ns_id\": -1"), "v", "ns_id: -1 is not a namespace ID", "negative ns_id");
	refused("{\"alias\": \"d\", \"volume_replicas\": ["
		"{\"target_nqn\": \"" NQN1 "\", \"volume_nguid\": \"" NGUID1 "\", \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}, "
		"{\"target_nqn\": \"" NQN2 "\", \"volume_nguid\": \"" NGUID1 "\", \"portals\": [" P_LIST("127.0.0.2", "4420", "tcp") "]}]}",
		NULL, "volume_replicas[1].volume_nguid: names the namespace of volume_replicas[0] too (nguid " NGUID1 ")",
		"two replicas with one NGUID");
	refused("{\"alias\": \"d\", \"volume_replicas\": ["
		"{\"target_nqn\": \"" NQN1 "\", \"ns_id\": 7, \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}, "
		"{\"target_nqn\": \"" NQN1 "\", \"ns_id\": \"7\", \"portals\": [" P_LIST("127.0.0.2", "4420", "tcp") "]}]}",
		NULL, "volume_replicas[1].ns_id: names the namespace of volume_replicas[0] too (nsid 7 in the same subsystem)",
		"two replicas with one subsystem and NSID");
	/* os-brick would use the UUID of one and the NGUID of the other; the
	 * input says both are one namespace all the same. */
	refused("{\"alias\": \"d\", \"volume_replicas\": ["
		"{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"volume_nguid\": \"" NGUID1 "\", \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}, "
		"{\"target_nqn\": \"" NQN1 "\", \"volume_nguid\": \"" NGUID1 "\", \"portals\": [" P_LIST("127.0.0.2", "4420", "tcp") "]}]}",
		NULL, "volume_replicas[1].volume_nguid: names the namespace of volume_replicas[0] too",
		"one namespace by an identifier os-brick would not use on one of them");
	refused("{\"alias\": \"d\", \"volume_replicas\": ["
		"{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"ns_id\": \"3\", \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}, "
		"{\"target_nqn\": \"" NQN1 "\", \"ns_id\": 3, \"portals\": [" P_LIST("127.0.0.2", "4420", "tcp") "]}]}",
		NULL, "volume_replicas[1].ns_id: names the namespace of volume_replicas[0] too",
		"one subsystem and NSID, one of them found by UUID");
	accepted("{\"alias\": \"d\", \"volume_replicas\": ["
		 "{\"target_nqn\": \"" NQN1 "\", \"ns_id\": 7, \"portals\": [" P_LIST("127.0.0.1", "4420", "tcp") "]}, "
		 "{\"target_nqn\": \"" NQN2 "\", \"ns_id\": 7, \"portals\": [" P_LIST("127.0.0.2", "4420", "tcp") "]}]}",
		 NULL, "d", 2, "NSID 7 in two subsystems");
}

#define OLD(extra) \
	"{\"nqn\": \"" NQN1 "\", \"target_portal\": \"192.0.2.1\", \"target_port\": 4420, " \
	"\"transport_type\": \"tcp\"" extra "}"
#define OLD_SECTION(id) "\n[replica.0]\nnqn = " NQN1 "\n" id "\nportals = tcp://192.0.2.1:4420\n"

/* os-brick's original form: neither "target_nqn" nor "volume_replicas". */
static void test_old_form(void)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v;

	attached(OLD(", \"ns_id\": \"3\""), "v", "v", OLD_SECTION("nsid = 3"), "old form, ns_id only");
	attached(OLD(", \"volume_nguid\": \"" NGUID1 "\", \"ns_id\": 3, \"host_nqn\": \"" NQN2 "\""), NULL,
		 NGUID1, OLD_SECTION("nguid = " NGUID1), "old form with volume_nguid: it names the volume");
	attached(OLD(", \"vol_uuid\": \"" CINDER "\", \"ns_id\": 3"), NULL, CINDER, OLD_SECTION("nsid = 3"),
		 "old form: vol_uuid names the volume, not the namespace (os-brick drops it)");
	attached(OLD(", \"ns_id\": 3, \"portals\": [" P_LIST("127.0.0.9", "1", "tcp") "]"), "v", "v",
		 OLD_SECTION("nsid = 3"), "old form: its portal wins over \"portals\", as in os-brick");
	refused(OLD(", \"vol_uuid\": \"" UUID1 "\"") , NULL,
		"this old form's \"vol_uuid\" does not count, os-brick drops it", "old form, vol_uuid only");
	refused("{\"nqn\": \"" NQN1 "\", \"target_portal\": \"192.0.2.1\", \"transport_type\": \"tcp\", \"ns_id\": 3}",
		"v", "target_port: missing: the old form (neither \"target_nqn\" nor \"volume_replicas\") gives its "
		"portal as \"target_portal\", \"target_port\" and \"transport_type\"", "old form without target_port");
	refused("{\"target_portal\": \"192.0.2.1\", \"target_port\": 4420, \"transport_type\": \"tcp\", \"ns_id\": 3}",
		"v", "nqn: missing: the old form (neither \"target_nqn\" nor \"volume_replicas\") names the subsystem "
		"by \"nqn\"", "old form without nqn");
	refused("{}", NULL, "nqn: missing", "an empty object");
	refused(OLD(", \"ns_id\": 3, \"target_portal\": \"[2001:db8::1]\""), "v",
		"target_portal: address '[2001:db8::1]': in JSON an IPv6 address goes without brackets",
		"old form, IPv6 in brackets");
	v = accepted_as("{\"nqn\": \"" NQN1 "\", \"target_portal\": \"fe80::10%ens3\", \"target_port\": \"4420\", "
			"\"transport_type\": \"rdma\", \"ns_id\": 1}", "v", "v", 1, &o, "old form, link-local portal");
	if (v && o) {
		ok(strstr(o->text, "\nportals = rdma://[fe80::10%ens3]:4420\n") != NULL, "  ... its URI in the file");
		is_str(v->replicas[0].portals[0].host_iface, "ens3", "  ... the zone is the interface");
	}
	vol_free(v);
	osb_free(o);
}

/* os-brick: RoCEv2 and rdma are rdma, anything else tcp. */
static void test_transports(void)
{
	static const struct {
		const char *transport, *uri, *notice;
	} good[] = {
		{ "RDMA", "rdma://", NULL }, { "roce", "rdma://", NULL }, { "ROCEV2", "rdma://", NULL },
		{ "Tcp", "tcp://", NULL },
		{ "nvme-tcp", "tcp://", "portals[0]: transport \"nvme-tcp\" is taken as tcp, as os-brick does" },
		{ "", "tcp://", "transport \"\" is taken as tcp" },
	};
	static const char *const bad[] = { "fc", "FC", "loop", "pcie" };

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_free_ char *json = xasprintf("{\"target_nqn\": \"" NQN1 "\", \"ns_id\": 1, \"portals\": "
						      "[[\"192.0.2.1\", 4420, \"%s\"]]}", good[i].transport);
		_cleanup_free_ char *what = xasprintf("transport \"%s\"", good[i].transport);
		_cleanup_free_ char *want = xasprintf("\nportals = %s192.0.2.1:4420\n", good[i].uri);
		struct osb_volume *o = NULL;
		struct vol_volume *v = accepted_as(json, "v", "v", 1, &o, what);

		if (o)
			ok(strstr(o->text, want) != NULL, "  ... %s", good[i].uri);
		if (good[i].notice)
			diag(ok(strstr(errs, good[i].notice) != NULL, "  ... with a notice"));
		vol_free(v);
		osb_free(o);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *json = xasprintf("{\"target_nqn\": \"" NQN1 "\", \"ns_id\": 1, \"portals\": "
						      "[[\"192.0.2.1\", 4420, \"%s\"]]}", bad[i]);
		_cleanup_free_ char *needle = xasprintf("portals[0]: transport \"%s\" is not supported: it is "
							"not reached at an IP address and port", bad[i]);

		refused(json, "v", needle, bad[i]);
	}
}

static void test_portals(void)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v;

	v = accepted_as("{\"nqn\": \"" NQN1 "\", \"uuid\": \"" UUID1 "\", \"portals\": ["
			P_OBJ("::1", "4421", "tcp") ", " P_OBJ("127.0.0.1", "\"4422\"", "TCP") ", "
			"{\"transport\": \"rdma\", \"port\": 1, \"address\": \"0::0:1\", \"x\": 1}]}",
			NULL, UUID1, 1, &o, "spec portals: IPv6, port number or string, keys in any order");
	if (o && v) {
		ok(strstr(o->text, "portals = tcp://[::1]:4421, tcp://127.0.0.1:4422, rdma://[::1]:1\n") != NULL,
		   "  ... URIs in the file, IPv6 canonical and in brackets");
		is_int(v->replicas[0].n_portals, 3, "  ... 3 portals");
	}
	vol_free(v);
	osb_free(o);
	refused("{\"alias\": \"a\", \"volume_replicas\": [" BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "4420", "tcp")) ", "
		BRICK_REP(UUID2, NQN2, P_LIST("127.0.0.1", "4420", "fc")) "]}", NULL,
		"volume_replicas[1].portals[0]: transport \"fc\" is not supported", "fc transport");
}

static void test_portal_values(void)
{
	static const struct {
		const char *portal, *needle, *what;
	} bad[] = {
		{ P_LIST("127.0.0.1", "\"0\"", "tcp"), "portals[0]: port '0' is not a number 1..65535", "port \"0\"" },
		{ P_LIST("127.0.0.1", "0", "tcp"), "portals[0]: port 0 is out of range", "port 0" },
		{ P_LIST("127.0.0.1", "65536", "tcp"), "portals[0]: port 65536 is out of range", "port 65536" },
		{ P_LIST("127.0.0.1", "\"65536\"", "tcp"), "portals[0]: port 65536 is out of range", "port \"65536\"" },
		{ P_LIST("127.0.0.1", "\"04420\"", "tcp"), "port '04420' is not a number", "port with a leading zero" },
		{ P_LIST("127.0.0.1", "-1", "tcp"), "port -1 is out of range", "port -1" },
		{ P_LIST("127.0.0.1", "4420.5", "tcp"), "the port must be a number or a string, not a fraction", "fractional port" },
		{ P_LIST("127.0.0.1", "true", "tcp"), "the port must be a number or a string, not a boolean", "boolean port" },
		{ P_LIST("127.0.0.1", "\"\"", "tcp"), "port '' is not a number", "empty port" },
		{ P_LIST("127.0.0.1", "\"44 20\"", "tcp"), "port '44 20' is not a number", "port with a space" },
		{ P_LIST("storage.example", "4420", "tcp"), "address 'storage.example' is not an IP address: not an IPv4 address (host names are not resolved)", "host name" },
		{ P_LIST("[::1]", "4420", "tcp"), "address '[::1]': in JSON an IPv6 address goes without brackets", "IPv6 already in brackets" },
		{ P_LIST("1.2.3", "4420", "tcp"), "address '1.2.3' is not an IP address", "short IPv4" },
		{ P_LIST("", "4420", "tcp"), "address '' is not an IP address", "empty address" },
		{ P_LIST("127.0.0.1, tcp://1.2.3.4:1", "4420", "tcp"), "is not an IP address", "a list smuggled in" },
		{ P_LIST("fe80::1", "4420", "tcp"), "address 'fe80::1' is not an IP address: a link-local address needs its interface", "IPv6 link-local without its zone" },
		{ P_LIST("::1%eth0", "4420", "tcp"), "address '::1%eth0' is not an IP address: a zone", "zone on a global address" },
		{ "[1, 4420, \"tcp\"]", "the address must be a string, not an integer", "numeric address" },
		{ P_LIST("127.0.0.1", "4420", "fc"), "portals[0]: transport \"fc\" is not supported", "transport fc" },
		{ P_LIST("127.0.0.1", "4420", "loop"), "transport \"loop\" is not supported", "transport loop" },
		{ "[\"127.0.0.1\", 4420, null]", "the transport must be a string, not null", "transport null" },
		{ "[\"127.0.0.1\", 4420]", "portals[0]: must be [address, port, transport], not a list of 2", "list of 2" },
		{ "[\"127.0.0.1\", 4420, \"tcp\", 1]", "not a list of 4", "list of 4" },
		{ "{\"address\": \"127.0.0.1\", \"transport\": \"tcp\"}", "portals[0]: no \"port\"", "object without port" },
		{ "{\"address\": \"127.0.0.1\", \"port\": null, \"transport\": \"tcp\"}", "portals[0]: no \"port\"", "object with port null" },
		{ "\"tcp://127.0.0.1:4420\"", "portals[0]: must be a [address, port, transport] list or an object, not a string", "URI string" },
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *json = xasprintf("{\"alias\": \"x\", \"volume_replicas\": [{\"target_nqn\": "
						      "\"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": [%s]}]}",
						      bad[i].portal);
		_cleanup_free_ char *needle = xasprintf("volume_replicas[0].%s", bad[i].needle);

		refused(json, NULL, strstr(bad[i].needle, "portals[") == bad[i].needle ? needle : bad[i].needle,
			bad[i].what);
	}
}

static void test_portal_counts(void)
{
	_cleanup_free_ char *eight = NULL, *nine = NULL;
	char *list = strdup("");

	for (int i = 1; i <= 17; i++) {
		char *next = xasprintf("%s%s[\"10.0.0.%d\", 4420, \"tcp\"]", list, i > 1 ? ", " : "", i);

		free(list);
		list = next;
		if (i == 16)
			eight = xasprintf("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": [%s]}", list);
	}
	nine = xasprintf("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": [%s]}", list);
	free(list);
	accepted(eight, NULL, UUID1, 1, "16 portals");
	{
		/* The longest URIs there are make a line longer than a volume
		 * file may have. */
		char *longest = strdup("");
		_cleanup_free_ char *json = NULL;

		for (int i = 0; i < 16; i++) {
			char *next = xasprintf("%s%s[\"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%%abcdefghijklmno\", %d, \"rdma\"]",
					       longest, i ? ", " : "", 65535 - i);

			free(longest);
			longest = next;
		}
		json = xasprintf("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": [%s]}",
				 longest);
		free(longest);
		refused(json, NULL, "portals: 16 portals take 1160 bytes in the volume file, whose lines hold at most 1000; give fewer",
			"16 link-local portals with the longest addresses, zones and ports");
		free(json);
		json = NULL;
		longest = strdup("");
		/* Just below the limit, which is vol_parse()'s. */
		for (int i = 0; i < 13; i++) {
			char *next = xasprintf("%s%s[\"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%%abcdefghijklmno\", %d, \"rdma\"]",
					       longest, i ? ", " : "", 65535 - i);

			free(longest);
			longest = next;
		}
		json = xasprintf("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": [%s, "
				 "[\"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%%a\", 4420, \"tcp\"]]}", longest);
		free(longest);
		accepted(json, NULL, UUID1, 1, "14 such portals, a line of 1000 bytes");
	}
	refused(nine, NULL, "portals: more than 16 distinct portals (portals[16] is the 17th); a replica takes 1 to 16",
		"17 portals");
	refused("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": []}", NULL,
		"portals: 0 portals; a replica needs 1 to 16", "empty portals");
	refused("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\"}", NULL,
		"portals: missing: a replica needs 1 to 16 portals", "no portals");
	refused("{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"target_portal\": \"127.0.0.1\", "
		"\"target_port\": 4420, \"transport_type\": \"tcp\"}", NULL,
		"portals: missing: a replica needs 1 to 16 portals (\"target_portal\", \"target_port\" and "
		"\"transport_type\" go with the old form's \"nqn\", not with \"target_nqn\")",
		"target_nqn with the old form's portal keys");
}

/* Three replicas, alias "x", with this replica_count. */
static char *three_replicas(const char *count)
{
	return xasprintf("{\"alias\": \"x\", \"replica_count\": %s, \"volume_replicas\": [%s, %s, %s]}", count,
			 BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "1", "tcp")),
			 BRICK_REP(UUID2, NQN2, P_LIST("127.0.0.1", "2", "tcp")),
			 BRICK_REP(CINDER, NQN2, P_LIST("127.0.0.1", "3", "tcp")));
}

static void test_replica_counts(void)
{
	const char *rep = BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "4420", "tcp"));
	_cleanup_free_ char *sixteen = NULL, *seventeen = NULL;
	char *list = strdup("");

	for (int i = 1; i <= 17; i++) {
		char *next = xasprintf("%s%s{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": "
				       "\"96e25fb4-9f91-4c88-ab59-275fd35477%02d\", \"portals\": [[\"127.0.0.1\", 4420, \"tcp\"]]}",
				       list, i > 1 ? ", " : "", i);

		free(list);
		list = next;
		if (i == 16)
			sixteen = xasprintf("{\"alias\": \"big\", \"replica_count\": 16, \"volume_replicas\": [%s]}", list);
	}
	seventeen = xasprintf("{\"alias\": \"big\", \"volume_replicas\": [%s]}", list);
	free(list);
	accepted(sixteen, NULL, "big", 16, "16 replicas");
	refused(seventeen, NULL, "volume_replicas: too many replicas (17, at most 16)", "17 replicas");
	refused("{\"alias\": \"x\", \"volume_replicas\": []}", NULL,
		"volume_replicas: empty; a volume needs 1 to 16 replicas", "empty volume_replicas");
	{
		_cleanup_free_ char *wrong = xasprintf("{\"alias\": \"x\", \"replica_count\": 2, \"volume_replicas\": [%s]}", rep);
		_cleanup_free_ char *flat = xasprintf("{\"replica_count\": 3, %s", rep + 1);

		refused(wrong, NULL, "replica_count: 2, but there is 1 replica", "replica_count mismatch");
		accepted(flat, NULL, UUID1, 1, "flat with replica_count 3: ignored, as os-brick does");
	}
	{
		_cleanup_free_ char *zero = three_replicas("0"), *two = three_replicas("2"),
				    *one = three_replicas("1"), *minus = three_replicas("-1");

		accepted(zero, NULL, "x", 3, "replica_count 0: the number of replicas, as in os-brick");
		accepted(two, NULL, "x", 3, "replica_count 2 of 3 replicas: all used, as in os-brick");
		diag(ok(strstr(errs, "replica_count: 2, but there are 3 replicas; all are used") != NULL, "  ... with a notice"));
		refused(one, NULL, "replica_count: 1, but there are 3 replicas: os-brick would attach one of them without RAID",
			"replica_count 1 of 3 replicas");
		refused(minus, NULL, "replica_count: -1 is not a number of replicas", "replica_count -1");
	}
	{
		_cleanup_free_ char *bad = xasprintf("{\"vol_uuid\": \"volume-x\", \"volume_replicas\": [%s]}", rep);
		_cleanup_free_ char *bare = xasprintf("{\"vol_uuid\": \"5C0A4F3E1F574B439D3C6ED6B3BB8A57\", \"volume_replicas\": [%s]}", rep);

		refused(bad, NULL, "vol_uuid: 'volume-x' is not a UUID; os-brick refuses it too (it is the Cinder volume id)",
			"top-level vol_uuid beside volume_replicas not a UUID");
		accepted(bare, NULL, "5C0A4F3E1F574B439D3C6ED6B3BB8A57", 1, "top-level vol_uuid without dashes: names the volume as given");
	}
}

static void test_types(void)
{
	static const struct {
		const char *json, *needle, *what;
	} bad[] = {
		{ FLAT(", \"alias\": 5"), "alias: must be a string, not an integer", "alias a number" },
		{ "{\"alias\": \"a\", \"replica_count\": \"1\", \"volume_replicas\": [" BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "1", "tcp")) "]}",
		  "replica_count: must be an integer, not a string", "replica_count a string" },
		{ "{\"alias\": \"a\", \"replica_count\": 1.0, \"volume_replicas\": [" BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "1", "tcp")) "]}",
		  "replica_count: must be an integer, not a fraction", "replica_count a fraction" },
		{ FLAT(", \"volume_replicas\": \"x\""), "volume_replicas: must be a list (or null), not a string", "volume_replicas a string" },
		{ FLAT(", \"volume_replicas\": {}"), "volume_replicas: must be a list (or null), not an object", "volume_replicas an object" },
		{ FLAT(", \"volume_nguid\": 5"), "volume_nguid: must be a string, not an integer", "volume_nguid a number" },
		{ FLAT(", \"ns_id\": true"), "ns_id: must be an integer or a string, not a boolean", "ns_id a boolean" },
		{ FLAT(", \"ns_id\": [1]"), "ns_id: must be an integer or a string, not a list", "ns_id a list" },
		{ FLAT(", \"host_nqn\": 1"), "host_nqn: must be a string, not an integer", "host_nqn a number" },
		{ "{\"target_nqn\": 1, \"vol_uuid\": \"" UUID1 "\", \"portals\": [[\"127.0.0.1\", 1, \"tcp\"]]}",
		  "target_nqn: must be a string, not an integer", "target_nqn a number" },
		{ "{\"nqn\": [\"" NQN1 "\"], \"vol_uuid\": \"" UUID1 "\", \"portals\": [[\"127.0.0.1\", 1, \"tcp\"]]}",
		  "nqn: must be a string, not a list", "nqn a list" },
		{ "{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": {}, \"portals\": [[\"127.0.0.1\", 1, \"tcp\"]]}",
		  "vol_uuid: must be a string, not an object", "vol_uuid an object" },
		{ "{\"target_nqn\": \"" NQN1 "\", \"vol_uuid\": \"" UUID1 "\", \"portals\": \"tcp://127.0.0.1:1\"}",
		  "portals: must be a list, not a string", "portals a string" },
		{ "{\"alias\": \"a\", \"volume_replicas\": [7]}", "volume_replicas[0]: must be an object, not an integer", "a replica that is a number" },
		{ "{\"alias\": \"a\", \"volume_replicas\": [null]}", "volume_replicas[0]: must be an object, not null", "a replica that is null" },
		{ "{\"alias\": \"a\", \"vol_uuid\": 5, \"volume_replicas\": [" BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "1", "tcp")) "]}",
		  "vol_uuid: must be a string, not an integer", "top-level vol_uuid a number" },
		{ "{\"alias\": \"a\\u0000b\", \"volume_replicas\": [" BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "1", "tcp")) "]}",
		  "alias: contains a NUL character", "alias with an escaped NUL" },
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		refused(bad[i].json, NULL, bad[i].needle, bad[i].what);
	accepted(FLAT(", \"alias\": null, \"replica_count\": null, \"volume_nguid\": null, \"ns_id\": null, "
		      "\"host_nqn\": null"), NULL, UUID1, 1, "null for every optional key");
	accepted(FLAT(", \"ns_id\": \"1\", \"volume_nguid\": \"" UUID1 "\""), NULL, UUID1, 1, "ns_id a string");
}

static void test_malformed(void)
{
	static const char nul[] = "{\"alias\": \"a\"}\0{}";
	char *big = malloc(OSB_INPUT_MAX + 2);
	_cleanup_free_ char *deep = NULL, *at_brace = NULL, *at_x = NULL;

	refused("", NULL, "connection_properties: empty input", "empty input");
	refused("hello", NULL, "connection_properties: malformed JSON", "not JSON");
	refused("{'uuid': None}", NULL, "connection_properties: malformed JSON", "a Python dict");
	/* json-c's strict mode stops at the first byte after the object. */
	at_brace = xasprintf("connection_properties: malformed JSON at byte %zu: unexpected character",
			     STRLEN(FLAT("")) + 1);
	at_x = xasprintf("malformed JSON at byte %zu", STRLEN(FLAT("")));
	refused(FLAT("") " {}", NULL, at_brace, "trailing garbage");
	refused(FLAT("") "x", NULL, at_x, "trailing text");
	accepted(FLAT("") " \n\t\r\n", NULL, UUID1, 1, "trailing whitespace");
	refused("{\"target_nqn\": \"" NQN1 "\"", NULL, "connection_properties: truncated JSON", "truncated");
	refused("[" FLAT("") "]", NULL, "connection_properties: must be a JSON object, not a list", "a list at the top");
	refused("null\n", NULL, "must be a JSON object, not null", "null at the top");
	refused("{\"a\": 1,}", NULL, "malformed JSON", "trailing comma (strict JSON)");
	refused("{\"alias\": \"\xff\"}", NULL, "malformed JSON", "invalid UTF-8");
	{
		struct osb_volume *o = NULL;

		diag(ok(parse_n(nul, sizeof(nul) - 1, NULL, &o) == -EINVAL && strstr(errs, "contains a NUL byte"),
			"a NUL byte in the input: refused"));
		osb_free(o);
	}
	deep = xasprintf(FLAT(", \"qos_specs\": %s1%s"), "[[[[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]]]]");
	refused(deep, NULL, "malformed JSON", "nesting deeper than 16");
	if (big) {
		struct osb_volume *o = NULL;

		memset(big, ' ', OSB_INPUT_MAX + 1);
		diag(ok(parse_n(big, OSB_INPUT_MAX + 1, NULL, &o) == -EINVAL && strstr(errs, "larger than 1048576 bytes"),
			"input over 1 MiB: refused"));
		osb_free(o);
		free(big);
	}
}

/* All problems are reported, not just the first. */
static void test_all_errors(void)
{
	refused("{\"replica_count\": 5, \"volume_replicas\": ["
		BRICK_REP(UUID1, NQN1, P_LIST("127.0.0.1", "4420", "fc")) ", "
		"{\"nqn\": 5, \"uuid\": \"x\", \"portals\": []}]}", NULL,
		"volume_replicas[1].nqn: must be a string", "several errors: the NQN one");
	ok(strstr(errs, "volume_replicas[0].portals[0]: transport \"fc\"") &&
	   strstr(errs, "volume_replicas[1].uuid: 'x' is not a UUID") &&
	   strstr(errs, "volume_replicas[1].portals: 0 portals") &&
	   strstr(errs, "replica_count: 5, but there are 2 replicas") &&
	   strstr(errs, "no volume name"), "  ... and every other one");
}

/* ---- unit_ against a fake systemd -------------------------------------- */

#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define UNIT_PREFIX "/org/freedesktop/systemd1/unit/"

/* How the fake systemd treats each unit. */
static struct fake_unit {
	const char *name;
	const char *state;
	const char *start_result;	/* the start job's result */
	const char *start_state;	/* the unit's state after it */
	const char *stop_state;		/* after a stop: "failed" when ExecStop= failed */
	int status;			/* ExecMainStatus after the start */
	bool early;			/* JobRemoved before the reply */
	uint64_t started;		/* ExecMainStartTimestampMonotonic */
} fake_units[] = {
	{ "good.service", "inactive", "done", "active", "inactive", 0, false, 0 },
	{ "bad.service", "inactive", "failed", "failed", "failed", 3, false, 0 },
	{ "busy.service", "inactive", "done", "active", "failed", 0, false, 0 },
	{ "early.service", "inactive", "done", "active", "inactive", 0, true, 0 },
	{ "usage.service", "inactive", "failed", "failed", "failed", 2, true, 0 },
	/* Its helper ran once long ago and exited 3; now a dependency fails,
	 * so no main process runs and that old status stays. */
	{ "dep.service", "failed", "dependency", "failed", "failed", 3, false, 1 },
};

static struct fake_unit *fake_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(fake_units); i++)
		if (streq(fake_units[i].name, name))
			return &fake_units[i];
	return NULL;
}

static int fake_job(sd_bus_message *m, bool start)
{
	static unsigned id = 1;
	sd_bus *bus = sd_bus_message_get_bus(m);
	const char *name, *mode;
	struct fake_unit *u;
	char job[64];
	int r;

	r = sd_bus_message_read(m, "ss", &name, &mode);
	if (r < 0 || !(u = fake_find(name)) || !streq(mode, "replace"))
		return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit", "no %s", name);
	snprintf(job, sizeof(job), "/org/freedesktop/systemd1/job/%u", ++id);
	/* Another client's job ends first: it must not be taken for ours. */
	sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", SD_MANAGER, "JobRemoved", "uoss",
			   1000 + id, "/org/freedesktop/systemd1/job/1", name, "failed");
	if (!u->early)
		sd_bus_reply_method_return(m, "o", job);
	/* systemd leaves a failed unit failed on stop; no ExecStop= runs. */
	u->state = start ? u->start_state : streq(u->state, "failed") ? "failed" : u->stop_state;
	if (start && !streq(u->start_result, "dependency"))
		u->started = now_usec();
	sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", SD_MANAGER, "JobRemoved", "uoss", id, job,
			   name, start ? u->start_result : "done");
	if (u->early)
		sd_bus_reply_method_return(m, "o", job);
	return 1;
}

static int fake_manager(sd_bus_message *m, const char *member)
{
	const char *name = NULL;
	struct fake_unit *u;
	char path[128];

	if (streq(member, "StartUnit") || streq(member, "StopUnit"))
		return fake_job(m, streq(member, "StartUnit"));
	if (streq(member, "Subscribe"))
		return sd_bus_reply_method_return(m, NULL);
	if (sd_bus_message_read(m, "s", &name) < 0 || !(u = fake_find(name)))
		return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit",
						  "Unit %s not loaded.", strna(name));
	if (streq(member, "ResetFailedUnit")) {
		if (streq(u->state, "failed"))
			u->state = "inactive";
		return sd_bus_reply_method_return(m, NULL);
	}
	snprintf(path, sizeof(path), UNIT_PREFIX "%zu", (size_t)(u - fake_units));
	return sd_bus_reply_method_return(m, "o", path);
}

static int fake_property(sd_bus_message *m)
{
	const char *path = sd_bus_message_get_path(m), *iface, *prop;
	struct fake_unit *u;
	unsigned i;

	if (sd_bus_message_read(m, "ss", &iface, &prop) < 0 ||
	    sscanf(path, UNIT_PREFIX "%u", &i) != 1 || i >= ELEMENTSOF(fake_units))
		return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownObject", "no");
	u = &fake_units[i];
	if (streq(prop, "ActiveState"))
		return sd_bus_reply_method_return(m, "v", "s", u->state);
	if (streq(prop, "ExecMainCode"))	/* CLD_EXITED once it ran */
		return sd_bus_reply_method_return(m, "v", "i", streq(u->state, "inactive") ? 0 : 1);
	if (streq(prop, "ExecMainStatus"))
		return sd_bus_reply_method_return(m, "v", "i", u->status);
	if (streq(prop, "ExecMainStartTimestampMonotonic"))
		return sd_bus_reply_method_return(m, "v", "t", u->started);
	return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownProperty", "%s", prop);
}

static int fake_handler(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *iface = sd_bus_message_get_interface(m), *member = sd_bus_message_get_member(m);

	(void)userdata;
	(void)error;
	if (sd_bus_message_is_method_call(m, NULL, NULL) <= 0)
		return 0;
	if (streq(iface, SD_MANAGER))
		return fake_manager(m, member);
	if (streq(iface, "org.freedesktop.DBus.Properties") && streq(member, "Get"))
		return fake_property(m);
	return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownMethod", "%s", strna(member));
}

/* The child: serves until the test closes its end. */
static _noreturn_ void fake_systemd(int fd)
{
	sd_bus *bus = NULL;
	sd_id128_t id;

	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 || sd_id128_randomize(&id) < 0 ||
	    sd_bus_set_server(bus, 1, id) < 0 || sd_bus_add_fallback(bus, NULL, "/", fake_handler, NULL) < 0 ||
	    sd_bus_start(bus) < 0)
		_exit(1);
	for (;;) {
		int r = sd_bus_process(bus, NULL);

		if (r < 0)
			_exit(0);
		if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
			_exit(0);
	}
}

static void test_unit_jobs(void)
{
	_cleanup_free_ char *state = NULL;
	sd_bus *bus = NULL;
	int fds[2], status = -1, r;
	uint64_t since;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || (pid = fork()) < 0)
		abort();
	if (pid == 0) {
		close(fds[0]);
		fake_systemd(fds[1]);
	}
	close(fds[1]);
	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
		abort();

	ok(unit_active_state(bus, "gone.service", &state) == 0 && streq(state, "inactive"),
	   "unit_active_state() of a unit not loaded: inactive");
	free(TAKE_PTR(state));
	is_int(unit_start(bus, "good.service"), 0, "unit_start(): job done");
	ok(unit_active_state(bus, "good.service", &state) == 0 && streq(state, "active"),
	   "  ... the unit is active");
	free(TAKE_PTR(state));
	is_int(unit_start(bus, "early.service"), 0, "unit_start(): JobRemoved before the reply is not missed");
	since = now_usec();
	is_int(unit_start(bus, "bad.service"), -EIO, "unit_start(): job failed is -EIO");
	ok(unit_exit_status(bus, "bad.service", since, &status) == 0 && status == 3,
	   "  ... unit_exit_status() passes the helper's 3 on");
	is_int(unit_exit_status(bus, "bad.service", now_usec(), &status), -ENODATA,
	       "  ... but not to a start begun after that run");
	since = now_usec();
	is_int(unit_start(bus, "usage.service"), -EIO, "unit_start(): failed, signal before the reply");
	ok(unit_exit_status(bus, "usage.service", since, &status) == 0 && status == 2, "  ... exit status 2");
	since = now_usec();
	is_int(unit_start(bus, "dep.service"), -EIO, "unit_start(): a dependency failed");
	is_int(unit_exit_status(bus, "dep.service", since, &status), -ENODATA,
	       "  ... an earlier run's exit status 3 is not this start's");
	is_int(unit_exit_status(bus, "gone.service", 0, &status), -ENODATA,
	       "unit_exit_status() of a unit not loaded");
	is_int(unit_start(bus, "nosuch.service"), -ENOENT, "unit_start() refused by systemd: its error");
	is_int(unit_stop(bus, "good.service"), 0, "unit_stop(): inactive afterwards");
	ok(unit_active_state(bus, "good.service", &state) == 0 && streq(state, "inactive"),
	   "  ... the unit is inactive");
	free(TAKE_PTR(state));
	is_int(unit_start(bus, "busy.service"), 0, "busy.service started");
	is_int(unit_stop(bus, "busy.service"), -EIO, "unit_stop(): job done but ExecStop= failed is -EIO");
	is_int(unit_stop(bus, "bad.service"), 0, "unit_stop() of a unit failed before: success");
	ok(unit_active_state(bus, "bad.service", &state) == 0 && streq(state, "inactive"),
	   "  ... and its failed state is reset");

	sd_bus_flush_close_unref(bus);
	r = waitpid(pid, &status, 0);
	ok(r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake systemd exited cleanly");
}

int main(void)
{
	osb_test_setup("test-osbrick");

	test_spec_examples();
	test_osbrick_forms();
	test_single_entry();
	test_names();
	test_uuids();
	test_nqns();
	test_nqn_quoting();
	test_namespace_ids();
	test_old_form();
	test_transports();
	test_portals();
	test_portal_values();
	test_portal_counts();
	test_replica_counts();
	test_types();
	test_malformed();
	test_all_errors();
	test_unit_jobs();
	return tap_done();
}
/* clang-format on */
