"""The control server: FastAPI routes over the desktop driver."""

from .app import create_app
from .settings import Settings, get_settings

__all__ = ["Settings", "create_app", "get_settings"]
