"""The vitals table, the largest of a record by far, encoded once per export and shared by the CSV
and JSON writers (one read, many writers).

A 4-h record holds about 43,000 samples. A dict per sample handed to json.dumps and a tuple per row
handed to csv.writer cost most of an export. Here each column is encoded once in bulk: times and
session minutes by numpy (`records.vitals` does the same), a float as its repr (what json and csv
write for a float), and the few distinct texts of a column once each, through json and csv
themselves; the rows are then joined by interleaving the encoded columns. The text is byte for byte
what `json.dumps` of `records.vitals(...).records()` and `csv.writer` of its rows give (checked by
tests/test_export_bulk_bytes.py); a column holding something unexpected (a value stored as text in a
damaged record) falls back to those encoders.

Thread-safety: a VitalsText is built by one writer thread; after that only its own caches change
(each computed once, the same value whichever thread computes it).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kapmonitor.export.data import SessionData, unit_of
from kapmonitor.export.records import VITALS_COLUMNS, Table
from kapmonitor.export.timefmt import iso_many, minutes_many

log = logging.getLogger(__name__)

_TEXT = {str, type(None)}
_NUMBER = {float, type(None)}


@dataclass
class VitalsText:
    """The vitals columns of one record, with their CSV and JSON text made on first use."""

    time: list[str]  # ISO 8601 with the record's offset (digits, '-', ':', 'T', '.', '+' only)
    minute: list[float]
    parameter: list[str]
    value: list[float | None]
    unit: list[str]
    source: list[str]
    status: list[str]
    measurement_id: list[str | None]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, data: SessionData) -> VitalsText:
        s = data.samples
        units = {p: unit_of(p) for p in set(s.parameter)}
        return cls(
            iso_many(s.t, data.utc_offset_minutes),
            minutes_many(s.t, data.origin),
            s.parameter,
            s.value,
            [units[p] for p in s.parameter],
            s.source,
            s.status,
            s.measurement_id,
        )

    def __len__(self) -> int:
        return len(self.time)

    def _columns(self) -> tuple[Sequence[Any], ...]:
        return (self.time, self.minute, self.parameter, self.value, self.unit, self.source, self.status,
                self.measurement_id)  # fmt: skip

    def table(self) -> Table:
        """The same rows as `records.vitals` (the general path)."""
        return Table("vitals", VITALS_COLUMNS, list(zip(*self._columns(), strict=True)))

    def _bulk(self) -> bool:
        """True when every column holds what the bulk encoders expect (always, for a sound record)."""
        if "bulk" not in self._cache:
            ok = set(map(type, self.minute)) <= {float} and set(map(type, self.value)) <= _NUMBER
            ok = ok and all(math.isfinite(x) for x in self.minute)
            ok = ok and all(x is None or math.isfinite(x) for x in self.value)
            ok = ok and all(set(map(type, c)) <= _TEXT for c in (self.parameter, self.unit, self.source,
                                                                  self.status, self.measurement_id))
            if not ok:
                log.debug("vitals with unexpected cell types: encoded row by row")
            self._cache["bulk"] = ok
        return bool(self._cache["bulk"])

    def _reprs(self) -> tuple[list[str], list[str | None]]:
        """The session minutes and the values as repr, shared by both formats."""
        if "reprs" not in self._cache:
            self._cache["reprs"] = (list(map(float.__repr__, self.minute)),
                                    [None if v is None else float.__repr__(v) for v in self.value])
        reprs: tuple[list[str], list[str | None]] = self._cache["reprs"]
        return reprs

    def csv(self) -> str:
        """The vitals CSV file's text (header included), as `csv_export.table_csv` writes it."""
        if not self._bulk():
            from kapmonitor.export.csv_export import table_csv

            return table_csv(self.table())
        minute, value = self._reprs()
        head = io.StringIO()
        csv.writer(head, lineterminator="\r\n").writerow(VITALS_COLUMNS)
        cols = [self.time, minute, _coded(self.parameter, _csv_cell), ["" if v is None else v for v in value],
                _coded(self.unit, _csv_cell), _coded(self.source, _csv_cell), _coded(self.status, _csv_cell),
                _coded(self.measurement_id, _csv_cell)]  # fmt: skip
        return head.getvalue() + _join_rows(cols, ["", *[","] * (len(cols) - 1), "\r\n"], "")

    def json_array(self) -> str:
        """The JSON export's `samples` array, as json.dumps(..., separators=(",", ":")) writes it."""
        if not self._bulk():
            return json.dumps(self.table().records(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if not len(self):
            return "[]"
        minute, value = self._reprs()
        cols = [self.time, minute, _coded(self.parameter, _json_cell), ["null" if v is None else v for v in value],
                _coded(self.unit, _json_cell), _coded(self.source, _json_cell), _coded(self.status, _json_cell),
                _coded(self.measurement_id, _json_cell)]  # fmt: skip
        keys = [json.dumps(c) for c in VITALS_COLUMNS]
        # the time is quoted here: its characters never need escaping
        seps = ['{' + keys[0] + ':"', '",' + keys[1] + ":"] + ["," + k + ":" for k in keys[2:]] + ["}"]
        return "[" + _join_rows(cols, ["," + seps[0], *seps[1:]], seps[0]) + "]"


def _csv_cell(x: str | None) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow((x, ""))  # two cells: an empty one is never quoted
    return buf.getvalue()[: -len(",\r\n")]


def _json_cell(x: str | None) -> str:
    return json.dumps(x, ensure_ascii=False)


def _coded(column: list[Any], encode: Callable[[Any], str]) -> list[str]:
    """Each distinct text of a column encoded once (a column has a handful: 'hr', 'ok', 'monitor')."""
    codes = {x: encode(x) for x in set(column)}
    return list(map(codes.__getitem__, column))


def _join_rows(cols: list[list[str]], seps: list[str], first: str) -> str:
    """seps[0] col0 seps[1] col1 … col(k-1) seps[k] for every row, joined; the first row starts with
    `first` instead of seps[0]. Interleaved by slice assignment: no Python work per row."""
    n = len(cols[0])
    if not n:
        return ""
    k = 2 * len(cols) + 1
    pieces = [""] * (n * k)
    pieces[0::k] = [seps[0]] * n
    for i, col in enumerate(cols):
        pieces[2 * i + 1 :: k] = col
        pieces[2 * i + 2 :: k] = [seps[i + 1]] * n
    pieces[0] = first
    return "".join(pieces)
