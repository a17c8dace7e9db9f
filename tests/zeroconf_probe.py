"""Run inside a network namespace of its own (`unshare -n`), where the
loopback interface carries multicast and nothing leaves the machine: start
a gateway with the config given as JSON, browse `_home-assistant._tcp`
with python-zeroconf as a phone would, and print what was found as JSON.

    unshare -n python tests/zeroconf_probe.py RUNTIME CONFIG_DIR CONFIG_JSON SECONDS [HOST]

SECONDS: how long to browse for the first answer; HOST: the address the
gateway listens on (default 127.0.0.1).
"""
import json
import subprocess
import sys
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

from conftest import Gateway

for command in ("ip link set lo up", "ip link set lo multicast on", "ip route add 224.0.0.0/4 dev lo"):
    subprocess.run(command.split(), check=True)


class Found(ServiceListener):
    def __init__(self):
        self.names = []

    def add_service(self, zc, type_, name):
        self.names.append(name)

    def update_service(self, zc, type_, name):
        pass

    def remove_service(self, zc, type_, name):
        pass


runtime, config_dir, config, seconds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
gateway = Gateway(runtime, config_dir, config)
if len(sys.argv) > 5:
    gateway.run_args = ["--host", sys.argv[5]]
gateway.start()
zc = Zeroconf(interfaces=["127.0.0.1"])
try:
    found = Found()
    ServiceBrowser(zc, "_home-assistant._tcp.local.", found)
    deadline = time.time() + seconds
    while not found.names and time.time() < deadline:
        time.sleep(0.1)
    services = []
    for name in found.names:
        info = zc.get_service_info("_home-assistant._tcp.local.", name, timeout=3000)
        services.append({"name": name, "port": info.port, "server": info.server,
                         "addresses": info.parsed_addresses(),
                         "properties": {k.decode(): v.decode() if v is not None else None
                                        for k, v in info.properties.items()}})
    print(json.dumps({"port": gateway.port, "services": services}))
finally:
    zc.close()
    gateway.stop()
    sys.stderr.write(gateway.logs())
