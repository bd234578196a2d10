"""Model files: one-line DataErrors for every kind of bad file, checksums over weights and
metadata, version 1 files still read, atomic writes."""

from __future__ import annotations

import io
import json
import os
import pickle

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.train import modelfile
from scratchnn.train.modelfile import load_model, read_model_file, save_model
from scratchnn.train.storage import META_KEY, checksum

META = {"model": "mlp", "model_options": {"hidden_sizes": [5]}, "input_size": 16,
        "output_size": 3, "input_shape": [1, 4, 4], "classes": ["a", "b", "c"]}


def model():
    return snn.models.build("mlp", (1, 4, 4), 3, rng=np.random.default_rng(0),
                            hidden_sizes=(5,))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, model(), META)
    return path


def write_npz(path, arrays, meta):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{META_KEY: np.array(json.dumps(meta))})
    path.write_bytes(buffer.getvalue())


def one_line_error(path, *needles):
    with pytest.raises(snn.DataError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for needle in needles:
        assert needle in message, message
    return message


def test_round_trip_and_no_temporary_file_left(saved):
    loaded, meta = load_model(saved)
    assert meta["version"] == modelfile.VERSION and meta["classes"] == ["a", "b", "c"]
    original = model().state_dict()
    assert all(np.array_equal(v, original[k]) for k, v in loaded.state_dict().items())
    assert os.listdir(saved.parent) == ["model.npz"]


def test_a_failed_save_keeps_the_old_file(saved, monkeypatch):
    before = saved.read_bytes()

    def broken(file, *args, **kwargs):
        file.write(b"PK half")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(KeyboardInterrupt):
        save_model(saved, model(), META)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == ["model.npz"]


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 1000, -200, -22, -1])
def test_truncated_files(saved, cut):
    data = saved.read_bytes()
    saved.write_bytes(data[:cut] if cut > 0 else data[:len(data) + cut] if cut else b"")
    one_line_error(saved)


def test_missing_and_other_formats(tmp_path, saved):
    one_line_error(tmp_path / "nope.npz", "no such model file")
    for content, needle in [(b"\x93NUMPY" + bytes(100), "not a readable model file"),
                            (pickle.dumps({"weights": [1, 2]}), "is a zip archive"),
                            (b"just some text\n", "starts with b'just'")]:
        (tmp_path / "other").write_bytes(content)
        one_line_error(tmp_path / "other", needle)
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    (tmp_path / "array.npy").write_bytes(buffer.getvalue())
    one_line_error(tmp_path / "array.npy", "not an .npz archive")
    np.savez(tmp_path / "plain.npz", weight=np.zeros(3))
    one_line_error(tmp_path / "plain.npz", "no __meta__ entry")
    write_npz(tmp_path / "ckpt.npz", {}, {"format": "scratchnn-checkpoint", "version": 1})
    one_line_error(tmp_path / "ckpt.npz", "a training checkpoint", "--resume")


def test_newer_version_and_bad_metadata(tmp_path):
    state = model().state_dict()
    newer = {**META, "format": "scratchnn-model", "version": modelfile.VERSION + 1}
    write_npz(tmp_path / "m.npz", state, {**newer, "sha256": checksum(state, newer)})
    one_line_error(tmp_path / "m.npz", f"version {modelfile.VERSION + 1} is newer", "upgrade")
    with open(tmp_path / "m.npz", "wb") as f:
        np.savez(f, **state, **{META_KEY: np.array("{not json")})
    one_line_error(tmp_path / "m.npz", "corrupt metadata")
    with open(tmp_path / "m.npz", "wb") as f:
        np.savez(f, **state, **{META_KEY: np.arange(3)})
    one_line_error(tmp_path / "m.npz", "corrupt metadata")


def test_changed_weights_or_metadata_fail_the_checksum(saved):
    state, meta = read_model_file(saved)
    state["0.weight" if "0.weight" in state else next(iter(state))] += 1
    write_npz(saved, state, meta)
    one_line_error(saved, "checksum mismatch")
    state, meta = model().state_dict(), {**meta, "classes": ["x", "y", "z"]}
    write_npz(saved, state, meta)                  # the metadata is covered too (version 2)
    one_line_error(saved, "checksum mismatch")


def test_version_1_files_still_load(tmp_path):
    state = model().state_dict()
    meta = {**META, "format": "scratchnn-model", "version": 1, "sha256": checksum(state)}
    write_npz(tmp_path / "v1.npz", state, meta)
    loaded, got = load_model(tmp_path / "v1.npz")
    assert got["version"] == 1 and loaded.state_dict().keys() == state.keys()


def test_metadata_that_would_build_a_huge_model_is_refused(tmp_path):
    state = model().state_dict()
    for change in ({"model_options": {"hidden_sizes": [10**7]}},
                   {"input_size": 10**9, "input_shape": [1, 10**4, 10**5]},
                   {"input_shape": [1, 4, 5]}):
        meta = {**META, **change, "format": "scratchnn-model", "version": 2}
        write_npz(tmp_path / "m.npz", state, {**meta, "sha256": checksum(state, meta)})
        one_line_error(tmp_path / "m.npz")


def test_a_zip_bomb_is_refused_before_it_is_read(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("0.weight.npy", b"\x00" * (64 * 2**20))     # 64 MiB of zeros
    assert (tmp_path / "bomb.npz").stat().st_size < 2**20
    one_line_error(tmp_path / "bomb.npz", "uncompressed")


def test_a_model_file_keeps_its_architecture_when_a_presets_defaults_change(tmp_path):
    """Files store every option (models.resolved_options); a cnn file from before that, which
    names no channels, was built with the preset's 32, 64, 128 channels and still loads."""
    options = snn.models.resolved_options("cnn", {"hidden_sizes": (8,)})
    assert options["channels"] == [24, 64, 192] and options["hidden_sizes"] == [8]
    meta = {"model": "cnn", "input_size": 144, "output_size": 3, "input_shape": [1, 12, 12]}
    for channels, stored in (((24, 64, 192), options), ((32, 64, 128), {"hidden_sizes": [8]})):
        built = snn.models.build("cnn", (1, 12, 12), 3, rng=np.random.default_rng(0),
                                 channels=channels, hidden_sizes=(8,))
        save_model(tmp_path / "m.npz", built, {**meta, "model_options": stored})
        loaded, _ = load_model(tmp_path / "m.npz")
        assert [loaded[i].weight.shape[0] for i in (0, 4, 8)] == list(channels)


def test_a_small_cnn_loads_and_its_sizes_are_checked_block_by_block(tmp_path):
    """A cnn's first hidden layer is fed by its last conv block, not by the input: a small cnn
    on 8x8 images has fewer weights (5854) than input_size x hidden (64 x 256) and must load;
    channels whose products exceed the weights are refused."""
    built = snn.models.build("cnn", (1, 8, 8), 10, rng=np.random.default_rng(0),
                             channels=(4, 8, 8))
    meta = {"model": "cnn", "input_size": 64, "output_size": 10, "input_shape": [1, 8, 8],
            "model_options": snn.models.resolved_options("cnn", {"channels": (4, 8, 8)})}
    save_model(tmp_path / "m.npz", built, meta)
    loaded, _ = load_model(tmp_path / "m.npz")
    state = built.state_dict()
    assert sum(a.size for a in state.values()) == 5854 < 64 * 256
    assert loaded.num_parameters() == built.num_parameters()
    meta = {**meta, "model_options": {**meta["model_options"], "channels": [4, 5000, 8]},
            "format": "scratchnn-model", "version": 2}
    write_npz(tmp_path / "huge.npz", state, {**meta, "sha256": checksum(state, meta)})
    one_line_error(tmp_path / "huge.npz")
