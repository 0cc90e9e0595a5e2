#!/usr/bin/python3
"""os-brick driven as Nova's libvirt NVMe volume driver drives it.

    nova_osbrick.py    (os-brick from PYTHONPATH, e.g. a patched copy)

One warm process (importing os-brick takes 5-10 s under TCG): each line on
stdin is a JSON request, each answered by one JSON line on stdout,
{"ok": true, "result": ...} or {"ok": false, "error": "Type: message"}.

    {"op": "connect", "data": {...}}     connect_volume(data); as Nova, keeps
                                         data["device_path"] = result["path"]
                                         for the calls below (by "id")
    {"op": "extend", "id": ID}           extend_volume(data)
    {"op": "disconnect", "id": ID, "force": F, "ignore_errors": I}
                                         disconnect_volume(data, None, ...)
    {"op": "paths", "data": {...}, "device_info": ...}
                                         get_volume_paths(data, device_info)
    {"op": "properties"}                 get_connector_properties() as Nova
    {"op": "option", "value": V}         [os_brick] nvmf_raid = V
    {"op": "where"}                      the os_brick package's directory

The set-up is Nova's (nova/cmd/compute.py, nova/virt/libvirt/volume/nvme.py):
os_brick.setup(CONF); oslo.privsep's daemon started through the root
helper (Nova's is "sudo nova-rootwrap ..."; we are root: "env"), so every
run_as_root command runs in os-brick's privsep daemon; the connector from
InitiatorConnector.factory('NVME', root_helper, use_multipath=...,
device_scan_attempts=...).  Connection data Nova got from Cinder is passed
as is.

os-brick 6.1.0 (Debian 12) cannot find kernel 6.1's TCP controllers: their
sysfs address ends with ",src_addr=..."; as bench/guest/osbrick_bench.py,
its sysfs_property is wrapped to strip it when its source does not know
src_addr (6.11 does).  Only os-brick's own connect path uses it.
"""

import inspect
import json
import os
import re
import sys
import traceback

ROOT_HELPER = 'env'
LOCKS = '/run/nova-osbrick-locks'

SRC_ADDR = re.compile(r',\s*src_addr=[^,]*')


def setup():
    from oslo_concurrency import lockutils
    from oslo_config import cfg
    from oslo_privsep import priv_context
    import os_brick

    os.makedirs(LOCKS, exist_ok=True)
    cfg.CONF([], project='nova', default_config_files=[])
    lockutils.set_defaults(LOCKS)
    os_brick.setup(cfg.CONF)
    priv_context.init(root_helper=[ROOT_HELPER])

    from os_brick.initiator.connectors import nvmeof
    if 'src_addr' not in inspect.getsource(nvmeof):
        real = nvmeof.sysfs_property

        def sysfs_property(prop_name, path_or_name):
            value = real(prop_name, path_or_name)
            if prop_name == 'address' and value:
                value = SRC_ADDR.sub('', value)
            return value
        nvmeof.sysfs_property = sysfs_property
    return cfg.CONF


def main():
    conf = setup()
    from os_brick.initiator import connector
    import os_brick

    conn = connector.InitiatorConnector.factory(
        'NVME', ROOT_HELPER, use_multipath=False, device_scan_attempts=5)
    attached = {}

    def answer(ok, value):
        key = 'result' if ok else 'error'
        sys.stdout.write(json.dumps({'ok': ok, key: value}) + '\n')
        sys.stdout.flush()

    for line in sys.stdin:
        req = json.loads(line)
        op = req['op']
        try:
            if op == 'connect':
                data = req['data']
                info = conn.connect_volume(data)
                data['device_path'] = info['path']
                attached[req.get('id', '')] = data
                result = info
            elif op == 'extend':
                result = conn.extend_volume(attached[req.get('id', '')])
            elif op == 'disconnect':
                data = attached[req.get('id', '')]
                result = conn.disconnect_volume(
                    data, None, force=req.get('force', False),
                    ignore_errors=req.get('ignore_errors', False))
                if not req.get('ignore_errors'):
                    del attached[req.get('id', '')]
            elif op == 'paths':
                result = conn.get_volume_paths(req['data'],
                                               req.get('device_info'))
            elif op == 'properties':
                result = connector.get_connector_properties(
                    ROOT_HELPER, '127.0.0.1', False, False, host='compute1')
            elif op == 'option':
                conf.set_override('nvmf_raid', req['value'], group='os_brick')
                result = conf.os_brick.nvmf_raid
            elif op == 'where':
                result = os.path.dirname(os_brick.__file__)
            else:
                raise ValueError('unknown op %r' % op)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            text = '%s: %s' % (type(exc).__name__, exc)
            answer(False, ' '.join(text.split())[:2000])
            continue
        answer(True, result)


if __name__ == '__main__':
    main()
