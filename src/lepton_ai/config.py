"""Settings read from flags, the environment and a config file.

Order of precedence: CLI flag > environment variable (``LEPTON_*``) > config file
(``$LEPTON_HOME/config.toml`` is not read yet; environment and flags are) > default.
Only ``cli/`` and ``serve/`` read these settings; library code takes explicit arguments.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_PRICE_PER_CORE_HOUR", "DEFAULT_PRICE_PER_GPU_HOUR"]

# On-demand compute-optimised cloud VMs cost about $0.09/h for 2 vCPUs (e.g. AWS c7i.large,
# us-east-1, 2026 list price), so one core-hour is about $0.045.
DEFAULT_PRICE_PER_CORE_HOUR = 0.045
# A single mid-range data-centre GPU VM (e.g. AWS g5.xlarge, one A10G) lists at about $1.01/h.
DEFAULT_PRICE_PER_GPU_HOUR = 1.01


class Settings(BaseSettings):
    """lepton-ai settings; each field can be set with a ``LEPTON_<FIELD>`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="LEPTON_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".lepton")
    # The run store (LEPTON_STORE): a SQLAlchemy URL such as postgresql+psycopg://user@host/db, or a
    # SQLite file's path; unset, <home>/runs.sqlite.
    store: str | None = None
    # The cache every node shares (LEPTON_CACHE): a Redis URL; unset, <home>/cache alone.
    cache: str | None = None
    debug: bool = False
    price_per_core_hour: float = DEFAULT_PRICE_PER_CORE_HOUR
    price_per_gpu_hour: float = DEFAULT_PRICE_PER_GPU_HOUR
    # Bearer token `lepton serve` requires (LEPTON_TOKEN); needed to bind beyond loopback.
    token: str | None = None
