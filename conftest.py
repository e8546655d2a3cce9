"""Test-wide settings: wrong exercise answers raise, so notebooks' solution cells are verified."""

import os

os.environ.setdefault("DATAMODELING_STRICT", "1")
