"""A real OpenID provider for the tests: tests/peers/oidc/server.mjs (oidc-provider 9) on loopback.

`start_oidc_provider` makes a throwaway CA and a leaf certificate for 127.0.0.1, starts the
node server with the scopes the test needs, and returns the issuer, the CA file and a
requests session that trusts it (whatever REQUESTS_CA_BUNDLE says).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import selectors
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent / "oidc"
SERVER = HERE / "server.mjs"


@dataclass
class OidcProvider:
    issuer: str
    ca_file: Path
    process: subprocess.Popen

    def session(self) -> requests.Session:
        s = requests.Session()
        s.verify = str(self.ca_file)
        s.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
        return s

    def discovery(self) -> dict:
        return self.session().get(self.issuer + "/.well-known/openid-configuration", timeout=5).json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _write_pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def make_ca_and_leaf(workdir: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, leaf.pem, leaf.key) for 127.0.0.1, valid for a day."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nhiplan test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (_write_pem(workdir / "ca.pem", ca.public_bytes(pem)),
            _write_pem(workdir / "leaf.pem", leaf.public_bytes(pem)),
            _write_pem(workdir / "leaf.key", leaf_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())))


def start_oidc_provider(workdir: Path, scopes: list[str], path: str = "/tenant") -> OidcProvider:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError("the OpenID provider peer is not installed: run scripts/setup.d/oidc.sh "
                           "(node and npm ci in tests/peers/oidc)")
    workdir.mkdir(parents=True, exist_ok=True)
    ca, leaf, key = make_ca_and_leaf(workdir)
    config = workdir / "oidc.json"
    config.write_text(json.dumps({"cert": str(leaf), "key": str(key), "scopes": sorted(set(scopes)), "path": path}))
    log = (workdir / "oidc.log").open("wb")
    proc = subprocess.Popen([node, str(SERVER), str(config)], stdout=subprocess.PIPE, stderr=log, cwd=HERE)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 20
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        if not sel.select(timeout=0.2):
            if proc.poll() is not None:
                break
            continue
        chunk = proc.stdout.read1(256)
        if not chunk:
            break
        line += chunk
    sel.close()
    if not line.startswith(b"LISTENING "):
        proc.kill()
        proc.wait()
        raise RuntimeError(f"oidc-provider did not start: {(workdir / 'oidc.log').read_text(errors='replace')[-2000:]}")
    port = int(line.split()[1])
    return OidcProvider(issuer=f"https://127.0.0.1:{port}{path}", ca_file=ca, process=proc)
