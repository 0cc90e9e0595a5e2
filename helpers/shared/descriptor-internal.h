/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by descriptor.c, descriptor-json.c and descriptor-index.c only. */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "descriptor.h"

/* A zeroed descriptor of @volume (unchecked), every replica absent. */
struct desc *desc_alloc(const char *volume);

/* desc_parse() naming @origin (the file) in its messages. */
int desc_parse_origin(const char *buf, size_t len, const char *expected_volume, const char *origin,
		      struct desc **ret);

/* The name itself is not printed: it may hold anything, escapes included. */
#define DESC_INVALID_NAME_MSG \
	"Invalid volume name: want 1 to 64 of [A-Za-z0-9_.-], the first a letter or digit."

/* "<volume>.json" into @buf; -EINVAL if it does not fit. */
int desc_file_name(const char *volume, char buf[static NAME_MAX + 1]);

#define DESC_DEVPATH_MAX 128
#define DESC_MD_UUID_MAX 40 /* 32 hex digits and separators */
#define DESC_MD_NAME_MAX 32 /* mdadm super1: the name field */

/* "/dev/…" with plain components of [A-Za-z0-9_.:+-]: no "", ".", "..". */
bool desc_devpath_is_valid(const char *s);
/* 32 hex digits, ':' or '-' between them as mdadm or blkid print them. */
bool desc_md_uuid_is_valid(const char *s);
/* 1..32 of [A-Za-z0-9_.:~-]. */
bool desc_md_name_is_valid(const char *s);
