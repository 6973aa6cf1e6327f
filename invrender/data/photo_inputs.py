"""Check a folder of photos (and masks) before structure from motion: every problem is one line.

SfM with one shared camera needs photos of one size; masks must pair with photos by name and
size. Everything is checked before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def _image_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )


def _size(path: Path) -> tuple[int, int]:
    """(width, height) after decoding the whole file (a truncated file fails here, not later)."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return im.size


def check_photos(folder: Path, mask_folder: Path | None = None) -> PhotoSet:
    """The usable photos of ``folder``; DataError (one line) on any problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of photos (give the folder that holds them)")
    files = _image_files(folder, PHOTO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no photos found (PNG or JPEG files expected)")
    sizes: dict[str, tuple[int, int]] = {}
    unreadable = []
    for p in files:
        try:
            sizes[p.name] = _size(p)
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
    return PhotoSet(folder, names, width, height, masks)


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
                "(masks must have their photo's size)"
            )
        out[name] = p
    return out
