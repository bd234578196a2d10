"""The HTML run report: one self-contained page, every image embedded as a data: URI.

    html = render_report(content)      # content: a ReportContent (gathered by train.reporting)

Sections (each an element with this id): configuration, metrics, curves, confusion,
per-class, misclassified, weights. No scripts, no external files, no network.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scratchnn.viz.images import (
    data_uri,
    figure_png,
    plt,  # pyplot, with the Agg backend chosen
    png_bytes,
    png_size,
    sample_picture,
)
from scratchnn.viz.table import cell

SECTIONS = ("about", "configuration", "metrics", "curves", "confusion", "per-class",
            "misclassified", "weights")


@dataclass
class ReportContent:
    """Everything a report shows, already computed.

    probabilities: softmax of the model's scores on the test set, (N, C); y_true (N,);
    x_test: the raw test samples (N, ...) for the misclassified grid; curves: PNGs by title
    (the run's own plots; when empty, loss and accuracy are drawn from `epochs`).
    """

    title: str
    config: dict[str, object]
    model_text: str
    num_parameters: int
    epochs: list[dict[str, float]]
    test: dict[str, float]
    classes: Sequence[str]
    y_true: np.ndarray
    probabilities: np.ndarray
    x_test: np.ndarray
    weights: bytes | None              # PNG of the first layer's filters or templates
    weights_caption: str = ""
    curves: dict[str, bytes] = field(default_factory=dict)
    about: dict[str, str] = field(default_factory=dict)   # date, version, command, data, doctor
    learning_rate: tuple[list[float], list[float]] | None = None   # (epochs, lr) of the schedule
    max_misclassified: int = 48


def render_report(content: ReportContent) -> str:
    """The whole page as a string."""
    y_pred = content.probabilities.argmax(axis=1)
    confusion = confusion_matrix(content.y_true, y_pred, len(content.classes))
    body = [
        f"<h1>{escape(content.title)}</h1>",
        f"<p class='lead'>{_summary(content)}</p>",
        section("about", "This run", _about(content)),
        "<div class='columns'>",
        section("metrics", "Final metrics", _metrics(content)),
        section("configuration", "Configuration", _configuration(content)),
        "</div>",
        section("curves", "Loss, accuracy and learning rate", _curves(content)),
        section("confusion", "Confusion matrix (test set)",
                 image_tag(confusion_png(confusion, content.classes), "confusion matrix")
                 + "<p class='note'>Rows: true class; columns: predicted class. Colour: the "
                   "fraction of the row.</p>"),
        section("per-class", "Precision and recall per class (test set)",
                 _per_class(confusion, content.classes)),
        section("misclassified", "Misclassified test images",
                 _misclassified(content, y_pred)),
        section("weights", "First-layer weights", _weights(content)),
    ]
    return PAGE.format(title=escape(content.title), style=STYLE, body="\n".join(body))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[i, j] = test samples of true class i predicted as j. Shape (C, C), int64."""
    flat = np.asarray(y_true) * num_classes + np.asarray(y_pred)
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_png(counts: np.ndarray, classes: Sequence[str]) -> bytes:
    """The confusion matrix as a heat map, coloured by row fraction, counts written in."""
    c = len(classes)
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(2.5 + 0.45 * c, 14.0)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=100)
    ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(c), labels=classes, rotation=45, ha="right")
    ax.set_yticks(range(c), labels=classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("test set: count per (true, predicted) pair")
    if c <= 20:
        for i in range(c):
            for j in range(c):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if fractions[i, j] > 0.5 else "black")
    return figure_png(fig)


def epoch_curves(epochs: list[dict[str, float]]) -> dict[str, bytes]:
    """Loss and accuracy per epoch from metrics.csv rows (when the run has no plots/)."""
    pngs = {}
    x = [row["epoch"] for row in epochs]
    for title, keys in (("loss", ("train_loss", "val_loss")),
                        ("accuracy", ("train_acc", "val_acc"))):
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
        for key in keys:
            values = [row.get(key, math.nan) for row in epochs]
            if not all(math.isnan(v) for v in values):
                ax.plot(x, values, "o-", label=key.replace("_", " "))
        _epoch_axis(ax, max(x, default=1))
        ax.set_ylabel(title)
        ax.set_title(f"{title} per epoch (train: running mean over the epoch)")
        ax.grid(alpha=0.3)
        ax.legend()
        pngs[title] = figure_png(fig)
    return pngs


def learning_rate_png(epochs: Sequence[float], rates: Sequence[float]) -> bytes:
    """The schedule's learning rate against (fractional) epochs."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    ax.plot(epochs, rates, color="tab:green")
    _epoch_axis(ax, max(epochs, default=1), start=0)
    ax.set_ylabel("learning rate")
    ax.set_ylim(bottom=0)
    ax.set_title("learning rate during training (the schedule)")
    ax.grid(alpha=0.3)
    return figure_png(fig)


def _epoch_axis(ax, last: float, start: float = 0.5) -> None:
    """An epoch axis that reads well for 1 epoch as for 100: whole epochs, a margin."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.set_xlim(start, max(last, 1) + 0.5 if start else max(last, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# -- sections -----------------------------------------------------------------------------------

def _summary(content: ReportContent) -> str:
    parts = [f"{escape(str(content.config.get(k)))}" for k in ("dataset", "model")
             if k in content.config]
    accuracy = content.test.get("accuracy")
    if accuracy is not None:
        parts.append(f"test accuracy <b>{accuracy:.4f}</b>")
    return " &middot; ".join(parts)


def _about(content: ReportContent) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"
                   if k in ("command", "doctor")
                   else f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>"
                   for k, v in content.about.items())
    return f"<table class='kv'>{rows}</table>"


def _configuration(content: ReportContent) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(cell(v))}</td></tr>"
                   for k, v in content.config.items())
    return (f"<table class='kv'>{rows}</table>"
            f"<p>{content.num_parameters:,} parameters</p>"
            f"<pre>{escape(content.model_text)}</pre>")


def _metrics(content: ReportContent) -> str:
    rows: list[tuple[str, object]] = []
    test = content.test
    for key in ("accuracy", "loss", "samples"):
        if key in test:
            rows.append((f"test {key}", test[key]))
    if content.epochs:
        last = content.epochs[-1]
        rows.append(("epochs", int(last.get("epoch", len(content.epochs)))))
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            if key in last:
                rows.append((f"final {key.replace('_', ' ')}", last[key]))
        with_val = [row for row in content.epochs if "val_acc" in row]
        if with_val:
            best = max(with_val, key=lambda row: row["val_acc"])
            rows.append(("best val acc", f"{best['val_acc']:.4f} (epoch {int(best['epoch'])})"))
        seconds = sum(row.get("seconds", 0.0) for row in content.epochs)
        rows.append(("training time (sum of the epochs)", f"{seconds:.1f} s"))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(cell(v))}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{body}</table>"


def _curves(content: ReportContent) -> str:
    curves = dict(content.curves or epoch_curves(content.epochs))
    if content.learning_rate is not None:
        curves["learning rate"] = learning_rate_png(*content.learning_rate)
    return "<div class='row'>" + "".join(image_tag(png, title) for title, png in curves.items()) \
        + "</div>"


def _per_class(confusion: np.ndarray, classes: Sequence[str]) -> str:
    """Per class: samples, precision (of the predictions of this class, the right ones),
    recall (of this class's samples, those found), and its most frequent confusion."""
    rows = []
    predicted = confusion.sum(axis=0)
    for i, name in enumerate(classes):
        total, right = int(confusion[i].sum()), int(confusion[i, i])
        recall = right / total if total else math.nan
        precision = right / int(predicted[i]) if predicted[i] else math.nan
        wrong = confusion[i].copy()
        wrong[i] = 0
        confused = (f"{escape(classes[int(wrong.argmax())])} ({int(wrong.max())})"
                    if wrong.max() > 0 else "-")
        width = 0 if math.isnan(recall) else round(100 * recall)
        rows.append(f"<tr><td>{escape(name)}</td><td class='n'>{total}</td><td class='n'>{right}"
                    f"</td><td class='n'>{cell(precision)}</td><td class='n'>{cell(recall)}"
                    f"</td><td><div class='bar' style='width:{width}%'></div></td>"
                    f"<td>{confused}</td></tr>")
    return ("<table><tr><th>class</th><th>samples</th><th>correct</th><th>precision</th>"
            "<th>recall</th><th class='barcol'></th><th>most often mistaken for</th></tr>"
            + "".join(rows) + "</table><p class='note'>Precision: of the test images predicted "
            "as the class, the fraction that are. Recall: of the class's test images, the "
            "fraction predicted as it (its accuracy).</p>")


def _misclassified(content: ReportContent, y_pred: np.ndarray) -> str:
    wrong = np.flatnonzero(y_pred != content.y_true)
    if len(wrong) == 0:
        return "<p>Every test image is classified correctly.</p>"
    if sample_picture(content.x_test[0]) is None:
        return f"<p>{len(wrong)} test samples are misclassified (the inputs are not images).</p>"
    confidence = content.probabilities[wrong, y_pred[wrong]]
    shown = wrong[np.argsort(-confidence, kind="stable")][:content.max_misclassified]
    low, high = float(content.x_test.min()), float(content.x_test.max())
    figures = []
    for i in shown:
        picture = sample_picture(content.x_test[i])
        png = png_bytes(picture, vmin=low, vmax=high)
        predicted, true = content.classes[y_pred[i]], content.classes[content.y_true[i]]
        p = content.probabilities[i, y_pred[i]]
        figures.append(f"<figure>{image_tag(png, f'test image {i}', scale_to=84)}<figcaption>"
                       f"predicted <b>{escape(predicted)}</b> {p:.0%}<br>true {escape(true)}"
                       f"</figcaption></figure>")
    return (f"<p>{len(wrong)} of {len(content.y_true)} test images are misclassified; the "
            f"{len(shown)} the model was most sure about:</p>"
            f"<div class='grid'>{''.join(figures)}</div>")


def _weights(content: ReportContent) -> str:
    if content.weights is None:
        return f"<p>{escape(content.weights_caption or 'No image-shaped first-layer weights.')}</p>"
    return (image_tag(content.weights, "first-layer weights", scale_to=720)
            + f"<p class='note'>{escape(content.weights_caption)}</p>")


# -- HTML helpers -------------------------------------------------------------------------------

def escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def section(anchor: str, title: str, inner: str) -> str:
    return f"<section id='{anchor}'><h2>{escape(title)}</h2>\n{inner}\n</section>"


def image_tag(png: bytes, alt: str, scale_to: int | None = None) -> str:
    """An <img> with the PNG inline; tiny pictures are enlarged (pixelated) to ~scale_to px."""
    width, height = png_size(png)
    if scale_to and width < scale_to:
        factor = max(1, scale_to // width)
        width, height = width * factor, height * factor
        return (f"<img class='px' alt='{escape(alt)}' width='{width}' height='{height}' "
                f"src='{data_uri(png)}'>")
    return f"<img alt='{escape(alt)}' width='{width}' height='{height}' src='{data_uri(png)}'>"


STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1120px; margin: 24px auto; padding: 0 20px; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.lead { color: #555; margin-top: 4px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 10px; text-align: left; }
table.kv th { background: #f6f6f6; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th.barcol { width: 160px; }
.bar { height: 12px; background: #4c78a8; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; }
img { max-width: 100%; height: auto; }
img.px { image-rendering: pixelated; }
.row { display: flex; flex-wrap: wrap; gap: 12px; }
.row img { max-width: calc(50% - 6px); }
.columns { display: flex; flex-wrap: wrap; gap: 0 40px; align-items: flex-start; }
.grid { display: flex; flex-wrap: wrap; gap: 6px; }
figure { margin: 0; width: 104px; text-align: center; font-size: 11px; }
figure img { border: 1px solid #ccc; }
.note { color: #666; font-size: 13px; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
</body>
</html>
"""
