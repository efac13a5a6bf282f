"""GPU checks (marker ``gpu``): run by ``nox -s tests-gpu``; skip where no GPU is visible.

They run on whichever Keras backend is selected (``KERAS_BACKEND``), so the same file checks
TensorFlow's CUDA build and JAX or PyTorch on a GPU machine.
"""

import numpy as np
import pytest
from sklearn.metrics import f1_score

pytestmark = pytest.mark.gpu


def _visible_gpus() -> int:
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.device_count()
    return 0


@pytest.fixture(scope="module")
def gpu():
    if _visible_gpus() == 0:
        pytest.skip("no GPU visible to the Keras backend")


def _toy_data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype("int32")
    images = rng.integers(0, 120, (n, 50, 50, 3)).astype("uint8")
    images[labels == 1, 10:40, 10:40, 2] = 250  # a blue square marks IDC(+)
    return images, labels


def test_streaming_f1_on_gpu_equals_sklearn(gpu):
    import keras

    from idckit.metrics import StreamingF1
    from idckit.models import build_benchmark_cnn, loss_for_model

    images, labels = _toy_data()
    model = build_benchmark_cnn()
    model.compile(optimizer="adam", loss=loss_for_model(model), metrics=[StreamingF1()])
    keras.utils.set_random_seed(0)
    model.fit(images, labels, batch_size=64, epochs=2, verbose=0)
    scores = model.evaluate(images, labels, batch_size=37, return_dict=True, verbose=0)
    predicted = model.predict(images, batch_size=64, verbose=0).argmax(axis=1)
    assert scores["f1"] == pytest.approx(f1_score(labels, predicted), abs=1e-6)


def test_mixed_precision_training_reduces_the_loss_on_gpu(gpu):
    from idckit.models import build_benchmark_cnn, loss_for_model, precision_policy

    images, labels = _toy_data()
    with precision_policy("mixed_float16"):
        model = build_benchmark_cnn()
    model.compile(optimizer="adam", loss=loss_for_model(model))
    history = model.fit(images, labels, batch_size=64, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert str(model.outputs[0].dtype).endswith("float32")
