"""E2B Desktop's SDK, on deskbox: ``from deskbox.e2b_desktop import Sandbox``.

Code written for ``e2b_desktop`` runs with only its import changed. The sandbox is a
deskbox sandbox on the backend named by ``DESKBOX_BACKEND`` (docker by default) or by
``Sandbox.create(backend=...)``; e2b's defaults, return types and exception names are
kept. The names of e2b's that exist only on E2B's cloud (templates, volumes, secrets, its
git and MCP gateway) raise ``UnsupportedException`` naming the member, which is a
``DeskboxError`` like every error here. docs/coming-from-e2b.md lists what differs.
"""

from __future__ import annotations

from typing import Any

from ..backends import SnapshotInfo
from ._commands import CommandHandle, Commands, Pty
from ._errors import (
    AuthenticationException,
    CommandExitException,
    CommandResult,
    FileNotFoundException,
    GuestUnresponsiveException,
    InvalidArgumentException,
    NotEnoughSpaceException,
    NotFoundException,
    RateLimitException,
    SandboxException,
    SandboxNotFoundException,
    SandboxNotRunningException,
    SandboxUnreachableException,
    ServiceBusyException,
    TimeoutException,
    UnsupportedException,
    unsupported,
)
from ._files import Filesystem, WatchHandle
from ._keys import KEYS, map_key
from ._sandbox import Sandbox, SandboxPaginator, set_default_backend
from ._stream import Stream
from ._types import (
    EntryInfo,
    FilesystemEvent,
    FilesystemEventType,
    FileType,
    OutputHandler,
    ProcessInfo,
    PtyOutput,
    PtySize,
    SandboxInfo,
    SandboxState,
    Stderr,
    Stdout,
    Username,
    WriteData,
    WriteInfo,
)

CLOUD_ONLY_NAMES = frozenset(
    {
        # E2B's template builds
        "AsyncTemplate",
        "Template",
        "TemplateBase",
        "TemplateClass",
        "TemplateTag",
        "TemplateTagInfo",
        "TemplateBuildStatus",
        "TemplateBuildStatusResponse",
        "TemplateException",
        "BuildInfo",
        "BuildStatusReason",
        "BuildException",
        "FileUploadException",
        "DockerfileSyntaxError",
        "ReadyCmd",
        "CopyItem",
        "default_build_logger",
        "wait_for_file",
        "wait_for_port",
        "wait_for_process",
        "wait_for_timeout",
        "wait_for_url",
        "LogEntry",
        "LogEntryEnd",
        "LogEntryLevel",
        "LogEntryStart",
        # volumes, secrets, git through envd, the MCP gateway
        "AsyncVolume",
        "Volume",
        "VolumeAndToken",
        "VolumeApiParams",
        "VolumeConnectionConfig",
        "VolumeEntryStat",
        "VolumeFileType",
        "VolumeInfo",
        "VolumeException",
        "VolumeNotFoundException",
        "VolumePathNotFoundException",
        "AsyncSecret",
        "Secret",
        "SecretInfo",
        "SecretPaginator",
        "AsyncSecretPaginator",
        "SecretException",
        "SecretNotFoundException",
        "Git",
        "GitBranches",
        "GitFileStatus",
        "GitResetMode",
        "GitStatus",
        "GitAuthException",
        "GitUpstreamException",
        "GitHubMcpServer",
        "GitHubMcpServerConfig",
        "McpServer",
        # network rules, egress proxies, IAM, lifecycle policies, metrics
        "ALL_TRAFFIC",
        "SandboxNetworkOpts",
        "SandboxNetworkRule",
        "SandboxNetworkRules",
        "SandboxNetworkUpdate",
        "SandboxNetworkInfo",
        "SandboxNetworkRuleInfo",
        "SandboxNetworkSelector",
        "SandboxNetworkSelectorContext",
        "SandboxNetworkTransform",
        "SandboxNetworkTransformContext",
        "SandboxNetworkTransformResolver",
        "SandboxEgressProxyInfo",
        "SandboxEgressProxyOpts",
        "SandboxEgressProxyTLSInfo",
        "SandboxEgressProxyTLSOpts",
        "ProxyTypes",
        "HttpVersion",
        "SandboxIamOpts",
        "SandboxIamToken",
        "SandboxIamTokenType",
        "SandboxLifecycle",
        "SandboxInfoLifecycle",
        "SandboxOnResume",
        "SandboxOnTimeout",
        "SandboxMetrics",
        # E2B's API client, its listing queries and snapshot pages
        "E2B",
        "E2BClientParams",
        "ApiClient",
        "ApiParams",
        "ConnectionConfig",
        "get_signature",
        "SandboxQuery",
        "SandboxListOrder",
        "SnapshotMode",
        "SnapshotPaginator",
        "client",
        "main",
    }
)
"""e2b's public names that exist for E2B's cloud services."""

NOT_BUILT_NAMES = frozenset(
    {
        "AsyncSandbox",
        "AsyncCommandHandle",
        "AsyncCommandInputHandle",
        "AsyncSandboxPaginator",
        "AsyncSnapshotPaginator",
        "AsyncWatchHandle",
        "AsyncWriteData",
    }
)
"""e2b's names for what deskbox has not built yet: e2b's asynchronous client (e2b_desktop's
own Sandbox is synchronous; deskbox's native AsyncSandbox is the asynchronous one)."""


def __getattr__(name: str) -> Any:
    if name in CLOUD_ONLY_NAMES:
        raise unsupported(name, "it belongs to E2B's cloud services")
    if name in NOT_BUILT_NAMES:
        raise unsupported(name, "it is not built yet")
    raise AttributeError(f"module 'deskbox.e2b_desktop' has no attribute {name!r}")


__all__ = [
    "KEYS",
    "AuthenticationException",
    "CommandExitException",
    "CommandHandle",
    "CommandResult",
    "Commands",
    "EntryInfo",
    "FileNotFoundException",
    "FileType",
    "Filesystem",
    "FilesystemEvent",
    "FilesystemEventType",
    "GuestUnresponsiveException",
    "InvalidArgumentException",
    "NotEnoughSpaceException",
    "NotFoundException",
    "OutputHandler",
    "ProcessInfo",
    "Pty",
    "PtyOutput",
    "PtySize",
    "RateLimitException",
    "Sandbox",
    "SandboxException",
    "SandboxInfo",
    "SandboxNotFoundException",
    "SandboxNotRunningException",
    "SandboxPaginator",
    "SandboxState",
    "SandboxUnreachableException",
    "ServiceBusyException",
    "SnapshotInfo",
    "Stderr",
    "Stdout",
    "Stream",
    "TimeoutException",
    "UnsupportedException",
    "Username",
    "WatchHandle",
    "WriteData",
    "WriteInfo",
    "map_key",
    "set_default_backend",
]
