"""What the page shows for one upload: the top classes, the input as the model sees it, and the
saliency map.

    predictor = Predictor("runs/mlp-20250101-120000")
    answer = predictor.answer(png_bytes, "shoe.png")
    answer["top"]          # [["Sneaker", 0.94], ["Sandal", 0.04], ...], as `scratchnn predict`
    answer["saliency"]     # "data:image/png;base64,..."
"""

from __future__ import annotations

import threading
from pathlib import Path

from scratchnn.errors import DataError
from scratchnn.serve import pictures
from scratchnn.serve.saliency import eval_twin, saliency
from scratchnn.serve.upload import MAX_BYTES, read_upload
from scratchnn.train.predict import class_probabilities, top_classes
from scratchnn.train.rundir import Run

TOP_K = 5


class Predictor:
    """A run's model, opened once, answering uploads one at a time (layers keep state)."""

    def __init__(self, run: str | Path, *, top_k: int = TOP_K) -> None:
        self.run = Run.open(run)
        shape = self.run.input_shape
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise DataError(f"{run}: the model takes inputs of shape {shape}, not images "
                            "(C, H, W) with 1 or 3 channels; the page shows images only")
        self.model = self.run.load_model()
        self.twin = eval_twin(self.model)
        self.top_k = min(top_k, len(self.run.classes))
        self.white = self.run.pixel_max or 255
        self.lock = threading.Lock()

    def info(self) -> dict:
        """What the page says about the model before any upload."""
        return {"run": self.run.directory.name, "dataset": self.run.dataset_name,
                "input_shape": list(self.run.input_shape), "classes": self.run.classes,
                "max_bytes": MAX_BYTES}

    def answer(self, body: bytes, name: str = "upload", *, invert: bool = False) -> dict:
        """One uploaded file -> {"name", "predicted", "top": [[class, p], ...], "seen",
        "saliency"} (the last two PNG data: URLs); UploadError for a file it cannot use."""
        x = read_upload(self.run, body, name, invert=invert)          # (1, C, H, W)
        with self.lock:
            p = class_probabilities(self.model, self.run, x)[0]       # (classes,)
            winner = int(p.argmax())
            gradient = saliency(self.twin, self.run.prepare, x, winner)   # (C, H, W)
        top = top_classes(p, self.run.classes, self.top_k)
        return {"name": name, "predicted": top[0][0], "top": [list(pair) for pair in top],
                "seen": pictures.data_url(pictures.model_view(x[0], self.white)),
                "saliency": pictures.data_url(pictures.heat_map(gradient))}
