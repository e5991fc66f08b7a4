# One command to run the product locally, one to test it; each builds the venv it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STAGE  ?= prod

.PHONY: run reset test lint unit integration e2e clients mutate package reproducible lock deploy bench screenshot clean

## The venv holds the dev tools at the versions and hashes requirements-dev.txt pins (make lock).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check 'pip<26.3'
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	# the command line, `packer-registry` in .venv/bin (editable: it runs cli/ as it is)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## Run the whole product on loopback: moto server, HTTP API, S3 events, schedule. Its state
## (and admin token) is kept in REGISTRY_DATA_DIR (default .registry-data/) across restarts.
run: $(STAMP)
	$(BIN)/python -m local

## Delete what make run keeps (the registry's data and its admin token); refused while it runs.
reset:
	$(PYTHON) -m local.data reset

## Tests run on JOBS pytest-xdist workers (default: one per core; JOBS=0 runs them in this process).
## loadscope as tests/conftest.py defines it: an end-to-end module stays on one worker (its product
## starts once), every other test is scheduled on its own.
JOBS   ?= auto
XDIST  := -n $(JOBS) --dist loadscope

## Tests that a make target of their own runs (.ci/run calls it), outside make test's 10 minutes.
REPRODUCIBLE := tests/e2e/test_deploy.py::test_two_package_builds_are_byte_identical
OWN_TIER := $(REPRODUCIBLE)

## Run the whole test suite: the unit, integration and end-to-end tiers.
test: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST) $(addprefix --deselect ,$(OWN_TIER)) tests

## The integration tier: the app on moto through the Chalice test client, races on a moto server.
integration: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST) tests/integration

## The end-to-end tier: `make run` as a subprocess, the page in Chromium, fuzzing, packaging.
e2e: $(STAMP)
	$(BIN)/python -m pytest -q $(XDIST) tests/e2e

## Build the real HCP clients (packer 1.16.0 and 1.12.0, terraform-provider-hcp 0.111.0, OpenTofu 1.12.6 where no
## terraform is on PATH, hcp-sdk-go) from the versions pinned in tests/clients/, into ~/.cache/registry-clients/
## (or CLIENTS_CACHE); a pinned binary already there is kept. The e2e tier runs this too.
clients:
	bash tests/clients/build.sh

## Check the types of app.py, chalicelib/ and cli/ (mypy; settings in mypy.ini). .ci/run runs it too.
lint: $(STAMP)
	$(BIN)/mypy

## The unit tier alone, in seconds: pure rules and the parser, no AWS, no moto (fewer property examples).
unit: $(STAMP)
	PROPERTY_EXAMPLES=20 $(BIN)/python -m pytest -q --confcutdir=tests/unit tests/unit

## Mutation testing (mutmut, configured in setup.cfg) of the pure modules against the unit tier, one module
## at a time on one core; prints each module's score. Slow (tens of minutes); not run by `make test` or CI.
MUTATED := domain.manifest domain.platforms domain.plans services.serving domain.names domain.rules domain.retention domain.builds domain.selection domain.webhooks domain.addresses domain.runtask domain.ids domain.sweep_work domain.durations domain.duplicates
mutate: $(STAMP)
	for module in $(MUTATED); do \
	  REAL_MANIFESTS_DIR=$(abspath ../shared/testdata/real-manifests) PROPERTY_EXAMPLES=20 \
	    $(BIN)/mutmut run --max-children 1 "chalicelib.$$module.*" || exit 1; \
	done
	$(BIN)/python scripts/mutation_scores.py $(MUTATED)

## Write dist/: Chalice's Terraform package of the app beside the resources template.
package: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/package.sh $(STAGE)

## Build the Lambda package twice, as make package does, and fail unless both deployment.zip
## (and the Terraform beside it) are byte-identical; about 20 s. .ci/run runs it.
reproducible: $(STAMP)
	$(BIN)/python -m pytest -q -n 0 $(REPRODUCIBLE)

## Regenerate the locks from the ranges: requirements.in -> requirements.txt (what Lambda ships),
## requirements-dev.in -> requirements-dev.txt (the venv); exact versions with hashes (uv pip
## compile). Pins stay unless a range moved; UPGRADE=1 takes the newest each range allows.
lock:
	PYTHON=$(PYTHON) bash scripts/lock.sh $(if $(UPGRADE),--upgrade)

## Deploy to AWS with the caller's credentials: stateful stack, then chalice deploy. With
## DOMAIN_NAME=packer.example.com CERTIFICATE_ARN=arn:aws:acm:... the API is also served at that
## domain's root (API Gateway custom domain), as the HCP Packer clients need.
deploy: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" DOMAIN_NAME="$(DOMAIN_NAME)" CERTIFICATE_ARN="$(CERTIFICATE_ARN)" \
	  bash scripts/deploy.sh $(STAGE)

## Measure DynamoDB calls per operation, cold start, package size; writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python bench/run.py

## Regenerate docs/screenshot.png from the page as it is: the product with examples/ loaded, in
## headless Chromium (scripts/install-browser.sh installs it).
screenshot: $(STAMP)
	$(BIN)/python scripts/screenshot.py docs/screenshot.png

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache
