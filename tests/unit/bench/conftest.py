"""The bench's helpers are tested from the repository root, where `bench` lives."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
