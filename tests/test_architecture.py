"""JSON architecture specs: building models, round trips, and errors that name the layer and key."""
import json

import numpy as np
import pytest

import netfit as nf
from netfit import zoo
from netfit.architecture import model_from_json, model_to_json

SPEC = {"input_shape": [28, 28], "layers": [
    {"class_name": "Flatten"},
    {"class_name": "Dense", "config": {"units": 64, "activation": "relu"}},
    {"class_name": "Dropout", "config": {"rate": 0.2}},
    {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]}


def test_spec_builds_a_sequential(tmp_path):
    model = model_from_json(SPEC, seed=0)
    assert isinstance(model, nf.Sequential) and model.built and not model.compiled
    assert [type(l).__name__ for l in model.layers] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert model.count_params() == 784 * 64 + 64 + 64 * 10 + 10
    path = tmp_path / "net.json"
    path.write_text(json.dumps(SPEC))
    from_file = model_from_json(path, seed=0)
    for a, b in zip(model.get_weights(), from_file.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model_from_json(json.dumps(SPEC)).count_params() == model.count_params()


def test_round_trips_through_model_to_json_and_get_config(tmp_path):
    model = zoo.lecture_mlp(seed=3)
    spec = model_to_json(model, tmp_path / "mlp.json")
    assert json.loads((tmp_path / "mlp.json").read_text()) == spec
    again = model_from_json(tmp_path / "mlp.json", seed=3)
    assert again.get_config() == model.get_config()
    assert model_from_json(model.get_config()).get_config() == model.get_config()   # seed, dtype included


def test_class_names_ignore_case_and_input_shape_may_sit_in_the_first_layer():
    model = model_from_json({"layers": [{"class_name": "dense", "config": {"units": 2, "input_shape": [3]}}]})
    assert model.count_params() == 8


@pytest.mark.parametrize("spec, message", [
    ([1, 2], "expected a JSON object"),
    ({"layers": [], "input_shape": [2]}, "expected 'layers' a non-empty list"),
    ({**SPEC, "optimizer": "adam"}, "unknown key 'optimizer'"),
    ({**SPEC, "input_shape": [28, 0]}, r"expected 'input_shape' a list of positive integers, got \[28, 0\]"),
    ({"layers": [{"class_name": "Dense", "config": {"units": 2}}]}, "expected 'input_shape'"),
    ({"input_shape": [4], "layers": ["Dense"]}, r"layers\[0\]: expected an object"),
    ({"input_shape": [4], "layers": [{"class_name": "Dense", "units": 3}]},
     r"layers\[0\]: unknown key 'units'.*inside 'config'"),
    ({"input_shape": [4], "layers": [{"config": {}}]}, r"layers\[0\]: expected 'class_name'"),
    ({"input_shape": [4], "layers": [{"class_name": "Flatten"}, {"class_name": "Conv3D"}]},
     r"layers\[1\]: unknown class_name 'Conv3D'; supported: .*Dense"),
    ({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": 3, "activaton": "relu"}}]},
     r"layers\[0\] \(Dense\): unknown config key 'activaton'; Dense accepts: activation,"),
    ({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"activation": "relu"}}]},
     r"layers\[0\] \(Dense\): missing config key 'units'"),
    ({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": 0}}]},
     r"layers\[0\] \(Dense\): Dense: expected units"),
    ({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": 3, "activation": "mish"}}]},
     r"layers\[0\] \(Dense\): .*unknown activation 'mish'"),
    ({"input_shape": [4], "layers": [{"class_name": "Dense", "config": "units=3"}]},
     r"layers\[0\] \(Dense\): expected 'config' an object"),
    ({"input_shape": [28, 28], "layers": [{"class_name": "Flatten"}, {"class_name": "Reshape",
                                                                       "config": {"target_shape": [5, 5]}}]},
     r"layers\[1\] \(Reshape\): .*cannot reshape"),
])
def test_errors_name_the_layer_and_key(spec, message):
    with pytest.raises(ValueError, match=message):
        model_from_json(spec)


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        model_from_json(tmp_path / "missing.json")
    path = tmp_path / "broken.json"
    path.write_text('{"input_shape": [4],\n "layers": [}')
    with pytest.raises(ValueError, match=r"broken.json'\): invalid JSON at line 2, column"):
        model_from_json(path)
