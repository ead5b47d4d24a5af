# Quick start: `make demo` (the main job) and `make test`. Both work on a fresh
# Debian machine: they create .venv, install sepgen editable with its
# dependencies and, when run as root, the system packages (Mesa EGL and Vulkan,
# glslang, spirv-cross, spirv-tools, Chromium for WebGL2 and the demo's page
# screenshot, npm for the three.js example's test) that GPU verification and
# shader validation need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri glslang-tools spirv-cross spirv-tools \
	mesa-vulkan-drivers libvulkan1 vulkan-validationlayers chromium
STAMP := $(VENV)/.installed

.PHONY: all demo test lint system venv golden bench clean

all: test

# uv installs the wheels in parallel: about 15 s against pip's 30 s on the 2-core CI machine
# (docs/development.md). pip does it where uv cannot be installed or cannot reach the index
# (uv reads UV_INDEX_URL, not pip's configuration).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	if $(BIN)/pip install -q uv && VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install -q --compile-bytecode -e '.[test]'; \
	then :; else \
	  echo "uv failed: installing with pip"; \
	  $(BIN)/python -c 'import pip, sys; sys.exit(int(pip.__version__.split(".")[0]) < 22)' || $(BIN)/pip install -q --upgrade pip; \
	  $(BIN)/pip install -q -e '.[test]'; \
	fi
	touch $(STAMP)

venv: system $(STAMP)

# Installs missing Debian packages when root; otherwise says what is missing.
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing system packages:$$missing (GPU tests will fail or skip)"; fi; \
	fi

demo: venv
	$(BIN)/sepgen demo -o demo-out

# ruff (lint, import order) and mypy, configured in pyproject.toml; `make test` runs both too.
lint: venv
	$(BIN)/ruff check sepgen tests benchmarks examples
	$(BIN)/mypy

# Test processes: one per core (at most 4; each opens its own GL context, Vulkan device and browser).
# compileall first: with PYTHONDONTWRITEBYTECODE set (as on CI) every test process and every sepgen
# subprocess would otherwise compile sepgen's sources again (~65 ms a process).
# mypy (~12 s of one core, which would leave the other idle) runs beside the tests: 4 s less in
# all, measured twice back to back from a clean clone (docs/development.md). Its output comes
# after the tests'; either failing fails.
test: venv
	$(BIN)/ruff check sepgen tests benchmarks examples
	$(BIN)/python -m compileall -q sepgen tests/support >/dev/null
	@log=$$(mktemp); $(BIN)/mypy >$$log 2>&1 & typed=$$!; \
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4; tests=$$?; \
	wait $$typed; typing=$$?; echo "mypy:"; cat $$log; rm -f $$log; \
	exit $$(( tests || typing ))

# Regenerate the golden shader snapshots under tests/golden (review the diff!).
golden: venv
	$(BIN)/python -m tests.regen_golden

bench: venv
	$(BIN)/python benchmarks/bench_fit.py
	$(BIN)/python benchmarks/bench_process.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_gpu.py
	$(BIN)/python benchmarks/bench_verify.py

clean:
	rm -rf $(VENV) demo-out build dist *.egg-info .mypy_cache .ruff_cache
