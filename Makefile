# make demo: set up, get Fashion-MNIST, train the default model.  make test: set up (with Chromium
# for the report's browser test), run every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   := /usr/share/datasets/fashion-mnist

.PHONY: demo test data browser bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp files re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[digits]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

# Fashion-MNIST: the Debian package when we are root with apt, else a checked download to the cache.
data: $(VENV)/.installed
	@if [ -f $(DATA)/train-images-idx3-ubyte.gz ]; then \
	    echo "Fashion-MNIST: $(DATA)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q dataset-fashion-mnist || \
	     (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)); \
	else \
	    $(BIN)/python -c "import scratchnn.data as d; print('Fashion-MNIST:', d.download('fashion-mnist'))"; \
	fi

# Headless Chromium for the report's browser test (tests/runs/test_report_browser.py): the Debian
# package when we are root with apt; elsewhere that test is skipped, and this says why.
browser:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) \
	    || echo "chromium could not be installed: the report's browser test will be skipped"; \
	else \
	    echo "no chromium (and not root with apt): the report's browser test will be skipped"; \
	fi

demo: $(VENV)/.installed data
	@if [ -f runs/demo/model.npz ]; then echo "runs/demo is trained already (delete it, or" \
	    "scratchnn train --out runs/demo --overwrite, to train again)"; \
	else $(BIN)/scratchnn train --out runs/demo; fi
	@echo
	@echo "scratchnn is installed in $(VENV): run it as $(BIN)/scratchnn, or run"
	@echo "'source $(BIN)/activate' once in your shell and then plain scratchnn. Next, try:"
	@echo "  $(BIN)/scratchnn evaluate runs/demo                   # test accuracy again"
	@echo "  $(BIN)/scratchnn predict runs/demo my-photo.png --invert   # your own image"
	@echo "  $(BIN)/scratchnn doctor runs/demo                     # is it learning well?"
	@echo "  $(BIN)/scratchnn train --dataset digits --epochs 5 --out runs/digits   # seconds"
	@echo "  $(BIN)/scratchnn --help                               # every command"
	@echo "and open runs/demo/report.html in a browser."

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-dev data
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/accuracy.py

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check src tests benchmarks scripts

clean:
	rm -rf $(VENV) .pytest_cache
