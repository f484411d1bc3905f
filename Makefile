# Two commands get a newcomer from clone to results:  make reproduce   and   make test
PYTHON ?= python3
VENV ?= .venv
PROFILE ?= cpu
DATA ?= auto
PY := $(VENV)/bin/python
# nbval executes every notebook at profile "smoke" (conftest.py sets COLORKIT_PROFILE): the stored outputs are a cpu
# run's, so only the cells tagged nbval-check-output (the same at every profile and on any data) are compared.
PYTEST_ARGS ?= -q --nbval-lax --nbval-current-env --nbval-cell-timeout=600

.PHONY: setup reproduce test test-fast lab clean pretrained reference effects gpu-check

$(VENV)/.installed: pyproject.toml
	@echo "==> creating $(VENV) and installing colorkit with its pinned dependencies (torch is large: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar off -e ".[dev]"
	@touch $@

setup: $(VENV)/.installed  ## create the virtual environment (once)

reproduce: setup  ## run every notebook headlessly at PROFILE (smoke | cpu | full), figures to figures/, print the table
	$(PY) -m colorkit run --profile $(PROFILE) --data $(DATA)

test: setup  ## the whole test suite: unit tests, then every notebook under nbval
	$(PY) -m pytest tests notebooks $(PYTEST_ARGS)

test-fast: setup  ## the unit tests without the slow ones (tests/conftest.py SLOW) and without the notebooks
	$(PY) -m pytest tests -q -m "not slow"

# The shipped weights (colorkit/weights/): judge first, since the colorizers' cards are judged by it. Each step
# resumes from runs/pretrained/ when run again. DATA: CIFAR-10 (folder or .tar.gz); `auto` finds or downloads it.
pretrained: setup  ## retrain the pretrained models shipped in colorkit/weights (about 1 hour on 2 CPU cores)
	$(PY) -m colorkit.pretrained_train judge --data $(DATA)
	$(PY) -m colorkit.pretrained_train classifier --data $(DATA)
	$(PY) -m colorkit.pretrained_train regressor --data $(DATA)
	$(PY) -m colorkit.pretrained_train hints --data $(DATA)

# The reference models of the effects table (issue 17), then the shipped colorizers judged again by the new judges.
# Judges first: every colorizer's card is judged by both. Resumes from runs/pretrained/ when run again.
REFERENCES := chroma_judge classifier_unbalanced regressor_l1 mlp gan transfer vehicles_own vehicles_general
reference: setup  ## train the reference models of the effects table (several hours on 2 CPU cores)
	for name in $(REFERENCES); do $(PY) -m colorkit.pretrained_train $$name --data $(DATA) || exit 1; done
	for name in judge classifier regressor hints; do $(PY) -m colorkit.pretrained_train $$name --recard --data $(DATA) || exit 1; done

effects: setup  ## the effects table: each seed's claim on the reference models, 10,000 test images
	$(PY) -m colorkit effects --data $(DATA) --out runs/effects

# On a lent GPU (one command, <= 8 minutes on an H200): GPU benchmarks + the pretrained recipes, all under runs/gpu-check/.
gpu-check:
	$(PY) benchmarks/gpu_check.py --data $(DATA) --out runs/gpu-check

lab: setup  ## open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf runs .cache
