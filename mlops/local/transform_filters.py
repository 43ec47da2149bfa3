"""A batch transform's ``DataProcessing`` (InputFilter, JoinSource, OutputFilter), applied the
way SageMaker applies it (Developer Guide, "Associate Prediction Results with Input Records").

- ``text/csv``: each line is a record, read as RFC 4180 and taken as a JSON array of its fields,
  so only index filters apply. ``application/json``, ``application/jsonlines``: each line is a
  JSON value.
- InputFilter picks what the model sees. With JoinSource ``Input`` the ORIGINAL record is joined
  with the model's output: CSV appends the output columns; a JSON object gets the output under
  ``SageMakerOutput``, any other JSON value becomes ``{"SageMakerInput": ..,
  "SageMakerOutput": ..}``. OutputFilter then picks from the joined record (from the model's
  output when JoinSource is ``None``).
- JSONPath: ``$``, ``.name``, ``['name']``, ``['a','b']``, ``[i]``, ``[i,j,..]``, ``[i:j]`` and
  ``[i,j:]`` (negative and open ends), ``.*`` and ``[*]``. As documented by AWS, a slice
  INCLUDES its end (``$[1:4]`` is the second through fifth columns), a bracket holds at most one
  range (SageMaker rejects ``$[0:2,246:]``), an expression is at most 63 characters, and names
  are letters, digits, ``-`` and spaces (SageMaker rejects ``_``). A step that selects several
  values must be the last one.
- Scores are written as the built-in XGBoost container writes them in a batch transform:
  ``"\\n".join(map(str, preds.tolist()))``, i.e. the float32 prediction widened to a Python
  float and printed with ``str`` (0.1 is written ``0.10000000149011612``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops.errors import UsageError

CSV = "text/csv"
JSON_TYPES = ("application/json", "application/jsonlines")
MAX_LENGTH = 63  # CreateTransformJob's limit on InputFilter and OutputFilter
_ALLOWED = frozenset(string.ascii_letters + string.digits + "$[]*.,:'- ")
_STEP = re.compile(r"\.(?P<name>[A-Za-z0-9-]+)|\.(?P<star>\*)|\.?\[(?P<bracket>[^\[\]]*)\]")
_NAME = re.compile(r"\s*'(?P<name>[A-Za-z0-9 -]+)'\s*")
_INDEX = re.compile(r"\s*(?P<start>-?\d+)?\s*(?P<colon>:)?\s*(?P<end>-?\d+)?\s*")

Predict = Callable[[list[list[float]]], list[list[float]] | list[float]]


class TransformFilterError(UsageError):
    """A record does not fit the job's DataProcessing; the message names the filter and record."""


class UnsupportedFilter(TransformFilterError):
    """A DataProcessing value SageMaker (or this interpreter) does not accept."""


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Keys:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    index: int


@dataclass(frozen=True)
class Pick:
    """Indices and at most one inclusive range (start, end), in the order written."""

    items: tuple[int | tuple[int | None, int | None], ...]


@dataclass(frozen=True)
class Wildcard:
    pass


Step = Key | Keys | Index | Pick | Wildcard


@dataclass(frozen=True)
class Filter:
    """A parsed JSONPath filter."""

    expression: str
    steps: tuple[Step, ...]

    def apply(self, record: Any) -> Any:
        """The part of ``record`` the expression selects; ValueError when it is not there."""
        for step in self.steps:
            record = _select(step, record)
        return record


def parse_filter(expression: str | None) -> Filter:
    """Parse an InputFilter/OutputFilter; UnsupportedFilter names the expression otherwise.
    An empty or missing expression is ``$`` (the whole record)."""
    text = (expression or "$").strip()
    problem = _problem(text)
    if problem:
        raise UnsupportedFilter(f"JSONPath {expression!r}: {problem}")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise UnsupportedFilter(f"JSONPath {expression!r}: cannot read {text[position:]!r}")
        if steps and isinstance(steps[-1], Keys | Pick | Wildcard):
            raise UnsupportedFilter(f"JSONPath {expression!r}: a step that selects several values "
                                    "must be the last one")
        try:
            steps.append(_step(match))
        except ValueError as exc:
            raise UnsupportedFilter(f"JSONPath {expression!r}: {exc}") from None
        position = match.end()
    return Filter(text, tuple(steps))


def input_records(text: str, content_type: str) -> list[Any]:
    """The records of one input file as the filters see them: CSV lines as lists of fields,
    JSON lines as values (``application/json`` holding one document is one record)."""
    kind = _content_type(content_type)
    if kind == "application/json":
        try:
            return [json.loads(text)]
        except json.JSONDecodeError:
            pass
    return [_record(line, kind, number) for number, line in _lines(text.splitlines())]


def transform_lines(lines: Iterable[str], content_type: str, data_processing: Mapping[str, Any] | None,
                    predict: Predict) -> list[str]:
    """The output lines of a batch transform of ``lines`` (SplitType Line, AssembleWith Line):
    InputFilter, one ``predict`` call on all filtered rows, JoinSource, OutputFilter."""
    kind = _content_type(content_type)
    input_filter, join, output_filter = _data_processing(data_processing or {})
    numbered = [(number, _record(line, kind, number)) for number, line in _lines(lines)]
    rows = [_features(input_filter, record, number) for number, record in numbered]
    outputs = _predictions(predict, rows) if rows else []
    written = []
    for (number, record), output in zip(numbered, outputs, strict=True):
        joined = _join(record, output, kind) if join else (_fields(output) if kind == CSV else output)
        try:
            selected = output_filter.apply(joined)
        except ValueError as exc:
            raise TransformFilterError(f"OutputFilter {output_filter.expression!r} on record {number}: "
                                       f"{exc}") from None
        written.append(_csv_line(selected) if kind == CSV else json.dumps(selected, separators=(",", ":")))
    return written


def _problem(text: str) -> str | None:
    if len(text) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    if not text.startswith("$"):
        return "must start with '$'"
    bad = next((c for c in text if c not in _ALLOWED), None)
    if bad is not None:
        return f"unexpected {bad!r} (SageMaker accepts letters, digits and $ [ ] * . , : - ' space)"
    return None


def _step(match: re.Match[str]) -> Step:
    if match["name"] is not None:
        return Key(match["name"])
    if match["star"] is not None:
        return Wildcard()
    inside = match["bracket"].strip()
    if inside == "*":
        return Wildcard()
    parts = inside.split(",")
    if inside.startswith("'"):
        names = [_NAME.fullmatch(part) for part in parts]
        if not all(names):
            raise ValueError(f"[{inside}] is not a list of quoted names")
        found = tuple(n["name"] for n in names if n)
        return Key(found[0]) if len(found) == 1 else Keys(found)
    items: list[int | tuple[int | None, int | None]] = []
    for part in parts:
        index = _INDEX.fullmatch(part)
        if index is None or (index["colon"] is None and index["start"] is None):
            raise ValueError(f"[{inside}] is not a list of indices or a range")
        if index["colon"] is None:
            items.append(int(index["start"]))
        else:
            items.append((_int(index["start"]), _int(index["end"])))
    if sum(isinstance(i, tuple) for i in items) > 1:
        raise ValueError("only one range is supported in a bracket (e.g. [0,5:])")
    only = items[0]
    return Index(only) if len(items) == 1 and isinstance(only, int) else Pick(tuple(items))


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _select(step: Step, value: Any) -> Any:
    if isinstance(step, Key | Keys):
        if not isinstance(value, Mapping):
            raise ValueError(f"{_kind(value)} has no attributes (CSV records take index filters)")
        names = (step.name,) if isinstance(step, Key) else step.names
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"no attribute {missing[0]!r}")
        return value[step.name] if isinstance(step, Key) else {n: value[n] for n in names}
    if isinstance(step, Wildcard):
        if isinstance(value, Mapping):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        raise ValueError(f"{_kind(value)} has no elements")
    if not isinstance(value, list):
        raise ValueError(f"{_kind(value)} has no elements to index")
    if isinstance(step, Index):
        return value[_position(step.index, len(value))]
    picked: list[Any] = []
    for item in step.items:
        if isinstance(item, int):
            picked.append(value[_position(item, len(value))])
            continue
        start = 0 if item[0] is None else _position(item[0], len(value))
        end = len(value) - 1 if item[1] is None else _position(item[1], len(value))
        picked.extend(value[start:end + 1])
    return picked


def _position(index: int, size: int) -> int:
    position = index + size if index < 0 else index
    if not 0 <= position < size:
        raise ValueError(f"index {index} is outside the {size} elements of the record")
    return position


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    return "an array" if isinstance(value, list) else "a string" if isinstance(value, str) else "a number"


def _content_type(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind != CSV and kind not in JSON_TYPES:
        raise UnsupportedFilter(f"ContentType {content_type!r}: DataProcessing takes {CSV} or "
                                f"{' / '.join(JSON_TYPES)} records")
    return kind


def _data_processing(spec: Mapping[str, Any]) -> tuple[Filter, bool, Filter]:
    unknown = sorted(set(spec) - {"InputFilter", "JoinSource", "OutputFilter"})
    if unknown:
        raise UnsupportedFilter(f"DataProcessing: unknown key {unknown[0]!r}")
    join = spec.get("JoinSource") or "None"
    if join not in ("Input", "None"):
        raise UnsupportedFilter(f"DataProcessing.JoinSource {join!r}: must be Input or None")
    return parse_filter(spec.get("InputFilter")), join == "Input", parse_filter(spec.get("OutputFilter"))


def _lines(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    """Numbered (from 1) non-blank lines."""
    for number, line in enumerate(lines, start=1):
        stripped = line.rstrip("\r\n")
        if stripped.strip():
            yield number, stripped


def _record(line: str, kind: str, number: int) -> Any:
    if kind == CSV:
        return next(csv.reader([line]))
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise TransformFilterError(f"record {number} is not JSON ({exc.msg})") from None


def _features(input_filter: Filter, record: Any, number: int) -> list[float]:
    """What the model sees of one record, as numbers (an empty CSV field is missing: NaN)."""
    try:
        selected = input_filter.apply(record)
    except ValueError as exc:
        raise TransformFilterError(f"InputFilter {input_filter.expression!r} on record {number}: "
                                   f"{exc}") from None
    values = selected if isinstance(selected, list) else [selected]
    try:
        return [float("nan") if v is None or (isinstance(v, str) and not v.strip()) else float(v)
                for v in values]
    except (TypeError, ValueError):
        raise TransformFilterError(f"InputFilter {input_filter.expression!r} on record {number}: the model "
                                   f"takes numbers, got {selected!r}") from None


def _predictions(predict: Predict, rows: list[list[float]]) -> list[float | list[float]]:
    """One output per row, rounded to float32 as the XGBoost container's predictions are."""
    try:
        outputs = np.asarray(predict(rows), dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TransformFilterError(f"the model's predictions are not numbers of one shape ({exc})") from None
    if outputs.ndim not in (1, 2) or len(outputs) != len(rows):
        raise TransformFilterError(f"the model returned {outputs.shape} predictions for {len(rows)} "
                                   "records")
    listed: list[float | list[float]] = outputs.astype(np.float64).tolist()
    return listed


def _fields(output: float | list[float]) -> list[str]:
    return [str(v) for v in (output if isinstance(output, list) else [output])]


def _join(record: Any, output: float | list[float], kind: str) -> Any:
    if kind == CSV:
        return [*record, *_fields(output)]
    if isinstance(record, dict):
        return {**record, "SageMakerOutput": output}
    return {"SageMakerInput": record, "SageMakerOutput": output}


def _csv_line(selected: Any) -> str:
    buffer = io.StringIO()
    fields: Sequence[Any] = selected if isinstance(selected, list) else [selected]
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()
