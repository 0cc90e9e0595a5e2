/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging: to the journal when our stderr is connected to it (we run from a
 * unit or from udev), to stderr otherwise.  Log once, where the decision is
 * made; lower layers return negative errno codes and log at debug only.
 */

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

enum log_target {
	LOG_TARGET_AUTO, /* journal if stderr is the journal stream, else console */
	LOG_TARGET_CONSOLE,
	LOG_TARGET_JOURNAL,
};

/**
 * log_setup() - set the program name and read $NVMF_RAID_LOG_LEVEL
 * @ident: program name used as prefix and SYSLOG_IDENTIFIER
 */
void log_setup(const char *ident);
void log_set_target(enum log_target target);
void log_set_max_level(int level);
int log_get_max_level(void);

/**
 * log_parse_level() - parse a level name ("debug", "info", ...) or number
 * Return: the syslog level, or -EINVAL.
 */
int log_parse_level(const char *s);

/**
 * log_internal() - format and emit one message
 * @level:	syslog priority
 * @error:	errno value (either sign) made available to %m; 0 for none
 * @message_id:	128-bit journal MESSAGE_ID as 32 hex digits, or NULL
 *
 * Return: -abs(@error), so callers can log and fail in one statement;
 * 0 when @error is 0.
 */
int log_internal(int level, int error, const char *message_id, const char *file, int line,
		 const char *func, const char *format, ...) _printf_(7, 8);

#define log_full_errno(level, error, ...) \
	log_internal(level, error, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* Events that admins and tools key on carry a MESSAGE_ID (see the catalog). */
#define log_event(level, id, ...) log_internal(level, 0, id, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Out of memory: always the same message, always -ENOMEM. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
