# meshpivot developer tasks. Needs only python3 (with venv and pip), node and npm.
#   make demo    fit the sample chair (GLB and OBJ) into out/
#   make test    lint, then the whole test suite (installs the Khronos validator)
#   make lint    ruff check + mypy (strict)
#   make bench   time the core fit, then meshpivot against trimesh, glTF-Transform and cp
#   make fuzz    a long fuzzing campaign with fresh random cases (FUZZ_EXAMPLES per test)
#   make clean   remove outputs and caches; make distclean also .venv and node_modules

PYTHON ?= python3
NPM ?= npm
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MESHPIVOT := $(BIN)/meshpivot
# Stamps make repeat runs quick; they are redone when their inputs change.
VENV_STAMP := $(VENV)/.meshpivot-installed
NODE_STAMP := node_modules/.meshpivot-installed
PYTEST_ARGS ?=
# Byte-compile the package as a wheel install would: an editable install never does, and
# with PYTHONDONTWRITEBYTECODE set every command would compile it again (~40 ms at start-up).
# Forced (-f): compileall keeps a .pyc whose source changed within the same second (it
# compares whole seconds, the import system also the size), and each import would then
# compile that module again.
COMPILE = $(PY) -m compileall -q -f meshpivot

SAMPLES := samples/chair.glb samples/chair.obj samples/chair.mtl

.PHONY: all venv install node_modules demo test lint bench fuzz clean distclean

all: test

venv install: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(COMPILE)
	touch $@

node_modules: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	touch $@

$(SAMPLES): | $(VENV_STAMP)
	$(PY) samples/make_samples.py

demo: $(VENV_STAMP) $(SAMPLES)
	mkdir -p out
	rm -f out/chair_fitted.*
	$(MESHPIVOT) inspect samples/chair.glb
	$(MESHPIVOT) apply samples/chair.glb out/chair_fitted.glb --settings samples/settings.json --preview out/chair_fitted.png
	$(MESHPIVOT) verify out/chair_fitted.glb --settings samples/settings.json
	$(MESHPIVOT) apply samples/chair.obj out/chair_fitted.obj --settings samples/settings.json
	$(MESHPIVOT) verify out/chair_fitted.obj --settings samples/settings.json

lint: $(VENV_STAMP)
	$(BIN)/ruff check meshpivot tests samples benchmarks
	$(BIN)/mypy

test: lint $(NODE_STAMP)
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: $(VENV_STAMP)
	$(PY) benchmarks/bench_core.py
	$(MAKE) --no-print-directory bench-peers

# meshpivot against trimesh, glTF-Transform and cp (benchmarks/README.md); e.g.
# make bench-peers BENCH_ARGS='--quick --runs 1'. Without node/npm glTF-Transform is skipped.
.PHONY: bench-peers
bench-peers: $(VENV_STAMP)
	-@$(MAKE) --no-print-directory $(NODE_STAMP) || echo "bench: npm packages not installed; glTF-Transform will be skipped"
	$(COMPILE)
	$(PY) benchmarks/bench_peers.py $(BENCH_ARGS)

FUZZ_EXAMPLES ?= 50000

fuzz: $(VENV_STAMP)
	MESHPIVOT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MESHPIVOT_FUZZ_RANDOM=1 \
		$(PY) -m pytest -p no:cacheprovider -q tests/test_fuzz.py $(PYTEST_ARGS)

clean:
	rm -rf out build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules
