"""Predictor.answer shows what `scratchnn predict` shows for the same file (same functions), and
refuses unusable uploads with an UploadError carrying the HTTP status."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from serve_helpers import npy, png

from scratchnn.serve import Predictor, UploadError
from scratchnn.serve.upload import MAX_BYTES, MAX_PIXELS
from scratchnn.train.predict import predict_files


@pytest.fixture(scope="module")
def predictor(served_run) -> Predictor:
    return Predictor(served_run)


def decoded(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_answer_equals_predict_on_the_same_file(predictor, served_run, test_images):
    for path in test_images:
        answer = predictor.answer(path.read_bytes(), path.name)
        expected = predict_files(served_run, [path], top_k=5)[0].top
        assert answer["top"] == [list(pair) for pair in expected]
        assert answer["predicted"] == expected[0][0]
        seen, heat = decoded(answer["seen"]), decoded(answer["saliency"])
        h, w = predictor.run.input_shape[1:]
        assert seen.size == heat.size and seen.size[0] % w == 0 and seen.size[0] >= 200
        assert heat.mode == "RGB" and np.ptp(np.asarray(heat)) > 0


def test_the_image_as_the_model_sees_it(predictor, test_images):
    path = test_images[0]
    seen = np.asarray(decoded(predictor.answer(path.read_bytes())["seen"]))
    h, w = predictor.run.input_shape[1:]
    factor = seen.shape[0] // h
    np.testing.assert_array_equal(seen[::factor, ::factor], np.asarray(Image.open(path)))


def test_an_odd_colour_image_with_alpha_reads_as_predict_reads_it(predictor, served_run,
                                                                   tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (37, 19, 4), dtype=np.uint8)
    path = tmp_path / "odd.png"
    path.write_bytes(png(rgba, "RGBA"))
    answer = predictor.answer(path.read_bytes(), "odd.png")
    assert answer["top"] == [list(p) for p in predict_files(served_run, [path], top_k=5)[0].top]


def test_invert(predictor, served_run, test_images):
    path = test_images[1]
    answer = predictor.answer(path.read_bytes(), invert=True)
    expected = predict_files(served_run, [path], top_k=5, invert=True)[0].top
    assert answer["top"] == [list(pair) for pair in expected]


@pytest.mark.parametrize("body, status, words", [
    (b"just some text\n", 415, "not an image"),
    (b"", 415, "an empty file"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 400, "not a readable image"),
    (b"\xff\xd8\xff" + b"\0" * 100, 400, "not a readable image"),
    (b"\x93NUMPY garbage", 400, ".npy"),
    (npy(np.full((1, 28, 28), np.nan, np.float32)), 400, "NaN or infinite"),
    (npy(np.zeros((3, 32, 32), np.float32)), 400, "does not fit"),
    (npy(np.array(["a", "b"])), 400, "expected numbers"),
    (b"\0" * (MAX_BYTES + 1), 413, "too large"),
])
def test_bad_uploads_are_refused_with_a_status_and_one_line(predictor, body, status, words):
    with pytest.raises(UploadError) as caught:
        predictor.answer(body, "bad.bin")
    assert caught.value.status == status
    message = str(caught.value)
    assert words in message and "\n" not in message and message.startswith("bad.bin")
    assert "scratchnn-serve-" not in message           # no temporary path


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(predictor):
    side = int(MAX_PIXELS ** 0.5) + 1                   # a 1-bit image compresses to KBs
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, format="PNG")
    body = buffer.getvalue()
    assert len(body) < MAX_BYTES
    with pytest.raises(UploadError, match="too large") as caught:
        predictor.answer(body, "huge.png")
    assert caught.value.status == 413


def test_a_model_that_does_not_take_images_is_refused(tmp_path):
    from scratchnn import DataError
    from scratchnn.train.config import TrainConfig
    from scratchnn.train.run import run_training

    table = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    data = tmp_path / "table.npz"
    np.savez(data, x=table, y=(table[:, 0] > 0).astype(np.int64))
    run_training(TrainConfig(dataset=str(data), epochs=1, batch_size=16, out=str(tmp_path / "run")),
                 progress=False)
    with pytest.raises(DataError, match="not images"):
        Predictor(tmp_path / "run")
