"""A small public-key infrastructure made in the test: root CA -> intermediate -> leaf
(EC P-256, the curve model-signing signs with), written as PEM files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def issue(
        self,
        common_name: str,
        ca: bool = False,
        identity: str | list[str] | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - dt.timedelta(days=30))
            .not_valid_after(not_after or NOW + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(_usage(ca), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
        if identity is not None:
            names: list[x509.GeneralName] = [
                x509.UniformResourceIdentifier(name) if "://" in name else x509.RFC822Name(name)
                for name in ([identity] if isinstance(identity, str) else identity)
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Authority(key, builder.sign(self.key, hashes.SHA256()))

    def write_certificate(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def write_key(self, path: Path) -> Path:
        path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path


def root_authority(common_name: str = "modelreg test root") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=3650))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


@dataclass(frozen=True)
class Publisher:
    """PEM files for `modelreg sign`: key, leaf certificate, intermediate; and the root."""

    key: Path
    certificate: Path
    chain: Path
    root: Path


def publisher_files(
    folder: Path,
    identity: str,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Publisher:
    folder.mkdir(parents=True, exist_ok=True)
    root = root_authority()
    intermediate = root.issue(
        "modelreg test intermediate",
        ca=True,
        not_before=NOW - dt.timedelta(days=3650),
        not_after=NOW + dt.timedelta(days=3650),
    )
    leaf = intermediate.issue(
        "publisher", identity=identity, not_before=not_before, not_after=not_after
    )
    return Publisher(
        leaf.write_key(folder / "leaf.key"),
        leaf.write_certificate(folder / "leaf.pem"),
        intermediate.write_certificate(folder / "intermediate.pem"),
        root.write_certificate(folder / "root.pem"),
    )
