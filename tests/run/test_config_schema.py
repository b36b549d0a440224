"""The typed configuration schema (`graphcert.run.schema`): a wrong type for every key of
every configuration, bad values, YAML numbers and malformed files, all refused with a message
that names the key, the value and what was expected (and the file)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from graphcert.cli.options import CommonOptions, ExecutorOptions
from graphcert.run.config import RunConfig
from graphcert.run.demos.configs import AttributeConfig, MultimodalConfig, SegmentConfig
from graphcert.run.methods import METHODS
from graphcert.run.schema import FieldSpec, add_flags, fields_of, flag_values

SCHEMAS = (RunConfig, SegmentConfig, AttributeConfig, MultimodalConfig, CommonOptions,
           ExecutorOptions)


def wrong_values(spec: FieldSpec) -> list:
    """Values of the wrong type for a field, generated from its schema."""
    if spec.container == "dict":
        return [[1, 2], "n_layers=3", 3]
    if spec.container is not None:
        return ["localized", 3, {"a": 1}]
    wrong = {bool: ["no", "yes", 1, 0.0], int: ["3", 2.5, True, [1]],
             float: ["1e-3", "fast", True, [0.5], float("nan")], str: [3, True, ["x"]],
             Path: [3, ["x"]]}[spec.kind]
    return wrong + ([] if spec.optional else [None])


CASES = [(schema, name, value) for schema in SCHEMAS
         for name, spec in fields_of(schema).items() for value in wrong_values(spec)]


@pytest.mark.parametrize("schema, name, value", CASES,
                         ids=[f"{s.__name__}.{n}={v!r}" for s, n, v in CASES])
def test_a_wrong_type_for_every_key_names_key_and_value(schema, name, value):
    with pytest.raises(ValueError) as error:
        schema.from_dict({name: value}, source="run.yaml")
    message = str(error.value)
    assert message.startswith(f"run.yaml: {name}") and "must " in message


@pytest.mark.parametrize("values, message", [
    ({"alpha": 0}, "alpha == 0.0, must be in (0, 1)"),
    ({"alpha": 1}, "alpha == 1.0, must be in (0, 1)"),
    ({"milp_bins": 0}, "milp_bins == 0, must be >= 1"),
    ({"n_samples": 0}, "n_samples == 0, must be >= 1"),
    ({"n_pre": 0}, "n_pre == 0, must be >= 1"),
    ({"batch_size": 0}, "batch_size == 0, must be >= 1"),
    ({"max_epochs": 0}, "max_epochs == 0, must be >= 1"),
    ({"theta_plus": 1.5}, "theta_plus == 1.5, must be in [0, 1]"),
    ({"local_budget": -1}, "local_budget == -1, must be >= 0"),
    ({"sigma_min": 0}, "sigma_min == 0.0, must be > 0"),
    ({"sigma_min": 2.0}, "sigma_min == 2.0 > sigma_max == 1.0"),
    ({"n_samples": 2.5}, "n_samples == 2.5, must be a whole number"),
    ({"relax": "no"}, "relax must be a boolean (true or false), got str 'no'"),
    ({"alpha": "1e-3"}, "alpha must be a number, got str '1e-3'"),
    ({"alpha": None}, "alpha must be a number, got None"),
    ({"methods": []}, "methods must hold at least one value, got an empty list"),
    ({"methods": ["localized", "lokalized"]}, "methods[1] must be one of "
     f"{tuple(METHODS)}, got 'lokalized'"),
    ({"bounds": "hoeffding"}, "bounds must be one of ('dkw', 'bernstein', "
     "'clopper_pearson'), got 'hoeffding'"),
    ({"model": "gta"}, "model must be one of ('appnp', 'gat', 'gcn'), got 'gta'"),
    ({"model_params": {"n_layers": 3}}, "model_params ['n_layers'] are not parameters of "
     "model 'appnp' (APPNPNet)"),
    ({"model": "gcn", "model_params": {"n_layers": 0}}, "invalid for model 'gcn'"),
    ({"model_params": {"n_layers": "3"}}, "model_params.n_layers must be a whole number, got "
     "str '3'"),
    ({"theta_minus_low": 0.97}, "theta_minus_low == 0.97 > theta_minus_high == 0.95"),
    ({"score_temperature": 1.0}, "bounds 'clopper_pearson' need one-hot scores"),
    ({"datset": "citeseer"}, "unknown configuration keys ['datset']"),
])
def test_bad_run_settings_are_refused(values, message):
    with pytest.raises(ValueError) as error:
        RunConfig.from_dict(values)
    assert message in str(error.value)


@pytest.mark.parametrize("schema, values, message", [
    (SegmentConfig, {"eps_step": 0}, "eps_step == 0.0, must be > 0"),
    (SegmentConfig, {"size": 7}, "size == 7, must be even"),
    (SegmentConfig, {"tau": 1.0}, "tau == 1.0, must be in [0.5, 1)"),
    (AttributeConfig, {"methods": ["saliency", "shap"]}, "methods[1] must be one of ('saliency'"),
    (AttributeConfig, {"ks": [0, 10]}, "ks[0] == 0.0, must be in (0, 100]"),
    (MultimodalConfig, {"k": [4, 8, 2]}, "need one entry per modality"),
    (MultimodalConfig, {"n_train": 8}, "n_train == 8, must be >= 32"),
    (CommonOptions, {"threads": -1}, "threads == -1, must be >= 1"),
    (ExecutorOptions, {"num_cpus": 2}, "apply to the ray executor only"),
])
def test_bad_demo_and_command_settings_are_refused(schema, values, message):
    with pytest.raises(ValueError) as error:
        schema.from_dict(values)
    assert message in str(error.value)


def test_theta_order_is_checked_only_where_it_is_read():
    """theta_minus_high shapes the localized schedule only; the isotropic methods read
    theta_minus_low alone, so a larger value there is no reversed schedule."""
    config = RunConfig(methods=["sparse_smooth"], theta_minus_low=0.97)
    assert config.theta_minus_low == 0.97
    with pytest.raises(ValueError, match="theta_minus_low == 0.97 > theta_minus_high"):
        RunConfig(methods=["sparse_smooth", "localized"], theta_minus_low=0.97)


def test_values_are_converted_to_their_types():
    config = RunConfig.from_dict({"n_samples": 1e5, "lr": 1, "model_params": {"hidden": 16.0}})
    assert config.n_samples == 100000 and type(config.n_samples) is int
    assert config.lr == 1.0 and type(config.lr) is float
    assert config.model_params == {"hidden": 16} and type(config.model_params["hidden"]) is int
    segment = SegmentConfig.from_dict({"eps_max": 2})
    assert type(segment.eps_max) is float
    attribute = AttributeConfig.from_dict({"ks": [5, 10]})
    assert attribute.ks == (5.0, 10.0) and type(attribute.ks) is tuple


def test_results_json_round_trip():
    config = RunConfig(methods=["localized", "gaussian"], local_budget=3, relax=True,
                       model="gcn", model_params={"n_layers": 3})
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    demo = MultimodalConfig(k=(4, 8))
    assert MultimodalConfig.from_dict(json.loads(json.dumps(demo.to_dict()))) == demo


def test_yaml_numbers_follow_yaml_1_2(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("alpha: 1e-3\nlr: 2.5E-4\nn_samples: 1e5\nrelax: false\n"
                    "local_budget: null\nmethods: [localized]\n")
    config = RunConfig.from_yaml(path)
    assert (config.alpha, config.lr, config.n_samples) == (0.001, 0.00025, 100000)
    assert config.relax is False and config.local_budget is None
    path.write_text('alpha: "1e-3"\n')  # quoted: a string, refused
    with pytest.raises(ValueError, match=r"run.yaml: alpha must be a number, got str '1e-3'"):
        RunConfig.from_yaml(path)


@pytest.mark.parametrize("text, message", [
    ('relax: "no"\n', "relax must be a boolean (true or false), got str 'no'"),
    ("relax: 1\n", "relax must be a boolean (true or false), got int 1"),
    ("alpha: null\n", "alpha must be a number, got None"),
    ("n_samples: many\n", "n_samples must be a whole number, got str 'many'"),
    ("alpha: [0.1\n", "is not valid YAML"),
    ("- alpha\n- 0.1\n", "expected a mapping of setting names to values, got list"),
    ("datset: citeseer\n", "unknown configuration keys ['datset']"),
    ("methods: localized\n", "methods must be a list of strings, got str 'localized'"),
])
def test_bad_yaml_files_name_the_file(tmp_path, text, message):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        RunConfig.from_yaml(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


def test_yaml_directories_missing_and_binary_files(tmp_path):
    with pytest.raises(ValueError, match="is a directory, expected a YAML file"):
        RunConfig.from_yaml(tmp_path)
    with pytest.raises(ValueError, match="not found, expected a YAML file"):
        RunConfig.from_yaml(tmp_path / "missing.yaml")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00alpha")
    with pytest.raises(ValueError, match="not a text"):
        RunConfig.from_yaml(tmp_path / "binary.yaml")


def test_flags_win_over_the_file_and_are_checked(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("alpha: 0.5\nn_samples: 300\n")
    config = RunConfig.from_yaml(path, alpha=0.05)
    assert (config.alpha, config.n_samples) == (0.05, 300)
    path.write_text('alpha: "bad"\n')
    assert RunConfig.from_yaml(path, alpha=0.05).alpha == 0.05  # the flag replaces it


def parse(schema, argv):
    parser = argparse.ArgumentParser()
    add_flags(parser, schema)
    return flag_values(parser.parse_args(argv), schema)


def test_flags_are_generated_for_every_field():
    values = parse(RunConfig, ["--alpha", "1e-3", "--n-samples", "1e4", "--methods",
                               "localized, gaussian", "--no-train-noise", "--relax",
                               "--local-budget", "none", "--n-layers", "3", "--model", "gcn"])
    assert values == {"model": "gcn", "model_params": {"n_layers": 3},
                      "methods": ["localized", "gaussian"], "train_noise": False,
                      "alpha": 0.001, "n_samples": 10000.0, "local_budget": None,
                      "relax": True}
    config = RunConfig.from_dict(values)
    assert config.n_samples == 10000 and config.model_params == {"n_layers": 3}
    assert parse(RunConfig, []) == {}  # flags not given leave the defaults to the schema
    parser = argparse.ArgumentParser()
    add_flags(parser, RunConfig)
    flags = {o for action in parser._actions for o in action.option_strings}
    for name, spec in fields_of(RunConfig).items():
        if spec.container != "dict":
            assert "--" + name.replace("_", "-") in flags
    assert parse(MultimodalConfig, ["--k", "4,8"]) == {"k": [4, 8]}
    with pytest.raises(SystemExit):
        parse(RunConfig, ["--alpha", "abc"])


def test_a_stored_configuration_with_an_earlier_bound_name_reads_as_the_current_one():
    """results.json files written before issue 25 say bounds 'binary'; they read as
    'clopper_pearson', so a sweep reuses their results instead of redoing the run."""
    from graphcert.run.sweep import _same_config
    old = {**RunConfig().to_dict(), "bounds": "binary"}
    assert RunConfig.from_dict(old).bounds == "clopper_pearson"
    assert _same_config(old, RunConfig())
    assert not _same_config({**old, "alpha": 0.05}, RunConfig())
    assert not _same_config({**old, "no_such_key": 1}, RunConfig())
