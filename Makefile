# Two commands set everything up on a fresh machine:
#   make demo   venv, install, build the bundled corpus, print what the graph answers
#   make test   venv, install with test extras, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out
GRAPH  := $(OUT)/cartkg.ttl
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean

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
	@for q in $$($(BIN)/python -c "from cartkg.queries.library import query_names; print(' '.join(query_names()))"); do \
	  case $$q in \
	    documents-mentioning) $(BIN)/cartkg query $$q --graph $(GRAPH) --param label=ICANS ;; \
	    co-mentions) $(BIN)/cartkg query $$q --graph $(GRAPH) --format csv | head -n 11 ;; \
	    *) $(BIN)/cartkg query $$q --graph $(GRAPH) ;; \
	  esac || exit 1; \
	done
	$(BIN)/cartkg analyze --graph $(GRAPH) --entity "obecabtagene autoleucel"
	$(BIN)/cartkg validate --graph $(GRAPH)
	$(BIN)/cartkg mappings -o $(OUT)/cartkg.sssom.tsv

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(OUT) *.egg-info
