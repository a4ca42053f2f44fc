# Two commands set everything up on a fresh machine:
#   make demo   venv, install, build the bundled corpus, print what the graph answers
#   make test   venv, install with test extras, run the whole test suite
#   make bench  time every named query on the Oxigraph and rdflib memory stores
#   make bench-build  time the build against corpus size (SIZES="1000 10000")
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out
GRAPH  := $(OUT)/cartkg.ttl
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cartkg build extract/corpus -o $(GRAPH)
	$(BIN)/cartkg build extract/corpus -o $(OUT)/cartkg.nq --format nq
	$(BIN)/cartkg stats --graph $(GRAPH)
	@$(BIN)/python -c "from cartkg.queries.library import list_queries; \
	  [print(q.name, *(f'--param={k}={v}' for k, v in q.example_parameters.items())) for q in list_queries()]" | \
	while read -r q params; do \
	  case $$q in \
	    documents-mentioning) $(BIN)/cartkg query $$q --graph $(GRAPH) --param label=ICANS ;; \
	    co-mentions) $(BIN)/cartkg query $$q --graph $(GRAPH) --format csv | head -n 11 ;; \
	    *) $(BIN)/cartkg query $$q --graph $(GRAPH) $$params ;; \
	  esac || exit 1; \
	done
	$(BIN)/cartkg analyze --graph $(GRAPH) --entity "obecabtagene autoleucel"
	$(BIN)/cartkg plot --graph $(GRAPH) -o $(OUT)/figures
	$(BIN)/cartkg report --graph $(GRAPH) -o $(OUT)/report.html
	$(BIN)/cartkg export --graph $(OUT)/cartkg.nq --format all -o $(OUT)/export
	$(BIN)/cartkg validate --graph $(GRAPH)
	$(BIN)/cartkg mappings -o $(OUT)/cartkg.sssom.tsv

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/queries.py

SIZES ?= 1000 10000
.PHONY: bench-build
bench-build: $(STAMP)
	$(BIN)/python bench/build.py --sizes $(SIZES)

clean:
	rm -rf $(VENV) $(OUT) *.egg-info
