"""Check a folder of photos (and masks) before structure from motion: every problem is one line.

SfM with one shared camera needs photos of one size; masks must pair with photos by name and
size. Sizes are those of the upright photos: a phone stores a portrait photo as landscape pixels
plus an EXIF orientation tag, and SfM, masks and the dataset all use the photo as it is shown
(``PIL.ImageOps.exif_transpose``). Everything is checked before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invrender.errors import DataError

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")
MASK_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_PHOTOS = 3


@dataclass
class PhotoSet:
    folder: Path
    names: list[str]  # file names inside folder, sorted
    width: int
    height: int
    masks: dict[str, Path] | None  # photo name -> mask file
    rotated: list[str] = field(default_factory=list)  # photos with an EXIF orientation tag != 1


def _image_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )


# EXIF orientations 5-8 turn the stored pixels by 90 degrees: width and height swap.
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)
EXIF_ORIENTATION = 0x0112


def exif_orientation(im: Any) -> int:
    """The EXIF orientation tag of an open PIL image (1, upright, when there is none)."""
    try:
        return int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: treat the pixels as upright
        return 1


def _size_and_orientation(path: Path) -> tuple[tuple[int, int], int]:
    """((width, height) of the upright image, EXIF orientation), after decoding the whole file
    (a truncated file fails here, not later). JPEGs are decoded at 1/8 size: every coefficient
    is still read, but most of the inverse DCT is skipped."""
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
        im.draft("RGB", (max(1, w // 8), max(1, h // 8)))  # im.size is then the reduced one
        im.load()
        orientation = exif_orientation(im)
    return ((h, w) if orientation in _SWAPPING_ORIENTATIONS else (w, h)), orientation


def _size(path: Path) -> tuple[int, int]:
    return _size_and_orientation(path)[0]


def open_upright(path: Path, mode: str | None = None) -> Any:
    """The image at ``path`` as shown (EXIF orientation applied), loaded, in ``mode`` if given."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.load()
        out = ImageOps.exif_transpose(im)
    return out.convert(mode) if mode else out


def open_reduced(path: Path, max_side: int) -> tuple[Any, tuple[int, int]]:
    """(the upright photo as RGB with its long side at most ``max_side``, the upright photo's
    own (width, height)). A JPEG is decoded at 1/2, 1/4 or 1/8 size straight from its DCT
    coefficients when that is still at least the target (``draft``: several times faster than
    decoding 12 MP and resizing), then area-averaged to the exact size, which is
    ``round(side * max_side / long side)`` on each side of the upright photo."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        orientation = exif_orientation(im)
        w, h = im.size
        full = (h, w) if orientation in _SWAPPING_ORIENTATIONS else (w, h)
        size = reduced_size(*full, max_side)
        if size != full:
            stored = (size[1], size[0]) if orientation in _SWAPPING_ORIENTATIONS else size
            im.draft("RGB", stored)
        im.load()
        out = ImageOps.exif_transpose(im).convert("RGB")
    if out.size != size:
        out = out.resize(size, Image.Resampling.BOX)
    return out, full


def reduced_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) scaled so the long side is at most ``max_side`` (never enlarged)."""
    s = min(1.0, max_side / max(width, height))
    return (max(1, round(width * s)), max(1, round(height * s))) if s < 1 else (width, height)


def worker_count(threads: int = -1) -> int:
    """The cores to use: ``threads`` when positive, else those this process may run on."""
    if threads > 0:
        return threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_photos(folder: Path, mask_folder: Path | None = None) -> PhotoSet:
    """The usable photos of ``folder``; DataError (one line) on any problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of photos (give the folder that holds them)")
    files = _image_files(folder, PHOTO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no photos found (PNG or JPEG files expected)")
    sizes: dict[str, tuple[int, int]] = {}
    rotated = []
    unreadable = []
    for p in files:
        try:
            sizes[p.name], orientation = _size_and_orientation(p)
            if orientation != 1:
                rotated.append(p.name)
        except Exception as exc:  # PIL raises many types for broken files
            unreadable.append(f"{p.name} ({type(exc).__name__})")
    if unreadable:
        raise DataError(
            f"{folder}: cannot read {len(unreadable)} photo(s): {', '.join(unreadable[:5])}"
            f"{' ...' if len(unreadable) > 5 else ''} (remove or re-export them)"
        )
    if len(sizes) < MIN_PHOTOS:
        raise DataError(
            f"{folder}: {len(sizes)} photo(s); structure from motion needs at least {MIN_PHOTOS} "
            "overlapping photos (20+ all around the object work best)"
        )
    distinct = sorted(set(sizes.values()))
    if len(distinct) > 1:
        counts = {s: sum(1 for v in sizes.values() if v == s) for s in distinct}
        odd = min(distinct, key=lambda s: counts[s])
        example = next(n for n, s in sizes.items() if s == odd)
        listing = ", ".join(f"{w}x{h} ({counts[(w, h)]})" for w, h in distinct)
        raise DataError(
            f"{folder}: photos differ in size: {listing}, e.g. {example} is {odd[0]}x{odd[1]}; "
            "one shared camera needs one size (resize or split the folder)"
        )
    width, height = distinct[0]
    names = sorted(sizes)
    masks = check_masks(Path(mask_folder), names, width, height) if mask_folder else None
    return PhotoSet(folder, names, width, height, masks, sorted(rotated))


def check_masks(folder: Path, names: list[str], width: int, height: int) -> dict[str, Path]:
    """One mask per photo, matched by file stem (``a.jpg`` <- ``a.png``), of the photos' size."""
    if not folder.is_dir():
        raise DataError(f"{folder}: mask folder not found (check --masks)")
    files = _image_files(folder, MASK_SUFFIXES)
    by_stem: dict[str, Path] = {}
    for p in files:
        # COLMAP's convention names masks after the whole photo name: a.jpg.png
        stem = p.stem if Path(p.stem).suffix.lower() not in PHOTO_SUFFIXES else Path(p.stem).stem
        by_stem[stem] = p
    photo_stems = {Path(n).stem: n for n in names}
    missing = [n for s, n in photo_stems.items() if s not in by_stem]
    extra = [p.name for s, p in by_stem.items() if s not in photo_stems]
    if missing or extra:
        what = []
        if missing:
            what.append(f"no mask for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
        if extra:
            what.append(f"no photo for mask {', '.join(extra[:5])}")
        raise DataError(
            f"{folder}: masks do not match the photos: {'; '.join(what)} "
            "(name each mask after its photo, e.g. photo_01.jpg -> photo_01.png)"
        )
    out: dict[str, Path] = {}
    for stem, name in photo_stems.items():
        p = by_stem[stem]
        try:
            size = _size(p)
        except Exception as exc:
            raise DataError(f"{p}: cannot read mask ({type(exc).__name__})") from None
        if size != (width, height):
            raise DataError(
                f"{p}: mask is {size[0]}x{size[1]} but photo {name} is {width}x{height} "
                "(masks must have their photo's size, as shown upright)"
            )
        out[name] = p
    return out
