"""The HTTP layer: a Microdot application with ugate's limits and a stack of
small request layers (forwarded, ban, cors, headers), one concern each."""
