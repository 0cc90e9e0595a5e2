/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * osb_: os-brick's NVMe-oF connection_properties (JSON) turned into a
 * transient volume file (contract.md "Commands", nvmf-raid os-brick).
 *
 * The shapes are os-brick's NVMeOFConnProps (os_brick/initiator/connectors/
 * nvmeof.py), told apart as it does, by which keys are present:
 *   1, 2  "volume_replicas": a list of 1 to 16 targets, with the top-level
 *         "vol_uuid" (the Cinder volume id: if given, it must be a UUID, as
 *         os-brick requires), "alias" and "replica_count" (0 or null: the
 *         number of targets; fewer than listed but 2 or more: all are used;
 *         1 of several or more than listed: refused, os-brick would attach
 *         one leg without RAID or never create the array);
 *   3     "target_nqn" at the top: the top level is the one target;
 *   4     neither: the original form, one target from "nqn",
 *         "target_portal", "target_port", "transport_type", optional
 *         "volume_nguid", "ns_id" and "host_nqn".  os-brick sets "vol_uuid"
 *         to None here: it may name the volume, never the namespace.
 * A target is { "target_nqn", "portals": [[ADDR, PORT, TRANSPORT], …],
 * "vol_uuid" (the namespace UUID), "volume_nguid", "ns_id", "host_nqn" }.
 * Also read, for the replication spec (nvme-connector-mdraid-replication):
 * "nqn" and "uuid" for "target_nqn" and "vol_uuid", portals as
 * {"address", "port", "transport"} objects, and "volume_replicas": null
 * as the flat form (so is a top level with "portals" and no "target_nqn"
 * nor any of the original form's portal keys).  Keys os-brick does not
 * read (qos_specs, access_mode, encrypted, discard, cacheable,
 * enforce_multipath, device_path, VAST's volume_uuid, …) are ignored; a
 * known key of the wrong type is an error.
 *
 * The namespace: os-brick looks it up by "vol_uuid", else "volume_nguid",
 * else "ns_id" (Portal.get_device()), and uses only that one.  The volume
 * file gets that one only, not all those given, although a volume file
 * may name several that must then all match: os-brick never checks the
 * others, so a driver whose ns_id is stale or whose NGUID is not what the
 * namespace reports (Fungible sends its UUID as NGUID too) attaches under
 * os-brick, and must here; a UUID or NGUID is unique on its own, and the
 * lookup is scoped to the subsystem.  Every identifier given is still
 * checked: UUID and NGUID as os-brick's uuid.UUID() reads them (32 hex
 * digits, any case, dashes allowed; os-brick refuses a malformed one even
 * when it does not use it), not nil; ns_id an integer or decimal string
 * 1..4294967294 (os-brick compares an integer ns_id with the kernel's
 * text and never finds it; here it works).  "" and 0 count as not given,
 * as in Python.  A target with none is refused: os-brick would take
 * whatever device appeared while it connected (devices_on_start), no way
 * to pick a RAID member.
 *
 * Portals: 1 to 16 distinct; one listed twice is connected once, as os-brick
 * does (Pure lists a port once per CIDR it falls in).  They must fit on the
 * one 1000-byte line of the volume file, which only many long link-local
 * addresses with long interface names do not.  ADDR is an IP
 * address without brackets, a link-local IPv6 one with its zone
 * ("fe80::1%ens3"); PORT a number or decimal string.  TRANSPORT:
 * os-brick's Portal() takes "rdma" and "RoCEv2" as rdma and anything else
 * as tcp; here any case of rdma, roce or rocev2 is rdma (os-brick would
 * try "RDMA" over tcp), fc, loop and pcie are refused (tcp cannot reach
 * them), and any other string is tcp, with a notice.
 * NQNs: whatever vol_nqn_check() takes; one with ';', '#' or '\'' is
 * written quoted.
 *
 * The reader is the trust boundary of a command run as root by nova's
 * privsep daemon: it is pure, fuzzed, and validates every value with a
 * whitelist before it becomes part of the volume file, so that the file
 * it writes is one vol_parse() accepts (osb_validate() checks that too).
 * Errors name the JSON path: "volume_replicas[1].portals[0]: transport
 * \"fc\" is not supported: …".
 */

#include <stddef.h>

#include "macro.h"
#include "volume.h"

#define OSB_INPUT_MAX (1024 * 1024) /* larger input is refused unread */
#define OSB_PATH_MAX 32		    /* "volume_replicas[15]" */

struct osb_replica {
	char path[OSB_PATH_MAX]; /* its JSON path: "" (flat) or "volume_replicas[I]" */
	char *host_nqn;		 /* "host_nqn" as given, or NULL */
};

struct osb_volume {
	char name[VOL_NAME_MAX + 1];
	char *text; /* the volume file (INI), NUL-terminated */
	struct osb_replica replicas[VOL_REPLICAS_MAX];
	unsigned n_replicas;
};

/**
 * osb_parse() - read os-brick's connection_properties
 * @buf:	the JSON text; need not be NUL-terminated; any bytes at all
 * @len:	its length
 * @volume_override: the volume name from --volume, or NULL
 * @ret:	the volume name and file text, free with osb_free()
 *
 * The volume name is @volume_override, else "alias", else the top-level
 * "vol_uuid" (both as given, in every shape), else the namespace UUID or
 * NGUID (canonical form) of the only target; a target known by its NSID
 * only gives no name.  It must be a valid volume name.  Target I of
 * "volume_replicas" becomes section [replica.I] (I from 0), a flat form
 * [replica.0].  Touches no file: this is the fuzzer's entry point and must
 * not crash or leak on any input.  Logs every problem found, each naming
 * its JSON path.
 *
 * Return: 0; -EINVAL (logged) for input that is not acceptable
 * connection_properties; -ENOMEM.
 */
int osb_parse(const char *buf, size_t len, const char *volume_override, struct osb_volume **ret);

/**
 * osb_validate() - read @o's volume file back with vol_parse(), as
 * VOL_RUN_DIR/<name>.conf, so that every rule of volume files applies
 * @ret:	the volume, free with vol_free()
 *
 * Return: 0, or as vol_parse() (-EINVAL, logged).  osb_parse() checked
 * everything already: a refusal here is a bug of this module.
 */
int osb_validate(const struct osb_volume *o, struct vol_volume **ret);

void osb_free(struct osb_volume *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct osb_volume *, osb_free);
#define _cleanup_osb_ _cleanup_(osb_freep)
