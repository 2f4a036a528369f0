"""Run results and parameters as people read them: money in pounds, counts as a table, files by
name, nested values as definition lists.

Pure functions over the JSON a job returned (:class:`acas_batch.batch.context.JobResult`) or was
given; the pages render the :class:`Shown` tree they make, the API keeps the raw JSON. What is
money is decided here, once: a key ending ``_pence`` anywhere, and every figure of a result's
``totals`` except byte counts (``bytes``, ``*_bytes``, ``bytes_*``), since jobs total pence there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from acas_batch.analysis.money import format_pounds

#: The keys of a job's result (``JobResult``), in the order a page shows them.
RESULT_KEYS = ("summary", "counts", "totals", "files", "data")


@dataclass(frozen=True)
class Shown:
    """One value ready to show.

    ``kind`` is ``text``, ``number``, ``money`` (``text`` in pounds, ``exact`` in pence), ``bytes``,
    ``empty``, ``map`` (``items``: a definition list), ``table`` (``columns`` and ``rows``),
    ``list`` (``values``) or ``files`` (``values`` of file names).
    """

    kind: str
    text: str = ""
    exact: str = ""
    items: tuple[tuple[str, Shown], ...] = ()
    values: tuple[Shown, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Shown, ...], ...] = ()


def _is_bytes(key: str) -> bool:
    return key == "bytes" or key.endswith("_bytes") or key.startswith("bytes_")


def _label(key: str) -> str:
    """A key as a label: ``total_pence`` is shown in pounds, so it reads ``total``."""
    return key.removesuffix("_pence") or key


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{n:,} bytes"


def money(pence: int) -> Shown:
    """``£1,831.96`` with the exact figure ``183196 pence``."""
    sign = "-" if pence < 0 else ""
    return Shown("money", text=f"{sign}£{format_pounds(abs(pence))}", exact=f"{pence} pence")


def show(value: Any, key: str = "", *, pounds: bool = False) -> Shown:
    """``value`` (JSON) ready to show; ``key`` names it, ``pounds`` says its figures are pence."""
    if value is None or value in ("", [], {}):
        return Shown("empty", text="–")
    if isinstance(value, bool):
        return Shown("text", text="yes" if value else "no")
    if isinstance(value, int):
        if _is_bytes(key):
            return Shown("bytes", text=_size(value), exact=f"{value} bytes")
        if key.endswith("_pence") or pounds:
            return money(value)
        return Shown("number", text=f"{value:,}")
    if isinstance(value, float):
        return Shown("number", text=f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}")
    if isinstance(value, str):
        return Shown("text", text=value)
    if isinstance(value, Mapping):
        return Shown("map", items=tuple((_label(str(k)), show(v, str(k), pounds=pounds)) for k, v in value.items()))
    if isinstance(value, Sequence):
        return _sequence(list(value), key, pounds=pounds)
    return Shown("text", text=str(value))


def _sequence(values: list[Any], key: str, *, pounds: bool) -> Shown:
    if all(isinstance(v, Mapping) for v in values):
        columns: list[str] = []
        for v in values:
            columns.extend(str(k) for k in v if str(k) not in columns)
        rows = tuple(tuple(show(v.get(c), c, pounds=pounds) for c in columns) for v in values)
        return Shown("table", columns=tuple(columns), rows=rows)
    if all(not isinstance(v, Mapping | list) for v in values):
        return Shown("text", text=", ".join(show(v, key, pounds=pounds).text for v in values))
    return Shown("list", values=tuple(show(v, key, pounds=pounds) for v in values))


def _files(paths: Sequence[Any]) -> Shown:
    """File names only: where the server keeps them is not the reader's business."""
    return Shown("files", values=tuple(Shown("text", text=PurePath(str(p)).name) for p in paths))


def readable_result(result: Mapping[str, Any] | None) -> tuple[tuple[str, Shown], ...]:
    """A run's result as (label, value) pairs: the summary, counts as a table, totals in pounds,
    files by name, then the job's own data; keys a result does not usually hold follow as they are."""
    if not result:
        return ()
    out: list[tuple[str, Shown]] = []
    for key in RESULT_KEYS:
        value = result.get(key)
        if value in (None, "", [], {}):
            continue
        if key == "counts" and isinstance(value, Mapping):
            rows = tuple((Shown("text", text=str(k).replace("_", " ")), show(v, str(k))) for k, v in value.items())
            out.append((key, Shown("table", columns=("what", "count"), rows=rows)))
        elif key == "totals" and isinstance(value, Mapping):
            items = tuple(
                (_label(str(k)).replace("_", " "), show(v, str(k), pounds=not _is_bytes(str(k))))
                for k, v in value.items()
            )
            out.append((key, Shown("map", items=items)))
        elif key == "files" and isinstance(value, Sequence) and not isinstance(value, str):
            out.append((key, _files(value)))
        else:
            out.append((key, show(value, key)))
    out.extend((str(k), show(v, str(k))) for k, v in result.items() if k not in RESULT_KEYS)
    return tuple(out)


def readable_params(params: Mapping[str, Any] | None) -> tuple[tuple[str, Shown], ...]:
    """A run's or job's parameters as (name, value) pairs (secrets are masked before this)."""
    return tuple((str(k), show(v, str(k))) for k, v in (params or {}).items())
