# The commands a new user types. `make run` and `make test` set up everything they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTDB := .build/hpsearch-testdb
DBDIR  := .hpsearch-db
DBPORT ?= 27017

.PHONY: install run test test-fast testdb testdb-postgresql db db-stop clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo \
	"hpsearch needs Python 3.11 or newer, and $(PYTHON) is $$($(PYTHON) --version 2>/dev/null \
	|| echo not found): name one, as in make $(or $(MAKECMDGOALS),install) PYTHON=python3.11" \
	>&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# PYTHONWARNINGS quiets setuptools' notice about editable installs of top-level folders.
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# An embedded search: the digits objective, the default space, about 10 s once installed.
run: $(STAMP)
	$(BIN)/hpsearch search --store ./hpsearch-runs --exp-key demo --max-evals 30 --epochs 20

# Lint and types first (seconds), then the suite against a real MongoDB-protocol server, in
# two processes: most tests wait on worker processes and the database, so two overlap well
# even on two cores (each has its own database server).
test: $(STAMP) $(TESTDB)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2

# The in-process tier, under a minute on 2 cores: no database, no hpsearch processes, no
# browser, no network trained (tests/conftest.py marks the rest `slow`). CI runs `make test`.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

# FerretDB v1 (SQLite) embedded in a small Go program: a real MongoDB-protocol server.
testdb: $(TESTDB)

$(TESTDB): testdb/main.go testdb/go.mod testdb/go.sum
	cd testdb && CGO_ENABLED=0 go build -trimpath -buildvcs=false -tags ferretdb_no_postgresql -o ../$(TESTDB) .

# The same server with FerretDB's PostgreSQL handler too (-postgresql-url URL), for the farm
# benchmarks: PostgreSQL runs simple filters, where SQLite decodes every document.
testdb-postgresql: testdb/main.go testdb/go.mod testdb/go.sum
	cd testdb && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o ../.build/hpsearch-testdb-postgresql .

# The same database in the background on 127.0.0.1:$(DBPORT), data under ./$(DBDIR)/.
# Ours only while the recorded pid runs the test database: after a reboot the pid may be
# another program's, which neither counts as running nor is killed by db-stop.
DB_RUNNING = [ -f $(DBDIR)/pid ] && ps -p "$$(cat $(DBDIR)/pid)" -o args= 2>/dev/null | grep -q hpsearch-testdb

db: $(TESTDB)
	@mkdir -p $(DBDIR)
	@if $(DB_RUNNING); then \
		echo "database already running on mongodb://127.0.0.1:$$(cat $(DBDIR)/port 2>/dev/null) (pid $$(cat $(DBDIR)/pid)); make db-stop first to start it on another port"; \
	else \
		nohup $(TESTDB) -listen-addr 127.0.0.1:$(DBPORT) -state-dir $(DBDIR)/data \
			> $(DBDIR)/server.log 2>&1 & echo $$! > $(DBDIR)/pid; echo $(DBPORT) > $(DBDIR)/port; \
		sleep 1; kill -0 $$(cat $(DBDIR)/pid) 2>/dev/null \
			|| { echo "database failed to start; see $(DBDIR)/server.log"; exit 1; }; \
		echo "database running on mongodb://127.0.0.1:$(DBPORT) (pid $$(cat $(DBDIR)/pid)); stop it with make db-stop"; \
	fi

db-stop:
	@if $(DB_RUNNING); then kill $$(cat $(DBDIR)/pid); echo "database stopped"; \
		else echo "no database running"; fi; rm -f $(DBDIR)/pid $(DBDIR)/port

clean:
	rm -rf $(VENV) .build hpsearch-runs
