"""Sync over HTTPS: `serve --tls-cert/--tls-key`, and a peer entry that names the team's CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.sync.test_serve_mesh import free_port


def issue(tmp: Path) -> tuple[Path, Path, Path]:
    """A team CA and a certificate for 127.0.0.1 signed by it (PEM files)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sunrelay test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_peers_reach_each_other_over_https_with_the_team_ca(tmp_path: Path) -> None:
    ca, cert, key = issue(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("a-secret-for-the-tls-link")
    port = free_port()
    ber_env = {**os.environ, "SUNRELAY_DB": str(tmp_path / "ber.db"), "SUNRELAY_SITE": "BER",
               "SUNRELAY_PEERS": str(tmp_path / "ber-peers.toml"), "XDG_DATA_HOME": str(tmp_path / "x1")}
    jkt_env = {**os.environ, "SUNRELAY_DB": str(tmp_path / "jkt.db"), "SUNRELAY_SITE": "JKT",
               "SUNRELAY_PEERS": str(tmp_path / "jkt-peers.toml"), "XDG_DATA_HOME": str(tmp_path / "x2")}
    assert run(ber_env, "peers", "add", "JKT", "https://127.0.0.1:1", "--key-id", "tls",
               "--secret-file", str(secret)).returncode == 0
    server = subprocess.Popen([sys.executable, "-m", "console", "serve", "--port", str(port),
                               "--no-engine", "--tls-cert", str(cert), "--tls-key", str(key),
                               "--log-level", "error"], env=ber_env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=1,
                          verify=ssl.create_default_context(cafile=str(ca)))
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not come up with TLS"
                time.sleep(0.1)
        url = f"https://127.0.0.1:{port}"
        assert run(jkt_env, "peers", "add", "BER", url, "--key-id", "tls", "--secret-file",
                   str(secret), "--ca-file", str(ca)).returncode == 0
        tested = run(jkt_env, "peers", "test")
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "BER: ok, site BER" in tested.stdout

        run(jkt_env, "peers", "remove", "BER")
        run(jkt_env, "peers", "add", "BER", url, "--key-id", "tls", "--secret-file", str(secret))
        untrusted = run(jkt_env, "peers", "test")  # without the team CA: refused
        assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout
    finally:
        server.terminate()
        server.wait(15)


def test_a_half_tls_configuration_is_refused(tmp_path: Path) -> None:
    _, cert, _ = issue(tmp_path)
    env = {**os.environ, "SUNRELAY_DB": str(tmp_path / "s.db"), "XDG_DATA_HOME": str(tmp_path / "x")}
    done = run(env, "serve", "--port", str(free_port()), "--tls-cert", str(cert))
    assert done.returncode == 1 and "--tls-cert and --tls-key go together" in done.stderr
    done = run(env, "serve", "--port", str(free_port()), "--tls-cert", str(cert), "--tls-key", str(cert))
    assert done.returncode == 1 and "cannot serve HTTPS" in done.stderr
