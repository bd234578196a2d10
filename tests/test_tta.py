"""Test-time augmentation. TestViews (data/views.py) against a loop over images and views written
out by hand; then a run trained with --tta: its test accuracy, `evaluate`, `predict` and the
exported ONNX graph all average the same views, as that loop computes them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import scratchnn as snn
from scratchnn.cli import main
from scratchnn.data import Augment, TestViews
from scratchnn.errors import ConfigError, ShapeError
from scratchnn.functional.losses import softmax
from scratchnn.train import Run
from scratchnn.train.evaluate import predict_scores
from scratchnn.train.modelfile import read_model_file, save_model
from scratchnn.train.predict import predict_files


def by_hand(image: np.ndarray, flip: bool, dx: int) -> np.ndarray:
    """One view of one image (C, H, W): mirrored, then moved dx pixels right, zero-filled."""
    if flip:
        image = image[:, :, ::-1]
    out = np.zeros_like(image)
    width = image.shape[-1]
    for column in range(width):
        source = column - dx
        if 0 <= source < width:
            out[:, :, column] = image[:, :, source]
    return out


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("shift", [0, 1, 2])
def test_views_are_the_mirror_and_the_moves_of_each_image_view_major(rng, flip, shift):
    x = rng.integers(0, 256, (3, 2, 5, 6), dtype=np.uint8)
    views = TestViews(flip=flip, shift=shift)
    stacked = views.of(x)
    moves = (0, shift, -shift) if shift else (0,)
    expected = [by_hand(image, mirrored, dx) for mirrored in ((False, True) if flip else (False,))
                for dx in moves for image in x]
    assert views.count == len(expected) // len(x) == len(moves) * (1 + flip)
    assert stacked.dtype == x.dtype
    np.testing.assert_array_equal(stacked, np.stack(expected))


def test_the_mean_over_the_views_undoes_the_stacking(rng):
    views = TestViews(flip=True, shift=1)
    scores = rng.standard_normal((4, 3)).astype(np.float32)
    stacked = np.concatenate([scores + v for v in range(views.count)])    # view v adds v
    mean = views.average(stacked)
    assert mean.dtype == np.float32 and mean.shape == (4, 3)
    np.testing.assert_allclose(mean, scores + (views.count - 1) / 2, rtol=1e-6)
    with pytest.raises(ShapeError, match="not 6 views"):
        views.average(stacked[:-1])
    with pytest.raises(ShapeError, match=r"images \(N, C, H, W\)"):
        views.of(np.zeros((2, 8)))


def test_views_follow_the_augmentation_and_refuse_bad_settings():
    assert TestViews.for_augment(Augment(crop_padding=2, flip=True)).count == 6
    assert TestViews.for_augment(Augment(crop_padding=2, flip=False)).count == 3
    assert TestViews.for_augment(Augment(crop_padding=0, flip=True)).count == 2
    assert TestViews.from_dict({"flip": True, "shift": 1}) == TestViews()
    assert TestViews().to_dict() == {"flip": True, "shift": 1}
    for bad in ({"flip": 1, "shift": 1}, {"flip": True, "shift": -1},
                {"flip": True, "shift": 1.0}, {"flip": True, "shift": 9}, {"flip": True},
                [True, 1]):
        with pytest.raises(ConfigError, match="test views"):
            TestViews.from_dict(bad)


# -- a run trained with --tta ---------------------------------------------------------------

SMALL_CNN = ["--model", "cnn", "--channels", "4,8,8", "--epochs", "2", "--warmup-epochs", "0",
             "--dataset", "digits", "--no-progress"]


@pytest.fixture(scope="module")
def tta_run(tmp_path_factory):
    """A small cnn on digits with --tta and --flip: six views (digits crop by 1 pixel)."""
    directory = tmp_path_factory.mktemp("tta") / "run"
    assert main(["train", *SMALL_CNN, "--tta", "--flip", "--out", str(directory)]) == 0
    return directory


def mean_over_views_by_hand(run: Run, x: np.ndarray) -> np.ndarray:
    """Scores (N, K): the eval-mode model on each view of each image, one at a time, averaged."""
    model = run.load_model()
    per_image = []
    for image in x:
        views = [by_hand(image, flip, dx) for flip in (False, True) for dx in (0, 1, -1)]
        per_image.append(np.mean([model.forward(run.prepare(v[None]))[0] for v in views],
                                 axis=0))
    return np.array(per_image)


def test_the_test_accuracy_and_evaluate_average_six_views(tta_run, capsys):
    run = Run.open(tta_run)
    assert run.meta["test_views"] == {"flip": True, "shift": 1}
    data = run.load_dataset(as_trained=True)
    scores = predict_scores(run.load_model(), data.x_test, run.prepare, views=run.test_views)
    np.testing.assert_allclose(scores[:20], mean_over_views_by_hand(run, data.x_test[:20]),
                               rtol=1e-5, atol=1e-5)
    accuracy = float(np.mean(scores.argmax(axis=1) == data.y_test))
    assert run.test["accuracy"] == pytest.approx(accuracy)
    plain = predict_scores(run.load_model(), data.x_test, run.prepare)
    assert not np.allclose(plain, scores)           # the views do change the scores

    assert main(["evaluate", str(tta_run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(accuracy)
    assert main(["evaluate", str(tta_run)]) == 0
    assert "(each the mean over 6 views: --tta)" in capsys.readouterr().out


def test_predict_and_the_exported_graph_average_the_views(tta_run, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    run = Run.open(tta_run)
    digits = run.load_dataset().x_test[:6]                                 # 0-16
    pixels = np.rint(digits * (255 / 16)).astype(np.uint8)                 # as files hold
    files = []
    for i, image in enumerate(pixels):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(image[0]).save(files[-1])
    predicted = predict_files(tta_run, files, top_k=10)
    expected = softmax(mean_over_views_by_hand(run, pixels * np.float32(16 / 255)))
    for prediction, p in zip(predicted, expected, strict=True):
        top = dict(prediction.top)
        np.testing.assert_allclose([top[c] for c in run.classes], p, rtol=1e-4, atol=1e-6)

    for opset in (13, 18):           # ReduceMean takes its axes as an attribute, then an input
        out = tmp_path / f"model{opset}.onnx"
        assert main(["export", str(tta_run), "--out", str(out), "--opset", str(opset)]) == 0
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        onnx_p = session.run(["probabilities"], {"pixels": pixels})[0]
        np.testing.assert_allclose(onnx_p, expected, rtol=1e-4, atol=1e-6)
        imported = snn.onnx.load(out).eval()            # the network, without the views
        x = run.prepare(run.load_dataset().x_test[:4])
        np.testing.assert_allclose(imported.forward(x), run.load_model().forward(x), rtol=1e-6)
        assert snn.onnx.importer.metadata(out)["test_views"]["shift"] == 1


def test_runs_without_tta_predict_from_the_image_alone_and_bad_views_are_refused(
        tta_run, tmp_path, capsys):
    plain = tmp_path / "plain"        # the cnn preset predicts with views unless told not to
    assert main(["train", *SMALL_CNN, "--no-tta", "--out", str(plain)]) == 0
    run = Run.open(plain)
    assert run.meta["test_views"] is None and run.test_views is None
    data = run.load_dataset(as_trained=True)
    scores = predict_scores(run.load_model(), data.x_test, run.prepare)
    assert run.test["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == data.y_test))
    assert "views" not in capsys.readouterr().out

    broken = tmp_path / "broken.npz"
    state, meta = read_model_file(tta_run / "model.npz")
    model = Run.open(tta_run).load_model()
    save_model(broken, model, {**meta, "test_views": {"flip": "yes", "shift": 1}})
    assert main(["evaluate", str(broken), "--dataset", "digits"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "metadata test_views" in err
