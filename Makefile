# Two commands for everything: `make demo` (the main job, no download) and `make test` (all tests).
# Both create or reuse the virtual environment in .venv and install the project into it.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Real data for tests and notebooks: $MUSICSTYLE_DATA if set, else ../shared/data when it exists.
MUSICSTYLE_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export MUSICSTYLE_DATA

.PHONY: demo test lab bench course clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The main job, offline: the bundled Maple Leaf Rag given classical and jazz dynamics by the shipped
# velocity models (MIDI, WAV, heat map each), beside the original's heat maps and audio; the judge's verdicts
# before and after each transfer are printed.
demo: $(STAMP)
	$(VENV)/bin/musicstyle explore -o out
	$(VENV)/bin/musicstyle transfer --to classical -o out/maple_leaf_rag_to_classical.mid --wav out/maple_leaf_rag_to_classical.wav --plot out/maple_leaf_rag_to_classical.png --judge
	$(VENV)/bin/musicstyle transfer --to jazz -o out/maple_leaf_rag_to_jazz.mid --wav out/maple_leaf_rag_to_jazz.wav --plot out/maple_leaf_rag_to_jazz.png --judge

test: $(STAMP)
	MUSICSTYLE_QUICK=1 $(PY) -m pytest -n 2 --dist loadfile tests notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900 -q

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/00_index.ipynb

bench: $(STAMP)
	$(VENV)/bin/musicstyle bench preprocess --json
	$(VENV)/bin/musicstyle bench velocity --json
	$(VENV)/bin/musicstyle bench generate --json
	$(VENV)/bin/musicstyle bench tokens --json

# The whole course in full mode, one kernel at a time (a benchmark, tens of minutes on a CPU): the last
# line is JSON with each notebook's seconds and peak kernel memory. STORE=1 keeps the outputs.
course: $(STAMP)
	$(PY) tools/run_course.py $(if $(STORE),--store,)

clean:
	rm -rf out $(VENV)
