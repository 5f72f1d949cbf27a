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
NB_JOBS     ?= 2
PENDING     ?=
PYTEST_ARGS ?=
# Notebooks replay the committed LLM cache: a missing call is an error, never a model load.
# LLM_CACHE=readwrite computes what is missing (needs `make llm`).
LLM_CACHE   ?= replay
# The default study runs the simulated world first, into runs/sim/ (or <OUT>/sim/).
WITH_SIM    ?= $(if $(filter cpu,$(PRESET)),yes)
SIM_OUT     ?= $(if $(filter runs/cpu,$(OUT)),runs/sim,$(OUT)/sim)

VENV := .venv
PY   := $(VENV)/bin/python
# Each part of the environment is reinstalled when its pins change (rgd_utils/install.py).
ENV_KEY        := $(shell sha256sum pyproject.toml | cut -c1-16)
LLM_KEY        := $(shell cat pyproject.toml rgd_utils/llm/packaged.py rgd_utils/embeddings/minilm.py 2>/dev/null | sha256sum | cut -c1-16)
STAMP          := $(VENV)/.rgd-env-$(ENV_KEY)
LAB_STAMP      := $(VENV)/.rgd-lab-$(ENV_KEY)
LLM_TEST_STAMP := $(VENV)/.rgd-llm-test-$(LLM_KEY)
LLM_STAMP      := $(VENV)/.rgd-llm-$(LLM_KEY)
SPEC_STAMP     := $(VENV)/.rgd-specialists-$(LLM_KEY)
VLLM_STAMP     := .venv-vllm/.rgd-vllm-$(ENV_KEY)

# The stage runner (rgd_utils/stages) runs the stale notebooks: those whose parameters, code,
# inputs or outputs differ from their stamp. GENERATORS unset: the preset's complete ones.
STAGES := $(shell ls notebooks 2>/dev/null | sed -n 's/^[0-9][0-9]_\(.*\)\.ipynb$$/\1/p')
RUNNER  = RGD_LLM_CACHE=$(LLM_CACHE) $(PY) -m rgd_utils.stages --preset $(PRESET) --out $(OUT) \
	--data-dir $(DATA_DIR) --figures-dir $(FIGURES_DIR) --results-dir $(RESULTS_DIR) \
	--nb-params '$(NB_PARAMS)' --pending '$(PENDING)' --jobs $(NB_JOBS) \
	$(if $(WITH_SIM),--with-sim $(SIM_OUT)) $(if $(filter undefined,$(origin GENERATORS)),,--generators '$(GENERATORS)')

.PHONY: help all stale smoke test test-all test-slow lab report clean distclean venv llm vllm specialists specialists-env $(STAGES)

help: ## this list
	@echo "rgd: Routing with Generated Data, a reproducible study"
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)/\1\t\2/p' $(MAKEFILE_LIST) | awk -F'\t' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo "  one target per notebook, run with what it waits for when stale:" $(patsubst %,"make %;",$(STAGES))
	@$(if $(strip $(PENDING)),echo "  left out until their LLM data are complete (run them with PENDING=): $(notdir $(PENDING))")
	@echo "  variables: PRESET=cpu|cpu-specialists|paper|sim  LLM_CACHE=replay|readwrite  OUT=$(OUT)"
	@echo "    GENERATORS: unset the complete ones, none the real train data only, empty all, or names"
	@echo "    NB_PARAMS='-p seed 1' (papermill options)  NB_JOBS=$(NB_JOBS)  WITH_SIM= (no simulated world)"
	@echo "    DATA_DIR=$(DATA_DIR)  FIGURES_DIR=$(FIGURES_DIR)  RESULTS_DIR=$(RESULTS_DIR)  PYTHON=$(PYTHON)"

all: $(STAMP) ## run the stale notebooks in order (cpu: the simulated world first), then the README's numbers
	@$(RUNNER) run
	@$(if $(filter results,$(RESULTS_DIR)),$(PY) -m rgd_utils.readme_numbers)

stale: $(STAMP) ## name the notebooks that make all would rerun, and why
	@$(RUNNER) stale

$(STAGES): $(STAMP)
	@$(RUNNER) run $@

smoke: $(STAMP) ## every notebook with small parameters, into runs/smoke/
	@rm -rf runs/smoke
	$(MAKE) --no-print-directory all OUT=runs/smoke DATA_DIR=runs/smoke/data FIGURES_DIR=runs/smoke/figures \
		RESULTS_DIR=runs/smoke/results NB_PARAMS="-f notebooks/smoke.yaml" PENDING= GENERATORS=

test: $(STAMP) $(LLM_TEST_STAMP) ## the fast tests
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP) $(LLM_TEST_STAMP) ## every test, the slow ones too
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP) $(LLM_TEST_STAMP) ## the tests marked slow (CI runs them after make test)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

lab: $(LAB_STAMP) ## open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

report: $(STAMP) ## HTML report of what ran (does not run it), into runs/report/
	$(PY) -m rgd_utils.report --executed $(sort $(wildcard $(OUT) $(SIM_OUT) runs/cpu-specialists)) --figures $(FIGURES_DIR) \
		--tables $(RESULTS_DIR)/tables --out runs/report

clean: ## remove executed notebooks and test caches (keeps .venv/ and data/)
	rm -rf runs .pytest_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv/ too
	rm -rf $(VENV)

venv: $(STAMP) ## create or update .venv/ only
llm: $(LLM_STAMP) ## install what computing new LLM calls needs (llama.cpp, weights)
vllm: $(VLLM_STAMP) ## install the vLLM engine (CPU build) in .venv-vllm/
specialists-env: $(SPEC_STAMP) ## install the specialists extra only (torch CPU, peft)
specialists: $(SPEC_STAMP) ## train the specialists' LoRA adapters not committed yet
	$(PY) -m rgd_utils.specialists.build $(SPECIALISTS_ARGS)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rgd needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m rgd_utils.install base
	@rm -f $(VENV)/.rgd-env-* && touch $@

$(LAB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,lab]"
	@rm -f $(VENV)/.rgd-lab-* && touch $@

$(LLM_TEST_STAMP): $(STAMP)
	$(PY) -m rgd_utils.install llm-test
	@rm -f $(VENV)/.rgd-llm-test-* && touch $@

$(LLM_STAMP): $(LLM_TEST_STAMP)
	$(PY) -m rgd_utils.install llm
	@rm -f $(VENV)/.rgd-llm-[0-9a-f]* && touch $@

$(SPEC_STAMP): $(LLM_STAMP)
	$(PY) -m rgd_utils.install specialists
	@rm -f $(VENV)/.rgd-specialists-* && touch $@

$(VLLM_STAMP): $(LLM_STAMP)
	$(PY) -m rgd_utils.install vllm
	@rm -f .venv-vllm/.rgd-vllm-* && touch $@
