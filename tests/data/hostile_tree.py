"""A tiny patch tree in the Kaggle layout with every hostile case the scanner must survive.

``build_hostile_tree(root)`` writes it with OpenCV and returns what a correct reader must find,
worked out here independently of idckit (expected RGB pixels included).
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

P = 50


def name(patient: str, x: int, y: int, label: int) -> str:
    return f"{patient}_idx5_x{x}_y{y}_class{label}.png"


def _rgb(rng: np.random.Generator, h: int = P, w: int = P) -> np.ndarray:
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _write(path: Path, bgr_or_gray: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), bgr_or_gray), path


def png_bomb(side: int = 8000) -> bytes:
    """A valid 8-bit gray PNG of ``side`` x ``side`` zero pixels: small file, huge decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer = zlib.compressobj(1)
    row = bytes(1 + side)
    idat = b"".join([packer.compress(row) for _ in range(side)] + [packer.flush()])
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _write_names_and_decoding_cases(root: Path, rng: np.random.Generator) -> dict[str, str]:
    """Issue 21, class 5: hostile names and contents, all under patient folder 10005.

    Returns ``{relpath: reason}`` (every file is skipped; the folder sorts after 10001/0, so
    ``thumbnail.png`` stays the first bad file). Also writes ``10004``, a file where a patient
    folder belongs (ignored, like any non-image file).
    """
    folder = root / "10005" / "0"
    folder.mkdir(parents=True)
    _, png = cv2.imencode(".png", _rgb(rng)[:, :, ::-1])
    _, jpeg = cv2.imencode(".jpg", _rgb(rng)[:, :, ::-1])
    cases = {
        name("10005", 10**19 * 9, 0, 0): ("bad_coordinate", png.tobytes()),  # 20 digits
        name("\u0661\u0660\u0660\u0660\u0665", 0, 0, 0): ("bad_name", png.tobytes()),
        "10005_idx5_x\u0661\u0660\u0660\u0661_y0_class0.png": ("bad_name", png.tobytes()),
        name("10006", 0, 0, 0): ("patient_mismatch", png.tobytes()),
        name("10005", 50, 0, 0): ("undecodable", jpeg.tobytes()),  # a JPEG behind .png
        name("10005", 150, 0, 0): ("oversize", png_bomb()),  # 8000x8000
        name("10005", 200, 0, 0): ("undecodable", b""),  # empty
        "10005_idx5_x0_y0_class0\u00e9.png": ("bad_name", png.tobytes()),  # Unicode
    }
    for fname, (_, data) in cases.items():
        (folder / fname).write_bytes(data)
    raw = os.fsencode(folder) + b"/10005_idx5_x0_y0_class0\xff.png"  # not UTF-8
    with open(raw, "wb") as fh:
        fh.write(png.tobytes())
    reasons = {f"10005/0/{fname}": reason for fname, (reason, _) in cases.items()}
    reasons[os.fsdecode(raw)[len(str(root)) + 1 :]] = "bad_name"
    dangling = folder / name("10005", 100, 0, 0)
    os.symlink("gone.png", dangling)
    reasons[f"10005/0/{dangling.name}"] = "broken_link"
    (root / "10004").write_bytes(b"a file where a patient folder belongs")
    return reasons


def _white_canvas(rgb: np.ndarray) -> np.ndarray:
    out = np.full((P, P, 3), 255, dtype=np.uint8)
    out[: rgb.shape[0], : rgb.shape[1]] = rgb
    return out


def build_hostile_tree(root: Path, seed: int = 0) -> dict[str, Any]:
    """Write the tree under ``root``; return the expected outcome of indexing it."""
    rng = np.random.default_rng(seed)
    pixels: dict[str, np.ndarray] = {}  # relpath -> expected RGB after decoding
    labels: dict[str, int] = {}
    padded: set[str] = set()

    def regular(patient: str, x: int, y: int, label: int) -> str:
        rel = f"{patient}/{label}/{name(patient, x, y, label)}"
        rgb = _rgb(rng)
        _write(root / rel, rgb[:, :, ::-1])
        pixels[rel], labels[rel] = rgb, label
        return rel

    for x in (0, 50, 100):
        regular("10001", x, 0, 0)
    for x in (200, 250):
        regular("10001", x, 50, 1)
    for x in (0, 50):
        regular("10002", x, 0, 0)
    for x in (0, 50):
        regular("10003", x, 0, 0)
        regular("10003", x, 500, 1)

    # grayscale (one channel) and RGBA with transparent, half and opaque pixels
    rel = f"10002/0/{name('10002', 100, 0, 0)}"
    gray = rng.integers(0, 256, size=(P, P), dtype=np.uint8)
    _write(root / rel, gray)
    pixels[rel], labels[rel] = np.repeat(gray[:, :, None], 3, axis=2), 0
    rel = f"10002/0/{name('10002', 150, 0, 0)}"
    rgb = _rgb(rng)
    alpha = rng.choice(np.array([0, 128, 255], dtype=np.uint8), size=(P, P))
    _write(root / rel, np.dstack([rgb[:, :, ::-1], alpha]))
    a = alpha[:, :, None].astype(np.float64) / 255.0
    pixels[rel] = np.rint(rgb * a + 255.0 * (1.0 - a)).astype(np.uint8)
    labels[rel] = 0
    (root / "10002" / "1").mkdir(parents=True)  # an empty class folder

    # a 16-bit RGB patch and two edge patches smaller than 50x50
    rel = f"10003/0/{name('10003', 100, 0, 0)}"
    rgb16 = rng.integers(0, 65536, size=(P, P, 3), dtype=np.uint16)
    _write(root / rel, rgb16[:, :, ::-1])
    pixels[rel], labels[rel] = np.rint(rgb16 / 257.0).astype(np.uint8), 0
    for rel, (h, w), label in (
        (f"10003/0/{name('10003', 1950, 0, 0)}", (P, 32), 0),
        (f"10003/1/{name('10003', 0, 1950, 1)}", (20, P), 1),
    ):
        small = _rgb(rng, h, w)
        _write(root / rel, small[:, :, ::-1])
        pixels[rel], labels[rel] = _white_canvas(small), label
        padded.add(rel)

    # problems: corrupt (valid header, truncated data), oversize, label mismatch, bad name
    _, png = cv2.imencode(".png", _rgb(rng)[:, :, ::-1])
    corrupt = f"10003/0/{name('10003', 150, 0, 0)}"
    (root / corrupt).write_bytes(png.tobytes()[: len(png) // 2])
    oversize = f"10003/0/{name('10003', 200, 0, 0)}"
    _write(root / oversize, _rgb(rng, 64, 64))
    mismatch = f"10003/1/{name('10003', 50, 50, 0)}"
    _write(root / mismatch, _rgb(rng))
    bad_name = "10001/0/thumbnail.png"
    _write(root / bad_name, _rgb(rng))

    # things to ignore: hidden files, AppleDouble, __MACOSX, non-image files, symlink loops
    (root / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "README.txt").write_text("not an image")
    (root / "10001" / "notes.csv").write_text("a,b\n")
    (root / "10001" / "0" / f"._{name('10001', 0, 0, 0)}").write_bytes(b"\x00\x05\x16\x07")
    macosx = root / "__MACOSX" / "10001" / "0"
    macosx.mkdir(parents=True)
    (macosx / f"._{name('10001', 0, 0, 0)}").write_bytes(b"\x00\x05\x16\x07")
    os.symlink("..", root / "10001" / "loop")  # 10001/loop -> root
    os.symlink(".", root / "10002" / "1" / "self")

    hostile_names = _write_names_and_decoding_cases(root, rng)

    # the nested duplicate copy of the Kaggle archive: patient 10001 again
    nested = root / "IDC_regular_ps50_idx5"
    shutil.copytree(root / "10001", nested / "10001", symlinks=True)
    duplicates = [p for p in pixels if p.startswith("10001/")]

    class_counts = {0: 0, 1: 0}
    for label in labels.values():
        class_counts[label] += 1
    return {
        "root": root,
        "pixels": pixels,
        "labels": labels,
        "n_patches": len(pixels),
        "n_patients": 3,
        "patients": ("10001", "10002", "10003"),
        "class_counts": class_counts,
        "padded": padded,
        "duplicates": len(duplicates),
        # .DS_Store, README.txt, __MACOSX, 2 notes.csv, 2 AppleDouble ._*, the file 10004
        "ignored": 8,
        "symlink_loops": 3,  # 10001/loop, 10002/1/self and the nested copy's loop
        "corrupt": corrupt,
        "oversize": oversize,
        "mismatch": mismatch,
        "bad_name": bad_name,
        "hostile_names": hostile_names,  # {relpath: reason} of the class-5 cases
        # without decoding (PNG headers only) the corrupt file is not found
        "skipped_headers": _add_reasons(
            {"bad_name": 2, "label_mismatch": 1, "oversize": 1}, hostile_names
        ),
        "skipped_decoded": _add_reasons(
            {"bad_name": 2, "label_mismatch": 1, "oversize": 1, "undecodable": 1}, hostile_names
        ),
    }


def _add_reasons(counts: dict[str, int], reasons: dict[str, str]) -> dict[str, int]:
    out = dict(counts)
    for reason in reasons.values():
        out[reason] = out.get(reason, 0) + 1
    return dict(sorted(out.items()))
