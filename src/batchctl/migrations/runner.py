"""Alembic, driven from code: the scripts ship inside the package, no alembic.ini needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from batchctl.db import postgres_address

SCRIPT_LOCATION = Path(__file__).resolve().parent


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy spelling of a batchctl database URL (psycopg 3 for PostgreSQL)."""
    address = postgres_address(url)
    return url if address is None else "postgresql+psycopg://" + address


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the shipped migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # ConfigParser treats % as interpolation; URLs may hold %-escaped passwords.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade_to_head(url: str) -> None:
    """Apply every migration that the database at ``url`` has not seen."""
    command.upgrade(alembic_config(url), "head")
