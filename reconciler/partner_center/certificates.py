"""Certificate credentials: read the PEM of a tenant and find its SHA-1 thumbprint (``x5t``).

This module must NOT log or show key material; errors name the file and the variable to set.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from reconciler import errors, settings
from reconciler.partner_center import config


def read_certificate(creds: config.TenantCredentials) -> str:
    """The PEM text (private key, usually followed by the certificate) of a tenant."""
    path = Path(creds.certificate_path or "").expanduser()
    try:
        pem = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigError(
            f"The certificate of tenant '{creds.name}' cannot be read from {path}: "
            f"{exc.strerror}. Set {settings.tenant_env(creds.name, settings.SUFFIX_CERTIFICATE)}"
            " to a PEM file holding the private key and the certificate."
        ) from None
    if "PRIVATE KEY-----" not in pem:
        raise errors.ConfigError(
            f"The certificate file {path} of tenant '{creds.name}' holds no PEM private key; "
            "it must hold the private key and the certificate, in PEM."
        )
    return pem


def certificate_thumbprint(creds: config.TenantCredentials, pem: str) -> str:
    """The configured SHA-1 thumbprint, or the one computed from the PEM's certificate."""
    if creds.certificate_thumbprint:
        return creds.certificate_thumbprint.replace(":", "").strip().upper()
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    start = pem.find("-----BEGIN CERTIFICATE-----")
    if start < 0:
        raise errors.ConfigError(
            f"Tenant '{creds.name}': the certificate file has no certificate to compute a "
            "thumbprint from; set "
            f"{settings.tenant_env(creds.name, settings.SUFFIX_CERTIFICATE_THUMBPRINT)}."
        )
    cert = x509.load_pem_x509_certificate(pem[start:].encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - x5t is SHA-1 by definition
