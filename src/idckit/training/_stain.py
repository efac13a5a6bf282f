"""A run's stain normaliser: fitted on its training patients, stored, applied to predictions."""

from __future__ import annotations

from typing import Any

from idckit.training._atomic import atomic_write_json
from idckit.training._config import TrainingConfig
from idckit.training._run_dir import RunDir


def normalize_for_training(run: RunDir, dataset: Any, config: TrainingConfig) -> Any:
    """Return ``dataset`` normalised as ``config`` says (as it is when it says nothing).

    The normaliser is fitted on ``dataset`` and written to ``normalizer.json`` on the run's
    first start; a resumed run reads it back, so every fold sees the same pixels.
    """
    setting = config.stain_normalization
    if setting is None:
        return dataset
    normalizer = load_normalizer(run)
    if normalizer is None:
        from idckit.data._normalize import fit_normalizer

        normalizer = fit_normalizer(setting, dataset, config.seed)
        atomic_write_json(run.normalizer_path, normalizer.to_dict())
    return dataset.normalized(normalizer, per=setting.per)


def load_normalizer(run: RunDir) -> Any:
    """Return the fitted normaliser stored in ``run`` (None when it has none)."""
    if not run.normalizer_path.is_file():
        return None
    from idckit.data import normalizer_from_dict
    from idckit.training._run_files import read_run_json, run_file_error

    try:
        return normalizer_from_dict(read_run_json(run.normalizer_path))
    except (TypeError, KeyError, ValueError) as error:
        raise run_file_error(run.normalizer_path, str(error).rstrip(".")) from None
