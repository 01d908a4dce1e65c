"""Rollbook's version, as installed (the package metadata), for --version and About."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def app_version() -> str:
    try:
        return version("rollbook")
    except PackageNotFoundError:
        return "0+unknown"
