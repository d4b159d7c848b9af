"""``deskbox fly push``: the deskbox image into a Fly app's registry, where its machines
start from (``registry.fly.io/<app>:deskbox``, the fly backend's default image).

With Docker: the local image (``docker compose build`` makes it) is tagged for the app's
registry and pushed with the Fly token as the registry password, printing each layer's
progress. With ``--flyctl``, flyctl builds it on Fly's builders from the Dockerfile and
pushes it (``fly deploy --build-only --push``), for a machine without a Docker engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import AuthenticationError, BackendError

REGISTRY = "registry.fly.io"
LOCAL_IMAGE = "deskbox/desktop:latest"
TAG = "deskbox"


def reference(app: str, tag: str = TAG) -> str:
    return f"{REGISTRY}/{app}:{tag}"


def tag_for_fly(client: Any, app: str, source: str = LOCAL_IMAGE, tag: str = TAG) -> tuple[str, bool]:
    """Tag the local image for the app's registry: the reference it now has, and whether
    that tag is new (False when it was there already, pointing anywhere)."""
    import docker

    try:
        image = client.images.get(source)
    except docker.errors.ImageNotFound:
        raise BackendError(f"no image {source} here: build it first with `docker compose build`") from None
    target = reference(app, tag)
    try:
        client.images.get(target)
        existed = True
    except docker.errors.ImageNotFound:
        existed = False
    image.tag(f"{REGISTRY}/{app}", tag=tag)
    return target, not existed


def push_with_docker(
    app: str, token: str, *, source: str = LOCAL_IMAGE, tag: str = TAG, say: Callable[[str], None] = print
) -> str:
    import docker

    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        raise BackendError(f"no Docker engine to push from ({exc}); try --flyctl") from exc
    try:
        target, _ = tag_for_fly(client, app, source, tag)
        say(f"pushing {source} as {target}")
        # The registry takes any user name with the Fly token as the password.
        auth = {"username": "x", "password": token.removeprefix("FlyV1 ")}
        shown: dict[str, str] = {}
        try:
            for line in client.images.push(
                f"{REGISTRY}/{app}", tag=tag, auth_config=auth, stream=True, decode=True
            ):
                if "error" in line:
                    message = str(line.get("errorDetail", {}).get("message") or line["error"])
                    if "unauthorized" in message or "denied" in message:
                        raise AuthenticationError(f"Fly's registry refused the token: {message}")
                    raise BackendError(f"cannot push to {REGISTRY}: {message}")
                layer, status = str(line.get("id", "")), str(line.get("status", ""))
                if layer and shown.get(layer) != status:  # each layer's changes, not every tick
                    shown[layer] = status
                    say(f"  {layer} {status}")
                elif not layer and status:
                    say(f"  {status}")
        except docker.errors.APIError as exc:
            raise BackendError(f"cannot push to {REGISTRY}: {exc}") from exc
    finally:
        client.close()
    return target


def push_with_flyctl(
    app: str, token: str, repo: Path, *, tag: str = TAG, say: Callable[[str], None] = print
) -> str:
    flyctl = shutil.which("fly") or shutil.which("flyctl")
    if flyctl is None:
        raise BackendError("flyctl is not installed: see https://fly.io/docs/flyctl/install/")
    dockerfile = repo / "images" / "desktop" / "Dockerfile"
    if not dockerfile.is_file():
        raise BackendError(f"{repo} is not a deskbox checkout (no images/desktop/Dockerfile)")
    argv = [flyctl, "deploy", "--build-only", "--push", "--app", app, "--dockerfile", str(dockerfile),
            "--image-label", tag, str(repo)]  # fmt: skip
    say("building on Fly's builders: " + " ".join(argv[1:]))
    process = subprocess.Popen(
        argv,
        env={**os.environ, "FLY_API_TOKEN": token},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        say("  " + line.rstrip())
    if process.wait() != 0:
        raise BackendError(f"flyctl failed with status {process.returncode}")
    return reference(app, tag)
