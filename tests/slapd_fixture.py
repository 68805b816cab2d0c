"""A throwaway OpenLDAP ``slapd`` on loopback for the live-directory tests.

``SlapdServer`` writes a ``slapd.conf`` from ``tests/peers/slapd/slapd.conf.in`` with
the small AD schema beside it, loads the entries with ``slapadd`` (fast: 10,000
entries in well under a second, where ``ldapadd`` takes seconds), then runs
``slapd -d 0 -h ldap://127.0.0.1:PORT/ [ldaps://127.0.0.1:PORT2/]`` in the
foreground so its pid is the server's, polls until it answers, and stops it by
pid. With ``tls=True`` it also serves ldaps:// and StartTLS with a certificate
from a throwaway CA (``ca_pem``) made here with ``cryptography``.

slapadd does not run overlays, so entries carry ``memberOf`` as the memberof
overlay would have written it (the test model writes both sides).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PEER = Path(__file__).parent / "peers" / "slapd"
ROOTPW = "rootsecret-Xy9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `host` (IP SAN); returns (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nhiplan test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


class SlapdServer:
    """One slapd process serving `suffix` from `folder`, loaded from `ldif` text."""

    def __init__(self, folder: Path, suffix: str, ldif: str, *, tls: bool = False):
        self.folder = folder
        self.suffix = suffix
        self.rootdn = f"cn=admin,{suffix}"
        self.rootpw = ROOTPW
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.ca_pem: Path | None = None
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "db").mkdir(exist_ok=True)
        tls_conf = ""
        if tls:
            self.ca_pem, cert, key = make_ca(folder / "tls")
            tls_conf = f"TLSCACertificateFile {self.ca_pem}\nTLSCertificateFile {cert}\nTLSCertificateKeyFile {key}"
        conf = ((PEER / "slapd.conf.in").read_text()
                .replace("@SCHEMA@", str(PEER / "ad.schema")).replace("@DIR@", str(folder))
                .replace("@SUFFIX@", suffix).replace("@ROOTDN@", self.rootdn).replace("@ROOTPW@", ROOTPW)
                .replace("@TLS@", tls_conf))
        self.conf = folder / "slapd.conf"
        self.conf.write_text(conf)
        data = folder / "data.ldif"
        data.write_text(ldif, encoding="utf-8")
        subprocess.run(["slapadd", "-q", "-f", str(self.conf), "-l", str(data)], check=True,
                       capture_output=True)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def start(self) -> SlapdServer:
        urls = self.url + "/" + (f" {self.ldaps_url}/" if self.tls_port else "")
        self.process = subprocess.Popen(["slapd", "-d", "0", "-h", urls, "-f", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.process.stderr.read().decode(errors='replace')}")
            probe = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base", "-LLL", "dn"],
                                   capture_output=True)
            if probe.returncode == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("slapd did not answer within 15 s")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, as a crashed DC or a cut link would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
