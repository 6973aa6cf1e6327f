"""NeRF-synthetic split folders: ``transforms_train.json`` + ``transforms_test.json`` (+ ``_val``).

The train views train and the test views are the held-out views, so users point
``targets.transforms`` at the folder instead of merging files and computing indices. Pointing at
the folder's ``transforms_train.json`` means the same (its test views are held out, never
trained on); pointing at its ``transforms_test.json`` or ``transforms_val.json`` is refused (that
would train on the views the split keeps for scoring). An explicit ``targets.holdout`` on a split
is refused by the config loader (invrender/config/loader.py): the split already says which views
are held out.
"""

from __future__ import annotations

from pathlib import Path

from invrender.data.transforms import Frame, read_transforms
from invrender.errors import DataError

SPLITS = ("train", "val", "test")
TRAIN_FILE = "transforms_train.json"


def is_split_folder(path: Path) -> bool:
    return Path(path).is_dir()


def split_folder_of(path: str | Path) -> Path | None:
    """The split folder that ``targets.transforms`` names: the folder itself, or the folder of
    its ``transforms_train.json``; None for a plain transforms.json (or a plain folder)."""
    path = Path(path)
    if path.is_dir():
        return path if (path / TRAIN_FILE).is_file() else None
    if path.name == TRAIN_FILE:
        return path.parent
    return None


def held_out_split_file(path: str | Path) -> str | None:
    """``test``/``val`` when ``path`` is a split's held-out file next to a transforms_train.json."""
    path = Path(path)
    for split in ("test", "val"):
        if path.name == f"transforms_{split}.json" and (path.parent / TRAIN_FILE).is_file():
            return split
    return None


def read_split_folder(folder: Path) -> tuple[list[Frame], list[int]]:
    """(frames: train then held-out, indices of the held-out frames).

    The test split is held out; without one, the val split is. A val split next to a test
    split is not used (NeRF-synthetic's val views duplicate the test distribution)."""
    folder = Path(folder)
    files = {s: folder / f"transforms_{s}.json" for s in SPLITS}
    present = {s for s, p in files.items() if p.is_file()}
    if "train" not in present:
        single = folder / "transforms.json"
        if single.is_file():
            return read_transforms(single), []
        raise DataError(
            f"{folder}: no transforms_train.json (a NeRF split folder needs transforms_train.json "
            "and transforms_test.json; or point targets.transforms at a transforms.json)"
        )
    held = "test" if "test" in present else "val" if "val" in present else None
    train = read_transforms(files["train"])
    test = read_transforms(files[held]) if held else []
    return train + test, list(range(len(train), len(train) + len(test)))


def read_targets_file(path: Path) -> tuple[list[Frame], list[int]]:
    """(frames, the split's held-out indices) of whatever ``targets.transforms`` names: a split
    folder or its train file (test views held out), a folder with a transforms.json, or a file."""
    held = held_out_split_file(path)
    if held is not None:
        raise DataError(
            f"{path}: targets.transforms: this is the {held} split of a NeRF split folder; "
            f"point targets.transforms at the folder {path.parent} (train views train, "
            f"{held} views are held out)"
        )
    folder = split_folder_of(path)
    if folder is not None or Path(path).is_dir():
        return read_split_folder(folder or Path(path))
    return read_transforms(Path(path)), []
