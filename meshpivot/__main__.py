"""``python -m meshpivot``: the same as the ``meshpivot`` command."""

from __future__ import annotations

from .cli import console

if __name__ == "__main__":
    console()
