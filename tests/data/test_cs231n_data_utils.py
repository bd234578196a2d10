"""compat.cs231n's data and picture helpers (load_CIFAR10, get_CIFAR10_data, load_tiny_imagenet,
visualize_grid) on small files written here in the real layouts, read by scratchnn's readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scratchnn.compat.cs231n import (
    get_CIFAR10_data,
    load_CIFAR10,
    load_tiny_imagenet,
    visualize_grid,
)
from scratchnn.errors import DataError


@pytest.mark.parametrize("layout", ["py2", "bin"])
def test_load_cifar10_gives_the_course_arrays(tmp_path, make_cifar, layout):
    arrays = make_cifar(tmp_path, layout)
    Xtr, Ytr, Xte, Yte = load_CIFAR10(arrays["directory"])
    assert Xtr.shape == (35, 32, 32, 3) and Xtr.dtype == np.float64        # NHWC floats
    np.testing.assert_array_equal(Xtr, arrays["x_train"].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(Ytr, arrays["y_train"])
    np.testing.assert_array_equal(Xte, arrays["x_test"].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(Yte, arrays["y_test"])


def test_get_cifar10_data_splits_and_subtracts_the_mean(tmp_path, make_cifar):
    arrays = make_cifar(tmp_path, "py2")
    data = get_CIFAR10_data(num_training=30, num_validation=5, num_test=4,
                            cifar10_dir=arrays["directory"])
    x = arrays["x_train"].astype(np.float64)
    mean = x[:30].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], x[:30] - mean)             # NCHW, as the notebooks
    np.testing.assert_allclose(data["X_val"], x[30:35] - mean)
    np.testing.assert_allclose(data["X_test"], arrays["x_test"][:4] - mean)
    np.testing.assert_array_equal(data["y_val"], arrays["y_train"][30:35])
    assert data["X_train"].shape == (30, 3, 32, 32) and data["y_test"].shape == (4,)
    raw = get_CIFAR10_data(30, 5, 4, subtract_mean=False, cifar10_dir=arrays["directory"])
    np.testing.assert_array_equal(raw["X_train"], x[:30])


def test_get_cifar10_data_searches_where_scratchnn_does(tmp_path, make_cifar, monkeypatch):
    monkeypatch.setenv("SCRATCHNN_DATA", str(tmp_path))
    arrays = make_cifar(tmp_path / "cifar10", "bin")
    data = get_CIFAR10_data(num_training=10, num_validation=2, num_test=3)
    assert data["X_train"].shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(data["y_train"], arrays["y_train"][:10])


def test_a_missing_cifar_is_a_clear_error(tmp_path):
    with pytest.raises(DataError):
        load_CIFAR10(tmp_path)


def write_tiny_imagenet(root: Path, rng, wnids=("n01443537", "n01629819"), per_class=3,
                        size=8, val=4) -> dict:
    """A miniature TinyImageNet in the real layout (boxes and annotation files, one grayscale
    image as in the real set; the .JPEG files hold lossless PNG data so that pixels compare
    exactly, except the test images, real JPEGs compared with Pillow's own decoding); returns
    the pixels (N, H, W, 3) and labels."""
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("".join(f"{w}\n" for w in wnids))
    (root / "words.txt").write_text("n01443537\tgoldfish, Carassius auratus\n"
                                    "n01629819\tEuropean fire salamander, Salamandra\n"
                                    "n09999999\tunused, other\n")

    def save(path: Path, gray: bool = False) -> np.ndarray:
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        if gray:
            pixels = np.repeat(pixels[:, :, :1], 3, axis=2)
            Image.fromarray(pixels[:, :, 0], "L").save(path, format="PNG")
        else:
            Image.fromarray(pixels, "RGB").save(path, format="PNG")   # lossless: exact pixels
        return pixels

    x_train, y_train = [], []
    for label, wnid in enumerate(wnids):
        lines = []
        for k in range(per_class):
            name = f"{wnid}_{k}.JPEG"
            x_train.append(save(root / "train" / wnid / "images" / name, gray=(k == 1)))
            y_train.append(label)
            lines.append(f"{name}\t0\t0\t{size - 1}\t{size - 1}\n")
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(lines))
    x_val, y_val, notes = [], [], []
    for k in range(val):
        name = f"val_{k}.JPEG"
        x_val.append(save(root / "val" / "images" / name))
        y_val.append(k % len(wnids))
        notes.append(f"{name}\t{wnids[k % len(wnids)]}\t0\t0\t{size - 1}\t{size - 1}\n")
    (root / "val" / "val_annotations.txt").write_text("".join(notes))
    x_test = []
    for k in range(2):
        path = root / "test" / "images" / f"test_{k}.JPEG"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path, "JPEG")
        with Image.open(path) as image:
            x_test.append(np.asarray(image.convert("RGB")))
    return {"x_train": np.stack(x_train), "y_train": np.array(y_train),
            "x_val": np.stack(x_val), "y_val": np.array(y_val), "x_test": np.stack(x_test)}


def test_load_tiny_imagenet_reads_the_real_layout(tmp_path, rng):
    expected = write_tiny_imagenet(tmp_path / "tiny-imagenet-200", rng)
    data = load_tiny_imagenet(tmp_path / "tiny-imagenet-200", subtract_mean=False)
    assert data["class_names"] == [["goldfish", "Carassius auratus"],
                                   ["European fire salamander", "Salamandra"]]
    assert data["X_train"].dtype == np.float32 and data["X_train"].shape == (6, 3, 8, 8)
    np.testing.assert_array_equal(data["X_train"], expected["x_train"].transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(data["y_train"], expected["y_train"])
    np.testing.assert_array_equal(data["X_val"], expected["x_val"].transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(data["y_val"], expected["y_val"])
    np.testing.assert_array_equal(data["X_test"], expected["x_test"].transpose(0, 3, 1, 2))
    assert data["y_test"] is None                        # the real test split has no labels
    np.testing.assert_allclose(data["mean_image"], data["X_train"].mean(axis=0))
    centred = load_tiny_imagenet(tmp_path / "tiny-imagenet-200", dtype=np.float64)
    np.testing.assert_allclose(centred["X_val"], data["X_val"] - data["mean_image"], atol=1e-4)


def test_tiny_imagenet_with_an_unknown_wnid_is_refused(tmp_path, rng):
    root = tmp_path / "tiny"
    write_tiny_imagenet(root, rng)
    (root / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn00000000\t0\t0\t7\t7\n")
    with pytest.raises(DataError, match="n00000000"):
        load_tiny_imagenet(root)


def test_visualize_grid_is_the_courses_grid():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((5, 4, 3, 3))                       # N, H, W, C
    grid = visualize_grid(images, ubound=255.0, padding=1)
    assert grid.shape == (3 * 4 + 2, 3 * 3 + 2, 3)                    # ceil(sqrt(5)) = 3 a side
    first = grid[:4, :3]
    np.testing.assert_allclose(first.min(), 0) and np.testing.assert_allclose(first.max(), 255)
    low, high = images[0].min(), images[0].max()
    np.testing.assert_allclose(first, 255 * (images[0] - low) / (high - low))
    np.testing.assert_array_equal(grid[4], 0)                         # padding
    np.testing.assert_array_equal(grid[10:, 4:], 0)                   # the empty cells
