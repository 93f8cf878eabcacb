"""Finding, downloading and loading MNIST, Fashion-MNIST and CIFAR-10 in torchvision's layout.

torchvision is optional: the files are read by our own code (IDX, and CIFAR-10's pickles
through a restricted unpickler). When torchvision is installed it downloads missing files.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._cifar_batches import CifarFormatError, read_batch, write_batch
from ._errors import DataMissingError
from ._idx import IdxFormatError, read_idx, write_idx

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "HPSEARCH_DATA_DIR"


@dataclass(frozen=True)
class ImageArrays:
    """A data set's files on the host: uint8 images (N, C, H, W) and int64 labels, train and
    test. The validation split is held out of the training images later (_vision_split)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class VisionDataset:
    """Where one data set lives under a data directory and how to read it.

    Attributes:
        name: The objective's name for it.
        subdirectory: Its folder under the data directory, as torchvision lays it out.
        train_files, test_files: File names in that folder (IDX files may also end in .gz).
        image_shape: (C, H, W).
        mean, std: Per-channel statistics of the training images, in [0, 255] units.
        torchvision_class: The ``torchvision.datasets`` class that downloads it.
        how_to_get: How to fetch it by hand, with ``{root}`` and ``{folder}`` to fill in.
    """

    name: str
    subdirectory: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    image_shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    torchvision_class: str
    how_to_get: str

    @property
    def classes(self) -> int:
        return 10


MNIST = VisionDataset(
    name="mnist",
    subdirectory="MNIST/raw",
    train_files=("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    test_files=("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    image_shape=(1, 28, 28),
    mean=(33.32,),
    std=(78.57,),
    torchvision_class="MNIST",
    how_to_get=(
        "download the four *-ubyte.gz files from https://ossci-datasets.s3.amazonaws.com/mnist/ "
        "into {folder}"
    ),
)
FASHION_MNIST = VisionDataset(
    name="fashion-mnist",
    subdirectory="FashionMNIST/raw",
    train_files=MNIST.train_files,
    test_files=MNIST.test_files,
    image_shape=(1, 28, 28),
    mean=(72.94,),
    std=(90.02,),
    torchvision_class="FashionMNIST",
    how_to_get=(
        "download the four *-ubyte.gz files from "
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ into {folder}"
    ),
)
CIFAR10 = VisionDataset(
    name="cifar10",
    subdirectory="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{number}" for number in range(1, 6)),
    test_files=("test_batch",),
    image_shape=(3, 32, 32),
    mean=(125.31, 122.95, 113.87),
    std=(62.99, 62.09, 66.70),
    torchvision_class="CIFAR10",
    how_to_get=(
        "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and unpack it in {root} "
        "(tar -xzf cifar-10-python.tar.gz -C {root})"
    ),
)


def default_data_dir() -> Path:
    """Where data sets live when no directory is given: HPSEARCH_DATA_DIR, else the user's
    cache. Read here, not only by the command line, so that a search started from Python
    (`search.optimize`) looks where the variable says, as `hpsearch search` does."""
    named = os.environ.get("HPSEARCH_DATA_DIR", "").strip()
    return Path(named).expanduser() if named else Path.home() / ".cache" / "hpsearch" / "data"


def data_root(data_dir: str | os.PathLike[str] | None) -> Path:
    """The data directory to use: the one given, else the default (absolute either way)."""
    return (Path(data_dir).expanduser() if data_dir else default_data_dir()).absolute()


def ensure_files(
    dataset: VisionDataset, data_dir: str | os.PathLike[str] | None
) -> dict[str, Path]:
    """Every file of ``dataset``, downloading the missing ones when torchvision is installed.

    Returns:
        File name -> the path found (an IDX file may be found under its ``.gz`` name).

    Raises:
        DataMissingError: Files are missing and cannot be downloaded; the message says
            where they are expected and how to get them.
    """
    root = data_root(data_dir)
    folder = root / dataset.subdirectory
    try:
        found, missing = _find(dataset, root)
        if not missing:
            return found
        download_error = _download(dataset, root)
        found, missing = _find(dataset, root)
    except OSError as error:  # a directory we may not enter, a name too long
        raise DataMissingError(
            f"{dataset.name}: cannot look for the data set in {folder}: "
            f"{error.strerror or error}. Check that the directory can be read, or point "
            f"hpsearch at another with --data-dir or {DATA_DIR_ENV}."
        ) from None
    if not missing:
        return found
    how = f"Not downloaded: {download_error or 'the download did not produce them'}. "
    raise DataMissingError(
        f"{dataset.name}: data set not found in {folder} (missing: {', '.join(missing)}). "
        f"{how}To get it, {dataset.how_to_get.format(root=root, folder=folder)}; or point "
        f"hpsearch at the directory that holds {dataset.subdirectory}/ with --data-dir or "
        f"{DATA_DIR_ENV}."
    )


def load_arrays(dataset: VisionDataset, data_dir: str | os.PathLike[str] | None) -> ImageArrays:
    """The data set as host arrays, read once per process per directory (see _cached_arrays).

    Raises:
        DataMissingError: Files are missing and cannot be downloaded, or a file is corrupt.
    """
    return _cached_arrays(dataset, data_root(data_dir))


@functools.lru_cache(maxsize=2)
def _cached_arrays(dataset: VisionDataset, root: Path) -> ImageArrays:
    files = ensure_files(dataset, root)
    reader = _read_cifar if dataset is CIFAR10 else _read_idx_pair
    try:
        x_train, y_train = reader([files[name] for name in dataset.train_files])
        x_test, y_test = reader([files[name] for name in dataset.test_files])
    except OSError as error:  # not the file's content: who may read it
        raise DataMissingError(
            f"{dataset.name}: cannot read the data set in {root / dataset.subdirectory}: "
            f"{error}. Make its files readable to this user."
        ) from None
    except (IdxFormatError, CifarFormatError) as error:
        raise DataMissingError(
            f"{dataset.name}: cannot read the data set in {root / dataset.subdirectory}: {error}. "
            "Delete the broken file, then "
            f"{dataset.how_to_get.format(root=root, folder=root / dataset.subdirectory)}."
        ) from None
    for part, labels, names in (("training", y_train, dataset.train_files),
                                ("test", y_test, dataset.test_files)):
        if len(labels) == 0:
            raise DataMissingError(f"{dataset.name}: the {part} files ({', '.join(names)}) in "
                                   f"{root / dataset.subdirectory} hold no images")
        if labels.min() < 0 or labels.max() >= dataset.classes:
            raise DataMissingError(
                f"{dataset.name}: the {part} files ({', '.join(names)}) in "
                f"{root / dataset.subdirectory} hold labels from {labels.min()} to "
                f"{labels.max()}; a {dataset.name} label is 0 to {dataset.classes - 1}. Delete "
                f"the broken files, then "
                f"{dataset.how_to_get.format(root=root, folder=root / dataset.subdirectory)}.")
    for images in (x_train, x_test):
        if images.shape[1:] != dataset.image_shape:
            raise DataMissingError(
                f"{dataset.name}: images in {root / dataset.subdirectory} have shape "
                f"{images.shape[1:]}, expected {dataset.image_shape}"
            )
    return ImageArrays(x_train, y_train, x_test, y_test)


def synthetic_arrays(
    dataset: VisionDataset, train_size: int, test_size: int, seed: int = 0
) -> ImageArrays:
    """Random images of the data set's real shape that a working training loop can learn: each
    class has its own mean brightness per channel, under heavy noise."""
    generator = np.random.default_rng(seed)
    class_means = generator.integers(40, 216, size=(dataset.classes, dataset.image_shape[0]))

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = generator.integers(0, dataset.classes, size=count)
        # Uniform integer noise (std ~35) in int16: a fraction of the time and memory of
        # float normals, which matters at CIFAR-10's 150 million pixels.
        noise = generator.integers(-60, 61, size=(count, *dataset.image_shape), dtype=np.int16)
        images = noise + class_means[labels][:, :, None, None].astype(np.int16)
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)

    x_train, y_train = draw(train_size)
    x_test, y_test = draw(test_size)
    return ImageArrays(x_train, y_train, x_test, y_test)


def write_files(
    dataset: VisionDataset, arrays: ImageArrays, data_dir: str | os.PathLike[str]
) -> Path:
    """Write ``arrays`` under ``data_dir`` in the data set's on-disk format (IDX or CIFAR-10
    batches), so the whole loading path can be exercised without the real download."""
    folder = data_root(data_dir) / dataset.subdirectory
    folder.mkdir(parents=True, exist_ok=True)
    if dataset is CIFAR10:
        parts = np.array_split(np.arange(len(arrays.y_train)), len(dataset.train_files))
        for name, part in zip(dataset.train_files, parts, strict=True):
            write_batch(folder / name, arrays.x_train[part], arrays.y_train[part])
        write_batch(folder / dataset.test_files[0], arrays.x_test, arrays.y_test)
        return folder
    for (images_name, labels_name), images, labels in (
        (dataset.train_files, arrays.x_train, arrays.y_train),
        (dataset.test_files, arrays.x_test, arrays.y_test),
    ):
        write_idx(folder / images_name, images[:, 0])
        write_idx(folder / labels_name, labels.astype(np.uint8))
    return folder


def _read_idx_pair(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IdxFormatError(
            f"{paths[0].name} and {paths[1].name} do not pair up: shapes {images.shape} and "
            f"{labels.shape}"
        )
    return images[:, None, :, :], labels.astype(np.int64)


def _read_cifar(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    batches = [read_batch(path) for path in paths]
    return (
        np.concatenate([images for images, _ in batches]),
        np.concatenate([labels for _, labels in batches]),
    )


def _find(dataset: VisionDataset, root: Path) -> tuple[dict[str, Path], list[str]]:
    folder = root / dataset.subdirectory
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in dataset.train_files + dataset.test_files:
        # IDX files may be gzipped, as downloaded; CIFAR-10's batches never are.
        candidates = [folder / name]
        if dataset is not CIFAR10:
            candidates.append(folder / f"{name}.gz")
        present = next((path for path in candidates if path.is_file()), None)
        if present is None:
            missing.append(name)
        else:
            found[name] = present
    return found, missing


def _download(dataset: VisionDataset, root: Path) -> str | None:
    """Download through torchvision; return why that could not happen, or None."""
    try:
        import torchvision.datasets  # optional extra: pip install 'hpsearch[vision]'
    except ImportError:
        return (
            "torchvision is not installed (with pip install 'hpsearch[vision]' hpsearch "
            "downloads missing data sets itself)"
        )
    downloader: Callable[..., object] = getattr(torchvision.datasets, dataset.torchvision_class)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _download_lock(root):
            # train=True and train=False share the download: each class fetches its whole archive.
            logger.warning("downloading %s into %s", dataset.name, root)
            downloader(root=str(root), train=True, download=True)
    except Exception as error:  # network, disk, checksum: all mean "not downloaded"
        return f"torchvision's download failed: {type(error).__name__}: {error}"
    return None


@contextlib.contextmanager
def _download_lock(root: Path) -> Iterator[None]:
    """One download at a time per data directory: a GPU machine starts one worker per GPU."""
    with open(root / ".hpsearch-download.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
