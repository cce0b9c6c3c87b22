"""Which TLS failures end a tenant at once (a certificate that does not verify) and which are
network failures retried like any other (a connection torn down mid-handshake)."""

from __future__ import annotations

import ssl

import requests
import urllib3

from reconciler import errors
from reconciler.partner_center import errors as api_errors


def _wrapped(reason: BaseException) -> requests.exceptions.SSLError:
    """The shape requests raises: SSLError(MaxRetryError(reason=SSLError(<ssl error>)))."""
    inner = urllib3.exceptions.SSLError(reason)
    return requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/x", inner))


def test_a_certificate_that_does_not_verify_is_rejected() -> None:
    bad = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    assert api_errors.certificate_rejected(_wrapped(bad))


def test_a_connection_dropped_during_the_handshake_is_not() -> None:
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    assert not api_errors.certificate_rejected(_wrapped(eof))


def test_the_message_names_host_bundle_and_setting() -> None:
    err = api_errors.tls_failure("de", "api.partnercenter.microsoft.com", "/etc/ca.pem", "X_SRC")
    assert isinstance(err, errors.TlsError) and isinstance(err, errors.ConfigError)
    text = str(err)
    assert (
        "api.partnercenter.microsoft.com did not verify against the CA bundle /etc/ca.pem" in text
    )
    assert "(set by X_SRC)" in text and "RECONCILER_CA_BUNDLE" in text and "'de'" in text
