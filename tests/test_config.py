"""Config loading: defaults, overrides and one-line errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from custseg.config import AutoencoderConfig, ConfigError, JobConfig, config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_configs_load_and_describe_the_real_data():
    config = load_config(ROOT / "conf" / "customers.yaml")
    assert config.columns.id == "ID"
    assert config.columns.numeric == ["Age", "Work_Experience", "Family_Size"]
    assert config.columns.nominal == ["Gender", "Ever_Married", "Graduated", "Profession", "Var_1"]
    assert config.columns.ordinal == {"Spending_Score": ["Low", "Average", "High"]}
    assert config.columns.label == "Segmentation"
    assert config.columns.ranges == {"Age": [0.0, 120.0], "Work_Experience": [0.0, 80.0], "Family_Size": [1.0, 20.0]}
    assert config.columns.levels["Gender"] == ["Male", "Female"]
    assert set(config.columns.levels) == set(config.columns.nominal)
    assert config.clustering.k == 7
    assert config.autoencoder == AutoencoderConfig()
    generated = load_config(ROOT / "conf" / "generated.yaml").columns
    assert generated.label == "planted_segment"
    assert (generated.ranges, generated.levels) == (config.columns.ranges, config.columns.levels)


def test_empty_config_is_all_defaults():
    assert config_from_dict({}) == JobConfig()


def test_overrides_are_typed_by_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 1\n")
    config = load_config(path, ["clustering.k=5", "autoencoder.learning_rate=0.01", "input.path=data.csv",
                                "autoencoder.hidden_layers=[32, 16]", "spark.conf.spark.sql.shuffle.partitions=8"])
    assert config.clustering.k == 5
    assert config.autoencoder.learning_rate == 0.01
    assert config.input.path == "data.csv"
    assert config.autoencoder.hidden_layers == [32, 16]
    assert config.seed == 1


def test_segment_names_from_the_command_line_name_segment_ids(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("segments:\n  names: {1: Savers}\n")
    config = load_config(path, ["segments.names.0=Young families", "segments.names.12=Retirees"])
    assert config.segments.names == {1: "Savers", 0: "Young families", 12: "Retirees"}
    with pytest.raises(ConfigError, match="segments.names \\(a key\\) must be a whole number"):
        load_config(path, ["segments.names.first=Savers"])


def test_spark_settings_keep_dotted_keys():
    config = config_from_dict({"spark": {"conf": {"spark.sql.shuffle.partitions": 8}}})
    assert config.spark.conf == {"spark.sql.shuffle.partitions": "8"}


def test_a_relu_autoencoder_keeps_its_raw_latent_space():
    settings = config_from_dict({"autoencoder": {"activation": "relu", "latent_space": "raw"}}).autoencoder
    assert (settings.activation, settings.latent_space) == ("relu", "raw")


def test_int_is_accepted_where_a_float_is_expected():
    assert config_from_dict({"autoencoder": {"dropout": 0}}).autoencoder.dropout == 0.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"clustering": {"n_init": 0}}, "clustering.n_init must be at least 1"),
        ({"clustering": {"sample_rows": 6}}, "clustering.sample_rows must be at least clustering.k"),
        ({"metrics": {"silhouette_rows": 999}}, "metrics.silhouette_rows must be at least 1000"),
        ({"metrics": {"median_rows": 999}}, "metrics.median_rows must be at least 1000"),
        ({"drift": {"reference_rows": 999}}, "drift.reference_rows must be at least 1000"),
        ({"clustering": {"kk": 3}}, "unknown config key clustering.kk; allowed here: k, sample_rows, n_init, max_iter, tol, init_steps"),
        ({"sed": 1}, "unknown config key sed;"),
        ({"clustering": {"k": "seven"}}, "config key clustering.k must be a whole number, got str 'seven'"),
        ({"clustering": {"k": True}}, "config key clustering.k must be a whole number, got bool True"),
        ({"clustering": {"k": 1}}, "clustering.k must be at least 2"),
        ({"clustering": {"match_max_distance": -1}}, "clustering.match_max_distance must be at least 0"),
        ({"drift": {"psi_warn": 0.5}}, "drift.psi_warn must not exceed drift.psi_retrain"),
        ({"drift": {"reconstruction_retrain": 1.0}}, "drift.reconstruction_warn must not exceed"),
        ({"features": {"encoding": "hash"}}, "config key features.encoding is 'hash'; allowed: index, onehot"),
        ({"spark": {"cache": "memory"}}, "config key spark.cache is 'memory'; allowed: files, disk, memory_and_disk"),
        ({"columns": {"numeric": "Age"}}, "config key columns.numeric must be a list, got str"),
        ({"autoencoder": {"dropout": 1.5}}, "autoencoder.dropout must be in [0, 1)"),
        ({"report": {"sample_rows": 5}}, "report.sample_rows must be at least 10"),
        ({"report": {"tsne_perplexity": 0}}, "report.tsne_perplexity must be positive"),
        ({"autoencoder": {"activation": "relu"}}, "autoencoder.latent_space principal needs autoencoder.activation "
                                                  "linear; set activation: linear or latent_space: raw"),
        ({"autoencoder": {"latent_space": "pca"}}, "config key autoencoder.latent_space is 'pca'; allowed: raw, principal"),
        ({"output": {"database": "cust-seg; DROP"}}, "output.database 'cust-seg; DROP' must be a SQL identifier"),
        ({"columns": {"id": "Age"}}, "column Age is named twice"),
        ({"columns": {"ordinal": {"Spending_Score": ["Low"]}}}, "columns.ordinal.Spending_Score must list at least two"),
        ({"input": {"format": "table"}}, "input.path must name the table"),
        ({"autoencoder": 3}, "config key autoencoder must be a mapping"),
        ({"columns": {"ranges": {"Gender": [0, 1]}}}, "columns.ranges.Gender names no numeric column; allowed: Age,"),
        ({"columns": {"ranges": {"Age": [120, 0]}}}, "columns.ranges.Age must be [min, max] with min <= max, got [120.0"),
        ({"columns": {"ranges": {"Age": [0]}}}, "columns.ranges.Age must be [min, max] with min <= max"),
        ({"columns": {"ranges": {"Age": [0, "old"]}}}, "config key columns.ranges.Age[1] must be a number, got str"),
        ({"columns": {"levels": {"Spending_Score": ["Low"]}}}, "columns.levels.Spending_Score names no nominal column"),
        ({"columns": {"levels": {"Gender": ["Male", " male"]}}}, "columns.levels.Gender must list distinct, non-empty"),
        ({"columns": {"levels": {"Gender": []}}}, "columns.levels.Gender must list distinct, non-empty"),
        ({"columns": {"ordinal": {"Spending_Score": ["Low", "LOW"]}}}, "columns.ordinal.Spending_Score must list at"),
    ],
)
def test_config_errors_are_one_line_and_name_the_key(raw, message):
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_and_bad_yaml_and_bad_override(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; pass --conf"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("{}")
    with pytest.raises(ConfigError, match="must look like key=value"):
        load_config(good, ["clustering.k"])
    with pytest.raises(ConfigError, match="unknown config key clustering.kay"):
        load_config(good, ["clustering.kay=3"])


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_credentials_in_spark_settings_are_masked_for_logs_and_manifests():
    config = config_from_dict({"spark": {"conf": {
        "spark.hadoop.fs.s3a.secret.key": "s3cr3t", "spark.hadoop.fs.s3a.access.key": "AKIA",
        "spark.sql.shuffle.partitions": 8}}})
    assert config.to_dict()["spark"]["conf"] == {
        "spark.hadoop.fs.s3a.secret.key": "***", "spark.hadoop.fs.s3a.access.key": "***",
        "spark.sql.shuffle.partitions": "8"}
    assert config.spark.conf["spark.hadoop.fs.s3a.secret.key"] == "s3cr3t"
