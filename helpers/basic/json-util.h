/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What every JSON reader and writer here shares on top of json-c: cleanup
 * helpers and the strict parse of untrusted input (descriptors, os-brick's
 * connection_properties).
 */

#include <stddef.h>

#include <json-c/json.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);
#define _cleanup_json_ _cleanup_(json_object_putp)

/**
 * json_type_text() - @v's type as an error message says it: "a string",
 * "an integer", "a list", …
 */
const char *json_type_text(json_object *v);

/**
 * json_parse_object() - parse @buf as exactly one JSON object
 * @buf:	any bytes, not NUL-terminated; @len of them
 * @max:	larger input is refused unread
 * @depth:	deepest nesting accepted (json-c's default of 32 only helps
 *		an attacker)
 * @ret:	the object
 * @why:	on -EBADMSG, what is wrong ("truncated JSON", "malformed JSON
 *		at byte 12: …", "trailing data after the JSON object", …)
 *
 * Strict RFC 8259 with UTF-8 validated; a NUL byte anywhere is refused
 * (json-c would stop there and leave the rest unchecked); only whitespace
 * may follow the object.
 * Return: 0, -EBADMSG, -ENOMEM.
 */
int json_parse_object(const char *buf, size_t len, size_t max, int depth, json_object **ret, char *why,
		      size_t why_size);
