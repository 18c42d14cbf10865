"""Reading the workflow configuration: command-line values, schema, checks and the preset.

The schema (schemas/config.schema.yaml) checks types and names; this module adds the
checks a schema cannot express. :mod:`noisy.workflow.stages` turns the result into the
settings of each job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from noisy.errors import UserError

PRESET_KEYS = ("labeled_budget", "full_budget", "student_budget", "batch_size", "split_mode",
               "train_per_class", "test_per_class", "monitor_test_size", "min_per_class",
               "max_gap", "fgsm_per_class", "robustness_per_class")


class ConfigError(UserError):
    """A configuration value is wrong; the message names the key."""


def coerce_cli_values(config: dict) -> dict:
    """Turn strings nested in lists/dicts into numbers/booleans where YAML would.

    Snakemake parses ``--config key=[0,1]`` or ``key={a: 0.5}`` with YAML's BaseLoader,
    which keeps every nested item a string; this restores the types a config file would
    have given. A top-level ``null`` (``--config train_per_class=null``) becomes None, which
    for a preset key means "take the preset", and ``true``/``false`` (``--config
    compile=true``) booleans; other top-level values are left as Snakemake parsed them
    (numbers already are numbers; a run name such as ``2024`` stays as typed).
    """
    return {key: _coerce_nested(value) if isinstance(value, (dict, list))
            else TOP_LEVEL_WORDS.get(value, value) if isinstance(value, str) else value
            for key, value in config.items()}


# The top-level words that are no string, as YAML reads them.
TOP_LEVEL_WORDS = {"null": None, "true": True, "false": False}


def _coerce_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _coerce_nested(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce_nested(item) for item in value]
    return _coerce_scalar(value) if isinstance(value, str) else value


def _coerce_scalar(text: str) -> Any:
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return parsed if isinstance(parsed, (int, float, bool)) or parsed is None else text


def check_schema(config: dict, schema_path: str | Path) -> None:
    """Validate against the JSON schema; raise one :class:`ConfigError` naming every bad key."""
    import jsonschema  # only where configurations are checked: the GPU check's image lacks it

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.path)):
        key = ".".join(str(part) for part in error.path)
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            where = f" in '{key}'" if key else ""
            problems.append(f"unknown config key(s){where}: {', '.join(map(repr, unknown))}")
        else:
            problems.append(f"config key '{key or '<root>'}': {error.message}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def check(config: dict, base_dir: str | Path = ".") -> None:
    """Checks beyond the schema; raise :class:`ConfigError` naming the bad key."""
    scale = config["scale"]
    if scale not in config["scales"]:
        raise ConfigError(f"config key 'scale': {scale!r} is not one of the presets under "
                          f"'scales' ({', '.join(config['scales'])})")
    if scale not in config["cluster_resources"]:
        raise ConfigError(f"config key 'cluster_resources': no entry for the scale {scale!r} "
                          "(memory and time limit of its cluster jobs)")
    robustness = config["robustness"]
    if robustness["source"] == "official":
        for key in ("official_c_dir", "official_p_dir"):
            folder = robustness[key]
            if not folder or not (Path(base_dir) / folder).is_dir():
                raise ConfigError(f"config key 'robustness.{key}': {folder!r} is not a folder "
                                  "(needed because robustness.source is 'official')")
    for table, rows in config["tables"].items():
        names = rows.values() if isinstance(rows, dict) else rows
        unknown = [name for name in names if name not in config["experiments"]]
        if unknown:
            raise ConfigError(f"config key 'tables.{table}': unknown experiment(s) "
                              f"{', '.join(map(repr, unknown))}")
    unknown = [name for name in config["self_training_check"]["experiments"]
               if name not in config["experiments"]]
    if unknown:
        raise ConfigError("config key 'self_training_check.experiments': unknown "
                          f"experiment(s) {', '.join(map(repr, unknown))}")
    source = config["data_source"]
    if source != "torchvision" and not (Path(base_dir) / source).exists():
        raise ConfigError(f"config key 'data_source': path {source!r} does not exist "
                          f"(relative paths are taken from {Path(base_dir).resolve()})")


def preset(config: dict) -> dict:
    """The scale preset with any top-level overrides applied (an unset or null override
    keeps the preset's value; ``all`` asks for the whole set)."""
    values = dict(config["scales"][config["scale"]])
    for key in PRESET_KEYS:
        if config.get(key) is not None:
            values[key] = config[key]
    return values


def cluster_resources(config: dict, rule: str) -> dict:
    """Memory (``mem_mb``) and time limit (``runtime``, minutes) of a rule's cluster jobs
    at the configured scale (for the rule ``train``: one such entry per role, ``supervised``
    and ``student``)."""
    return dict(config["cluster_resources"][config["scale"]][rule])


def per_class(value: int | str) -> int | None:
    """A per-class size as jobs take it: ``all`` (the whole set) becomes None."""
    return None if value == "all" else int(value)


def ratio_tag(ratio: float) -> str:
    """Canonical text of a labeled ratio in paths: 1.0 → '1', 0.1 → '0.1'."""
    return f"{float(ratio):g}"


def experiment_settings(config: dict, experiment: str) -> dict:
    """The student defaults with the experiment's overrides applied."""
    if experiment not in config["experiments"]:
        raise ConfigError(f"unknown experiment {experiment!r}; config 'experiments' has "
                       f"{', '.join(config['experiments'])}")
    return {**config["student_defaults"], **(config["experiments"][experiment] or {})}


def load(path: str | Path = "config.yaml", overrides: list[str] | None = None) -> dict:
    """The configuration file with ``key=value`` overrides (as ``snakemake --config``),
    validated; for commands that plan without Snakemake (``python -m noisy where``)."""
    config = yaml.safe_load(Path(path).read_text())
    for item in overrides or []:
        key, separator, value = item.partition("=")
        if not separator:
            raise ConfigError(f"--config {item!r}: expected key=value")
        _merge(config, {key: yaml.safe_load(value)})
    config = coerce_cli_values(config)
    check_schema(config, Path(path).resolve().parent / "schemas" / "config.schema.yaml")
    return config


def _merge(config: dict, overrides: dict) -> None:
    """Nested dicts merged into ``config`` key by key, as Snakemake merges ``--config``."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            _merge(config[key], value)
        else:
            config[key] = value
