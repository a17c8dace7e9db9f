"""TLS on MicroPython: contexts from the PEM (or DER) files Home Assistant
users have. Loaded only by a config that serves HTTPS or forwards over TLS
(`MicroPythonPlatform.ssl_context`, `client_ssl_context`), so a board
without TLS keeps its code out of the heap."""
from ugate.base.validation import ConfigError


def server_context(certfile, keyfile):
    """A server context from the PEM (or DER) files Home Assistant users
    have: Let's Encrypt fullchain.pem + privkey.pem, or self-signed.

    MicroPython's ssl takes DER only, one certificate per call. With
    mbedtls (ESP32, Pico W, unix) each call appends its certificate to
    the chain sent to clients, so the leaf is loaded first and then each
    intermediate; other TLS stacks get the leaf alone."""
    import ssl
    try:
        certs = _der_blocks(_read(certfile), "CERTIFICATE")
        keys = _der_blocks(_read(keyfile), "PRIVATE KEY")
    except (OSError, ValueError) as exc:
        raise ConfigError("cannot load ssl_certificate/ssl_key: {}".format(exc))
    if not certs:
        raise ConfigError("cannot load ssl_certificate {}: no certificate in it".format(certfile))
    if len(keys) != 1:
        raise ConfigError("cannot load ssl_key {}: expected one private key, found {}".format(
            keyfile, len(keys)))
    if not hasattr(ssl, "MBEDTLS_VERSION"):
        certs = certs[:1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        for cert in certs:
            ctx.load_cert_chain(cert, keys[0])
    except Exception as exc:
        raise ConfigError("cannot load ssl_certificate/ssl_key: {!r}".format(exc))
    return ctx


def client_context(verify=True, ca_file=None):
    """TLS for the gateway as a client (forwarders). A board has no CA
    store: verifying needs `ca_file` (PEM or DER; the first certificate
    is the one trusted). MicroPython verifies nothing unless told to."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if not ca_file:
        raise ConfigError("verifying TLS on MicroPython needs ca_file (a board has no CA "
                          "store), or verify_ssl: false")
    try:
        cas = _der_blocks(_read(ca_file), "CERTIFICATE")
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=cas[0])
    except (OSError, ValueError, IndexError) as exc:
        raise ConfigError("cannot load ca_file {}: {!r}".format(ca_file, exc))
    return ctx


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _der_blocks(data, label):
    """The DER bodies of the PEM blocks whose label ends with `label`
    ('PRIVATE KEY' matches 'EC PRIVATE KEY', 'RSA PRIVATE KEY'); a file that
    is not PEM is taken as one DER block. ValueError for encrypted keys and
    broken base64."""
    import binascii
    if not data.lstrip().startswith(b"-----BEGIN "):
        return [data]
    blocks = []
    for chunk in data.split(b"-----BEGIN ")[1:]:
        name, _, rest = chunk.partition(b"-----")
        name = name.decode()
        if name == "ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in rest:
            raise ValueError("the private key is encrypted; store it without a passphrase")
        body = rest.split(b"-----END ", 1)[0]
        if name.endswith(label):
            try:
                blocks.append(binascii.a2b_base64(b"".join(body.split())))
            except Exception:
                raise ValueError("broken base64 in the {} block".format(name))
    return blocks
