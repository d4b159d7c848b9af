"""A bounded fuzz of the whole API from its own OpenAPI schema (schemathesis): no request
may answer 500, or any 5xx but those the operation documents (never 500).

It runs against a docker sandbox of its own, never the host: random commands, paths and
deletions land in a disposable container as its unprivileged user. Waits and timeouts in
generated bodies are clamped, so a random `sleep` cannot stretch the run.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from deskbox import AsyncSandbox
from tests.e2e.conftest import RUN_LABELS

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 20
REFUSED = 501
"""What a declared refusal answers (an operation this sandbox names and does not offer)."""
STREAMS = {"/shell/stream", "/processes/{process_id}/stream"}
"""Server-sent events that last as long as their command: not fuzzed."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def target(foreign_sandboxes: list[str]) -> AsyncIterator[AsyncSandbox]:
    sbx = await AsyncSandbox.create(backend="docker", labels=RUN_LABELS, timeout=900)
    try:
        yield sbx
    finally:
        await sbx.kill()


WAITS = ("duration", "settle", "timeout", "wait", "max_wait_time", "check_interval")


def clamp(value: Any) -> Any:
    """Generated bodies with their waits bounded: every duration, settle and timeout."""
    if isinstance(value, dict):
        clamped = {key: clamp(item) for key, item in value.items()}
        for key in WAITS:
            if isinstance(clamped.get(key), int | float) and not isinstance(clamped[key], bool):
                clamped[key] = min(clamped[key], 1)
        return clamped
    if isinstance(value, list):
        return [clamp(item) for item in value]
    return value


@pytest.mark.timeout(600)  # over a thousand requests, each of them bounded by its clamped waits
def test_no_request_answers_a_server_error(target: AsyncSandbox) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    headers = {"Authorization": f"Bearer {target.info.token}"}
    document = httpx.get(f"{target.url}/openapi.json", headers=headers, timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    counted = {"requests": 0}

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in itertools.product(operations, schemathesis.GenerationMode):
        if operation.path in STREAMS:
            continue

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode))  # valid inputs, and invalid ones
        def call(case: Any) -> None:
            path, method = case.operation.path, case.method
            if isinstance(case.body, dict):
                case.body = {**_defaulted_waits(document, path, method), **case.body}
            if isinstance(case.body, dict | list):
                case.body = clamp(case.body)
            if isinstance(case.query, dict):
                case.query = clamp(case.query)
            response = case.call(base_url=target.url, headers=headers, timeout=60)
            counted["requests"] += 1
            if response.status_code >= 500 and not _expected(
                response, _documented_server_errors(document, path, method)
            ):
                failures.append(
                    f"{case.method} {case.formatted_path} {response.status_code}: {response.text[:200]}"
                )

        try:
            call()
        except Unsatisfiable:
            continue  # no invalid input exists for an operation without parameters
    assert counted["requests"] > 600
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:20])
    assert asyncio.run(_still_serving(target))


def _defaulted_waits(document: dict[str, Any], path: str, method: str) -> dict[str, float]:
    """The waits an operation's body leaves to a default (open_file waits 60 s for its
    window, as long as the client's own timeout): set, so that clamp bounds them too."""
    operation = document["paths"][path][method.lower()]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = _resolve(document, body.get("schema", {}))
    properties = schema.get("properties", {})
    return {key: 1 for key in WAITS if "default" in properties.get(key, {})}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _documented_server_errors(document: dict[str, Any], path: str, method: str) -> set[int]:
    """The 5xx an operation documents: the display or browser gone for now (the fuzz may end
    the browser itself), a disk that is full, a wait the request asked for that ran out."""
    responses = document["paths"][path][method.lower()].get("responses", {})
    return {int(status) for status in responses if status.isdigit() and int(status) > 500}


def _expected(response: Any, documented: set[int]) -> bool:
    if response.status_code in documented:
        return True
    if response.status_code != REFUSED:
        return False
    try:
        return bool(response.json()["error"]["type"] == "capability_missing")
    except (ValueError, KeyError, TypeError):
        return False


async def _still_serving(target: AsyncSandbox) -> bool:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        return (await http.get(f"{target.url}/health")).status_code in (200, 503)
