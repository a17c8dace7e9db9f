"""The Home Assistant face: Home Assistant's REST, SSE and WebSocket APIs over
the hub, one module per route set (ha-api.md)."""
