"""Labels are checked in one place (scratchnn.labels): the losses, the Trainer and the doctor
report the same bad labels with the same error type and the same message."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.doctor.data_checks import check_labels as doctor_check_labels
from scratchnn.labels import check_labels, class_labels
from scratchnn.layers import Linear
from scratchnn.losses import MulticlassHinge, SoftmaxCrossEntropy
from scratchnn.optim import SGD

N, C = 10, 3
GOOD = np.arange(N) % C

BAD = {
    "one too high": (GOOD + 1, snn.DataError,
                     "labels must be class indices in [0, 3) for a model with 3 outputs, got "
                     "values from 1 to 3"),
    "negative": (GOOD - 1, snn.DataError, "from -1 to 1"),
    "NaN in rows": (np.where(np.arange(N * C).reshape(N, C) == 4, np.nan, np.eye(C)[GOOD]),
                    snn.DataError, "labels contain NaN or Inf"),
    "column": (GOOD[:, None], snn.ShapeError,
               "labels have shape (10, 1); expected (10,) class indices: use y.ravel()"),
    "floats": (GOOD.astype(np.float32), snn.ShapeError,
               "labels must be integer class indices, got float32"),
    "rows of another width": (np.zeros((N, 5), np.int64), snn.ShapeError,
                              "labels must be class indices (10,) or rows (10, 3) for a model "
                              "with 3 outputs, got (10, 5)"),
}


def trainer() -> tuple[snn.Trainer, np.ndarray]:
    rng = np.random.default_rng(0)
    model = snn.Sequential(Linear(4, C, rng=rng))
    x = rng.standard_normal((N, 4)).astype(np.float32)
    return snn.Trainer(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                       batch_size=4), x


@pytest.mark.parametrize("case", BAD)
def test_the_loss_the_trainer_and_the_doctor_say_the_same_about_bad_labels(case):
    labels, error, message = BAD[case]
    with pytest.raises(error) as direct:
        check_labels(labels, C)
    said = str(direct.value)
    assert message in said and "\n" not in said
    assert isinstance(direct.value, snn.ScratchnnError)      # the CLI: one line, exit 2

    scores = np.random.default_rng(1).standard_normal((N, C))
    for loss_fn in (SoftmaxCrossEntropy(), MulticlassHinge()):
        with pytest.raises(error) as by_loss:
            loss_fn(scores, labels)
        assert str(by_loss.value) == said

    fit, x = trainer()
    with pytest.raises(error) as by_trainer:
        fit.fit(x, labels, epochs=1)
    assert str(by_trainer.value) == f"training {said}"
    assert fit.step == 0
    with pytest.raises(error) as by_validation:
        fit.fit(x, GOOD, epochs=1, validation=(x, labels))
    assert str(by_validation.value) == f"validation {said}"

    findings, _, _ = doctor_check_labels(labels, C)
    assert findings[0].check == "labels" and findings[0].title == said
    assert findings[0].severity == ("warning" if case == "floats" else "critical")


def test_the_doctor_goes_on_with_a_column_of_labels_but_stops_at_bad_values():
    assert doctor_check_labels(GOOD[:, None], C)[2] is True
    assert doctor_check_labels(GOOD + 1, C)[2] is False
    assert doctor_check_labels(np.zeros((N, 5), np.int64), C)[2] is False


@pytest.mark.parametrize("labels", [GOOD, GOOD.astype(np.uint8), np.eye(C)[GOOD],
                                    np.eye(C, dtype=np.int64)[GOOD], np.eye(C, dtype=bool)[GOOD],
                                    np.full((N, C), 1 / C)])
def test_good_labels_pass_unchanged(labels):
    assert check_labels(labels, C) is labels
    assert check_labels(labels.tolist(), C).shape == labels.shape


def test_empty_labels_and_a_known_number_of_samples():
    assert check_labels(np.zeros(0, np.int64), C).shape == (0,)
    with pytest.raises(snn.ShapeError, match=r"\(4,\) or rows \(4, 3\) .* got \(10,\)"):
        check_labels(GOOD, C, samples=4)
    with pytest.raises(snn.ShapeError, match=r"\(N,\) or rows \(N, 3\) .* got \(\)"):
        check_labels(np.int64(1), C)


def test_class_labels_of_indices_a_column_and_rows():
    """One rule: indices (N,) and a column (N, 1) are the classes; rows (N, C) their argmax."""
    assert class_labels(GOOD).tolist() == GOOD.tolist()
    assert class_labels(GOOD[:, None]).tolist() == GOOD.tolist()
    assert class_labels(np.eye(C)[GOOD]).tolist() == GOOD.tolist()
    assert class_labels(np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])).tolist() == [1, 0]
