"""Suite-wide settings: property tests are derandomized so every run (and CI) checks the same
examples; a failure found once is reproducible, never a flake."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("ivcrush", derandomize=True, print_blob=True)
settings.load_profile("ivcrush")
