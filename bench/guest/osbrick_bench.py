#!/usr/bin/python3
"""os-brick's NVMe-oF connector, driven line by line by bench/guest/attach.sh.

Runs in the test guest as one warm process: os-brick is imported once
(5-10 s under TCG, not counted), then every command read on stdin is
answered by exactly one line on stdout:

    connect N      ->  "ok SECONDS PATH"   or  "fail SECONDS ERROR"
    disconnect N   ->  "ok SECONDS"        or  "fail SECONDS ERROR"
    quit

SECONDS is time.monotonic() around the connect_volume / disconnect_volume
call alone.  The volume of N replicas is made of the first N replicas of
the configuration file (JSON, argv[1]):

    {"portal": ["127.0.0.1", "4420", "tcp"],
     "lock_path": "/run/...",
     "replicas": [{"nqn": "...", "uuid": "..."}, ...]}

Connection properties use os-brick's own spelling (vol_uuid, alias,
replica_count, volume_replicas with target_nqn, vol_uuid and portals);
N = 1 is replica_count 1, for which os-brick uses the lone namespace and
builds no md array.  os-brick chooses by itself whether to create or to
assemble the array (mdadm --examine on the legs).

Set-up, as in ../shared/notes/guest.md section 6: privsep runs in-process
(set_client_mode(False); we are root), the connect/disconnect lock lives
in lock_path, and os-brick 6.1.0 (Debian 12) gets the kernel-6.1 fix: it
matches controllers by /sys/class/nvme-fabrics/ctl/nvmeX/address, which
this kernel ends with ",src_addr=..." for TCP, so nvmeof.sysfs_property is
wrapped to strip it; os-brick 6.11 (Debian 13) parses src_addr itself and
is left as it is (found in its source at run time, not by version).  Log lines (warnings only; debug logging would slow
os-brick down) go to stderr.
"""

import inspect
import json
import logging
import os
import re
import sys
import time
import uuid

SRC_ADDR = re.compile(r',\s*src_addr=[^,]*')
SRC_ADDR_PATCH = False


def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def one_line(exc):
    text = '%s: %s' % (type(exc).__name__, exc)
    return ' '.join(text.split())[:400]


def patch_src_addr(nvmeof):
    """Strip ',src_addr=...' from controller addresses (kernel >= 6.1)."""
    original = nvmeof.sysfs_property

    def sysfs_property(prop_name, path_or_name):
        value = original(prop_name, path_or_name)
        if prop_name == 'address' and value:
            value = SRC_ADDR.sub('', value)
        return value

    sysfs_property.bench_patched = True
    nvmeof.sysfs_property = sysfs_property


def setup(lock_path):
    """Imports os-brick and returns an NVMe-oF connector."""
    os.makedirs(lock_path, exist_ok=True)
    # Read by oslo.concurrency when it is imported: set it first.
    os.environ['OSLO_LOCK_PATH'] = lock_path
    import os_brick
    import os_brick.privileged
    os_brick.privileged.default.set_client_mode(False)
    from os_brick.initiator import connector
    from os_brick.initiator.connectors import nvmeof
    from oslo_config import cfg

    # os-brick 6.11 (Debian 13) parses src_addr itself; 6.1 does not.
    global SRC_ADDR_PATCH
    SRC_ADDR_PATCH = 'src_addr' not in inspect.getsource(nvmeof)
    if SRC_ADDR_PATCH:
        patch_src_addr(nvmeof)
    # What a service does (os_brick.setup), plus our lock directory, so
    # that os-brick does not warn about a missing setup on every call.
    for what, call in (
            ('os_brick.setup', lambda: os_brick.setup(cfg.CONF)),
            ('lock_path', lambda: cfg.CONF.set_override(
                'lock_path', lock_path, group='os_brick'))):
        try:
            call()
        except Exception as exc:  # pylint: disable=broad-except
            logging.warning('%s: %s', what, one_line(exc))
    return connector.InitiatorConnector.factory(
        'NVMEOF', root_helper=None, use_multipath=False)


def properties(conf, n):
    """os-brick connection properties of the volume of the first N replicas."""
    portal = list(conf['portal'])
    return {
        'vol_uuid': str(uuid.uuid5(uuid.NAMESPACE_URL,
                                   'nvmf-raid-bench/osb%d' % n)),
        'alias': 'osb%d' % n,
        'replica_count': n,
        'volume_replicas': [
            {'target_nqn': r['nqn'], 'vol_uuid': r['uuid'],
             'portals': [portal]}
            for r in conf['replicas'][:n]
        ],
    }


def os_brick_version():
    try:
        from importlib import metadata
        return metadata.version('os-brick')
    except Exception:  # pylint: disable=broad-except
        return 'unknown'


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: osbrick_bench.py CONFIG.json\n')
        return 2
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if os.environ.get('OSBRICK_BENCH_DEBUG') else
        logging.WARNING,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    with open(sys.argv[1], encoding='utf-8') as f:
        conf = json.load(f)

    t0 = time.monotonic()
    try:
        conn = setup(conf.get('lock_path', '/run/osbrick-bench/locks'))
    except Exception as exc:  # pylint: disable=broad-except
        logging.exception('os-brick set-up failed')
        say('error ' + one_line(exc))
        return 1
    say('ready %.3f %s %s' % (time.monotonic() - t0, os_brick_version(),
                              'patched' if SRC_ADDR_PATCH else 'unpatched'))

    attached = {}   # N -> connect_volume's answer (device_info)
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        words = line.split()
        if not words:
            continue
        if words[0] == 'quit':
            return 0
        if words[0] not in ('connect', 'disconnect') or len(words) != 2 or \
                not words[1].isdigit() or \
                not 1 <= int(words[1]) <= len(conf['replicas']):
            say('fail 0 bad command: ' + ' '.join(words))
            continue
        n = int(words[1])
        props = properties(conf, n)
        logging.info('%s %d: %s', words[0], n, json.dumps(props))
        info = attached.pop(n, None) if words[0] == 'disconnect' else None
        t = time.monotonic()
        try:
            if words[0] == 'connect':
                info = conn.connect_volume(props)
                elapsed = time.monotonic() - t
                path = info.get('path')
                if isinstance(path, bytes):
                    path = path.decode()
                attached[n] = info
                say('ok %.6f %s' % (elapsed, path))
            else:
                conn.disconnect_volume(props, info)
                say('ok %.6f' % (time.monotonic() - t))
        except Exception as exc:  # pylint: disable=broad-except
            elapsed = time.monotonic() - t
            logging.exception('%s %d failed', words[0], n)
            say('fail %.6f %s' % (elapsed, one_line(exc)))


if __name__ == '__main__':
    sys.exit(main())
