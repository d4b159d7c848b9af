"""How the SDK's requests reach a sandbox.

The SDK speaks the control server's HTTP API and nothing else. Where a sandbox runs our
server, its requests go over HTTP (httpx's own transport, keep-alive). Where a platform
cannot run our server, a transport under the SDK answers the same requests itself:
``e2b_stock`` does it for E2B's stock ``desktop`` template with e2b_desktop commands.
A transport is an ``httpx.AsyncBaseTransport``, so the SDK's one code path (requests,
responses, errors, streams) runs unchanged over every one of them.
"""

from __future__ import annotations

import httpx

Transport = httpx.AsyncBaseTransport

__all__ = ["Transport"]
