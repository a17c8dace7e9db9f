"""A board's zeroconf announcement with micropython-mdns (tools/mpy_packages.py
puts it into the build as lib/mdns_client), where its sockets work: boards
with lwIP (ESP32, Pico W). The unix port's sockets lack what it needs
(select.select, IPPROTO_IP, address tuples), and a firmware whose own mDNS
holds port 5353 refuses it: then only the port's own mDNS answers, for the
host name (`<hostname>.local`), and the log says so."""
import asyncio

from ugate.base import log

_log = log.get("platform")


async def advertise(service, address):
    """Announce `service` (ugate.faces.homeassistant.zeroconf.Service) on
    `address` until the gateway stops."""
    if not address:
        _log.warning("zeroconf: no network address to announce {} on".format(service.type))
        return
    try:
        from mdns_client import Client
        from mdns_client.responder import Responder
        responder = Responder(Client(address), own_ip=address, host=service.properties["uuid"])
        protocol, transport = service.type.split(".")[:2]
        responder.advertise(protocol, transport, service.port, service.properties, service.name)
    except Exception as exc:  # ImportError on the unix port, OSError on a busy port 5353
        _log.warning("zeroconf: {} not announced here ({!r}); only the port's own mDNS "
                     "answers, for the host name".format(service.type, exc))
        return
    await asyncio.Event().wait()  # the responder answers from its own task
