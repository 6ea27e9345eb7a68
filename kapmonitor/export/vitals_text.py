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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kapmonitor.export.data import SessionData, unit_of
from kapmonitor.export.records import VITALS_COLUMNS, WAVE_COLUMNS, Table, wave_table
from kapmonitor.export.timefmt import local_iso_many, minutes_many, offset_suffix

log = logging.getLogger(__name__)

_TEXT = {str, type(None)}
_NUMBER = {float, type(None)}


@dataclass
class VitalsText:
    """The vitals columns of one record, with their CSV and JSON text made on first use."""

    time: list[str]  # ISO 8601 local time without the offset: digits, '-', ':', 'T', '.' only
    suffix: str  # the record's offset, '+01:00'
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
            local_iso_many(s.t, data.utc_offset_minutes),
            offset_suffix(data.utc_offset_minutes),
            minutes_many(s.t, data.origin),
            s.parameter,
            s.value,
            list(map(units.__getitem__, s.parameter)),
            s.source,
            s.status,
            s.measurement_id,
        )

    def __len__(self) -> int:
        return len(self.time)

    def table(self) -> Table:
        """The same rows as `records.vitals` (the general path)."""
        time = [x + self.suffix for x in self.time]
        return Table("vitals", VITALS_COLUMNS, list(zip(time, self.minute, self.parameter, self.value, self.unit,
                                                        self.source, self.status, self.measurement_id, strict=True)))

    def _texts(self) -> list[list[str | None]]:
        return [self.parameter, self.unit, self.source, self.status, self.measurement_id]  # type: ignore[list-item]

    def _bulk(self) -> bool:
        """True when every column holds what the bulk encoders expect (always, for a sound record)."""
        if "bulk" not in self._cache:
            ok = set(map(type, self.minute)) <= {float} and set(map(type, self.value)) <= _NUMBER
            # None becomes NaN here; a value that is not finite is never written as a number
            ok = ok and bool(np.isfinite(np.asarray(self.minute, dtype=np.float64)).all())
            values = np.asarray(self.value, dtype=np.float64)
            ok = ok and not np.isinf(values).any() and int(np.isnan(values).sum()) == self.value.count(None)
            ok = ok and all(set(map(type, c)) <= _TEXT for c in self._texts())
            if not ok:
                log.debug("vitals with unexpected cell types: encoded row by row")
            self._cache["bulk"] = ok
        return bool(self._cache["bulk"])

    def _reprs(self) -> tuple[list[str], list[str], list[int]]:
        """The session minutes and the values as repr (what csv and json write for a float), and
        where a value is missing; shared by both formats."""
        if "reprs" not in self._cache:
            values = np.asarray(self.value, dtype=np.float64)
            self._cache["reprs"] = (list(map(float.__repr__, self.minute)), list(map(float.__repr__, values.tolist())),
                                    np.flatnonzero(np.isnan(values)).tolist())  # fmt: skip
        reprs: tuple[list[str], list[str], list[int]] = self._cache["reprs"]
        return reprs

    def _value_column(self, missing_text: str) -> list[str]:
        _, value, missing = self._reprs()
        if not missing:
            return value
        out = list(value)
        for i in missing:
            out[i] = missing_text
        return out

    def csv(self) -> str:
        """The vitals CSV file's text (header included), as `csv_export.table_csv` writes it."""
        if not self._bulk():
            from kapmonitor.export.csv_export import table_csv

            return table_csv(self.table())
        head = io.StringIO()
        csv.writer(head, lineterminator="\r\n").writerow(VITALS_COLUMNS)
        minute, _, _ = self._reprs()
        cols: list[tuple[str, list[str], str]] = [("", self.time, self.suffix), ("", minute, "")]
        texts = [_encoded(c, _csv_cell, "", "") for c in self._texts()]
        cols += [texts[0], ("", self._value_column(""), ""), *texts[1:]]
        return head.getvalue() + _join_rows(cols, ["", *[","] * (len(cols) - 1)], "\r\n", "", "")

    def json_array(self) -> str:
        """The JSON export's `samples` array, as json.dumps(..., separators=(",", ":")) writes it."""
        if not self._bulk():
            return json.dumps(self.table().records(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if not len(self):
            return "[]"
        minute, _, _ = self._reprs()
        # the time is quoted here: its characters never need escaping
        cols: list[tuple[str, list[str], str]] = [('"', self.time, self.suffix + '"'), ("", minute, "")]
        texts = [_encoded(c, _json_cell, '"', '"') for c in self._texts()]
        cols += [texts[0], ("", self._value_column("null"), ""), *texts[1:]]
        labels = [("," if i else "") + json.dumps(c) + ":" for i, c in enumerate(VITALS_COLUMNS)]
        return "[" + _join_rows(cols, labels, "}", ",{", "{") + "]"


def waves_csv(data: SessionData) -> str:
    """The waves CSV file's text (one row per sample, --waves), as `table_csv(records.wave_table(data))`
    writes it: the same numbers, encoded a column at a time (a 4-h pleth is 1.4 million rows)."""
    from kapmonitor.export.csv_export import table_csv

    if not data.waves or not all(type(w["t0"]) is float and type(w["rate_hz"]) is float for w in data.waves):
        return table_csv(wave_table(data))
    chunks = [np.frombuffer(w["data"], dtype="<f4").astype(np.float64) for w in data.waves]
    lengths = [len(c) for c in chunks]
    values = np.round(np.concatenate(chunks), 6)
    t = np.concatenate(
        [float(w["t0"]) + np.arange(n) / float(w["rate_hz"]) for w, n in zip(data.waves, lengths, strict=True)]
    )
    time = local_iso_many(t, data.utc_offset_minutes)
    minute = list(map(float.__repr__, minutes_many(t, data.origin)))
    value = list(map(float.__repr__, values.tolist()))
    for i in np.flatnonzero(np.isnan(values)).tolist():
        value[i] = ""
    codes: dict[tuple[type, Any], str] = {}

    def per_chunk(key: str) -> list[str]:
        out: list[str] = []
        for w, n in zip(data.waves, lengths, strict=True):
            x = w[key]
            code = codes.get((type(x), x))
            if code is None:
                code = codes[(type(x), x)] = _csv_cell(x)
            out += [code] * n
        return out

    head = io.StringIO()
    csv.writer(head, lineterminator="\r\n").writerow(WAVE_COLUMNS)
    cols: list[tuple[str, list[str], str]] = [
        ("", time, offset_suffix(data.utc_offset_minutes)), ("", minute, ""), ("", per_chunk("parameter"), ""),
        ("", per_chunk("rate_hz"), ""), ("", value, ""), ("", per_chunk("source"), ""),
    ]  # fmt: skip
    return head.getvalue() + _join_rows(cols, ["", *[","] * (len(cols) - 1)], "\r\n", "", "")


def _csv_cell(x: str | None) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow((x, ""))  # two cells: an empty one is never quoted
    return buf.getvalue()[: -len(",\r\n")]


def _json_cell(x: str | None) -> str:
    return json.dumps(x, ensure_ascii=False)


def _encoded(
    column: list[Any], encode: Callable[[Any], str], pre: str, post: str
) -> tuple[str, list[str], str]:
    """A text column as (text before each cell, cells, text after each cell). When every distinct
    text (a column has a handful: 'hr', 'ok', 'monitor') encodes as itself between `pre` and `post`,
    the column is used as it is; otherwise each distinct text is encoded once and looked up."""
    codes = {x: encode(x) for x in set(column)}
    if all(x is not None and code == pre + x + post for x, code in codes.items()):
        return pre, column, post
    return "", list(map(codes.__getitem__, column)), ""


def _join_rows(cols: list[tuple[str, list[str], str]], labels: list[str], end: str, lead: str, first: str) -> str:
    """Every row as `lead`, then per column its label, the text before, the cell and the text after,
    then `end`; the first row starts with `first` instead of `lead`. Interleaved by slice assignment:
    no Python work per row."""
    n = len(cols[0][1])
    if not n:
        return ""
    seps = [labels[0] + cols[0][0]]
    seps += [cols[i - 1][2] + labels[i] + cols[i][0] for i in range(1, len(cols))]
    seps.append(cols[-1][2] + end)
    k = 2 * len(cols) + 1
    pieces = [""] * (n * k)
    pieces[0::k] = [lead + seps[0]] * n
    for i, (_, col, _) in enumerate(cols):
        pieces[2 * i + 1 :: k] = col
        pieces[2 * i + 2 :: k] = [seps[i + 1]] * n
    pieces[0] = first + seps[0]
    return "".join(pieces)
