/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * osb_: os-brick's NVMe-oF connection_properties (JSON) turned into a
 * transient volume file (contract.md "Commands", nvmf-raid os-brick).
 *
 * Two spellings exist and both are read:
 *   os-brick's own (os_brick/initiator/connectors/nvmeof.py):
 *     { "vol_uuid": CINDER_ID, "alias": NAME, "replica_count": N,
 *       "volume_replicas": [ { "target_nqn": NQN, "vol_uuid": NS_UUID,
 *                              "portals": [ [ADDR, PORT, TRANSPORT], … ],
 *                              "volume_nguid": …, "ns_id": …, "host_nqn": … } ] }
 *   the replication spec's (nvme-connector-mdraid-replication):
 *     { "volume_replicas": [ { "nqn": NQN, "uuid": NS_UUID,
 *                              "portals": [ { "address": ADDR, "port": PORT,
 *                                             "transport": TRANSPORT } ] } ] }
 * Either flat (the top-level object is the one replica) or under
 * "volume_replicas" (null means flat).  TRANSPORT is tcp, rdma or RoCEv2
 * (which is rdma).  Unknown keys are ignored, since os-brick sends many
 * (qos_specs, access_mode, discard…); a known key of the wrong type is an
 * error.
 *
 * The reader is the trust boundary of a command run as root by nova's
 * privsep daemon: it is pure, fuzzed, and validates every value with a
 * whitelist before it becomes part of the volume file, so that the file
 * it writes is one vol_parse() accepts (osb_validate() checks that too).
 * Errors name the JSON path: "volume_replicas[1].portals[0]: transport
 * \"fc\" is not supported".
 */

#include <stddef.h>

#include "macro.h"
#include "volume.h"

#define OSB_INPUT_MAX (1024 * 1024)	/* larger input is refused unread */
#define OSB_PATH_MAX 32			/* "volume_replicas[15]" */

struct osb_replica {
	char path[OSB_PATH_MAX];	/* its JSON path: "" (flat) or "volume_replicas[I]" */
	char *host_nqn;			/* "host_nqn" as given, or NULL */
};

struct osb_volume {
	char name[VOL_NAME_MAX + 1];
	char *text;			/* the volume file (INI), NUL-terminated */
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
 * "vol_uuid" (both as given), else the namespace UUID (canonical form) of
 * the only replica; it must be a valid volume name.  Replica I of
 * "volume_replicas" becomes section [replica.I] (I from 0), the flat form
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
