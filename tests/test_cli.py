"""The command line end to end on tiny data: train writes a complete run directory, evaluate reads
it back, gradcheck passes, and every user mistake is one line on stderr with exit status 2."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.cli import main
from scratchnn.data import registry
from scratchnn.train.modelfile import read_model_file

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fake_fashion_mnist(root, rng, n_train=200, n_test=50, size=28):
    """The four Fashion-MNIST IDX files (gzip), random pixels, under root/fashion-mnist."""
    folder = root / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        snn.data.write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        snn.data.write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """No real data anywhere: an empty $SCRATCHNN_DATA, $HOME and system directory list."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("SCRATCHNN_DATA", str(root))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(registry, "SYSTEM_DIRS", {})
    return root


def run_cli(capsys, *args):
    """(exit status, stdout, stderr) of `scratchnn ARGS` run in this process."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def assert_usage_error(status, err, *needles):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scratchnn: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One small real training run on scikit-learn's digits, shared by the tests below."""
    out = tmp_path_factory.mktemp("runs") / "digits"
    status = main(["train", "--dataset", "digits", "--epochs", "4", "--out", str(out),
                   "--no-progress", "--seed", "3"])
    assert status == 0
    return out


def test_train_writes_a_complete_run_directory(digits_run):
    for name in ("config.toml", "metrics.csv", "model.npz", "plots/loss.png",
                 "plots/accuracy.png"):
        assert (digits_run / name).is_file(), name
    for plot in ("loss.png", "accuracy.png"):
        assert (digits_run / "plots" / plot).read_bytes()[:8] == PNG_SIGNATURE
    with open(digits_run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    for column in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert all(math.isfinite(float(row[column])) for row in rows), column
    assert 'dataset = "digits"' in (digits_run / "config.toml").read_text()


def test_the_model_file_holds_no_pickle(digits_run):
    with np.load(digits_run / "model.npz", allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)
    state, meta = read_model_file(digits_run / "model.npz")
    assert meta["dataset"] == "digits" and meta["input_size"] == 64


def test_training_on_digits_learns(capsys, digits_run):
    status, out, _ = run_cli(capsys, "evaluate", digits_run, "--json")
    assert status == 0
    result = json.loads(out)
    assert result["samples"] > 0 and result["dataset"] == "digits"
    assert result["accuracy"] > 0.85   # chance is 0.1; an MLP reaches ~0.95 in 4 epochs


def test_evaluate_reports_what_training_measured(capsys, digits_run):
    _, out, _ = run_cli(capsys, "evaluate", digits_run, "--json")
    _, meta = read_model_file(digits_run / "model.npz")
    assert json.loads(out)["accuracy"] == pytest.approx(meta["test"]["accuracy"], abs=1e-12)


def test_same_seed_same_weights(tmp_path, capsys):
    paths = []
    for name in ("a", "b"):
        status, _, _ = run_cli(capsys, "train", "--dataset", "digits", "--epochs", "1",
                               "--out", tmp_path / name, "--no-progress", "--seed", "7")
        assert status == 0
        paths.append(tmp_path / name / "model.npz")
    (a, _), (b, _) = (read_model_file(p) for p in paths)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_train_on_idx_files_found_through_scratchnn_data(data_home, rng, tmp_path, capsys):
    fake_fashion_mnist(data_home, rng)
    status, out, err = run_cli(capsys, "train", "--epochs", "1", "--hidden-sizes", "16",
                               "--out", tmp_path / "run", "--no-progress")
    assert status == 0, err
    assert "test accuracy" in out and str(tmp_path / "run") in out


def test_gradcheck_passes_for_every_preset(capsys):
    for model in snn.models.PRESETS:
        status, out, _ = run_cli(capsys, "gradcheck", "--model", model, "--max-checks", "5")
        assert status == 0, out
        assert "all gradients agree" in out and "FAIL" not in out


@pytest.mark.parametrize("args, needles", [
    (["train", "--dataset", "fashon-mnist"], ["unknown dataset", "fashion-mnist"]),
    (["train", "--dataset", "digits", "--model", "mpl"], ["unknown model", "'mlp'"]),
    (["train", "--dataset", "digits", "--optimizer", "adamm"], ["unknown optimizer", "adam"]),
    (["train", "--dataset", "digits", "--epochs", "0"], ["epochs"]),
    (["gradcheck", "--model", "resnet"], ["unknown model"]),
])
def test_bad_names_and_values_are_one_line_errors(capsys, tmp_path, args, needles):
    status, _, err = run_cli(capsys, *args, *(["--out", tmp_path / "r"] if args[0] == "train"
                                              else []))
    assert_usage_error(status, err, *needles)


def test_missing_data_says_how_to_get_it(data_home, capsys, tmp_path):
    status, _, err = run_cli(capsys, "train", "--out", tmp_path / "r")
    assert_usage_error(status, err, "fashion-mnist", "apt-get install dataset-fashion-mnist")
    assert not (tmp_path / "r").exists()


def test_evaluating_on_data_of_another_size_names_both_sizes(data_home, rng, digits_run,
                                                             capsys):
    fake_fashion_mnist(data_home, rng, n_train=20, n_test=10)
    status, _, err = run_cli(capsys, "evaluate", digits_run, "--dataset", "fashion-mnist")
    assert_usage_error(status, err, "this model was trained on 1x8x8 inputs (digits)",
                       "fashion-mnist's are 1x28x28")


def test_unknown_config_key_suggests_the_nearest(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('dataset = "digits"\nepoch = 3\n')
    status, _, err = run_cli(capsys, "train", "--config", config, "--out", tmp_path / "r")
    assert_usage_error(status, err, "epoch", "epochs")


def test_missing_and_corrupt_model_files(tmp_path, capsys):
    status, _, err = run_cli(capsys, "evaluate", tmp_path / "nowhere")
    assert_usage_error(status, err, "nowhere")
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    status, _, err = run_cli(capsys, "evaluate", bad)
    assert_usage_error(status, err, "model.npz")


def test_the_console_command_runs():
    result = subprocess.run([sys.executable, "-m", "scratchnn", "--help"],
                            capture_output=True, text=True, check=True)
    for command in ("train", "evaluate", "gradcheck"):
        assert command in result.stdout


def test_datasets_says_what_is_found_where_and_how_to_get_the_rest(data_home, rng, capsys):
    fake_fashion_mnist(data_home, rng, n_train=20, n_test=10)
    status, out, err = run_cli(capsys, "datasets")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["dataset", "status", "size"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert list(rows) == ["cifar10", "digits", "fashion-mnist", "mnist"]
    assert rows["fashion-mnist"].split()[1] == "found"
    assert "20 train + 10 test of 1x28x28" in rows["fashion-mnist"]
    assert rows["fashion-mnist"].endswith(str(data_home / "fashion-mnist"))
    assert "1438 train + 359 test of 1x8x8" in rows["digits"]
    for name in ("mnist", "cifar10"):
        assert rows[name].split()[1] == "missing"
        assert rows[name].endswith(f"get it: python -m scratchnn.data.download {name}")
    assert lines[-1].startswith("also: a path to an .npz")
    status, out, _ = run_cli(capsys, "datasets", "--json")
    infos = {row["name"]: row for row in map(json.loads, out.splitlines())}
    assert infos["fashion-mnist"]["train_samples"] == 20 and infos["mnist"]["location"] is None
    (data_home / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b junk")
    status, out, _ = run_cli(capsys, "datasets")
    row = next(line for line in out.splitlines() if line.startswith("fashion-mnist"))
    assert status == 0 and row.split()[1] == "broken" and "t10k-images-idx3-ubyte.gz" in row


def test_train_with_augmentation_and_data_options_from_config_and_flags(tmp_path, capsys):
    config = tmp_path / "aug.toml"
    config.write_text('dataset = "digits"\naugment = true\ncrop_padding = 1\n'
                      'preprocess = "mean_image"\nn_train = 400\nn_val = 100\nn_test = 100\n')
    status, out, err = run_cli(capsys, "train", "--config", config, "--no-flip", "--epochs", "2",
                               "--out", tmp_path / "r", "--no-progress")
    assert status == 0, err
    saved = (tmp_path / "r" / "config.toml").read_text()
    for line in ("augment = true", "crop_padding = 1", "flip = false", "n_val = 100",
                 'preprocess = "mean_image"'):
        assert line in saved
    _, meta = read_model_file(tmp_path / "r" / "model.npz")
    assert meta["preprocess"]["kind"] == "mean_image" and meta["test"]["samples"] == 100
    status, out, _ = run_cli(capsys, "evaluate", tmp_path / "r", "--json")
    result = json.loads(out)
    assert status == 0 and result["samples"] == 359 and result["accuracy"] > 0.25  # chance 0.1


@pytest.mark.parametrize("args, needles", [
    (["--crop-padding", "-1"], ["crop_padding must be >= 0"]),
    (["--preprocess", "whiten"], ["unknown preprocess 'whiten'; valid: standardize, scale"]),
    (["--n-train", "5000"], ["n_train=5000", "1438 training samples"]),
    (["--image-size", "4,4"], ["digits: image_size applies only to folders of images"]),
])
def test_bad_data_flags_are_one_line_errors(tmp_path, capsys, args, needles):
    status, _, err = run_cli(capsys, "train", "--dataset", "digits", "--augment", *args,
                             "--out", tmp_path / "r", "--no-progress")
    assert_usage_error(status, err, *needles)


@pytest.mark.parametrize("flag", ["--augment", "--tta"])
def test_augmenting_data_that_is_not_images_is_refused_before_training(tmp_path, capsys, flag):
    rows = "".join(f"{k % 2},{k * 0.5},{k * 0.25}\n" for k in range(20))
    (tmp_path / "t.csv").write_text("label,a,b\n" + rows)
    status, _, err = run_cli(capsys, "train", "--dataset", tmp_path / "t.csv", flag,
                             "--out", tmp_path / "r", "--no-progress")
    assert_usage_error(status, err, "augmentation needs images (C, H, W)", "(2,)")
    assert not (tmp_path / "r").exists()


def test_train_and_evaluate_on_a_folder_of_images_of_mixed_sizes(tmp_path, capsys, rng):
    from PIL import Image

    for k in range(24):
        cls, size = ("dark", "light")[k % 2], (10, 12) if k % 3 else (14, 9)
        base = 40 if cls == "dark" else 200
        pixels = np.clip(base + rng.integers(-30, 30, (*size, 3)), 0, 255).astype(np.uint8)
        (tmp_path / "pics" / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(tmp_path / "pics" / cls / f"{k:02d}.png")
    status, _, err = run_cli(capsys, "train", "--dataset", tmp_path / "pics", "--epochs", "1",
                             "--out", tmp_path / "r", "--no-progress")
    assert_usage_error(status, err, "02.png: image is 10x12 (HxW)", "00.png is 14x9",
                       "--image-size")
    status, _, err = run_cli(capsys, "train", "--dataset", tmp_path / "pics", "--epochs", "3",
                             "--image-size", "8,8", "--augment", "--model", "two-layer-net",
                             "--out", tmp_path / "r", "--no-progress")
    assert status == 0, err
    _, meta = read_model_file(tmp_path / "r" / "model.npz")
    assert meta["input_shape"] == [3, 8, 8] and meta["classes"] == ["dark", "light"]
    status, out, err = run_cli(capsys, "evaluate", tmp_path / "r", "--json")  # resized again
    assert status == 0, err
    assert json.loads(out)["samples"] == 4                       # 20% of each class of 12
