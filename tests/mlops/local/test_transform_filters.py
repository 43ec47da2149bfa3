"""DataProcessing of a batch transform: every filter form on CSV and JSON records, JoinSource
Input and None, the fraud example's combination, and the expressions SageMaker refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlops.errors import UsageError
from mlops.local.transform_filters import (
    Index,
    Key,
    Keys,
    Pick,
    TransformFilterError,
    UnsupportedFilter,
    Wildcard,
    input_records,
    parse_filter,
    transform_lines,
)

ROW = ["a", "b", "c", "d", "e"]
OBJECT = {"id": "7", "features": [1.5, 2.5], "meta": {"source": "web", "rank": 3}}


def first_feature(rows: list[list[float]]) -> list[float]:
    return [row[0] for row in rows]


def as_written(value: float) -> str:
    """What the XGBoost container's batch path writes for one prediction: str of preds.tolist()."""
    return str(np.array([value], dtype=np.float32).tolist()[0])


@pytest.mark.parametrize(("expression", "steps"), [
    ("$", ()),
    ("", ()),
    ("$[1]", (Index(1),)),
    ("$[-1]", (Index(-1),)),
    ("$[1:]", (Pick(((1, None),)),)),
    ("$[:2]", (Pick(((None, 2),)),)),
    ("$[1:-2]", (Pick(((1, -2),)),)),
    ("$[0,-1]", (Pick((0, -1)),)),
    ("$[0, 2, 4]", (Pick((0, 2, 4)),)),
    ("$[0,3:]", (Pick((0, (3, None))),)),
    ("$.features", (Key("features"),)),
    ("$.meta.source", (Key("meta"), Key("source"))),
    ("$['id']", (Key("id"),)),
    ("$['id','SageMakerOutput']", (Keys(("id", "SageMakerOutput")),)),
    ("$.meta['source', 'rank']", (Key("meta"), Keys(("source", "rank")))),
    ("$.meta.['source','rank']", (Key("meta"), Keys(("source", "rank")))),
    ("$.features[0]", (Key("features"), Index(0))),
    ("$.meta.*", (Key("meta"), Wildcard())),
    ("$[*]", (Wildcard(),)),
])
def test_parse_filter_reads_every_documented_form(expression: str, steps: tuple) -> None:
    assert parse_filter(expression).steps == steps


@pytest.mark.parametrize(("expression", "selected"), [
    ("$", ROW),
    ("$[1]", "b"),
    ("$[-1]", "e"),
    ("$[1:]", ["b", "c", "d", "e"]),
    ("$[1:3]", ["b", "c", "d"]),  # SageMaker's slices include their end
    ("$[:1]", ["a", "b"]),
    ("$[-2:]", ["d", "e"]),
    ("$[1:-2]", ["b", "c", "d"]),
    ("$[0,-1]", ["a", "e"]),
    ("$[4,0]", ["e", "a"]),
    ("$[0,3:]", ["a", "d", "e"]),
    ("$[*]", ROW),
])
def test_index_filters_on_a_csv_record(expression: str, selected: object) -> None:
    assert parse_filter(expression).apply(list(ROW)) == selected


@pytest.mark.parametrize(("expression", "selected"), [
    ("$.features", [1.5, 2.5]),
    ("$.meta.source", "web"),
    ("$['id']", "7"),
    ("$['id','features']", {"id": "7", "features": [1.5, 2.5]}),
    ("$.meta['source','rank']", {"source": "web", "rank": 3}),
    ("$.features[-1]", 2.5),
    ("$.meta.*", ["web", 3]),
])
def test_name_filters_on_a_json_record(expression: str, selected: object) -> None:
    assert parse_filter(expression).apply(OBJECT) == selected


@pytest.mark.parametrize(("expression", "message"), [
    ("$[0:2,246:]", "only one range"),
    ("$.account_id", "unexpected '_'"),
    ("features", "must start with '$'"),
    ("$[a]", "not a list of indices"),
    ("$['a',b]", "not a list of quoted names"),
    ("$..features", "cannot read '..features'"),
    ("$[?(@.a)]", "unexpected '?'"),
    ("$[1:].x", "must be the last one"),
    ("$['a','b'].c", "must be the last one"),
    ("$" + "[0]" * 21, "longer than 63 characters"),
])
def test_unsupported_expressions_are_refused_naming_them(expression: str, message: str) -> None:
    with pytest.raises(UnsupportedFilter) as raised:
        parse_filter(expression)
    text = str(raised.value)
    assert text.startswith(f"JSONPath {expression!r}: ") and message in text
    assert "\n" not in text
    assert isinstance(raised.value, UsageError)


def test_fraud_example_scores_features_and_writes_label_then_score() -> None:
    """prepare.py writes label first; the transform drops it for the model ($[1:]), joins the
    input (Input) and keeps the label and the score ($[0,-1])."""
    seen: list[list[list[float]]] = []

    def predict(rows: list[list[float]]) -> list[float]:
        seen.append(rows)
        return [0.1, 0.25, 1e-05]

    lines = ["1,120.5,0.9,3\n", "0,8.25,0.1,14\n", "0,0,0.0,2\n"]
    out = transform_lines(lines, "text/csv", {"InputFilter": "$[1:]", "JoinSource": "Input",
                                              "OutputFilter": "$[0,-1]"}, predict)
    assert seen == [[[120.5, 0.9, 3.0], [8.25, 0.1, 14.0], [0.0, 0.0, 2.0]]]  # one batch, no label
    assert out == [f"1,{as_written(0.1)}", f"0,{as_written(0.25)}", f"0,{as_written(1e-05)}"]
    assert out[0] == "1,0.10000000149011612" and out[2] == "0,9.999999747378752e-06"
    assert np.loadtxt(out, delimiter=",").shape == (3, 2)  # what evaluate.py reads


def test_join_source_input_appends_every_output_column_to_the_original_record() -> None:
    out = transform_lines(["id-1, 2.0,3"], "text/csv", {"InputFilter": "$[1:]", "JoinSource": "Input"},
                          lambda rows: [[0.5, 0.25]])
    assert out == ["id-1, 2.0,3,0.5,0.25"]  # input fields as written, then the outputs


def test_join_source_none_writes_only_the_model_output() -> None:
    lines = ["1,2", "3,4"]
    assert transform_lines(lines, "text/csv", {"InputFilter": "$[1]", "JoinSource": "None"},
                           first_feature) == ["2.0", "4.0"]
    assert transform_lines(lines, "text/csv", None,
                           lambda rows: [r[0] + r[1] for r in rows]) == ["3.0", "7.0"]
    assert transform_lines(lines, "text/csv", {"OutputFilter": "$[0]"},
                           lambda rows: [[9.0, 8.0]] * 2) == ["9.0", "9.0"]


def test_output_filter_indexes_the_joined_record() -> None:
    dp = {"JoinSource": "Input", "OutputFilter": "$[-2:]"}
    assert transform_lines(["1,2,3"], "text/csv", dp, lambda rows: [0.5]) == ["3,0.5"]
    with pytest.raises(TransformFilterError, match=r"OutputFilter '\$\[7\]' on record 1: index 7 is outside"):
        transform_lines(["1,2,3"], "text/csv", {"JoinSource": "Input", "OutputFilter": "$[7]"},
                        lambda rows: [0.5])


def test_quoted_csv_fields_stay_one_field() -> None:
    assert input_records('"a,b",1\n\n2,3\n', "text/csv") == [["a,b", "1"], ["2", "3"]]
    out = transform_lines(['"a,b",1'], "text/csv", {"InputFilter": "$[1:]", "JoinSource": "Input"},
                          first_feature)
    assert out == ['"a,b",1,1.0']


def test_empty_csv_fields_reach_the_model_as_missing_values() -> None:
    seen: list[list[float]] = []

    def predict(rows: list[list[float]]) -> list[float]:
        seen.extend(rows)
        return [0.0]

    transform_lines(["1,,3"], "text/csv", {"InputFilter": "$[1:]"}, predict)
    assert np.isnan(seen[0][0]) and seen[0][1] == 3.0


def test_json_object_gets_the_output_under_sagemaker_output() -> None:
    lines = [json.dumps(OBJECT), json.dumps({**OBJECT, "id": "8", "features": [4.0, 5.0]})]
    dp = {"InputFilter": "$.features", "JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"}
    out = transform_lines(lines, "application/jsonlines", dp, first_feature)
    assert [json.loads(line) for line in out] == [{"id": "7", "SageMakerOutput": 1.5},
                                                  {"id": "8", "SageMakerOutput": 4.0}]
    dp = {"InputFilter": "$.features", "JoinSource": "Input"}
    joined = transform_lines(lines[:1], "application/json", dp, lambda rows: [[0.5, 0.5]])
    assert json.loads(joined[0]) == {**OBJECT, "SageMakerOutput": [0.5, 0.5]}


def test_json_non_object_input_is_joined_under_sagemaker_input() -> None:
    out = transform_lines(["[1, 2]"], "application/jsonlines", {"JoinSource": "Input"}, first_feature)
    assert json.loads(out[0]) == {"SageMakerInput": [1, 2], "SageMakerOutput": 1.0}


def test_json_without_join_writes_the_output_value() -> None:
    out = transform_lines([json.dumps(OBJECT)], "application/jsonlines", {"InputFilter": "$.meta.rank"},
                          lambda rows: [0.1])
    assert out == [as_written(0.1)]


def test_csv_records_take_only_index_filters() -> None:
    message = r"InputFilter '\$.features' on record 2: an array has no attributes"
    with pytest.raises(TransformFilterError, match=message):
        transform_lines(["", "1,2"], "text/csv", {"InputFilter": "$.features"}, first_feature)


def test_a_missing_json_attribute_names_the_record() -> None:
    with pytest.raises(TransformFilterError, match=r"on record 1: no attribute 'features'"):
        transform_lines(['{"id": 1}'], "application/jsonlines", {"InputFilter": "$.features"}, first_feature)


def test_features_must_be_numbers() -> None:
    with pytest.raises(TransformFilterError, match=r"record 2: the model takes numbers, got \['x', '2'\]"):
        transform_lines(["1,2", "x,2"], "text/csv", None, first_feature)


def test_the_model_must_answer_every_record() -> None:
    with pytest.raises(TransformFilterError, match=r"returned \(1,\) predictions for 2 records"):
        transform_lines(["1", "2"], "text/csv", None, lambda rows: [0.5])


@pytest.mark.parametrize(("content_type", "spec", "message"), [
    ("application/x-recordio-protobuf", None, "ContentType 'application/x-recordio-protobuf'"),
    ("text/csv", {"JoinSource": "Output"}, "JoinSource 'Output': must be Input or None"),
    ("text/csv", {"InputFilter": "$[0:1,2:3]"}, "JSONPath '$[0:1,2:3]'"),
    ("text/csv", {"Filter": "$"}, "unknown key 'Filter'"),
])
def test_unsupported_data_processing(content_type: str, spec: dict | None, message: str) -> None:
    with pytest.raises(UnsupportedFilter) as raised:
        transform_lines(["1"], content_type, spec, first_feature)
    assert message in str(raised.value)


def test_input_records_of_each_content_type() -> None:
    assert input_records("1,2\n3,4\n", "text/csv; charset=utf-8") == [["1", "2"], ["3", "4"]]
    assert input_records('{"a": 1}\n\n{"a": 2}\n', "application/jsonlines") == [{"a": 1}, {"a": 2}]
    assert input_records('{"a": 1}\n{"a": 2}\n', "application/json") == [{"a": 1}, {"a": 2}]
    assert input_records('{\n  "a": [1,\n 2]\n}\n', "application/json") == [{"a": [1, 2]}]
    with pytest.raises(TransformFilterError, match="record 2 is not JSON"):
        input_records('{"a": 1}\n{a}\n', "application/jsonlines")
