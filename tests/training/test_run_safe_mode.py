"""Model files of a run load in Keras's safe mode: a file carrying code is refused."""

import keras
import pytest

from idckit.training._run_files import load_keras_file


def test_a_model_file_with_a_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)  # arbitrary code in the file
    path = tmp_path / "model.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        load_keras_file(path, compile=False)


def test_a_plain_model_file_loads(tmp_path):
    inputs = keras.Input((4,))
    path = tmp_path / "model.keras"
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    assert load_keras_file(path, compile=False).output_shape == (None, 2)
