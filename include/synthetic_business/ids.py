"""Customer, subscription and contact ids, formatted once; every table looks them up by index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .arrow_out import id_strings, id_width


@dataclass(frozen=True)
class Ids:
    """``cus_000042``, ``sub_000042`` and ``con_000042`` for index 41 (ids count from 1)."""

    customer: pa.StringArray
    subscription: pa.StringArray
    contact: pa.StringArray

    @classmethod
    def build(cls, customers: int, contacts: int) -> Ids:
        customer_numbers = np.arange(1, customers + 1)
        return cls(
            customer=id_strings("cus_", customer_numbers, id_width(customers)),
            subscription=id_strings("sub_", customer_numbers, id_width(customers)),
            contact=id_strings("con_", np.arange(1, contacts + 1), id_width(contacts)),
        )


def lookup(ids: pa.StringArray, index: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """``ids[index]``; rows where ``null`` is true become null."""
    return ids.take(pa.array(np.asarray(index, dtype=np.int64), mask=null))
