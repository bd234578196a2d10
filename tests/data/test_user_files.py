"""Your own data: .npz arrays, CSV tables and folders of images, written here in their real formats
and loaded back exactly; every bad file is a one-line DataError naming it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scratchnn.data import load
from scratchnn.errors import DataError


def _one_line_error(caught, path):
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    return message


# -- .npz -------------------------------------------------------------------------------------

def test_npz_with_both_splits_loads_exactly(tmp_path, rng):
    arrays = {"x_train": rng.integers(0, 256, (6, 3, 5, 4), dtype=np.uint8),
              "y_train": np.array([0, 1, 2, 0, 1, 2]), "x_test": rng.integers(0, 256, (2, 3, 5, 4),
                                                                               dtype=np.uint8),
              "y_test": np.array([2, 1], dtype=np.uint8)}
    np.savez(tmp_path / "mine.npz", **arrays, classes=np.array(["cat", "dog", "emu"]))
    data = load(tmp_path / "mine.npz")
    assert data.name == "mine" and data.classes == ("cat", "dog", "emu")
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(data, key), value)
    assert data.y_test.dtype == np.int64 and data.x_train.dtype == np.uint8


def test_npz_channel_layouts(tmp_path, rng):
    gray = rng.integers(0, 256, (10, 6, 7), dtype=np.uint8)          # (N, H, W)
    nhwc = rng.integers(0, 256, (10, 6, 7, 3), dtype=np.uint8)       # channels last
    y = np.arange(10) % 2
    np.savez(tmp_path / "gray.npz", x_train=gray, y_train=y, x_test=gray[:2], y_test=y[:2])
    np.savez(tmp_path / "nhwc.npz", x_train=nhwc, y_train=y, x_test=nhwc[:2], y_test=y[:2])
    np.testing.assert_array_equal(load(tmp_path / "gray.npz").x_train, gray[:, None])
    data = load(tmp_path / "nhwc.npz")
    np.testing.assert_array_equal(data.x_train, nhwc.transpose(0, 3, 1, 2))
    assert data.x_train.flags.c_contiguous and data.classes == ("0", "1")


def test_npz_with_one_split_holds_out_a_fixed_stratified_test_set(tmp_path, rng):
    x = rng.standard_normal((50, 3)).astype(np.float32)
    y = np.repeat([0, 1, 2], [20, 20, 10])
    x[:, 0] = np.arange(50)                                     # an id per sample
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    data = load(tmp_path / "xy.npz")
    assert np.bincount(data.y_test).tolist() == [4, 4, 2]      # 20% of each class
    ids = np.concatenate([data.x_train[:, 0], data.x_test[:, 0]])
    assert sorted(ids.tolist()) == list(range(50))            # every sample exactly once
    assert (np.diff(data.x_train[:, 0]) > 0).all()              # original order kept
    for part in ("train", "test"):
        np.testing.assert_array_equal(getattr(data, f"y_{part}"),
                                      y[getattr(data, f"x_{part}")[:, 0].astype(int)])
    again = load(tmp_path / "xy.npz")
    np.testing.assert_array_equal(again.x_test, data.x_test)
    assert len(load(tmp_path / "xy.npz", test_fraction=0.5).y_test) == 25


def test_npz_problems_are_named(tmp_path):
    path = tmp_path / "bad.npz"
    cases = [
        (dict(a=np.zeros(3), b=np.zeros(3)), "expected arrays x and y, or x_train, y_train, "
                                             "x_test and y_test; found a, b"),
        (dict(x=np.zeros((3, 2)), y=np.array([0.0, 1.0, 1.0])),
         r"y must be \(N,\) integer labels, got float64"),
        (dict(x=np.zeros((3, 2)), y=np.array([0, -1, 1])), r"y has a negative label \(-1\)"),
        (dict(x=np.zeros((3, 2)), y=np.array([0, 1])), "x has 3 samples but y has 2 labels"),
        (dict(x=np.array([[None, 1]], dtype=object), y=np.array([0])), "holds object arrays"),
        (dict(x=np.array(["a", "b"]), y=np.array([0, 1])), "x must be a numeric array"),
    ]
    for arrays, message in cases:
        np.savez(path, **arrays)
        with pytest.raises(DataError) as caught:
            load(path)
        assert caught.match(message), str(caught.value)
        _one_line_error(caught, path)
    np.savez(path, x=np.zeros((5, 2)), y=np.arange(5) % 2)
    path.write_bytes(path.read_bytes()[:-30])                   # truncated archive
    with pytest.raises(DataError) as caught:
        load(path)
    assert "not a readable .npz file" in _one_line_error(caught, path)
    path.write_text("label,x\n1,2\n")
    with pytest.raises(DataError) as caught:
        load(path)
    assert "not an .npz file" in _one_line_error(caught, path)
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(path)
    with pytest.raises(DataError) as caught:
        load(path)
    assert "a single array (.npy)" in _one_line_error(caught, path)


def test_npz_with_a_test_split_refuses_test_fraction(tmp_path):
    np.savez(tmp_path / "d.npz", x_train=np.zeros((2, 3)), y_train=[0, 1], x_test=np.zeros((1, 3)),
             y_test=[1])
    with pytest.raises(DataError, match="has a test split; test_fraction applies only"):
        load(tmp_path / "d.npz", test_fraction=0.3)


def test_npz_dataset_zip_bomb_and_pickled_objects_are_refused_in_one_line(tmp_path,
                                                                          monkeypatch):
    import pickle
    import zipfile

    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", b"\x00" * (64 * 2**20))          # 64 MiB of zeros
    assert bomb.stat().st_size < 2**20
    with pytest.raises(DataError) as caught:
        load(bomb)
    assert "uncompressed" in _one_line_error(caught, bomb)

    ran = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: ran.append(a))
    evil = tmp_path / "evil.npz"
    np.savez(evil, x=np.array([[print, 1]], dtype=object), y=np.array([0]))
    with pytest.raises(DataError) as caught:
        load(evil)
    assert "holds object arrays" in _one_line_error(caught, evil) and not ran


# -- CSV --------------------------------------------------------------------------------------

def _write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


def test_csv_of_pixels_becomes_square_uint8_images(tmp_path, rng):
    pixels = rng.integers(0, 256, (30, 64))
    labels = np.arange(30) % 3
    _write_csv(tmp_path / "px.csv", ["label"] + [f"pixel{i}" for i in range(64)],
               np.column_stack([labels, pixels]))
    data = load(tmp_path / "px.csv")
    assert data.x_train.dtype == np.uint8 and data.input_shape == (1, 8, 8)
    assert data.classes == ("0", "1", "2") and len(data.y_test) == 6
    x = np.concatenate([data.x_train, data.x_test]).reshape(30, 64)
    y = np.concatenate([data.y_train, data.y_test])
    order = np.lexsort(x.T[::-1])                                # compare as sets of rows
    expected = np.lexsort(pixels.T[::-1])
    np.testing.assert_array_equal(x[order], pixels[expected])
    np.testing.assert_array_equal(y[order], labels[expected])


def test_csv_named_label_column_text_labels_and_float_features(tmp_path):
    rows = [(0.5, "setosa", 1.25), (1.5, "virginica", -2.0), (2.5, "setosa", 3.0),
            (3.5, "versicolor", 0.0), (4.5, "virginica", 1.0)] * 2
    _write_csv(tmp_path / "iris.csv", ["length", "species", "width"], rows)
    data = load(tmp_path / "iris.csv", label_column="species", test_fraction=0.5)
    assert data.classes == ("setosa", "versicolor", "virginica")
    assert data.x_train.dtype == np.float32 and data.input_shape == (2,)
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    got = sorted((float(a), data.classes[k], float(b)) for (a, b), k in zip(x, y, strict=True))
    assert got == sorted(rows)


def test_a_folder_with_train_and_test_csv(tmp_path):
    _write_csv(tmp_path / "train.csv", ["a", "label"], [(1, "no"), (2, "yes"), (3, "no")])
    _write_csv(tmp_path / "test.csv", ["a", "label"], [(4, "yes")])
    data = load(tmp_path)
    assert data.classes == ("no", "yes") and data.name == tmp_path.name
    assert data.y_train.tolist() == [0, 1, 0] and data.y_test.tolist() == [1]
    assert data.x_train[:, 0].tolist() == [1, 2, 3] and data.x_test.tolist() == [[4]]


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("label,a\n", "no data rows"),
    ("digit,a\n1,2\n", "no column named 'label' (columns: digit, a)"),
    ("label,a,b\n1,2,3\n0,5\n", "line 3 has 2 columns, the lines before it 3"),
    ("label,a,b\n1,2,3\n1,2,3\n1,2,3\n0,5\n", "line 5 has 2 columns"),    # the file's lines
    ("label,a\n1,2\n0,x\n", "line 3, column 2: 'x' is not a number"),
    ("label,a\n1,2\n1,2\n0,x\n", "line 4, column 2: 'x' is not a number"),
    ("label,a\n1,2\n0,nan\n", "line 3, column 'a' is nan"),
    ("label,a\n1,2\n0.5,3\n", "label '0.5' is not a class number"),
    ("label,a\n-1,2\n0,3\n", "label '-1' is not a class number"),
    ("label,a\ncat,2\n,3\n", "line 3 has an empty label"),
    ("label\n1\n", "only the label column, no features"),
])
def test_csv_problems_are_named(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        load(path)
    assert message in _one_line_error(caught, path)


# -- image folders ----------------------------------------------------------------------------

def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)


def test_grayscale_png_folder_loads_exactly_in_sorted_order(tmp_path, rng):
    images = {}
    for cls in ("zebra", "ant"):                                   # classes sorted by name
        for name in ("b.png", "a.png", "c.PNG"):                   # files sorted by name
            images[cls, name] = rng.integers(0, 256, (5, 6), dtype=np.uint8)
            _save(tmp_path / "pics" / "train" / cls / name, images[cls, name])
        _save(tmp_path / "pics" / "test" / cls / "t.png", images[cls, "a.png"])
    data = load(tmp_path / "pics")
    assert data.classes == ("ant", "zebra") and data.input_shape == (1, 5, 6)
    expected = [images[c, n] for c in ("ant", "zebra") for n in ("a.png", "b.png", "c.PNG")]
    np.testing.assert_array_equal(data.x_train[:, 0], np.stack(expected))
    assert data.y_train.tolist() == [0, 0, 0, 1, 1, 1] and data.y_test.tolist() == [0, 1]


def test_a_train_folder_without_test_folder_gets_a_held_out_test_split(tmp_path, rng):
    for cls in ("a", "b"):
        for k in range(5):
            _save(tmp_path / "train" / cls / f"{k}.png", rng.integers(0, 256, (3, 3), np.uint8))
    data = load(tmp_path)
    assert data.classes == ("a", "b") and data.y_test.tolist() == [0, 1]


def test_a_test_class_unknown_to_training_is_named(tmp_path, rng):
    for split, cls in (("train", "a"), ("train", "b"), ("test", "a"), ("test", "c")):
        _save(tmp_path / split / cls / "0.png", rng.integers(0, 256, (3, 3), np.uint8))
    with pytest.raises(DataError) as caught:
        load(tmp_path)
    assert "class folder(s) c not among the training classes (a, b)" in _one_line_error(
        caught, tmp_path / "test")


def test_colour_anywhere_makes_every_image_rgb(tmp_path, rng):
    gray = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    rgb = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    wide = (rng.integers(0, 65536, (4, 4))).astype(np.uint16)
    _save(tmp_path / "a" / "1.png", gray)
    _save(tmp_path / "a" / "2.png", wide)                         # 16-bit grayscale
    _save(tmp_path / "b" / "1.png", rgb)
    _save(tmp_path / "b" / "2.png", rgba)                         # alpha is dropped
    data = load(tmp_path, test_fraction=0.5)
    x = np.concatenate([data.x_train, data.x_test])
    assert data.input_shape == (3, 4, 4) and x.dtype == np.uint8
    found = {tuple(img.ravel()) for img in x}
    for expected in (np.repeat(gray[None], 3, 0), np.repeat((wide >> 8).astype(np.uint8)[None],
                                                            3, 0),
                     rgb.transpose(2, 0, 1), rgba[..., :3].transpose(2, 0, 1)):
        assert tuple(expected.ravel()) in found


def test_jpeg_images_are_read(tmp_path, rng):
    smooth = np.tile(np.linspace(0, 255, 16).astype(np.uint8), (16, 1))
    for cls in ("x", "y"):
        for k in range(5):
            _save(tmp_path / cls / f"{k}.jpg", np.stack([smooth, smooth.T, smooth], -1))
    data = load(tmp_path)
    assert data.input_shape == (3, 16, 16) and len(data.x_test) == 2
    assert np.abs(data.x_train[0, 0].astype(int) - smooth).max() < 16    # JPEG is lossy


def test_sizes_must_agree_unless_resized(tmp_path, rng):
    _save(tmp_path / "a" / "1.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    _save(tmp_path / "a" / "2.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    _save(tmp_path / "b" / "1.png", rng.integers(0, 256, (10, 6), dtype=np.uint8))
    with pytest.raises(DataError) as caught:
        load(tmp_path)
    message = _one_line_error(caught, tmp_path / "b" / "1.png")
    assert "image is 10x6 (HxW) but" in message and "image_size=(H, W)" in message
    data = load(tmp_path, image_size=(5, 7), test_fraction=0.5)
    assert data.input_shape == (1, 5, 7) and len(data.x_train) + len(data.x_test) == 3


def test_image_folder_problems_are_named(tmp_path, rng):
    good = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    _save(tmp_path / "a" / "1.png", good)
    _save(tmp_path / "b" / "1.png", good)
    (tmp_path / "b" / "2.png").write_bytes((tmp_path / "b" / "1.png").read_bytes()[:40])
    with pytest.raises(DataError) as caught:
        load(tmp_path)
    assert "not a readable image" in _one_line_error(caught, tmp_path / "b" / "2.png")
    (tmp_path / "b" / "2.png").write_text("label,a\n")
    with pytest.raises(DataError) as caught:
        load(tmp_path)
    assert "not a readable image (cannot identify image file" in _one_line_error(
        caught, tmp_path / "b" / "2.png")
    (tmp_path / "b" / "2.png").unlink()
    (tmp_path / "b" / "notes.txt").write_text("hello")
    with pytest.raises(DataError) as caught:
        load(tmp_path)
    assert "not a PNG or JPEG file" in _one_line_error(caught, tmp_path / "b" / "notes.txt")
    (tmp_path / "b" / "notes.txt").unlink()
    (tmp_path / "b" / ".DS_Store").write_text("hidden files are skipped")
    (tmp_path / "c").mkdir()
    with pytest.raises(DataError) as caught:
        load(tmp_path)
    assert "class folder without images" in _one_line_error(caught, tmp_path / "c")
    (tmp_path / "c").rmdir()
    assert load(tmp_path, test_fraction=0.5).classes == ("a", "b")


def test_options_that_do_not_apply_are_refused(tmp_path, make_idx_dataset):
    make_idx_dataset(tmp_path / "idx")
    with pytest.raises(DataError, match="idx: image_size applies only to folders of images"):
        load(tmp_path / "idx", image_size=(4, 4))
    with pytest.raises(DataError, match="mnist: label_column applies only to CSV files"):
        load("mnist", root=tmp_path / "idx", label_column="y")
