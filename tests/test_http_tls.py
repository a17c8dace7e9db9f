"""HTTPS from `ssl_certificate` / `ssl_key` PEM files as Home Assistant users
have them, on both runtimes, checked by a client that trusts only a
throwaway CA (trustme)."""
import datetime
import ipaddress
import socket
import ssl

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def write(path, data):
    path.write_bytes(data)
    return str(path)


def pkcs8(key_pem):
    key = serialization.load_pem_private_key(key_pem, None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def trusting(ca_file):
    return ssl.create_default_context(cafile=ca_file)


def https_config(cert, key):
    return {"ssl_certificate": cert, "ssl_key": key}


def test_lets_encrypt_style_full_chain(start_gateway, tmp_path):
    """fullchain.pem = leaf + intermediate, privkey.pem = PKCS#8. The client
    knows only the root, so the gateway must send the intermediate."""
    ca = trustme.CA()
    leaf = ca.create_child_ca().issue_cert("127.0.0.1", "localhost")
    cert = write(tmp_path / "fullchain.pem", b"".join(p.bytes() for p in leaf.cert_chain_pems))
    key = write(tmp_path / "privkey.pem", pkcs8(leaf.private_key_pem.bytes()))
    root = write(tmp_path / "root.pem", ca.cert_pem.bytes())
    gw = start_gateway(https_config(cert, key), scheme="https", verify=trusting(root))
    r = gw.get("/api/")
    assert r.status_code == 200 and r.json() == {"message": "API running."}
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert gw.get("/api/", token=False).status_code == 401


def test_rsa_key_signed_directly_by_the_ca(start_gateway, tmp_path):
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)
    assert b"BEGIN RSA PRIVATE KEY" in leaf.private_key_pem.bytes()
    cert = write(tmp_path / "cert.pem", leaf.cert_chain_pems[0].bytes())
    key = write(tmp_path / "key.pem", leaf.private_key_pem.bytes())
    root = write(tmp_path / "root.pem", ca.cert_pem.bytes())
    gw = start_gateway(https_config(cert, key), scheme="https", verify=trusting(root))
    assert gw.post("/api/states/sensor.tls", json={"state": "1"}).status_code == 201


def self_signed(tmp_path):
    """What `openssl req -x509 -newkey rsa -nodes -addext subjectAltName=IP:...`
    makes, as Home Assistant's self-signed certificate guide has users do."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ugate.local")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = write(tmp_path / "fullchain.pem", cert.public_bytes(serialization.Encoding.PEM))
    key_path = write(tmp_path / "privkey.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


def test_self_signed_certificate(start_gateway, tmp_path):
    cert, key = self_signed(tmp_path)
    gw = start_gateway(https_config(cert, key), scheme="https", verify=trusting(cert))
    assert gw.get("/api/").status_code == 200


def test_plain_http_or_a_broken_handshake_does_not_stop_the_gateway(start_gateway, tmp_path):
    cert, key = self_signed(tmp_path)
    gw = start_gateway(https_config(cert, key), scheme="https", verify=trusting(cert))
    for junk in (b"GET /api/ HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x00\x05hello"):
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
            s.sendall(junk)
            try:
                s.recv(1024)
            except OSError:
                pass
    # A client that does not trust the certificate is refused by its own TLS.
    with pytest.raises(ssl.SSLError):
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
            ssl.create_default_context().wrap_socket(s, server_hostname="127.0.0.1")
    assert gw.get("/api/").status_code == 200


@pytest.mark.parametrize("problem", ["encrypted", "missing", "not-pem", "swapped"])
def test_unusable_certificate_files_stop_the_start_with_a_clear_error(start_gateway, tmp_path,
                                                                        problem):
    cert, key = self_signed(tmp_path)
    if problem == "encrypted":
        k = serialization.load_pem_private_key(open(key, "rb").read(), None)
        key = write(tmp_path / "encrypted.pem", k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret")))
        expected = "encrypted"
    elif problem == "missing":
        cert = str(tmp_path / "nothing.pem")
        expected = "cannot load ssl_certificate"
    elif problem == "not-pem":
        cert = write(tmp_path / "junk.pem", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
        expected = "cannot load ssl_certificate"
    else:
        cert, key = key, cert
        expected = "cannot load ssl_"
    with pytest.raises(RuntimeError) as info:
        start_gateway(https_config(cert, key), scheme="https", verify=False)
    assert "gateway exited with 2" in str(info.value)
    assert "error: " in str(info.value) and expected in str(info.value)
