"""The SDK's shared TLS contexts: built once, and never weaker than httpx's own."""

from __future__ import annotations

import ssl

from deskbox._tls import tls_for


def test_https_sandboxes_are_verified_against_the_ca_bundle() -> None:
    context = tls_for("https://sandbox.example")
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
    assert tls_for("wss://other.example") is context  # one per process, not per client


def test_plain_http_sandboxes_get_a_context_that_refuses_any_tls_peer() -> None:
    context = tls_for("http://127.0.0.1:8000")
    # Still verifying, but trusting no CA: a TLS peer met on the way fails, never passes.
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert tls_for("HTTP://localhost") is context
