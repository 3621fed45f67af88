"""Image folders: one sub-folder per class of PNG/JPEG files, read into uint8 arrays of one size and mode.

Training data fixes the size and mode, predictions follow them:

* **size** — the most common (width, height) among the readable files; when its longer side exceeds
  :data:`MAX_IMAGE_SIDE` it is scaled down to that, keeping the aspect ratio. Other images are resized
  to it (bilinear, antialiased). The chosen size is ``Schema.shape``.
* **mode** — grayscale (``N x H x W``) when every file is grayscale, otherwise RGB (``N x H x W x 3``,
  channels last). Transparent images (RGBA, LA, palettes with a transparent colour) are composited on
  white first; 16-bit grayscale is scaled to 8 bits.
* **bad files** — a file that cannot be decoded (corrupt, truncated, not an image) or whose header
  claims more than :data:`MAX_IMAGE_PIXELS` pixels (a decompression bomb) is skipped while training,
  counted in the :class:`CleaningReport` and named in a warning; at prediction time it is an error,
  since every input needs its prediction.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["IMAGE_SUFFIXES", "MAX_IMAGE_SIDE", "MAX_IMAGE_PIXELS", "ImageFolder", "read_image_folder",
           "read_images", "list_images", "is_image_file", "decode_image"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Small CNNs on a CPU train on thumbnails; a larger common size is scaled down to this longer side.
MAX_IMAGE_SIDE = 128
# A header claiming more pixels than this is refused before any pixel is decoded (Pillow's own
# default limit is 89 M; a 100k x 100k PNG would need 10 GB).
MAX_IMAGE_PIXELS = 40_000_000
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_NAMED_IN_WARNING = 5


@dataclass
class ImageFolder:
    """Images read from a folder: ``X`` uint8 (N, H, W[, 3]), class names ``y``, and what was skipped."""

    X: np.ndarray
    y: np.ndarray
    files: list[str]
    skipped: dict[str, str] = field(default_factory=dict)   # file -> reason
    n_resized: int = 0


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (any depth), sorted by path: the order predictions come in."""
    return sorted(p for p in folder.rglob("*") if is_image_file(p) and not _hidden(p, folder))


def read_image_folder(folder: Path) -> ImageFolder:
    """Read a labelled folder (one sub-folder per class), choosing the size and mode from the files."""
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        n_found = len(list_images(folder))
        raise DataError(f"{folder}: expected one sub-folder per class (e.g. {folder}/cat/001.png); found "
                        f"{n_found} image file(s) and no sub-folder.")
    if len(class_dirs) == 1:
        raise DataError(f"{folder}: only one class folder ({class_dirs[0].name!r}); classification needs at "
                        "least two sub-folders.")
    files: list[Path] = []
    labels: list[str] = []
    for class_dir in class_dirs:
        found = list_images(class_dir)
        if not found:
            raise DataError(f"{class_dir}: class folder holds no image ({', '.join(IMAGE_SUFFIXES)}); "
                            "add images or remove the folder.")
        files += found
        labels += [class_dir.name] * len(found)
    skipped: dict[str, str] = {}
    headers = {}
    for path in files:
        try:
            headers[path] = _read_header(path)
        except DataError as exc:
            skipped[str(path)] = str(exc).removeprefix(f"{path}: ").rstrip(".")
    if not headers:
        raise DataError(f"{folder}: none of the {len(files)} image files could be read "
                        f"(first: {next(iter(skipped.items()))[0]}: {next(iter(skipped.values()))}).")
    size = _common_size([s for s, _ in headers.values()])
    channels = 1 if all(mode in _GRAY_MODES for _, mode in headers.values()) else 3
    X = np.zeros((len(headers), size[1], size[0], *((3,) if channels == 3 else ())), dtype=np.uint8)
    keep: list[int] = []
    n_resized = 0
    for i, path in enumerate(files):
        if path not in headers:
            continue
        try:
            X[len(keep)], resized = _load_pixels(path, size, channels)
        except DataError as exc:
            skipped[str(path)] = str(exc).removeprefix(f"{path}: ").rstrip(".")
            continue
        keep.append(i)
        n_resized += resized
    _check_classes_readable(folder, class_dirs, [labels[i] for i in keep])
    if skipped:
        named = "; ".join(f"{p}: {r}" for p, r in list(skipped.items())[:_NAMED_IN_WARNING])
        more = f" and {len(skipped) - _NAMED_IN_WARNING} more" if len(skipped) > _NAMED_IN_WARNING else ""
        warnings.warn(f"{folder}: skipped {len(skipped)} unreadable image file(s): {named}{more}.", stacklevel=3)
    return ImageFolder(X=X[: len(keep)], y=np.asarray([labels[i] for i in keep], dtype=object),
                       files=[str(files[i]) for i in keep], skipped=skipped, n_resized=n_resized)


def read_images(paths: list[Path], shape: tuple[int, ...]) -> np.ndarray:
    """Read ``paths`` into an array of per-image ``shape`` (H, W) or (H, W, 3); any bad file is an error."""
    size = (int(shape[1]), int(shape[0]))
    channels = 3 if len(shape) == 3 else 1
    X = np.zeros((len(paths), *shape), dtype=np.uint8)
    for i, path in enumerate(paths):
        _read_header(path)
        X[i], _ = _load_pixels(path, size, channels)
    return X


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _read_header(path: Path) -> tuple[tuple[int, int], str]:
    """``((width, height), mode)`` from the header only; a decompression bomb or non-image is a DataError."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                mode = image.mode
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{path}: refused as a decompression bomb ({exc}).") from exc
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error...
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc}).") from exc
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(f"{path}: refused as a decompression bomb: its header claims {width}x{height} pixels "
                        f"(limit {MAX_IMAGE_PIXELS:,}).")
    if width == 0 or height == 0:
        raise DataError(f"{path}: the image has no pixels ({width}x{height}).")
    return (width, height), mode


def decode_image(source: Path | BinaryIO, size: tuple[int, int], channels: int) -> np.ndarray:
    """uint8 pixels of one image (a path or a binary stream) at ``size`` (width, height) with
    ``channels`` (1 or 3). The header is checked first: a decompression bomb or a non-image is a
    :class:`DataError` before any pixel is decoded."""
    _read_header(source)  # type: ignore[arg-type]
    if not isinstance(source, (str, Path)):
        source.seek(0)
    pixels, _ = _load_pixels(source, size, channels)  # type: ignore[arg-type]
    return pixels


def _common_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The most common (width, height), scaled down to MAX_IMAGE_SIDE on its longer side."""
    width, height = Counter(sizes).most_common(1)[0][0]
    scale = MAX_IMAGE_SIDE / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _load_pixels(path: Path, size: tuple[int, int], channels: int) -> tuple[np.ndarray, bool]:
    """Decode ``path`` into uint8 pixels of ``size`` (width, height) and ``channels``; say if it was resized."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
            image = _to_mode(image, channels)
            resized = image.size != size
            if resized:
                image = image.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8), resized
    except Exception as exc:  # truncated data, bad compressed stream, unsupported variant...
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc}).") from exc


def _to_mode(image: Image.Image, channels: int) -> Image.Image:
    """Convert a decoded Pillow image to 8-bit grayscale ("L") or "RGB", transparency on white."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    if image.mode.startswith("I") or image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        if pixels.max(initial=0) > 255:  # 16-bit range
            pixels = pixels / 257.0
        image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("L" if channels == 1 else "RGB")


def _check_classes_readable(folder: Path, class_dirs: list[Path], labels: list[str]) -> None:
    if not labels:
        raise DataError(f"{folder}: none of its image files could be read (all corrupt or truncated).")
    readable = set(labels)
    for class_dir in class_dirs:
        if class_dir.name not in readable:
            raise DataError(f"{class_dir}: no image in this class folder could be read; fix or remove its files.")
