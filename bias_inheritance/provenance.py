"""What every result carries so a reader can tell where its numbers came from."""

from __future__ import annotations

import platform
from importlib import metadata

TRACKED_PACKAGES = ("bias-inheritance", "lm-eval", "torch", "transformers", "peft", "trl", "datasets")


def package_versions() -> dict[str, str]:
    versions: dict[str, str] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
