"""Server settings, read from DESKBOX_* environment variables."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the control server needs to know about where it runs."""

    model_config = SettingsConfigDict(env_prefix="DESKBOX_", extra="ignore")

    token: SecretStr | None = None
    """Bearer token every request must carry. Generated at start when unset."""
    display: str = Field(default_factory=lambda: os.environ.get("DISPLAY", ":0"))
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    def ensure_token(self) -> tuple[str, bool]:
        """The token, generating one when none was configured; True if it was generated."""
        if self.token is not None and self.token.get_secret_value():
            return self.token.get_secret_value(), False
        generated = secrets.token_urlsafe(24)
        self.token = SecretStr(generated)
        return generated, True


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once; tests override this dependency."""
    return Settings()
