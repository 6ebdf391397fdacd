"""The ledger repository's SQL is literal text (the store binds values only); these checks keep
it in step with the column tuples the parameters are built from."""

from __future__ import annotations

from ivcrush_tui.store.repositories import decisions as repo
from ivcrush_tui.store.repositories import ledger


def test_the_select_lists_every_input_then_outcome_column_in_order() -> None:
    assert (
        ", ".join(repo._DECISION_INPUT_COLS + repo._DECISION_OUTCOME_COLS) == repo._DECISION_SELECT
    )


def test_the_decision_upsert_inserts_the_inputs_and_updates_all_but_the_key() -> None:
    cols = repo._DECISION_INPUT_COLS
    expected = (
        f"INSERT INTO ledger_decisions ({', '.join(cols)})"
        f" VALUES ({', '.join('?' for _ in cols)})"
        " ON CONFLICT (symbol, entry_date, mode) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in cols[3:])
        + " WHERE ledger_decisions.status = 'open'"
        " AND excluded.decided_at >= ledger_decisions.decided_at"
    )
    assert expected == repo._UPSERT_DECISION


def test_the_snapshot_upsert_updates_every_column_but_the_symbol() -> None:
    cols = [c.strip() for c in ledger._LEDGER_COLS.split(",")]
    assert (
        ", ".join(f"{c} = excluded.{c}" for c in cols if c != "symbol") == ledger._SNAPSHOT_UPDATES
    )


def test_the_snapshot_parameters_name_mode_and_minute_where_they_are() -> None:
    cols = [*(c.strip() for c in ledger._LEDGER_COLS.split(",")), "minute"]
    assert cols.index("mode") == ledger._MODE_AT
    assert cols.index("minute") == ledger._MINUTE_AT
