/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vs_: one volume session, the project's kmod_ctx.  One call opens a
 * volume by name: finds and loads its volume file (the problems kept for
 * the caller to report, nothing logged behind its back), takes its lock,
 * reads its descriptor; vs_read_record() adds the in-sync record.  The
 * helpers (attach, detach, reload), the verbs (extend, status, os-brick)
 * and the monitor open volumes through it, and map its errors to an exit
 * status with vs_exit_status().
 *
 * The per-volume files, and where each is made (vs_file_name() builds the
 * name of every one named after the volume):
 *   $RUNTIME/VOLUME.json		descriptor (descriptor.c)
 *   $RUNTIME/VOLUME.lock		the lock (vs_lock(), fileio.c)
 *   $RUNTIME/VOLUME.accept-stale	the admin's override (attach)
 *   $RUNTIME/rebuild/queue/VOLUME	rebuild queue entry (rebuild.c)
 *   /var/lib/nvmf-raid/VOLUME.json	in-sync record (state-record.c)
 *   VOLUMES/VOLUME.conf		the volume file (os-brick writes one in /run)
 *   /run/nvmf-raid/volumes/.VOLUME.lock	os-brick's request lock
 *   $RUNTIME/by-uuid|by-nguid|by-nsid/…	namespace index, named by namespace
 *					(descriptor-index.c)
 *   $RUNTIME/by-md-uuid/…, by-md-dev/…	array index, named by array (teardown.c)
 */

#include <limits.h>
#include <stdbool.h>

#include "descriptor.h"
#include "macro.h"
#include "state-record.h"
#include "volume.h"

/* The files named after a volume (the table above). */
enum vs_file {
	VS_FILE_DESCRIPTOR,
	VS_FILE_LOCK,
	VS_FILE_ACCEPT_STALE,
	VS_FILE_REBUILD_ENTRY,
	VS_FILE_RECORD,
	VS_FILE_CONF,	      /* VOLUME.conf, in vol_etc_dir() or vol_run_dir() */
	VS_FILE_OSBRICK_LOCK, /* .VOLUME.lock in vol_run_dir(): os-brick's calls */
};

/**
 * vs_file_name() - the name of volume @volume's file @f in its directory
 * @buf:	NAME_MAX + 1 bytes
 * Return: 0, or -EINVAL for an empty name or one that makes no file name
 * (a '/', "." or "..", too long).
 */
int vs_file_name(enum vs_file f, const char *volume, char buf[static NAME_MAX + 1]);

/* What vs_open() does, in this order. */
enum {
	VS_FILE = 1 << 0,   /* find and load the volume file (vs_load()) */
	VS_CROSS = 1 << 1,  /* with VS_FILE: no namespace shared with another file */
	VS_LOCK = 1 << 2,   /* take the volume lock (vs_lock()) */
	VS_CREATE = 1 << 3, /* with VS_LOCK: create the runtime directory */
	VS_DESC = 1 << 4,   /* read the descriptor (vs_read_desc()) */
};

/* The step that failed, for vs_exit_status() and the caller's message;
 * each step clears it as it starts, so it names the last one that ran. */
enum vs_step {
	VS_STEP_NONE,
	VS_STEP_FIND,  /* no volume file (-ENOENT), invalid name, unreadable directory */
	VS_STEP_LOAD,  /* the file is invalid or cannot be read; see problems */
	VS_STEP_CROSS, /* a namespace of another volume file (logged) */
	VS_STEP_LOCK,  /* the runtime directory or the lock */
	VS_STEP_DESC,  /* no descriptor (-ENOENT: not attached), or a bad one */
};

struct vs_session {
	char name[VOL_NAME_MAX + 1];
	char *path;		      /* the volume file (VS_FILE), or NULL */
	struct vol_volume *vol;	      /* the loaded file, or NULL */
	struct vol_problems problems; /* the file's problems, not logged: vs_log_problems() */
	struct desc *desc;	      /* the descriptor (VS_DESC), or NULL */
	struct state_record record;   /* vs_read_record(), if have_record */
	bool have_record;
	int run_fd; /* the runtime directory, with the lock */
	int lock_fd;
	enum vs_step failed;
};

/**
 * vs_open() - open volume @name: the steps of @flags, in their order
 * @ret:	the session, also when a step failed (its @failed and problems
 *		say what), NULL only when out of memory; free with vs_close()
 *
 * Logs nothing but out of memory, vol_find()'s invalid name, the cross
 * check's shared namespace and what desc_read() logs of a damaged
 * descriptor; the caller says what failed, where the decision is made.  An
 * invalid @name is -EINVAL, not logged: callers check names where they
 * take them.
 * Return: 0, or the negative errno of the step that failed.
 */
int vs_open(const char *name, unsigned flags, struct vs_session **ret);

/**
 * vs_load() - find (vol_find()) and load the volume file; its problems go
 * to @s->problems
 * @cross:	also refuse a namespace another volume file names
 *		(vol_check_against_others(), logged)
 * Return: 0 or negative errno (@s->failed says which step).
 */
int vs_load(struct vs_session *s, bool cross);

/**
 * vs_lock() - open the runtime directory and take the volume lock (waits)
 * @create:	create the runtime directory if missing
 * Return: 0; -ENOENT without a runtime directory (not @create); other
 * negative errno.
 */
int vs_lock(struct vs_session *s, bool create);

/**
 * vs_unlock() - release the lock; @remove also removes the lock file
 * (the volume is gone); idempotent
 */
void vs_unlock(struct vs_session *s, bool remove);

/**
 * vs_read_desc() - read the descriptor into @s->desc (replacing one held)
 * Return: 0; -ENOENT when the volume is not attached; other negative
 * errno (desc_read()).
 */
int vs_read_desc(struct vs_session *s);

/**
 * vs_new_desc() - a fresh descriptor from the loaded file, every replica
 * absent, in @s->desc (replacing one held)
 * Return: 0 or negative errno (desc_from_volume()).
 */
int vs_new_desc(struct vs_session *s);

/**
 * vs_read_record() - read the in-sync record into @s->record
 * Return: 0 (@s->have_record set), -ENOENT when there is none, other
 * negative errno for one that cannot be used (damaged, newer, unreadable).
 */
int vs_read_record(struct vs_session *s);

/**
 * vs_log_problems() - log the problems of the volume file at error level,
 * as vol_load() would have
 */
void vs_log_problems(const struct vs_session *s);

/**
 * vs_exit_status() - the exit status (exit-status.h, contract.md) of a
 * program that failed with @r in session @s (NULL: no session)
 *
 * A volume file that is missing, invalid, a symlink, too large or shares
 * a namespace is a usage error; a missing tool (-ENOPKG) is EXIT_MISSING;
 * everything else a failure.
 * Return: EXIT_OK for @r >= 0, else as above.
 */
int vs_exit_status(const struct vs_session *s, int r);

/**
 * vs_close() - release the lock (the lock file stays) and free @s; NULL
 * is fine
 */
void vs_close(struct vs_session *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vs_session *, vs_close);
#define _cleanup_vs_ _cleanup_(vs_closep)

/**
 * lock_volume_at() - the per-volume lock, "<volume>.lock" in @dir_fd
 *
 * Serialises the helpers that act on one volume (udev events, the unit,
 * the admin's command).  @dir_fd is normally the runtime directory.
 *
 * Return: as lock_file_at(); -EINVAL if "<volume>.lock" is no valid name.
 */
int lock_volume_at(int dir_fd, const char *volume, bool wait, int *ret_fd);

/**
 * unlock_volume_at() - release a lock from lock_volume_at()
 *
 * Return: -EBADF.
 */
int unlock_volume_at(int dir_fd, const char *volume, int fd, bool remove);
