"""Ready configs shipped with the package; ``default.yaml`` is what a bare ``fathom run`` runs."""

from pathlib import Path

DIRECTORY = Path(__file__).parent
DEFAULT = DIRECTORY / "default.yaml"
