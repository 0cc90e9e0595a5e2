/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Running tools (mdadm) as root: argv arrays only, never a shell; the tool
 * is looked up in a fixed list of system directories, not in $PATH, so the
 * environment of a udev or systemd caller cannot redirect it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/**
 * exec_find() - locate a system tool
 * @name:	bare program name, e.g. "mdadm"
 * @ret_path:	malloc'ed absolute path
 *
 * Searches /usr/sbin, /usr/bin, /sbin, /bin (or $NVMF_RAID_TOOL_PATH, a
 * colon separated list, for the tests).
 * Return: 0, or -ENOENT when no executable is found.
 */
int exec_find(const char *name, char **ret_path);

/**
 * exec_run() - run @argv[0] (absolute path) with @argv, wait for it
 * @ret_out:	if not NULL, everything it wrote to stdout (malloc'ed, NUL
 *		terminated, at most 1 MiB kept)
 * @ret_err:	likewise for stderr; when NULL stderr is inherited
 *
 * stdin is /dev/null.
 * Return: the exit status (0..255) of the program, 128+N if it was killed
 * by signal N, or a negative errno if it could not be run.
 */
int exec_run(char *const argv[], char **ret_out, char **ret_err);

/**
 * exec_fork() - fork() for a child that does its work without exec():
 * the child closes its descriptors that hold a flock() first
 *
 * The volume lock and a rebuild slot are flock()s, held while any
 * descriptor of their open file lives: a child that kept its copy held
 * them after the parent let go, for as long as it ran (a connect that the
 * kernel takes a minute to refuse), and the parent's next pass waited.
 * Every other descriptor stays: the journal's socket among them, which
 * libsystemd keeps open for sd_journal_send().
 * Return: as fork(): the child's pid, 0 in the child, or negative errno.
 */
pid_t exec_fork(void);

/**
 * exec_set_wait_hook() - call @fn(@userdata) every @interval_ms
 * milliseconds while exec_run() waits for a program, or no more (@fn NULL)
 *
 * For the monitor, which must go on failing replicas over while md makes
 * an mdadm run wait: md holds an array's reconfiguration lock while it
 * writes its superblock (md_update_sb()), and that write waits for every
 * member, also one whose I/O the kernel queues until the monitor fails it
 * over.  Any mdadm --remove or --examine then waits for the failover that
 * the monitor would only decide after it.  @fn must not wait itself; an
 * exec_run() inside @fn does not call it again.
 */
void exec_set_wait_hook(void (*fn)(void *userdata), void *userdata, unsigned interval_ms);
