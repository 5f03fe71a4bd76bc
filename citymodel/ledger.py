"""Every payment as a row: who paid whom, how much (£), when and for what."""

from __future__ import annotations

import numpy as np
import pandas as pd

from citymodel.columns import ColumnTable

KINDS = ("price", "fee", "material", "royalty", "commission", "subsidy", "grant", "training", "machine", "resale",
         "capital", "running")


class Ledger:
    """Double-entry record of money: each row moves ``amount`` (£) from ``payer`` to ``payee``.

    Parties are strings: ``citizen:<id>``, ``facility:<id>``, ``designer:<id>``,
    ``platform``, ``public_budget``, ``import_supplier``, ``machine_supplier``,
    ``training_provider``.
    """

    def __init__(self) -> None:
        self._rows = ColumnTable({"time_min": "f8", "order_id": "i8", "amount": "f8", "kind": "i1"},
                                 categories={"kind": KINDS})
        self._payer: list[str] = []
        self._payee: list[str] = []

    def pay(self, time_min: float, order_id: int, payer: str, payee: str, amount: float, kind: str) -> None:
        """Record one payment of ``amount`` (£)."""
        self._rows.append(time_min=time_min, order_id=order_id, amount=amount, kind=kind)
        self._payer.append(payer)
        self._payee.append(payee)

    def pay_many(self, time_min, order_ids, payers, payee, amounts, kind: str) -> None:
        """Record several payments; ``payers``/``payee`` may be one string or a list."""
        n = len(amounts)
        self._rows.extend(n, time_min=time_min, order_id=order_ids, amount=amounts, kind=kind)
        self._payer.extend(payers if isinstance(payers, list) else [payers] * n)
        self._payee.extend(payee if isinstance(payee, list) else [payee] * n)

    def total(self, payer: str | None = None, kind: str | None = None) -> float:
        """Sum of amounts (£), optionally of one payer and/or kind."""
        amount = self._rows["amount"]
        mask = np.ones(len(amount), dtype=bool)
        if payer is not None:
            mask &= np.asarray(self._payer, dtype=object) == payer
        if kind is not None:
            mask &= self._rows["kind"] == self._rows.code("kind", kind)
        return float(amount[mask].sum())

    def to_frame(self) -> pd.DataFrame:
        """The ledger as a table: time_min, order_id, payer, payee, amount, kind."""
        df = self._rows.to_frame()
        df.insert(2, "payer", pd.Series(self._payer, dtype="string"))
        df.insert(3, "payee", pd.Series(self._payee, dtype="string"))
        return df
