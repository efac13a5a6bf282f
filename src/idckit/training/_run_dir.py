"""The run directory of a K-fold run and its bookkeeping: config, splits, finished folds.

Layout::

    RUN_DIR/
      config.json        the settings that shape the results (compared on resume)
      splits.json        {"folds": [{"train_patients": [...], "val_patients": [...]}, ...]}
      fold_<k>/          k from 1: model.keras, history.csv, learning_curves.png,
                         val_predictions.csv, metrics.json (written last: the fold is done)
      oof.csv            out-of-fold P(IDC+) for every patch
      summary.txt/.json  mean and standard deviation over folds
      report.json        written last: the whole run is done
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from idckit._errors import invalid_argument
from idckit.training._atomic import atomic_write_json
from idckit.training._config import TrainingConfig
from idckit.training._results import FoldResult
from idckit.training._run_files import Fields, run_file_error

FoldSplit = tuple[tuple[str, ...], tuple[str, ...]]  # (train patients, validation patients)


def _normalise(obj: Any) -> Any:
    """Make ``obj`` compare the way it will after a JSON round trip (tuples become lists)."""
    return json.loads(json.dumps(obj))


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict) and obj:
        flat: dict[str, Any] = {}
        for key, value in obj.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: obj}


def config_differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """List the keys (dotted for nested ones) whose values differ, as ``key: stored A, now B``.

    Examples
    --------
    >>> config_differences({"epochs": 3, "opt": {"lr": 0.1}}, {"epochs": 5, "opt": {"lr": 0.1}})
    ['epochs: stored 3, now 5']
    """
    old, new = _flatten(_normalise(stored)), _flatten(_normalise(current))
    missing = object()
    return [
        f"{key}: stored {old.get(key, 'absent')!r}, now {new.get(key, 'absent')!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key, missing) != new.get(key, missing)
    ]


class RunDir:
    """Paths and bookkeeping of one K-fold run directory.

    Parameters
    ----------
    path
        The run directory (created on first write).

    Examples
    --------
    >>> import tempfile
    >>> run = RunDir(tempfile.mkdtemp())
    >>> run.fold_dir(1).name
    'fold_1'
    >>> run.write_splits([(("p1", "p2"), ("p3",))])
    >>> run.read_splits()
    [(('p1', 'p2'), ('p3',))]
    """

    def __init__(self, path: os.PathLike[str] | str) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        """``config.json``: the settings that shape the results."""
        return self.path / "config.json"

    @property
    def splits_path(self) -> Path:
        """``splits.json``: the folds' patient lists."""
        return self.path / "splits.json"

    @property
    def oof_path(self) -> Path:
        """``oof.csv``: out-of-fold predictions for every patch."""
        return self.path / "oof.csv"

    @property
    def summary_json_path(self) -> Path:
        """``summary.json``: mean and std over folds, as JSON."""
        return self.path / "summary.json"

    @property
    def summary_text_path(self) -> Path:
        """``summary.txt``: mean and std over folds, as a text table."""
        return self.path / "summary.txt"

    @property
    def report_path(self) -> Path:
        """``report.json``: written last, when the whole run is done."""
        return self.path / "report.json"

    @property
    def normalizer_path(self) -> Path:
        """``normalizer.json``: the fitted stain normaliser of a run that normalises stains."""
        return self.path / "normalizer.json"

    def fold_dir(self, fold: int) -> Path:
        """Return the folder of fold ``fold`` (numbered from 1)."""
        return self.path / f"fold_{fold}"

    def metrics_path(self, fold: int) -> Path:
        """``fold_<k>/metrics.json``: present exactly when the fold is finished."""
        return self.fold_dir(fold) / "metrics.json"

    def model_path(self, fold: int) -> Path:
        """``fold_<k>/model.keras``: the fold's model with its best weights."""
        return self.fold_dir(fold) / "model.keras"

    def fold_done(self, fold: int) -> bool:
        """Whether fold ``fold`` finished (its ``metrics.json`` exists)."""
        return self.metrics_path(fold).is_file()

    @property
    def complete(self) -> bool:
        """Whether the whole run finished (``report.json`` exists)."""
        return bool(self.report_path.is_file())

    def has_run(self) -> bool:
        """Whether the directory already holds (part of) a run."""
        return bool(self.config_path.is_file())

    def has_progress(self) -> bool:
        """Whether a fold of the run has finished an epoch (its ``state.json`` or metrics)."""
        return any(self.path.glob("fold_*/state.json")) or any(
            self.path.glob("fold_*/metrics.json")
        )

    def clear(self) -> None:
        """Remove a run that never finished an epoch: ``config.json``, splits, fold folders.

        Refused once a fold has finished an epoch (that run is resumed, never deleted).
        """
        if self.has_progress():
            raise invalid_argument(
                "run_dir", "RunDir.clear", "a run that never finished an epoch", str(self.path)
            )
        for fold_dir in self.path.glob("fold_*"):
            shutil.rmtree(fold_dir)
        self.splits_path.unlink(missing_ok=True)
        self.normalizer_path.unlink(missing_ok=True)
        self.config_path.unlink(missing_ok=True)

    def read_config(self) -> dict[str, Any]:
        """Read the stored ``config.json``, with the settings it lacks at their defaults.

        A setting added to :class:`~idckit.training.TrainingConfig` after a run was written
        defaults to what that run was trained with (a new setting's default is always the old
        behaviour), so an older run resumes and reloads as long as it is resumed with those
        values.
        """
        fields = Fields.of_file(self.config_path)
        stored = dict(fields.data)
        for name in TrainingConfig.names():
            if name in stored:
                _check_setting(fields, name)
        config = {**TrainingConfig().to_dict(), **stored}
        try:
            TrainingConfig.from_dict(config)  # the settings together (each passed alone)
        except (ValueError, TypeError) as error:
            problem = f"its settings do not agree ({error})"
            raise run_file_error(self.config_path, problem) from None
        return config

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Store ``config`` as ``config.json``."""
        atomic_write_json(self.config_path, dict(config))

    def check_config(self, config: Mapping[str, Any], owner: str = "KFoldTrainer") -> None:
        """Refuse to resume when the stored config differs from ``config``, naming the keys."""
        differences = config_differences(self.read_config(), config)
        if differences:
            raise invalid_argument(
                "out_dir",
                owner,
                "a run directory whose config.json matches this run's settings to resume it; "
                "these differ: " + "; ".join(differences),
                str(self.path),
                "Resume with the stored settings, or train into a new directory.",
            )

    def write_splits(self, folds: Sequence[FoldSplit]) -> None:
        """Store the folds' patient lists as ``splits.json``."""
        payload = {
            "folds": [
                {"train_patients": list(train), "val_patients": list(val)} for train, val in folds
            ]
        }
        atomic_write_json(self.splits_path, payload)

    def read_splits(self) -> list[FoldSplit]:
        """Read the folds stored in ``splits.json``."""
        fields = Fields.of_file(self.splits_path)
        folds = fields.get("folds")
        if not isinstance(folds, list) or not folds:
            raise fields.error("folds", "a non-empty list of folds", folds)
        splits = []
        for i, fold in enumerate(folds):
            entry = Fields(fold, fields.where, f"folds[{i}].")
            train, val = entry.strings("train_patients"), entry.strings("val_patients")
            if not train or not val:
                raise entry.error("val_patients" if train else "train_patients",
                                  "a non-empty list of patient ids", [])  # fmt: skip
            splits.append((train, val))
        return splits

    def read_fold_result(self, fold: int) -> FoldResult:
        """Read the checked ``fold_<k>/metrics.json`` of a finished fold."""
        path = self.metrics_path(fold)
        fields = Fields.of_file(path)
        try:
            result = FoldResult.from_dict(fields.data)
        except ValueError as error:
            raise run_file_error(path, str(error).removeprefix("Invalid ").rstrip(".")) from None
        if result.fold != fold:
            raise fields.error("fold", f"{fold} (the fold of its folder)", result.fold)
        return result


def _check_setting(fields: Fields, name: str) -> None:
    """Check one stored setting alone, so that the error names its key."""
    value = fields.data[name]
    if name == "optimizer" and isinstance(value, dict):
        optimizer = Fields(value, fields.where, "optimizer.")
        if not isinstance(optimizer.get("class_name"), str):
            raise optimizer.error("class_name", "the name of a Keras optimizer", value)
        if not isinstance(value.get("config", {}), dict):
            raise optimizer.error("config", "a JSON object", value["config"])
    try:
        TrainingConfig.from_dict({name: value})
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        match = re.search(r"expected (.*?)\. Received", str(error))
        rule = match.group(1) if match else f"a valid setting ({error})"
        raise fields.error(name, rule, value) from None
