"""The backbone registry: every ``keras.applications`` model as one line of data.

Each entry records what idckit needs to wrap a backbone correctly:

* ``preprocessing``: the normalisation the backbone's ImageNet weights were trained with (the
  mode of its own ``preprocess_input``), applied inside the model by
  :class:`~idckit.models.ImagePreprocessing`;
* ``min_size``: the smallest square input ``keras.applications`` accepts (32 for most, 71 for
  Xception, 75 for the Inception family);
* ``imagenet_sizes``: the input sizes the ImageNet weights *require*, or ``()`` when they load at
  any size of at least ``min_size``. Constraints, from the ``keras.applications`` source:

  - **NASNetMobile / NASNetLarge**: exactly 224 / 331. The NASNet graph depends on the input
    size (the odd/even padding of its reduction cells adds or removes "adjust" layers), so
    ImageNet weights only load into a network built at the published size
    (keras-applications#78, keras#18365).
  - **MobileNet**: 128, 160, 192 or 224 (one weight file per size; any other size warns and
    loads the 224 weights). **MobileNetV2**: 96, 128, 160, 192 or 224. **MobileNetV3**: 224
    (other sizes warn).
  - **VGG, ResNet, DenseNet, Xception, Inception, EfficientNet(V2), ConvNeXt**: any size of at
    least ``min_size``: VGG19 at the capstone's 50x50 loads ImageNet weights unchanged.

  With ``resize_to="auto"`` (the default of :func:`~idckit.models.build_transfer_model`) the
  model upsamples its 50x50 input to the smallest ImageNet size at least as large as the input
  (MobileNet: 128, MobileNetV2: 96, NASNetMobile: 224, NASNetLarge: 331), and otherwise only up
  to ``min_size`` when the input is smaller.
* ``unsupported_backends``: Keras backends the constructor refuses (NASNetMobile on PyTorch).

Names are looked up case-insensitively, ignoring ``_`` and ``-`` (``"ResNet50"``,
``"efficientnet_b0"``); :data:`ALIASES` adds the capstone's short names (``"nasnet"`` is
NASNetMobile). Adding a backbone is one entry here plus one parametrised test case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from idckit._errors import invalid_argument

PreprocessingMode = Literal["unit", "tf", "caffe", "torch", "none"]
"""How :class:`~idckit.models.ImagePreprocessing` maps 0-255 pixels (see its docstring)."""


@dataclass(frozen=True)
class BackboneSpec:
    """What idckit needs to know about one ``keras.applications`` backbone.

    Parameters
    ----------
    constructor
        The constructor's name in ``keras.applications``, e.g. ``"VGG19"``.
    preprocessing
        The backbone's own input normalisation (see :class:`~idckit.models.ImagePreprocessing`).
    min_size
        Smallest square input side the constructor accepts.
    imagenet_sizes
        Input sides the ImageNet weights require; ``()`` means any side ``>= min_size``.
    unsupported_backends
        Keras backends on which ``keras.applications`` refuses to build the backbone.

    Examples
    --------
    >>> from idckit.models import BACKBONES
    >>> BACKBONES["nasnetmobile"].imagenet_sizes
    (224,)
    >>> BACKBONES["vgg19"].preprocessing
    'caffe'
    """

    constructor: str
    preprocessing: PreprocessingMode
    min_size: int = 32
    imagenet_sizes: tuple[int, ...] = ()
    unsupported_backends: tuple[str, ...] = ()


_MOBILENET_SIZES = (128, 160, 192, 224)
_SPECS = (
    BackboneSpec("VGG16", "caffe"),
    BackboneSpec("VGG19", "caffe"),
    BackboneSpec("ResNet50", "caffe"),
    BackboneSpec("ResNet101", "caffe"),
    BackboneSpec("ResNet152", "caffe"),
    BackboneSpec("ResNet50V2", "tf"),
    BackboneSpec("ResNet101V2", "tf"),
    BackboneSpec("ResNet152V2", "tf"),
    BackboneSpec("MobileNet", "tf", imagenet_sizes=_MOBILENET_SIZES),
    BackboneSpec("MobileNetV2", "tf", imagenet_sizes=(96, *_MOBILENET_SIZES)),
    # MobileNetV3, EfficientNet(V2) and ConvNeXt rescale inside the network: they take 0-255.
    BackboneSpec("MobileNetV3Small", "none", imagenet_sizes=(224,)),
    BackboneSpec("MobileNetV3Large", "none", imagenet_sizes=(224,)),
    BackboneSpec("NASNetMobile", "tf", imagenet_sizes=(224,), unsupported_backends=("torch",)),
    BackboneSpec("NASNetLarge", "tf", imagenet_sizes=(331,)),
    BackboneSpec("Xception", "tf", min_size=71),
    BackboneSpec("InceptionV3", "tf", min_size=75),
    BackboneSpec("InceptionResNetV2", "tf", min_size=75),
    BackboneSpec("DenseNet121", "torch"),
    BackboneSpec("DenseNet169", "torch"),
    BackboneSpec("DenseNet201", "torch"),
    *(BackboneSpec(f"EfficientNetB{i}", "none") for i in range(8)),
    *(BackboneSpec(f"EfficientNetV2{v}", "none") for v in ("B0", "B1", "B2", "B3", "S", "M", "L")),
    *(BackboneSpec(f"ConvNeXt{v}", "none") for v in ("Tiny", "Small", "Base", "Large", "XLarge")),
)

BACKBONES: Mapping[str, BackboneSpec] = MappingProxyType(
    {spec.constructor.lower(): spec for spec in _SPECS}
)
"""Every supported backbone, keyed by its lower-case ``keras.applications`` name (read-only)."""

ALIASES: Mapping[str, str] = MappingProxyType({"nasnet": "nasnetmobile"})
"""Short names accepted by :func:`~idckit.models.build_transfer_model` -> registry keys."""


def resolve_backbone(name: str, owner: str = "build_transfer_model") -> tuple[str, BackboneSpec]:
    """Return ``(registry key, spec)`` for a backbone name, or raise a clear error.

    Parameters
    ----------
    name
        Any case, ``_`` and ``-`` ignored: ``"VGG19"``, ``"nasnet"``, ``"efficientnet_b0"``.
    owner
        The function named in the error message.

    Examples
    --------
    >>> resolve_backbone("NASNet")[1].constructor
    'NASNetMobile'
    """
    key = name.lower().replace("_", "").replace("-", "") if isinstance(name, str) else ""
    key = ALIASES.get(key, key)
    if key not in BACKBONES:
        known = ", ".join(repr(k) for k in sorted({*BACKBONES, *ALIASES}))
        raise invalid_argument("backbone", owner, f"one of {known}", name)
    return key, BACKBONES[key]
