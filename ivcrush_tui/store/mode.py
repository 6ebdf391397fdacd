"""Which market a database file belongs to: stamped by its first opener, checked by every later one.

Why: demo and live each have a file (config.Settings.database_path), but two configurations can
still name the same file for different modes (one's live `storage.path` being another's demo file,
or a file copied by hand). The stamp makes a live run refuse a demo file, and the reverse, instead
of reading the other market's data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ivcrush_tui.domain import ErrorCode, IvCrushError

if TYPE_CHECKING:
    from ivcrush_tui.store.db import Transaction

StoreMode = Literal["live", "demo"]
MODES: tuple[StoreMode, ...] = ("live", "demo")


async def claim_mode(tx: Transaction, mode: StoreMode, *, now_iso: str, path: Path) -> None:
    """Stamp the file with `mode` if it has none; IvCrushError(STORAGE) if it has the other."""
    if mode not in MODES:
        raise ValueError(f"store mode must be live|demo: {mode!r}")
    row = await tx.fetchone("SELECT mode FROM store_mode WHERE id = 1")
    if row is None:
        await tx.execute(
            "INSERT INTO store_mode (id, mode, claimed_at) VALUES (1, ?, ?)", (mode, now_iso)
        )
        return
    if row[0] != mode:
        raise IvCrushError(
            ErrorCode.STORAGE,
            f"{path} is the {row[0]} market's database; {mode} mode never opens it "
            "(demo and live never mix): check [storage] path — the demo uses its own file, "
            "see docs/DEPLOYMENT.md",
        )
