# radospy developer entry points. Every target creates .venv if it is missing.
# The distribution's Python 3.11 first where there is one: Debian builds it with PGO and
# LTO and links libpython statically. Here an interpreter built from source without them
# (pyenv's, first on PATH) made every daemon and client ~25 % slower per op: radospy's
# 4 KiB reads 5664 IOPS on it, 7758 on Debian's, Ceph 7279 and 5244 in the same runs
# (bench/rados.py). Any other python3.11 (or python3) otherwise.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) $(shell command -v python3.11 || command -v python3))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test soak bench lint clean bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Where PYTHONDONTWRITEBYTECODE is set, every radospy process (each daemon, and each of
# the hundreds of CLI runs the tests make) compiled the package as it started: 0.30 s
# of CPU for `radospy ceph health`, 0.12 s with the bytecode written once here
# (compileall skips what is current; a source edited later is compiled in memory).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q radospy

up: bytecode
	$(BIN)/radospy up

lint: $(STAMP)
	$(BIN)/ruff check .

# Two workers, each taking whole files (module-scoped clusters start once per file).
test: bytecode
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadfile -m "not soak" tests

soak: bytecode
	$(BIN)/pytest -m soak tests

bench: bytecode
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
