"""TLS settings for the SDK's HTTP clients, made once per process.

httpx builds a verifying SSL context for every client and transport it makes, loading
the CA bundle each time: 35-45 ms measured, more than a sandbox's whole reset from a
warm pool. The SDK opens a client per sandbox connection (create, connect, resume,
reset), so the context is built once and shared. A sandbox reached over plain HTTP (on
127.0.0.1) needs no CA bundle at all: it gets a context that still verifies but trusts
no one, so a TLS peer it might meet is refused rather than accepted.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def _verifying() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.cache
def _trusting_no_one() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checked, no CA loaded


def tls_for(url: str) -> ssl.SSLContext:
    """The context for a client of ``url``."""
    return _verifying() if url.lower().startswith(("https://", "wss://")) else _trusting_no_one()
