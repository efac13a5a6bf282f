"""Cross-validated grid search over training and model-builder parameters."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idckit._errors import invalid_argument
from idckit.training._atomic import atomic_write_json, atomic_write_text
from idckit.training._config import LEARNING_RATE, TrainingConfig, json_safe
from idckit.training._kfold import KFoldTrainer
from idckit.training._recipes import MODEL_PREFIX

if TYPE_CHECKING:  # pragma: no cover
    from idckit.data import IDCPatchDataset

_RANKED_BY = "f1_pos"


@dataclass(frozen=True)
class GridSearchResult:
    """Every combination's cross-validated scores, ranked by mean validation F1(+).

    Parameters
    ----------
    rows
        One dict per combination, best first: ``rank``, ``params``, ``mean_<metric>`` and
        ``std_<metric>`` for every fold metric, ``run_dir``.

    Examples
    --------
    >>> row = {"rank": 1, "params": {"epochs": 2}, "mean_f1_pos": 0.8, "std_f1_pos": 0.1,
    ...        "run_dir": "r"}
    >>> GridSearchResult((row,)).best_params
    {'epochs': 2}
    """

    rows: tuple[Mapping[str, Any], ...]

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of the best combination (highest mean validation F1(+))."""
        return dict(self.rows[0]["params"])

    @property
    def best_run_dir(self) -> Path:
        """Run directory of the best combination."""
        return Path(self.rows[0]["run_dir"])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"ranked_by": f"mean_{_RANKED_BY}", "rows": json_safe(list(self.rows))}

    def to_table(self) -> str:
        """One line per combination: rank, mean +- std F1(+) and balanced accuracy, params."""
        lines = [f"{'rank':>4}  {'F1(+)':>15}  {'bal. acc.':>15}  params"]
        for row in self.rows:
            cells = [
                f"{row.get(f'mean_{m}', math.nan):.4f} +- {row.get(f'std_{m}', math.nan):.4f}"
                for m in (_RANKED_BY, "balanced_accuracy")
            ]
            params = ", ".join(f"{k}={v!r}" for k, v in row["params"].items())
            lines.append(f"{row['rank']:>4}  {cells[0]:>15}  {cells[1]:>15}  {params}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()


def _check_keys(combos: Sequence[Mapping[str, Any]]) -> None:
    for combo in combos:
        for key in combo:
            if key not in (*TrainingConfig.names(), LEARNING_RATE) and not key.startswith(
                MODEL_PREFIX
            ):
                allowed = ", ".join((*TrainingConfig.names(), LEARNING_RATE))
                raise invalid_argument(
                    "param_grid", "grid_search",
                    f"keys among the TrainingConfig settings ({allowed}), or "
                    "model__<builder argument>", key,
                )  # fmt: skip


def _trainer_for(base: KFoldTrainer, combo: Mapping[str, Any], out_dir: Path) -> KFoldTrainer:
    model_kwargs = {
        k.removeprefix(MODEL_PREFIX): v for k, v in combo.items() if k.startswith(MODEL_PREFIX)
    }
    settings = {k: v for k, v in combo.items() if not k.startswith(MODEL_PREFIX)}
    changes: dict[str, Any] = {"config": base.training_config.replace(**settings)}
    if model_kwargs:
        changes["build_model"] = functools.partial(base.build_model, **model_kwargs)
        if base.model_config is not None:
            changes["model_config"] = {"base": base.model_config, "kwargs": model_kwargs}
    return base.clone(**changes, out_dir=out_dir)


def _rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    key = f"mean_{_RANKED_BY}"
    rows.sort(key=lambda r: -r[key] if math.isfinite(r[key]) else math.inf)
    for row in rows:  # ties share the best rank, as scikit-learn's rank_test_score
        row["rank"] = 1 + sum(other[key] > row[key] for other in rows)
    return rows


def grid_search(
    trainer: KFoldTrainer,
    dataset: IDCPatchDataset,
    param_grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]],
) -> GridSearchResult:
    """Cross-validate ``trainer`` once per combination of ``param_grid``, ranked by F1(+).

    Each combination trains into ``trainer.out_dir/grid_<i>/`` (resumable like any run);
    ``grid.json`` and ``grid.txt`` in ``trainer.out_dir`` hold the ranked table.

    Parameters
    ----------
    trainer
        The base :class:`KFoldTrainer`; a combination overrides some of its config's settings
        (and the model builder's arguments).
    dataset
        The data set to cross-validate on.
    param_grid
        A dict (or list of dicts) of lists, as ``sklearn.model_selection.ParameterGrid``:
        :class:`TrainingConfig` settings by name, or ``model__<name>`` builder arguments.

    Returns
    -------
    GridSearchResult
        Ranked rows, best first.

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn
    >>> trainer = KFoldTrainer(build_benchmark_cnn, TrainingConfig(n_splits=3, epochs=1))
    >>> grid_search(trainer, dataset, {"batch_size": [32, 64]})  # doctest: +SKIP
    """
    import tempfile

    from sklearn.model_selection import ParameterGrid

    combos = list(ParameterGrid(param_grid))
    _check_keys(combos)
    root = Path(trainer.out_dir or tempfile.mkdtemp(prefix="idckit-grid-"))
    rows = []
    for i, combo in enumerate(combos, start=1):
        trainer._say(f"grid {i}/{len(combos)}: {combo}")
        result = _trainer_for(trainer, combo, root / f"grid_{i}").fit(dataset)
        summary = result.summary()
        row: dict[str, Any] = {"params": json_safe(combo), "run_dir": str(result.run_dir)}
        for metric, stats in summary.items():
            row[f"mean_{metric}"], row[f"std_{metric}"] = stats["mean"], stats["std"]
        rows.append(row)
    ranked = GridSearchResult(tuple(_rank(rows)))
    atomic_write_json(root / "grid.json", ranked.to_dict())
    atomic_write_text(root / "grid.txt", ranked.to_table() + "\n")
    trainer._say(ranked.to_table())
    return ranked
