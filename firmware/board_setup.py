"""The setup page of a board without a working Wi-Fi (no wifi.json, or
joining failed) or in safe mode: a form (networks in reach, password, the
gateway's name) that writes wifi.json and the name into config.json, then
reboots. Served on the setup access point, port 80, with a DNS server that
answers every name with the board's address, so a phone that joins the
access point opens the page by itself (a captive portal). In safe mode the
page also shows why: the last boot failure and the end of the log."""
import asyncio
import json
import socket

import board_boot
from microdot import Microdot, Response

from ugate.base import log, store

_log = log.get("setup")

CRASH_FILE = "crash.txt"
#: What the safe-mode page shows of the log file, from its end.
LOG_TAIL_BYTES = 4096
#: DNS: a standard query answered with one A record (the board), 60 s TTL.
DNS_FLAGS = b"\x81\x80"
DNS_ANSWER = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04"


def _escape(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _tail(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - LOG_TAIL_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def page(name, networks, why=None, crash="", log_tail=""):
    options = "".join('<option value="{0}">{0} ({1} dBm)</option>'.format(_escape(network[0]), network[1])
                      for network in networks)
    parts = ['<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">'
             "<title>ugate setup</title></head><body><h1>ugate setup</h1>"]
    if why:
        parts.append("<p><b>Safe mode:</b> {}</p>".format(_escape(why)))
        if crash:
            parts.append("<h2>Last boot failure</h2><pre>{}</pre>".format(_escape(crash)))
        if log_tail:
            parts.append("<h2>End of the log</h2><pre>{}</pre>".format(_escape(log_tail)))
    parts.append('<form method="post" action="/"><p><label>Network <select name="ssid">{}</select></label> '
                 'or <input name="other" placeholder="another network"></p>'
                 '<p><label>Password <input name="password" type="password"></label></p>'
                 '<p><label>Gateway name <input name="name" value="{}"></label></p>'
                 '<p><button>Save and restart</button></p></form></body></html>'.format(options, _escape(name)))
    return "".join(parts)


def save(config_dir, form):
    """Write wifi.json (owner-only) and the name into config.json; returns
    an error text for a bad form, or None."""
    ssid = (form.get("other") or form.get("ssid") or "").strip()
    password = form.get("password") or ""
    name = (form.get("name") or "").strip()
    if not ssid or len(ssid) > 32:
        return "Choose a network (a name of 1 to 32 characters)."
    if password and not 8 <= len(password) <= 63:
        return "A Wi-Fi password has 8 to 63 characters (leave it empty for an open network)."
    if not name or len(name) > 64:
        return "Give the gateway a name of 1 to 64 characters."
    store.write_json(store.join(config_dir, "wifi.json"), {"ssid": ssid, "password": password}, private=True)
    path = store.join(config_dir, "config.json")
    try:
        config = json.loads(store.read_text(path))
    except (OSError, ValueError):
        config = {}
    config["location_name"] = name
    store.write_json(path, config)
    board_boot.clear_failures()
    return None


def dns_answer(query, address):
    """The answer to a DNS query: every name is `address` (IPv4 text); None
    for what is not a standard query with one question."""
    if len(query) < 17 or query[2] & 0xF8 or query[4:6] != b"\x00\x01":
        return None
    end = 12
    while end < len(query) and query[end]:
        end += query[end] + 1
    end += 5  # the zero label, QTYPE, QCLASS
    if end > len(query):
        return None
    ip = bytes(int(n) for n in address.split("."))
    return query[:2] + DNS_FLAGS + b"\x00\x01\x00\x01\x00\x00\x00\x00" + query[12:end] + DNS_ANSWER + ip


async def dns_server(address, port=53):
    """Answer every DNS query on UDP `port` with `address`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(socket.getaddrinfo(address, port)[0][-1])
    s.setblocking(False)
    try:
        while True:
            try:
                query, client = s.recvfrom(512)
            except OSError:  # nothing waiting
                await asyncio.sleep_ms(50)
                continue
            answer = dns_answer(query, address)
            if answer:
                s.sendto(answer, client)
    finally:
        s.close()



def create_app(config_dir, name, networks, home, why=None, log_file=None):
    """The setup app; `home` is the page's URL, where other paths lead."""
    app = Microdot()

    @app.route("/", methods=["GET", "POST"])
    async def setup(request):
        error = None
        if request.method == "POST":
            error = save(config_dir, request.form or {})
            if error is None:
                asyncio.create_task(board_boot.reset_soon())
                return Response("<p>Saved. The gateway restarts and joins the network.</p>",
                                headers={"Content-Type": "text/html; charset=utf-8"})
        body = page(name, networks, why, _tail(store.join(config_dir, CRASH_FILE)) if why else "",
                    _tail(log_file) if why and log_file else "")
        if error:
            body = body.replace("<form", '<p><b>{}</b></p><form'.format(_escape(error)), 1)
        return Response(body, status_code=400 if error else 200,
                        headers={"Content-Type": "text/html; charset=utf-8"})

    @app.route("/<path:path>")
    async def elsewhere(request, path):
        # Phones probe a known address to detect a captive portal: send them here.
        return Response("", status_code=302, headers={"Location": home})

    return app


def serve(config_dir, name, address, port=80, why=None, log_file=None, networks=(), tasks=()):
    """Serve the setup page (and the coroutines `tasks`) until the form is
    saved, which resets the board."""
    async def main():
        for task in tasks:
            asyncio.create_task(task)
        home = "http://{}/".format(address) if port == 80 else "http://{}:{}/".format(address, port)
        app = create_app(config_dir, name, list(networks), home, why, log_file)
        if port == 80:  # a captive portal needs both the page and the names on the standard ports
            asyncio.create_task(dns_server(address))
        _log.warning("setup page on http://{}:{}/".format(address, port))
        await app.start_server(host=address, port=port)

    asyncio.run(main())
