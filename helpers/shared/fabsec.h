/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * fabsec_: whether a replica's controllers are as secure as its volume
 * file asks: DH-HMAC-CHAP authentication (dhchap-key, dhchap-ctrl-key)
 * and NVMe/TCP TLS (tls).  Never a silent downgrade: a kernel that cannot
 * do what is asked refuses the replica before anything is connected
 * (fabsec_kernel_check()), and a controller the kernel connected without
 * doing it is disconnected (fabsec_verify_auth(), fabsec_verify_tls()).
 *
 * Why both.  A host key alone does not make the kernel authenticate: it
 * authenticates only when the target's connect response asks for it
 * (nvmf_connect_admin_queue(), drivers/nvme/host/fabrics.c), so a target
 * without a host ACL entry for us gets an unauthenticated controller, with
 * the key unused, on every kernel.  And Debian 12's kernel (6.1, without
 * CONFIG_NVME_AUTH) takes the dhchap_secret option but cannot answer a
 * target that asks.
 */

#include <stdbool.h>

#include "volume.h"

/* nvme-cli's file of TLS PSKs, imported into the kernel keyring .nvme when
 * nvme_tcp loads (its 70-nvmf-keys.rules); see nvmf-raid.conf(5). */
#define NVME_TLS_KEYFILE "/etc/nvme/tls-keys"

enum {
	FABSEC_AUTH = 1 << 0, /* NVMe in-band authentication, host side */
	FABSEC_TLS = 1 << 1,  /* NVMe/TCP TLS, host side */
};

/**
 * fabsec_kernel_features() - what this kernel's NVMe host can do
 *
 * Authentication: the symbol nvme_auth_negotiate in /proc/kallsyms (the
 * host side, CONFIG_NVME_AUTH on 6.0-6.6, CONFIG_NVME_HOST_AUTH since 6.7;
 * /dev/nvme-fabrics lists dhchap_secret without it before 6.7).  TLS: the
 * "tls" option in /dev/nvme-fabrics (CONFIG_NVME_TCP_TLS, 6.7).  Needs
 * nvme-fabrics loaded.  Looked at once per process.
 *
 * Return: FABSEC_* bits (>= 0), or a negative errno when it cannot be told
 * (no /dev/nvme-fabrics: nvme-fabrics not loaded; no /proc/kallsyms).
 */
int fabsec_kernel_features(void);

/**
 * fabsec_replica_needs() - what a replica asks of the kernel
 * @r:	the replica
 *
 * Return: FABSEC_AUTH if it has a dhchap-key, FABSEC_TLS if tls = yes.
 */
unsigned fabsec_replica_needs(const struct vol_replica *r);

/**
 * fabsec_replica_check() - refuse a replica this kernel cannot secure
 * @volume:	the volume's name, for the message
 * @r:		the replica
 *
 * Logs which kernel feature is missing, with its kernel option.
 *
 * Return: 0 if the replica can be connected as asked (or asks for
 * nothing); -EOPNOTSUPP if the kernel lacks a feature; the error of
 * fabsec_kernel_features() (logged here) when it cannot be told.
 */
int fabsec_replica_check(const char *volume, const struct vol_replica *r);

/**
 * fabsec_kernel_check() - fabsec_replica_check() of every replica of @v
 * @v:	the volume
 *
 * Return: 0, or the first replica's error.
 */
int fabsec_kernel_check(const struct vol_volume *v);

/**
 * fabsec_kmsg_open() - the kernel log, read from now on
 *
 * Return: a file descriptor of /dev/kmsg positioned at its end
 * (non-blocking), or a negative errno.
 */
int fabsec_kmsg_open(void);

/**
 * fabsec_kmsg_find() - whether the kernel logged a message of a controller
 * @fd:		from fabsec_kmsg_open(), read on from where it is
 * @ctrl:	the controller ("nvme3"), or NULL: any controller
 * @what:	the message after "nvme nvme3: ", whole or followed by a ','
 *		("qid 0: authenticated" is not "qid 0: authenticated with
 *		hash ...", which the kernel logs before it has checked the
 *		controller's response); a final "%d" stands for a decimal
 *		number, '-' allowed ("error -%d": a negative error)
 *
 * Reads every record logged since; those of device messages
 * (dev_info(ctrl->device, ...)) start "nvme nvme3: ".
 *
 * Return: 1 if found, 0 if not, or a negative errno.
 */
int fabsec_kmsg_find(int fd, const char *ctrl, const char *what);

/**
 * fabsec_kmsg_find_any() - which of several messages the kernel logged first
 * @fd:		as for fabsec_kmsg_find()
 * @ctrl:	as for fabsec_kmsg_find()
 * @whats:	the messages, as @what of fabsec_kmsg_find()
 * @n:		how many
 *
 * One pass over the records logged since: @fd reads on, so a second search
 * would not see them again.
 *
 * Return: 1 + the index in @whats of the first record that matches one, 0
 * if none does, or a negative errno.
 */
int fabsec_kmsg_find_any(int fd, const char *ctrl, const char *const *whats, size_t n);

/**
 * fabsec_kmsg_record_matches() - fabsec_kmsg_find()'s test of one record
 * @rec:	a /dev/kmsg record: "6,1234,5678901,-;nvme nvme3: qid 0:
 *		authenticated\n" and its dictionary lines (" SUBSYSTEM=nvme")
 * @ctrl:	as for fabsec_kmsg_find()
 * @what:	as for fabsec_kmsg_find()
 *
 * Return: true if @rec is @what of @ctrl.
 */
bool fabsec_kmsg_record_matches(const char *rec, const char *ctrl, const char *what);

/**
 * fabsec_tls_active() - whether the kernel runs TLS on a controller
 * @ctrl:	the controller ("nvme3")
 *
 * The controller's tls_key attribute (6.9), the serial of the PSK the TLS
 * session was negotiated with; absent or empty without TLS.
 *
 * Return: true if TLS is on.
 */
bool fabsec_tls_active(const char *ctrl);
