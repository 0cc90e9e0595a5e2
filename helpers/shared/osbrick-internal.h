/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by osbrick.c (the four shapes, the name, the volume file) and
 * osbrick-target.c (one target: its NQN, namespace and portals) only.
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "macro.h"
#include "osbrick.h"
#include "volume.h"

#define OSB_JSON_PATH_MAX 96 /* "volume_replicas[15].portals[15].transport" */
#define OSB_PRINT_MAX 64
#define OSB_URI_MAX 192 /* "rdma://[" INET6_ADDRSTRLEN "%" IFNAMSIZ "]:65535" */
#define OSB_PORTALS_TEXT_MAX (VOL_PORTALS_MAX * (OSB_URI_MAX + 2))

struct osb_ctx {
	unsigned n_errors;
	bool oom;
};

/* One target as read, before it becomes a [replica.I] section. */
struct osb_target {
	char path[OSB_PATH_MAX]; /* "" (flat) or "volume_replicas[I]" */
	char nqn[VOL_NQN_MAX + 1];
	/* Only the identifier os-brick finds the namespace by (osbrick.h). */
	struct vol_ns_id ns;
	const char *ns_key; /* the key it came from, for messages */
	/* Every identifier given: two targets that share any name one
	 * namespace, whichever of them os-brick would use. */
	struct vol_ns_id all;
	struct vol_portal portals[VOL_PORTALS_MAX];
	unsigned n_portals;
	char *host_nqn;
	bool ok; /* every key of it was valid */
};

/* Counts and logs one problem at error level, "PATH: message" (PATH "" is
 * "connection_properties").  Return: -EINVAL. */
int osb_bad(struct osb_ctx *c, const char *path, const char *format, ...) _printf_(3, 4);

/* @s fit for a message: control and non-ASCII bytes become '?', a long
 * value is cut with "...". */
const char *osb_printable(const char *s, char buf[static OSB_PRINT_MAX + 4]);

/* "PREFIX.KEY", or "KEY" when @prefix is "". */
void osb_join(char buf[static OSB_JSON_PATH_MAX], const char *prefix, const char *key);

/* Member @key of @o: 0 if absent or null (os-brick sends None for what it
 * has no value for), 1 with *@ret set, -EINVAL (logged) for another type. */
int osb_get_typed(struct osb_ctx *c, json_object *o, const char *prefix, const char *key,
		  json_type type, const char *type_text, json_object **ret);

/* osb_get_typed() of a string, which must hold no NUL. */
int osb_get_string(struct osb_ctx *c, json_object *o, const char *prefix, const char *key,
		   const char **ret);

/* Whether @o has member @key at all, null included: os-brick tells its
 * shapes apart by "key in conn_props". */
bool osb_has(json_object *o, const char *key);

/* The value of "portals =": @t's URIs joined by ", ", into @buf of at
 * least OSB_PORTALS_TEXT_MAX bytes.  Return: its length. */
size_t osb_portals_text(const struct osb_target *t, char *buf, size_t size);

/*
 * osb_read_target() - a target of the newer forms: "target_nqn" (or
 * "nqn"), "portals", the namespace by "vol_uuid" (or "uuid"),
 * "volume_nguid" or "ns_id", and "host_nqn"
 */
void osb_read_target(struct osb_ctx *c, json_object *o, struct osb_target *t);

/*
 * osb_read_old() - os-brick's original form, the whole object one target:
 * "nqn", "target_portal", "target_port", "transport_type", the namespace
 * by "volume_nguid" or "ns_id" ("vol_uuid" does not count: os-brick sets
 * it to None), and "host_nqn"
 */
void osb_read_old(struct osb_ctx *c, json_object *o, struct osb_target *t);
