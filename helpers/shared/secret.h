/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * secret_: the key files of a replica (dhchap-key, dhchap-ctrl-key),
 * read at the moment a controller is connected and wiped from memory right
 * after.  Only the file's path is ever stored (volume file, descriptor);
 * the key itself never leaves the process that connects.
 *
 * A key file must be a regular file owned by root with no access for
 * group or others (mode 0600 or stricter), and is never followed through
 * a symbolic link: checked when the volume file is parsed (volume.c) and
 * again, on the open file, when it is read.
 */

#include "macro.h"

#define SECRET_MAX 1024 /* bytes; a DH-HMAC-CHAP secret of SHA-512 is 100 */

/**
 * secret_read() - read one key file
 * @path:	absolute path of the key file
 * @ret:	the key (its first line, without the newline), to secret_free()
 *
 * Opens @path with O_NOFOLLOW and checks the open file: a regular file,
 * owner uid 0, no permission bits for group or others.  The key must be
 * 1 to SECRET_MAX bytes of printable ASCII without spaces or ',' (the
 * kernel's connect options are split at ',').  Before anything is read
 * the process is made non-dumpable (prctl(PR_SET_DUMPABLE, 0)): no core
 * dump and no ptrace by non-root processes while it holds a key.
 *
 * Return: 0; -ELOOP for a symbolic link, -EINVAL for anything but a
 * regular file, -EPERM for the wrong owner or
 * mode, -EBADMSG for a malformed or empty key, -EFBIG for a key longer
 * than SECRET_MAX, another negative errno from open()/read().  Nothing is
 * logged: the caller names the replica and the key.
 */
int secret_read(const char *path, char **ret);

/**
 * secret_free() - wipe (explicit_bzero()) and free a key from secret_read()
 * @s:	the key, or NULL
 */
void secret_free(char *s);

static inline void secret_freep(char **s)
{
	secret_free(*s);
}
#define _cleanup_secret_ _cleanup_(secret_freep)

/**
 * secret_strerror() - what a secret_read() error means, for a message
 * @err:	a negative errno from secret_read()
 *
 * Return: a static string ("is a symbolic link", "must be owned by root
 * with mode 0600", ...), or strerror(-@err).
 */
const char *secret_strerror(int err);
