"""Decode patch files to RGB ``uint8`` arrays of one size, in parallel, straight to disk.

Grayscale, gray+alpha, RGBA and 16-bit images are converted (alpha is composited over white,
16-bit values are scaled to 8 bits). Images smaller than the patch size (edge patches at a
slide's border) are padded at the bottom and right, or resized; larger ones are refused. A
PNG's size is read from its header (the IHDR chunk) and its chunk lengths are checked against
the file's before it is decoded, so a huge PNG (a decompression bomb) or a chunk claiming
gigabytes is refused without decoding it, and a file named ``.png`` must be a PNG
(a JPEG behind a ``.png`` name is refused by every path: headers, verification and cache).

The parallel pass gives each worker thread a chunk of consecutive rows of the memory-mapped
``.npy`` cache: the worker reads, decodes and writes the pixels straight into the map and
returns one status byte per image. OpenCV releases the GIL while it decodes.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

PadMode = Literal["constant", "reflect", "resize"]
PAD_MODES: tuple[PadMode, ...] = ("constant", "reflect", "resize")

#: Status of one decoded file. OK and PADDED are kept; the others are skip reasons.
OK, PADDED, OVERSIZE, UNDECODABLE, UNREADABLE, PENDING = 0, 1, 2, 3, 4, -1
REASONS = {OVERSIZE: "oversize", UNDECODABLE: "undecodable", UNREADABLE: "unreadable"}

#: Below this many files the pass runs on one thread.
PARALLEL_MIN = 512

_READ_SIZE = 1 << 17
#: Decodes an 8-bit RGB PNG straight to RGB order (OpenCV >= 4.10); None on older OpenCV.
_IMREAD_RGB: int | None = getattr(cv2, "IMREAD_COLOR_RGB", None)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_WHITE = 255

Image = npt.NDArray[np.uint8]


def to_rgb_uint8(image: npt.NDArray[np.generic]) -> Image | None:
    """Convert an OpenCV image (BGR order, any channel count, 8 or 16 bit) to RGB ``uint8``.

    Returns None for pixel types other than 8 and 16-bit integers.

    Examples
    --------
    >>> gray = np.full((2, 2), 65535, dtype=np.uint16)
    >>> to_rgb_uint8(gray)[0, 0].tolist()
    [255, 255, 255]
    """
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        image = image[:, :, None]
    channels = image.shape[2]
    if channels in (2, 4):  # gray+alpha or BGRA: composite over white
        color, alpha = image[:, :, :-1], image[:, :, -1:].astype(np.uint16)
        blended = (color.astype(np.uint16) * alpha + _WHITE * (255 - alpha) + 127) // 255
        image = blended.astype(np.uint8)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.shape[2] == 3:
        return np.ascontiguousarray(image[:, :, ::-1])
    return None


def fit_patch(image: Image, patch_size: int, pad_mode: PadMode) -> Image:
    """Bring a smaller RGB image to ``(patch_size, patch_size, 3)``.

    ``"constant"`` pads the bottom and right with white, ``"reflect"`` mirrors the image
    there, ``"resize"`` scales it with bicubic interpolation (as the original notebook did).

    Examples
    --------
    >>> small = np.zeros((30, 50, 3), dtype=np.uint8)
    >>> fit_patch(small, 50, "constant")[40, 0].tolist()
    [255, 255, 255]
    """
    h, w = image.shape[:2]
    if pad_mode == "resize":
        out = cv2.resize(image, (patch_size, patch_size), interpolation=cv2.INTER_CUBIC)
        return np.asarray(out, dtype=np.uint8)
    pad = ((0, patch_size - h), (0, patch_size - w), (0, 0))
    if pad_mode == "reflect":
        return np.pad(image, pad, mode="reflect")
    return np.pad(image, pad, mode="constant", constant_values=_WHITE)


def png_size(head: bytes) -> tuple[int, int] | None:
    r"""Return a PNG's ``(width, height)`` from its first 24 bytes; None if it is no PNG.

    Examples
    --------
    >>> png_size(b"\x89PNG\r\n\x1a\n" + bytes(4) + b"IHDR" + (8000).to_bytes(4, "big") * 2)
    (8000, 8000)
    >>> png_size(b"\xff\xd8\xff\xe0 a JPEG") is None
    True
    """
    if len(head) < 24 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


def png_chunk_problem(data: bytes) -> str:
    """Return why a PNG's chunks cannot be read ("" if every declared length fits the file).

    Checked before decoding: OpenCV reserves a chunk's declared length before reading it, so
    a 7 KB file declaring a 2.8 GB chunk would otherwise cost 2.8 GB of memory.

    Examples
    --------
    >>> ok, png = cv2.imencode(".png", np.zeros((5, 5, 3), dtype=np.uint8))
    >>> png_chunk_problem(png.tobytes()), png_chunk_problem(png.tobytes()[:60])
    ('', "chunk b'IDAT' runs past the end of the file")
    """
    at, end = 8, len(data)
    while at + 8 <= end:
        (length,) = struct.unpack_from(">I", data, at)
        kind = data[at + 4 : at + 8]
        if at + 12 + length > end:
            return f"chunk {kind!r} runs past the end of the file"
        if kind == b"IEND":
            break
        at += 12 + length
    return ""


def _size_status(w: int, h: int, patch_size: int) -> tuple[int, str]:
    if w > patch_size or h > patch_size:
        return OVERSIZE, f"{w}x{h} pixels, patch size {patch_size}"
    if w == 0 or h == 0:
        return UNDECODABLE, f"{w}x{h} pixels"
    return (PADDED if w < patch_size or h < patch_size else OK), ""


def decode_bytes(
    data: bytes, patch_size: int, pad_mode: PadMode, *, png: bool = False
) -> tuple[Image | None, int, str]:
    """Decode one file's bytes to an RGB ``(patch_size, patch_size, 3)`` patch.

    Bytes that start like a PNG have their size checked in the header before decoding;
    with ``png`` (the file is named ``.png``) anything else is refused as ``UNDECODABLE``.

    Returns
    -------
    image, status, detail
        The patch (None unless the status is OK or PADDED), the status code and, for a
        failure, a short explanation.

    Examples
    --------
    >>> ok, png = cv2.imencode(".png", np.zeros((50, 40, 3), dtype=np.uint8))
    >>> image, status, _ = decode_bytes(png.tobytes(), 50, "constant")
    >>> image.shape, status == PADDED
    ((50, 50, 3), True)
    """
    if not data:
        return None, UNDECODABLE, "empty file"
    size = png_size(data)
    if size is None and (png or data[:8] == _PNG_SIGNATURE):
        return None, UNDECODABLE, "no PNG header"
    if size is not None:
        status, detail = _size_status(*size, patch_size)
        if status > PADDED:
            return None, status, detail
        problem = png_chunk_problem(data)
        if problem:
            return None, UNDECODABLE, problem
    buffer = np.frombuffer(data, np.uint8)
    plain_rgb = data[12:16] == b"IHDR" and data[24:26] == b"\x08\x02" and _IMREAD_RGB is not None
    flag = _IMREAD_RGB if plain_rgb and _IMREAD_RGB is not None else cv2.IMREAD_UNCHANGED
    try:  # an 8-bit RGB PNG (nearly every patch) decodes straight to RGB order
        raw = cv2.imdecode(buffer, flag)
    except cv2.error as err:  # pragma: no cover - OpenCV raises only on empty input
        return None, UNDECODABLE, str(err).strip().splitlines()[-1]
    if raw is None:
        return None, UNDECODABLE, "not a readable image"
    h, w = raw.shape[:2]
    if h > patch_size or w > patch_size:
        return None, OVERSIZE, f"{w}x{h} pixels, patch size {patch_size}"
    rgb = cast(Image, raw) if plain_rgb else to_rgb_uint8(raw)
    if rgb is None:
        return None, UNDECODABLE, f"unsupported pixel type {raw.dtype}"
    if h < patch_size or w < patch_size:
        return fit_patch(rgb, patch_size, pad_mode), PADDED, ""
    return rgb, OK, ""


def header_status(path: str, patch_size: int) -> tuple[int, str]:
    """Check a PNG's size from its header (IHDR chunk) without decoding it.

    Files that are not ``.png`` are decoded instead.

    Examples
    --------
    >>> header_status("missing.png", 50)[0] == UNREADABLE
    True
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(24) if path.lower().endswith(".png") else fh.read()
    except OSError as err:
        return UNREADABLE, err.strerror or type(err).__name__
    if not path.lower().endswith(".png"):
        return decode_bytes(head, patch_size, "constant")[1:]
    size = png_size(head)
    if size is None:
        return UNDECODABLE, "no PNG header"
    return _size_status(*size, patch_size)


def read_file(path: str) -> bytes:
    """Read a whole file with two system calls for a small one (no buffered file object)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, _READ_SIZE)
        if len(data) == _READ_SIZE:  # a large file: read the rest
            parts = [data]
            while chunk := os.read(fd, _READ_SIZE):
                parts.append(chunk)
            data = b"".join(parts)
    finally:
        os.close(fd)
    return data


def decode_chunk(
    out: npt.NDArray[np.uint8] | None,
    start: int,
    paths: Sequence[str],
    patch_size: int,
    pad_mode: PadMode,
) -> tuple[npt.NDArray[np.int8], list[str]]:
    """Decode ``paths`` into rows ``start, start + 1, ...`` of ``out``.

    With ``out=None`` the images are decoded and discarded (a verification pass).
    Returns one status per path and the failures' details (empty strings for successes).
    """
    statuses = np.zeros(len(paths), dtype=np.int8)
    details = [""] * len(paths)
    for j, path in enumerate(paths):
        try:
            data = read_file(path)
        except OSError as err:
            statuses[j], details[j] = UNREADABLE, err.strerror or type(err).__name__
            continue
        png = path.lower().endswith(".png")
        image, statuses[j], details[j] = decode_bytes(data, patch_size, pad_mode, png=png)
        if out is not None and image is not None:
            out[start + j] = image
    return statuses, details


def decode_files(
    paths: Sequence[str],
    out: npt.NDArray[np.uint8] | None,
    *,
    patch_size: int,
    pad_mode: PadMode,
    n_jobs: int,
    progress: bool,
    stop_on_error: bool = False,
) -> tuple[npt.NDArray[np.int8], list[str]]:
    """Decode every file in ``paths`` into ``out`` (row i = path i; None: decode only).

    Runs on ``n_jobs`` threads: OpenCV releases the GIL while it decodes, which is nearly all
    of the work, and threads need no process start, no pickling and no re-import of the
    caller's main module (so this is safe in scripts, notebooks and next to TensorFlow).
    With ``stop_on_error`` the pass stops soon after the first failure; files not decoded
    then have status ``PENDING``.
    """
    n = len(paths)
    statuses = np.full(n, PENDING, dtype=np.int8)
    details = [""] * n
    jobs = max(1, min(n_jobs, n)) if n >= PARALLEL_MIN else 1
    size = max(1, min(2048, math.ceil(n / (jobs * 8)))) if jobs > 1 else 512
    chunks = [(s, paths[s : s + size]) for s in range(0, n, size)]
    with (
        _quiet_opencv(),
        tqdm(total=n, desc="decoding", unit=" patches", disable=not progress) as bar,
        ThreadPoolExecutor(jobs, thread_name_prefix="idckit-decode") as pool,
    ):
        pending = {
            pool.submit(decode_chunk, out, s, chunk, patch_size, pad_mode): s
            for s, chunk in chunks
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk_status, chunk_details = future.result()
                    lo = pending.pop(future)
                    statuses[lo : lo + len(chunk_status)] = chunk_status
                    details[lo : lo + len(chunk_status)] = chunk_details
                    bar.update(len(chunk_status))
                if stop_on_error and (statuses > PADDED).any():
                    break
        finally:
            for future in pending:
                future.cancel()
    return statuses, details


def default_jobs(n_jobs: int | None) -> int:
    """Return the number of decoding threads: all usable cores for None or -1."""
    if n_jobs is None or n_jobs == -1:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - macOS and Windows
            return os.cpu_count() or 1
    return n_jobs


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's console warnings about corrupt files (they are reported instead)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)
