"""NeRF-synthetic split folders: ``transforms_train.json`` + ``transforms_test.json`` (+ ``_val``).

The train views train and the test views are the held-out views, so users point
``targets.transforms`` at the folder instead of merging files and computing indices.
"""

from __future__ import annotations

from pathlib import Path

from invrender.data.transforms import Frame, read_transforms
from invrender.errors import DataError

SPLITS = ("train", "val", "test")


def is_split_folder(path: Path) -> bool:
    return Path(path).is_dir()


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
