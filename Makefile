# Two commands do everything: `make run` opens the app, `make test` runs the whole suite.
# Both create .venv when missing and (re)install the project when its files change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $(STAMP)

# On Linux, first check the X libraries Qt's window needs: one apt-get line instead of an abort
run: $(STAMP)
	@if [ "$$(uname -s)" = Linux ]; then $(BIN)/python -m app.xlibs; fi
	$(BIN)/learnscope

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_vs_bare.py

clean:
	rm -rf $(VENV) build *.egg-info
