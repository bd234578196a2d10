"""The "try it" page: `scratchnn serve RUN` starts a local web page where a user uploads an image
or draws one and sees the model's top classes, the image as the model sees it and a saliency map.

    from scratchnn.serve import Predictor, serve
    Predictor("runs/mlp-20250101-120000").answer(open("shoe.png", "rb").read(), "shoe.png")
    serve("runs/mlp-20250101-120000", port=0)         # until Ctrl-C

See docs/serve.md.
"""

from scratchnn.serve.predictor import Predictor
from scratchnn.serve.saliency import eval_twin, saliency
from scratchnn.serve.server import PageServer, serve
from scratchnn.serve.upload import UploadError

__all__ = ["PageServer", "Predictor", "UploadError", "eval_twin", "saliency", "serve"]
