# The two commands of the contract:
#   make run   fresh machine -> API on http://$(HOST):$(PORT), embedded storage
#   make test  fresh machine -> the whole suite
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8889
DATA_DIR ?= ./data
CONFIG ?=
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# Without CONFIG, make run needs no config file: noauth, embedded storage
# under DATA_DIR. With CONFIG, the file rules, except for the variables
# given on make's command line.
ifeq ($(CONFIG),)
RUN_ENV := OS_DEFAULT__AUTH_STRATEGY=noauth OS_DEFAULT__STATE_PATH=$(DATA_DIR) \
	OS_API__HOST=$(HOST) OS_API__PORT=$(PORT)
RUN_ARGS :=
else
RUN_ENV := $(if $(filter command line,$(origin HOST)),OS_API__HOST=$(HOST)) \
	$(if $(filter command line,$(origin PORT)),OS_API__PORT=$(PORT)) \
	$(if $(filter command line,$(origin DATA_DIR)),OS_DEFAULT__STATE_PATH=$(DATA_DIR))
RUN_ARGS := --config-file $(CONFIG)
endif

.PHONY: install system-packages run test unit functional docs samples bench clean

# Debian packages whose servers the tests start themselves (on free
# 127.0.0.1 ports, with throwaway directories). Installed with apt-get,
# as root, only when missing.
SYSTEM_PACKAGES := influxdb prometheus

install: $(INSTALLED)

system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -e '.[test,doc,lint]'
	touch $@

run: $(INSTALLED)
	$(RUN_ENV) $(BIN)/ratekeeper-dbsync $(RUN_ARGS) upgrade
	exec env $(RUN_ENV) $(BIN)/ratekeeper-api $(RUN_ARGS)

test: $(INSTALLED) system-packages
	$(BIN)/pytest -q tests

docs: $(INSTALLED)
	$(BIN)/sphinx-build -W -b html doc/api-ref/source doc/api-ref/build/html

samples: $(INSTALLED)
	$(BIN)/oslo-config-generator --namespace ratekeeper --output-file etc/ratekeeper.conf.sample
	$(BIN)/oslopolicy-sample-generator --namespace ratekeeper --output-file etc/policy.yaml.sample

clean:
	rm -rf $(VENV) doc/api-ref/build
