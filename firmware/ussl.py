"""The module umqtt.simple 1.3.4 imports for TLS: MicroPython's `ssl` was
called `ussl` before 1.22. It wraps the socket with the context the
platform made (`client_ssl_context`: the CA, verification on)."""


def wrap_socket(sock, context, server_hostname):
    return context.wrap_socket(sock, server_hostname=server_hostname)
