"""Server settings, read from DESKBOX_* environment variables."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the control server needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="DESKBOX_", extra="ignore")

    token: SecretStr | None = None
    """Bearer token every request must carry. Generated at start when unset."""
    token_file: Path | None = None
    """Read the token from this file instead, re-reading it when it changes (for sandboxes
    started from a snapshot, whose token is written after they start)."""
    display: str = Field(default_factory=lambda: os.environ.get("DISPLAY", ":0"))
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    status_file: Path | None = None
    """The supervisor's status JSON; /health reports its components when set."""
    viewer_upstream: str | None = None
    """websockify's URL, e.g. ws://127.0.0.1:6080/websockify; no viewer when unset."""
    cdp_url: str | None = None
    """Chromium's DevTools HTTP URL, e.g. http://127.0.0.1:9222; no /cdp when unset."""
    novnc_dir: Path | None = Field(default_factory=lambda: _find_novnc())
    fly_machine_id: str | None = Field(
        default=None, validation_alias=AliasChoices("FLY_MACHINE_ID", "DESKBOX_FLY_MACHINE_ID")
    )
    """The Fly machine this server runs on (Fly sets FLY_MACHINE_ID): requests naming
    another machine are replayed there (see instance_routing)."""
    trace: bool = False
    """Trace every request from the start (DESKBOX_TRACE=1), as ``POST /trace/start`` does."""

    def ensure_token(self) -> tuple[str, bool]:
        """The token, generating one when none was configured; True if it was generated."""
        if self.token is not None and self.token.get_secret_value():
            return self.token.get_secret_value(), False
        generated = secrets.token_urlsafe(24)
        self.token = SecretStr(generated)
        return generated, True


def _find_novnc() -> Path | None:
    for folder in ("/usr/share/novnc", "/usr/local/share/novnc", "/opt/novnc"):
        if (Path(folder) / "vnc.html").is_file():
            return Path(folder)
    return None


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once; tests override this dependency."""
    return Settings()
