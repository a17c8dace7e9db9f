"""ugate: an edge gateway core that runs unchanged on MicroPython and CPython."""

VERSION = "0.1.0"

#: The Home Assistant release whose HTTP APIs ugate speaks; clients read it
#: from /api/config and the WebSocket handshake to pick features.
HA_VERSION = "2025.1.0"

#: The Hono registry in the config directory: its content is the Hono
#: source's (`ugate.sources.hono.registry`), its presence alone turns Hono on
#: (`ugate.config.load`).
HONO_REGISTRY = "hono_registry.json"
