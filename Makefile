# Two commands do all the set-up:  make lab  (open the lessons)  and  make test  (run every test).
# Both create .venv with the CPU build of torch. GPU users pick their own build, e.g.
#   make lab TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.seqlab-installed

.PHONY: lab test setup compare exercises book clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(TORCH) -e ".[lab,test]"
	touch $(STAMP)

setup: $(STAMP)

# JupyterLab refuses to run as root (as in many containers) unless told to
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

# two workers: most of the suite waits on kernels, browsers and sandboxes, and a 2-core machine has room
JOBS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --nbval --nbval-cell-timeout=600 --nbval-sanitize-with tests/nbval_sanitize.cfg tests notebooks solutions $(PYTEST_ARGS)

compare: $(STAMP)
	$(BIN)/python -m seqlab compare $(ARGS)

exercises: $(STAMP)
	$(BIN)/python -m seqlab exercises build

# the course site (lessons, exercises, instructor pages) from the committed outputs, run nothing
book: $(STAMP)
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs _build/html
	@echo "site written to _build/html/index.html"

clean:
	rm -rf $(VENV) .pytest_cache _build
