/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside vol_load(): the error context and the pre-scan shared by
 * volume.c and volume-scan.c.  Not for other modules.
 *
 * iniparser 4.1 lower-cases names, lets a later duplicate key win, knows
 * no line numbers and fails a whole file on one bad line.  So we read the
 * file ourselves and pre-scan it: the scan keeps each section's and key's
 * original spelling and line, reports duplicates and syntax errors, and
 * hands iniparser a normalised copy (one line for each line of the file)
 * with the bad lines blanked, so every other error is still found.
 * iniparser then only splits "key = value" and strips quotes and comments.
 */

#include <iniparser.h>

#include "log.h"
#include "volume.h"

struct vol_ctx {
	char *volume; /* printable: the volume name, or the base name */
	char *path;   /* printable */
	unsigned n_errors;
	bool quiet;		      /* count problems, log none (VOL_LOAD_QUIET) */
	struct vol_problems *collect; /* if not NULL: keep problems here, log none */
	/* Where the value parsers are, for their messages. */
	unsigned line;
	const char *section;
	const char *key;
};

/**
 * vol_err() - log one problem of the file as "VOLUME: PATH:LINE [SECTION] KEY: ..."
 * @error:	errno for %m, or 0
 * @line:	0 if not known
 * @section:	NULL for the whole file or line
 * @key:	NULL for the whole section
 *
 * Return: -@error, or -EINVAL if @error is 0.
 */
int vol_err(struct vol_ctx *ctx, int error, unsigned line, const char *section, const char *key,
	    const char *format, ...) _printf_(6, 7);

/* At the section and key the parsers are at. */
#define vol_key_err(ctx, ...) vol_err(ctx, 0, (ctx)->line, (ctx)->section, (ctx)->key, __VA_ARGS__)

/* A copy of @s fit for a log line: control and non-ASCII bytes become '?'. */
char *vol_printable(const char *s);

struct vol_scan_key {
	char *name; /* as spelled */
	unsigned line;
	bool bad; /* its value was refused already; not given to iniparser */
};

struct vol_scan_section {
	char *name; /* as spelled, without brackets and blanks */
	unsigned line;
	struct vol_scan_key *keys;
	unsigned n_keys, n_alloc;
};

struct vol_scan {
	char *text; /* the normalised copy for iniparser */
	size_t text_len;
	struct vol_scan_section *sections;
	unsigned n_sections, n_alloc;
};

/**
 * vol_read_file() - read @ctx's file: no symlink, regular, at most
 * VOL_FILE_SIZE_MAX bytes (logged)
 * Return: 0 with a NUL-terminated malloc'ed buffer, or negative errno.
 */
int vol_read_file(struct vol_ctx *ctx, const char *path, char **ret_buf, size_t *ret_size);

/**
 * vol_scan() - pre-scan @buf (modified), logging syntax errors and
 * duplicates; fills @scan even if it finds errors (counted in @ctx)
 * Return: 0, or -ENOMEM.
 */
int vol_scan(struct vol_ctx *ctx, char *buf, size_t size, struct vol_scan *scan);
void vol_scan_done(struct vol_scan *scan);

/**
 * vol_scan_parse() - let iniparser parse @scan's text
 * Return: 0 with the dictionary in @ret, or negative errno (logged).
 */
int vol_scan_parse(struct vol_ctx *ctx, const struct vol_scan *scan, dictionary **ret);

/**
 * vol_scan_key_line() - the line of @key in the section at @section_line
 * Return: the line, or @section_line if the key is not there.
 */
unsigned vol_scan_key_line(const struct vol_scan *scan, unsigned section_line, const char *key);

/**
 * vol_ini_get() - the value iniparser holds for @key of @section of @d
 * (it keeps "section:key" lower-cased), or NULL when there is none
 */
const char *vol_ini_get(dictionary *d, const char *section, const char *key);

/**
 * vol_scan_text() - vol_scan() and vol_scan_parse() of a copy of @buf
 * (@size bytes), which the scan points into: the caller frees *@ret_copy
 * (set even on failure) after @scan
 * Return: as vol_scan_parse(); -ENOMEM (logged).
 */
int vol_scan_text(struct vol_ctx *ctx, const char *buf, size_t size, char **ret_copy,
		  struct vol_scan *scan, dictionary **ret);
