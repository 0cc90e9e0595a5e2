/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/**
 * parse_u64_at() - the decimal number at *@p: digits only, no sign, no
 * leading blanks (sysfs, md and the block layer write them so)
 * @p:		where it starts; moved past its last digit
 * @ret:	the number
 *
 * Return: 0; -EINVAL if *@p is no digit; -ERANGE if it exceeds UINT64_MAX.
 */
int parse_u64_at(const char **p, uint64_t *ret);

/**
 * parse_u64() - parse_u64_at() of all of @s: nothing may follow the digits
 * Return: as parse_u64_at(), and -EINVAL for anything after the digits.
 */
int parse_u64(const char *s, uint64_t *ret);
