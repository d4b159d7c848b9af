"""Snapshots of docker sandboxes: a container's filesystem committed as an image.

``docker commit`` keeps the container's files (home folder, installed packages, browser
profile) and, unless told otherwise, its config: its token and its creator's environment
would be baked into the image, and its labels would put every container started from it
into its source's scope. So the commit resets both: variables the container added are
blanked, ones it overrode get the base image's value back, and every label but the
snapshot's own is blanked (a label cannot be removed by a commit, only emptied; deskbox
filters by value, so an empty one matches nothing).

A snapshot is scoped like its backend's sandboxes (``deskbox.snapshot.scope``, the
backend's labels as JSON), so two users' snapshots of one name never meet, and records
its source and time. Fork images (``ephemeral``) belong to the forks started from them:
they are removed when the last of those is gone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..errors import BackendError, ConflictError, NotFoundError
from ._base import SnapshotInfo

REPOSITORY = "deskbox/snapshot"
NAME = "deskbox.snapshot"
SOURCE = "deskbox.snapshot.source"
CREATED = "deskbox.snapshot.created"
SCOPE = "deskbox.snapshot.scope"
EPHEMERAL = "deskbox.snapshot.ephemeral"
"""Set on a fork's image: removed with the last sandbox started from it."""
OWN_LABELS = (NAME, SOURCE, CREATED, SCOPE, EPHEMERAL)


def reference(name: str) -> str:
    return f"{REPOSITORY}:{name}"


def scope_of(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def commit(
    client: Any,
    container: Any,
    name: str,
    *,
    scope: Mapping[str, str],
    ephemeral: bool = False,
) -> SnapshotInfo:
    """Commit ``container`` as snapshot ``name``; ConflictError if the name is taken."""
    import docker

    ensure_free(client, name)
    base = client.images.get(container.attrs["Image"])
    base_env = dict(env_pairs(base.attrs["Config"].get("Env") or []))
    env = [
        f"{key}={base_env.get(key, '')}"
        for key, value in env_pairs(container.attrs["Config"].get("Env") or [])
        if base_env.get(key) != value
    ]
    labels = dict.fromkeys((container.labels or {}), "")
    labels.update(
        {
            NAME: name,
            SOURCE: container.name,
            CREATED: f"{time.time():.3f}",
            SCOPE: scope_of(scope),
            EPHEMERAL: "1" if ephemeral else "",
        }
    )
    try:
        # pause=True (the default): the files are taken from a frozen container, not
        # from one that is writing them.
        image = container.commit(
            repository=REPOSITORY, tag=name, conf={"Env": env, "Labels": labels}, pause=True
        )
    except docker.errors.APIError as exc:
        raise BackendError(f"cannot snapshot {container.name}: {exc.explanation or exc}") from exc
    return info_of(client, image)


def ensure_free(client: Any, name: str) -> None:
    """ConflictError if a snapshot of that name exists: one is never overwritten."""
    import docker

    try:
        client.images.get(reference(name))
    except docker.errors.ImageNotFound:
        return
    raise ConflictError(f"a snapshot named {name!r} exists; delete it first or choose another name")


def info_of(client: Any, image: Any) -> SnapshotInfo:
    labels = image.attrs["Config"].get("Labels") or {}
    return SnapshotInfo(
        name=labels.get(NAME, ""),
        source=labels.get(SOURCE, ""),
        created=float(labels.get(CREATED) or 0),
        backend="docker",
        size_bytes=_own_size(client, image),
    )


def _own_size(client: Any, image: Any) -> int:
    """What the commit added: the image's size minus its parent's (the base it ran)."""
    import docker

    total = int(image.attrs.get("Size") or 0)
    parent = image.attrs.get("Parent") or ""
    if not parent:
        return total
    try:
        return max(0, total - int(client.images.get(parent).attrs.get("Size") or 0))
    except docker.errors.ImageNotFound:
        return total


def find(client: Any, name: str, scope: Mapping[str, str]) -> Any:
    """The snapshot's image; NotFoundError if this scope has none of that name."""
    import docker

    try:
        image = client.images.get(reference(name))
    except docker.errors.ImageNotFound:
        raise NotFoundError(f"no snapshot named {name!r}") from None
    labels = image.attrs["Config"].get("Labels") or {}
    if labels.get(NAME) != name or labels.get(SCOPE) != scope_of(scope):
        raise NotFoundError(f"no snapshot named {name!r} for this backend")
    return image


def listed(client: Any, scope: Mapping[str, str], *, ephemeral: bool = False) -> list[Any]:
    filters = {"label": [NAME, f"{SCOPE}={scope_of(scope)}"], "dangling": False}
    images = client.images.list(filters=filters)
    return [i for i in images if bool((i.attrs["Config"].get("Labels") or {}).get(EPHEMERAL)) == ephemeral]


def remove(client: Any, image: Any, users: list[str]) -> None:
    """Remove a snapshot's image; ConflictError naming the sandboxes that still use it."""
    import docker

    if users:
        raise ConflictError(f"the snapshot is in use by {', '.join(sorted(users))}; kill them first")
    try:
        client.images.remove(image.id, noprune=False)
    except docker.errors.ImageNotFound:
        return
    except docker.errors.APIError as exc:
        if exc.status_code == 409:
            raise ConflictError(f"the snapshot is in use: {exc.explanation}") from exc
        raise BackendError(f"cannot delete the snapshot: {exc.explanation or exc}") from exc


def env_pairs(env: list[str]) -> list[tuple[str, str]]:
    """``KEY=value`` items of a Docker config, as pairs."""
    return [(key, value) for key, _, value in (item.partition("=") for item in env)]
