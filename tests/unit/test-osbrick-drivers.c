/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * osb_: the connection_properties Cinder's NVMe-oF drivers send, one test
 * per driver, each written from the driver's own initialize_connection
 * (openstack/cinder master, cited in each), with made-up values: addresses
 * from 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32 and fe80::/10.  Each is
 * attached with the volume file written checked line by line, or refused
 * as os-brick's NVMeOFConnProps would treat it, with the reason said.
 *
 * Every driver's data also gets what cinder/volume/manager.py adds
 * (MANAGER_KEYS), which must be ignored.
 *
 * Not here: Hitachi has no NVMe-oF driver in cinder (hbsd_fc.py and
 * hbsd_iscsi.py only; "git log -S nvme -- cinder/volume/drivers/hitachi"
 * finds nothing), and HPE Alletra MP (hpe/alletramp_driver.py) builds its
 * NVMe data in the hpe_storage_flowkit_py library, outside cinder.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "osbrick.h"
#include "volume.h"
#include "osbrick-tap.h"
#include "tap.h"

/* The JSON texts below are glued from macros and string pieces laid out
 * as the JSON nests; clang-format 14 re-wraps them unreadably. */
/* clang-format off */

#define VOL_ID "3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d"	/* a Cinder volume id */
#define HOST_NQN "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"
/* cinder/volume/manager.py _parse_connection_options() and
 * initialize_connection(): qos_specs, access_mode, encrypted, cacheable,
 * enforce_multipath. */
#define MANAGER_KEYS \
	"\"qos_specs\": {\"total_iops_sec\": \"1000\"}, \"access_mode\": \"rw\", \"encrypted\": false, " \
	"\"cacheable\": false, \"enforce_multipath\": false"
#define SECTION(i) "\n[replica." #i "]\n"

/* The issue's own example: a target at the top, vol_uuid and ns_id. */
static void test_issue_example(void)
{
	attached("{\"target_nqn\": \"nqn.nvme-subsystem-1-3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d\", "
		 "\"vol_uuid\": \"3f9d2c7e-8a41-4b6e-9c0d-5e7f1a2b3c4d\", "
		 "\"portals\": [[\"192.0.2.10\", \"4420\", \"tcp\"]], \"ns_id\": \"10\", "
		 "\"qos_specs\": null, \"access_mode\": \"rw\", \"encrypted\": false, "
		 "\"enforce_multipath\": false}", NULL, VOL_ID,
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-" VOL_ID "\nuuid = " VOL_ID
		 "\nportals = tcp://192.0.2.10:4420\n",
		 "issue 10's example: the namespace by vol_uuid, as os-brick finds it");
}

/*
 * Cinder's LVM driver with target_helper = nvmet (cinder/volume/targets/
 * nvmet.py, NVMeOF in targets/nvmeof.py), nvmeof_conn_info_version = 1, the
 * default: _get_connection_properties() "version 1" from the provider
 * location, so port and ns_id are strings; the NQN is
 * "nqn.<target_prefix>-<volume id>" (_get_target_nqn()).
 */
#define NVMET_V1(nqn, transport) \
	"{\"target_portal\": \"192.0.2.10\", \"target_port\": \"4420\", \"nqn\": \"" nqn "\", " \
	"\"transport_type\": \"" transport "\", \"ns_id\": \"10\", " MANAGER_KEYS "}"

static void test_cinder_nvmet_v1(void)
{
	refused(NVMET_V1("nqn.nvme-subsystem-1-" VOL_ID, "tcp"), NULL,
		"no volume name: the namespace is known by \"ns_id\" only, which names no volume; give "
		"--volume, \"alias\" or \"vol_uuid\"", "Cinder nvmet, version 1, without --volume");
	attached(NVMET_V1("nqn.nvme-subsystem-1-" VOL_ID, "tcp"), "volume-" VOL_ID, "volume-" VOL_ID,
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-" VOL_ID "\nnsid = 10\nportals = tcp://192.0.2.10:4420\n",
		 "Cinder nvmet, version 1 (nvmet_tcp), --volume: the namespace by nsid");
	attached(NVMET_V1("nqn.nvme-subsystem-1-" VOL_ID, "rdma"), "v", "v",
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-" VOL_ID "\nnsid = 10\nportals = rdma://192.0.2.10:4420\n",
		 "Cinder nvmet, version 1, nvmet_rdma");
	/* target_prefix's default is iSCSI's "iqn.2010-10.org.openstack:". */
	attached(NVMET_V1("nqn.iqn.2010-10.org.openstack:-" VOL_ID, "tcp"), "v", "v",
		 SECTION(0) "nqn = nqn.iqn.2010-10.org.openstack:-" VOL_ID
		 "\nnsid = 10\nportals = tcp://192.0.2.10:4420\n",
		 "Cinder nvmet, version 1, the default target_prefix in the NQN");
}

/* nvmeof_conn_info_version = 2: "target_nqn", vol_uuid = volume.name_id
 * (nvmet.py _get_nvme_uuid()), the secondary addresses as more portals,
 * rdma spelled "RoCEv2". */
static void test_cinder_nvmet_v2(void)
{
	attached("{\"target_nqn\": \"nqn.nvme-subsystem-1-" VOL_ID "\", \"vol_uuid\": \"" VOL_ID "\", "
		 "\"portals\": [[\"192.0.2.10\", \"4420\", \"tcp\"], [\"198.51.100.10\", \"4420\", \"tcp\"]], "
		 "\"ns_id\": \"10\", " MANAGER_KEYS "}", NULL, VOL_ID,
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-" VOL_ID "\nuuid = " VOL_ID
		 "\nportals = tcp://192.0.2.10:4420, tcp://198.51.100.10:4420\n",
		 "Cinder nvmet, version 2, two addresses: the namespace by vol_uuid");
	attached("{\"target_nqn\": \"nqn.nvme-subsystem-1-" VOL_ID "\", \"vol_uuid\": \"" VOL_ID "\", "
		 "\"portals\": [[\"192.0.2.10\", \"4420\", \"RoCEv2\"]], \"ns_id\": \"10\", " MANAGER_KEYS "}",
		 NULL, VOL_ID,
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-" VOL_ID "\nuuid = " VOL_ID
		 "\nportals = rdma://192.0.2.10:4420\n", "Cinder nvmet, version 2, RoCEv2");
	/* targets/spdknvmf.py keeps NVMeOF's _get_nvme_uuid(): None. */
	attached("{\"target_nqn\": \"nqn.2016-06.io.spdk:cnode1\", \"vol_uuid\": null, "
		 "\"portals\": [[\"192.0.2.11\", \"4420\", \"rdma\"]], \"ns_id\": \"1\", " MANAGER_KEYS "}",
		 "volume-" VOL_ID, "volume-" VOL_ID,
		 SECTION(0) "nqn = nqn.2016-06.io.spdk:cnode1\nnsid = 1\nportals = rdma://192.0.2.11:4420\n",
		 "Cinder SPDK target, version 2: vol_uuid null, the namespace by ns_id");
}

/* Two volumes of one subsystem, read back, checked against each other. */
static int cross_check(const char *json_a, const char *json_b)
{
	struct osb_volume *o[2] = {};
	struct vol_volume *v[2] = {};
	struct capture cap;
	int r = -EIO;

	if (parse(json_a, "vol-a", &o[0]) == 0 && parse(json_b, "vol-b", &o[1]) == 0 &&
	    osb_validate(o[0], &v[0]) == 0 && osb_validate(o[1], &v[1]) == 0) {
		capture_begin(&cap, STDERR_FILENO);
		r = vol_check_cross(v, 2);
		capture_end(&cap, errs, sizeof(errs));
	}
	for (unsigned i = 0; i < 2; i++) {
		vol_free(v[i]);
		osb_free(o[i]);
	}
	return r;
}

/*
 * lvm_share_target = true (nvmet.py initialize_connection()): one
 * subsystem per host, "nqn.<target_prefix>-<connector host>", one
 * namespace per volume, numbered from nvmet_ns_id by
 * _get_available_namespace_id() (an integer, as is the configured port).
 * The NSID is all that tells the volumes apart in version 1.
 */
#define SHARED_V1(nsid) \
	"{\"target_portal\": \"192.0.2.10\", \"target_port\": 4420, " \
	"\"nqn\": \"nqn.nvme-subsystem-1-compute-01\", \"transport_type\": \"tcp\", " \
	"\"ns_id\": " nsid ", " MANAGER_KEYS "}"

static void test_cinder_nvmet_shared(void)
{
	attached(SHARED_V1("11"), "vol-a", "vol-a",
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-compute-01\nnsid = 11\nportals = tcp://192.0.2.10:4420\n",
		 "Cinder nvmet shared target, version 1: integer port and ns_id");
	is_int(cross_check(SHARED_V1("11"), SHARED_V1("12")), 0,
	       "  ... a second volume, ns_id 12 in the same subsystem: no conflict");
	is_int(cross_check(SHARED_V1("11"), SHARED_V1("11")), -EINVAL,
	       "  ... the same ns_id for two volumes: refused");
	diag(ok(strstr(errs, "nsid") != NULL, "  ... naming the nsid"));
	attached("{\"target_nqn\": \"nqn.nvme-subsystem-1-compute-01\", \"vol_uuid\": \"" VOL_ID "\", "
		 "\"portals\": [[\"192.0.2.10\", 4420, \"tcp\"]], \"ns_id\": 11, " MANAGER_KEYS "}",
		 NULL, VOL_ID,
		 SECTION(0) "nqn = nqn.nvme-subsystem-1-compute-01\nuuid = " VOL_ID
		 "\nportals = tcp://192.0.2.10:4420\n",
		 "Cinder nvmet shared target, version 2: the namespace by vol_uuid");
}

/*
 * KIOXIA KumoScale (cinder/volume/drivers/kioxia/kumoscale.py,
 * initialize_connection()): replicated, Cinder's id as vol_uuid, the
 * volume name as alias (cut to 27 characters for more than one replica),
 * each replica's own namespace UUID, portals as given by the backend
 * ("TCP"), replica_count the number of replicas of the volume.
 */
#define KUMO_REP(uuid, ip) \
	"{\"vol_uuid\": \"" uuid "\", \"target_nqn\": \"nqn.2019-10.com.kioxia:target-" ip "\", " \
	"\"portals\": [[\"" ip "\", \"4420\", \"TCP\"]]}"
#define KUMO_U1 "6a1f0c52-0b0e-4f8e-a8b1-3c2d1e0f9a81"
#define KUMO_U2 "6a1f0c52-0b0e-4f8e-a8b1-3c2d1e0f9a82"

static void test_kioxia_kumoscale(void)
{
	attached("{\"vol_uuid\": \"" VOL_ID "\", \"alias\": \"volume-3f9d2c7e-8a41-4b6e-9\", "
		 "\"writable\": true, \"volume_replicas\": [" KUMO_REP(KUMO_U1, "192.0.2.21") ", "
		 KUMO_REP(KUMO_U2, "198.51.100.21") "], \"replica_count\": 2, " MANAGER_KEYS "}",
		 NULL, "volume-3f9d2c7e-8a41-4b6e-9",
		 SECTION(0) "nqn = nqn.2019-10.com.kioxia:target-192.0.2.21\nuuid = " KUMO_U1
		 "\nportals = tcp://192.0.2.21:4420\n"
		 SECTION(1) "nqn = nqn.2019-10.com.kioxia:target-198.51.100.21\nuuid = " KUMO_U2
		 "\nportals = tcp://198.51.100.21:4420\n",
		 "KIOXIA KumoScale, two replicas: the alias names the volume");
	attached("{\"vol_uuid\": \"" VOL_ID "\", \"alias\": \"volume-" VOL_ID "\", \"writable\": true, "
		 "\"volume_replicas\": [" KUMO_REP(KUMO_U1, "192.0.2.21") "], \"replica_count\": 1}",
		 NULL, "volume-" VOL_ID,
		 SECTION(0) "nqn = nqn.2019-10.com.kioxia:target-192.0.2.21\nuuid = " KUMO_U1
		 "\nportals = tcp://192.0.2.21:4420\n", "KIOXIA KumoScale, one replica");
	/* The driver's own test (test_kioxia.py): targets for one replica of two. */
	refused("{\"vol_uuid\": \"" VOL_ID "\", \"alias\": \"volume-" VOL_ID "\", \"writable\": true, "
		"\"volume_replicas\": [" KUMO_REP(KUMO_U1, "192.0.2.21") "], \"replica_count\": 2}", NULL,
		"replica_count: 2, but there is 1 replica: os-brick would not create the array from "
		"fewer legs either", "KIOXIA KumoScale, a target for one replica of two");
}

/* NetApp ONTAP NVMe/TCP (cinder/volume/drivers/netapp/dataontap/
 * nvme_library.py initialize_connection()): the ONTAP namespace UUID, the
 * host NQN, every data_nvme_tcp LIF at port 4420. */
static void test_netapp_ontap(void)
{
	struct osb_volume *o = NULL;
	struct vol_volume *v;
	const char *json =
		"{\"target_nqn\": \"nqn.1992-08.com.netapp:sn.0123456789abcdef0123456789abcdef:subsystem."
		"openstack-6b1c2d3e-4f50-4a61-8b72-9c83d4e5f607\", \"host_nqn\": \"" HOST_NQN "\", "
		"\"portals\": [[\"192.0.2.30\", 4420, \"tcp\"], [\"2001:db8::30\", 4420, \"tcp\"]], "
		"\"vol_uuid\": \"a1129e6f-8497-4c0c-be01-3eab1ba684ed\", " MANAGER_KEYS "}";

	attached(json, NULL, "a1129e6f-8497-4c0c-be01-3eab1ba684ed",
		 SECTION(0) "nqn = nqn.1992-08.com.netapp:sn.0123456789abcdef0123456789abcdef:subsystem."
		 "openstack-6b1c2d3e-4f50-4a61-8b72-9c83d4e5f607\nuuid = a1129e6f-8497-4c0c-be01-3eab1ba684ed\n"
		 "portals = tcp://192.0.2.30:4420, tcp://[2001:db8::30]:4420\n",
		 "NetApp ONTAP: the namespace UUID names the volume");
	v = accepted_as(json, NULL, "a1129e6f-8497-4c0c-be01-3eab1ba684ed", 1, &o, "NetApp ONTAP again");
	if (o)
		is_str(o->replicas[0].host_nqn, HOST_NQN, "  ... host_nqn kept for the verb to compare");
	vol_free(v);
	osb_free(o);
}

/*
 * Pure Storage FlashArray NVMe (cinder/volume/drivers/pure.py,
 * PureNVMEDriver): no UUID and no ns_id, the NGUID made from the volume
 * serial (_get_nguid(): "00" + serial[0:14] + "24a937" + serial[-10:]),
 * every port in pure_nvme_cidr_list, once per CIDR it falls in (the loop
 * has no break), "rdma" for pure_nvme_transport = roce.
 */
#define PURE_NGUID "000a1b2c3d4e5f6024a937718293a4b5"

static void test_pure_nvme(void)
{
	attached("{\"discard\": true, \"portals\": [[\"192.0.2.40\", 4420, \"rdma\"], "
		 "[\"192.0.2.41\", 4420, \"rdma\"], [\"192.0.2.40\", 4420, \"rdma\"]], "
		 "\"target_nqn\": \"nqn.2010-06.com.purestorage:flasharray.1a2b3c4d5e6f7a8b\", "
		 "\"volume_nguid\": \"" PURE_NGUID "\", " MANAGER_KEYS "}", NULL, PURE_NGUID,
		 SECTION(0) "nqn = nqn.2010-06.com.purestorage:flasharray.1a2b3c4d5e6f7a8b\nnguid = " PURE_NGUID
		 "\nportals = rdma://192.0.2.40:4420, rdma://192.0.2.41:4420\n",
		 "Pure NVMe-RoCE: NGUID only, a port in two CIDRs connected once");
	attached("{\"discard\": true, \"portals\": [[\"2001:db8::40\", 4420, \"tcp\"]], "
		 "\"target_nqn\": \"nqn.2010-06.com.purestorage:flasharray.1a2b3c4d5e6f7a8b\", "
		 "\"volume_nguid\": \"" PURE_NGUID "\"}", NULL, PURE_NGUID,
		 SECTION(0) "nqn = nqn.2010-06.com.purestorage:flasharray.1a2b3c4d5e6f7a8b\nnguid = " PURE_NGUID
		 "\nportals = tcp://[2001:db8::40]:4420\n", "Pure NVMe-TCP over IPv6 (brackets stripped)");
}

/* Dell PowerStore (cinder/volume/drivers/dell_emc/powerstore/adapter.py,
 * NVMEoFAdapter._get_connection_properties()): the cluster's one subsystem,
 * the NGUID after "nguid." (client.py get_volume_nguid()). */
static void test_dell_powerstore(void)
{
	attached("{\"portals\": [[\"192.0.2.50\", 4420, \"tcp\"], [\"192.0.2.51\", 4420, \"tcp\"]], "
		 "\"target_nqn\": \"nqn.1988-11.com.dell:powerstore:00:a1b2c3d4e5f6a7b8c9d0\", "
		 "\"volume_nguid\": \"6b8c1a2e0d3f4a5b8c7d6e5f4a3b2c1d\", \"discard\": true, " MANAGER_KEYS "}",
		 NULL, "6b8c1a2e0d3f4a5b8c7d6e5f4a3b2c1d",
		 SECTION(0) "nqn = nqn.1988-11.com.dell:powerstore:00:a1b2c3d4e5f6a7b8c9d0\n"
		 "nguid = 6b8c1a2e0d3f4a5b8c7d6e5f4a3b2c1d\nportals = tcp://192.0.2.50:4420, tcp://192.0.2.51:4420\n",
		 "Dell PowerStore: NGUID only");
}

/* Dell PowerMax NVMe/TCP (cinder/volume/drivers/dell_emc/powermax/
 * nvme_tcp.py _populate_data()): the NGUID from the REST API, the NQN from
 * "nvme discover" (common.py get_target_nqn(), None when none answers). */
static void test_dell_powermax(void)
{
	attached("{\"portals\": [[\"192.0.2.55\", 4420, \"tcp\"], [\"198.51.100.55\", 4420, \"tcp\"]], "
		 "\"target_nqn\": \"nqn.1988-11.com.dell:PowerMax_2500:00:000120001234\", "
		 "\"volume_nguid\": \"16025330303246440000976000012000\", \"discard\": true, " MANAGER_KEYS "}",
		 "volume-" VOL_ID, "volume-" VOL_ID,
		 SECTION(0) "nqn = nqn.1988-11.com.dell:PowerMax_2500:00:000120001234\n"
		 "nguid = 16025330303246440000976000012000\n"
		 "portals = tcp://192.0.2.55:4420, tcp://198.51.100.55:4420\n", "Dell PowerMax: NGUID only");
	refused("{\"portals\": [[\"192.0.2.55\", 4420, \"tcp\"]], \"target_nqn\": null, "
		"\"volume_nguid\": \"16025330303246440000976000012000\", \"discard\": true}", NULL,
		"connection_properties: no \"target_nqn\" (or \"nqn\"): the subsystem NQN is required",
		"Dell PowerMax, discovery found no NQN (target_nqn null)");
}

/* Dell PowerFlex NVMe/TCP (cinder/volume/drivers/dell_emc/powerflex/
 * driver.py PowerFlexNVMeDriver._get_nvme_connection_properties()): the
 * NGUID is the volume id, the vendor id 64b94e and the system id's tail;
 * each SDT's nvmePort, an integer. */
static void test_dell_powerflex(void)
{
	attached("{\"portals\": [[\"192.0.2.56\", 4420, \"tcp\"], [\"192.0.2.57\", 4420, \"tcp\"]], "
		 "\"target_nqn\": \"nqn.1988-11.com.dell:powerflex:00:1a2b3c4d5e6f7a8b\", "
		 "\"volume_nguid\": \"5a6b7c8d0000000364b94e1234567890\", \"discard\": true}",
		 NULL, "5a6b7c8d0000000364b94e1234567890",
		 SECTION(0) "nqn = nqn.1988-11.com.dell:powerflex:00:1a2b3c4d5e6f7a8b\n"
		 "nguid = 5a6b7c8d0000000364b94e1234567890\n"
		 "portals = tcp://192.0.2.56:4420, tcp://192.0.2.57:4420\n", "Dell PowerFlex: NGUID only");
}

/* Fungible (cinder/volume/drivers/fungible/driver.py
 * initialize_connection()): vol_uuid is the provider id, volume_nguid the
 * same without dashes; the primary and secondary DPU as portals. */
static void test_fungible(void)
{
	attached("{\"vol_uuid\": \"7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f\", "
		 "\"target_nqn\": \"nqn.2015-09.com.fungible:7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f\", "
		 "\"host_nqn\": \"" HOST_NQN "\", \"portals\": [[\"192.0.2.60\", \"4420\", \"tcp\"], "
		 "[\"192.0.2.61\", \"4420\", \"tcp\"]], \"volume_nguid\": \"7c1e2d3f4a5b4c6d8e7f9a0b1c2d3e4f\"}",
		 NULL, "7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
		 SECTION(0) "nqn = nqn.2015-09.com.fungible:7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f\n"
		 "uuid = 7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f\n"
		 "portals = tcp://192.0.2.60:4420, tcp://192.0.2.61:4420\n",
		 "Fungible: UUID and NGUID, the namespace by the UUID only");
}

/* VAST (cinder/volume/drivers/vastdata/driver.py initialize_connection()):
 * up to 16 VIPs, the NGUID in UUID layout, and "volume_uuid", which
 * os-brick does not know (it is ignored there and here). */
static char *vast_json(int n_portals)
{
	char *list = strdup(""), *json;

	for (int i = 1; i <= n_portals; i++) {
		char *next = xasprintf("%s%s[\"198.51.100.%d\", 4420, \"tcp\"]", list, i > 1 ? ", " : "", i);

		free(list);
		list = next;
	}
	json = xasprintf("{\"target_nqn\": \"nqn.2024-08.com.vastdata:subsystem-1\", \"host_nqn\": "
			 "\"" HOST_NQN "\", \"portals\": [%s], \"volume_nguid\": "
			 "\"b2134f8e-9378-4d2b-af12-5dfe7c9a84bc\", \"volume_uuid\": "
			 "\"b2134f8e-9378-4d2b-af12-5dfe7c9a84bc\", " MANAGER_KEYS "}", list);
	free(list);
	return json;
}

static void test_vast(void)
{
	_cleanup_free_ char *sixteen = vast_json(16), *seventeen = vast_json(17), *want = NULL;
	char *uris = strdup("");

	for (int i = 1; i <= 16; i++) {
		char *next = xasprintf("%s%stcp://198.51.100.%d:4420", uris, i > 1 ? ", " : "", i);

		free(uris);
		uris = next;
	}
	want = xasprintf(SECTION(0) "nqn = nqn.2024-08.com.vastdata:subsystem-1\n"
			 "nguid = b2134f8e93784d2baf125dfe7c9a84bc\nportals = %s\n", uris);
	free(uris);
	attached(sixteen, NULL, "b2134f8e93784d2baf125dfe7c9a84bc", want,
		 "VAST, 16 portals: the NGUID, canonical, names the volume");
	refused(seventeen, NULL, "portals: more than 16 distinct portals (portals[16] is the 17th)",
		"VAST-like, 17 portals");
}

/* Lightbits (cinder/volume/drivers/lightos.py initialize_connection())
 * answers driver_volume_type "lightos", for os-brick's LightOSConnector. */
static void test_lightbits(void)
{
	refused("{\"lightos_nodes\": {\"192.0.2.70\": {\"target_portal\": \"192.0.2.70\", "
		"\"target_port\": 8009, \"transport_type\": \"tcp\"}}, "
		"\"uuid\": \"5d1f9a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b\", "
		"\"subsysnqn\": \"nqn.2016-01.com.lightbitslabs:uuid:0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e\"}",
		NULL, "\"lightos_nodes\" and \"subsysnqn\" are for os-brick's LightOS connector "
		"(driver_volume_type \"lightos\"), not for NVMe-oF", "Lightbits: not NVMe-oF's properties");
}

/* Intel RSD (cinder/volume/drivers/rsd.py initialize_connection()): the
 * original form without any namespace identifier. */
static void test_intel_rsd(void)
{
	refused("{\"transport_type\": \"rdma\", \"host_nqn\": \"" HOST_NQN "\", "
		"\"nqn\": \"nqn.2014-08.org.nvmexpress:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d\", "
		"\"target_port\": 4420, \"target_portal\": \"192.0.2.80\"}", "v",
		"connection_properties: no namespace identifier (\"volume_nguid\" or \"ns_id\"; this old "
		"form's \"vol_uuid\" does not count, os-brick drops it): os-brick would then take whatever "
		"device appears while it connects, and a RAID member is never guessed",
		"Intel RSD: no namespace identifier");
}

int main(void)
{
	osb_test_setup("test-osbrick-drivers");

	test_issue_example();
	test_cinder_nvmet_v1();
	test_cinder_nvmet_v2();
	test_cinder_nvmet_shared();
	test_kioxia_kumoscale();
	test_netapp_ontap();
	test_pure_nvme();
	test_dell_powerstore();
	test_dell_powermax();
	test_dell_powerflex();
	test_fungible();
	test_vast();
	test_lightbits();
	test_intel_rsd();
	return tap_done();
}
/* clang-format on */
