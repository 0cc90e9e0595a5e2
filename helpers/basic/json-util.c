/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"

const char *json_type_text(json_object *v)
{
	static const char *const names[] = {
		[json_type_null] = "null",	   [json_type_boolean] = "a boolean",
		[json_type_double] = "a fraction", [json_type_int] = "an integer",
		[json_type_object] = "an object",  [json_type_array] = "a list",
		[json_type_string] = "a string",
	};
	unsigned t = (unsigned)json_object_get_type(v);

	return t < ELEMENTSOF(names) && names[t] ? names[t] : "unknown";
}

int json_parse_object(const char *buf, size_t len, size_t max, int depth, json_object **ret, char *why,
		      size_t why_size)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_json_ json_object *o = NULL;
	enum json_tokener_error e;

	if (len == 0)
		return snprintf(why, why_size, "empty input; expected a JSON object"), -EBADMSG;
	if (len > max)
		return snprintf(why, why_size, "larger than %zu bytes", max), -EBADMSG;
	if (memchr(buf, 0, len))
		return snprintf(why, why_size, "contains a NUL byte"), -EBADMSG;
	tok = json_tokener_new_ex(depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	e = json_tokener_get_error(tok);
	if (e == json_tokener_continue)
		return snprintf(why, why_size, "truncated JSON"), -EBADMSG;
	if (e != json_tokener_success)
		return snprintf(why, why_size, "malformed JSON at byte %zu: %s",
				json_tokener_get_parse_end(tok), json_tokener_error_desc(e)),
		       -EBADMSG;
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!strchr(" \t\r\n", buf[i]))
			return snprintf(why, why_size, "trailing data after the JSON object"), -EBADMSG;
	if (!json_object_is_type(o, json_type_object))
		return snprintf(why, why_size, "must be a JSON object, not %s", json_type_text(o)),
		       -EBADMSG;
	*ret = TAKE_PTR(o);
	return 0;
}
