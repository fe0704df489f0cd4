# tocsin — see README.md. Every target works on a fresh machine with Go.
GO       ?= go
BIN      := bin/tocsin
SHARED   ?= ../shared/data
SAMPLES  := $(SHARED)/feeds/intelmq/parsers@d624988/shadowserver/testdata
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build demo test test-short lint bench fuzz clean services

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/tocsin

# The main job on the embedded default (SQLite in ./tocsin-data, no server):
# ingest the real threat-data samples, then show what was stored.
demo: build
	./scripts/demo.sh $(BIN) $(SHARED)

# Starts what the tests need (PostgreSQL), then runs every test with the race
# detector. CI runs exactly this.
test: services
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -count=1 -short ./...

services:
	./scripts/services.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@test -x "$(STATICCHECK)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

# Figures from real data; BENCHMARKS.md keeps the latest. Needs ../shared/data.
bench: build services
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/parse/... ./internal/event/... ./internal/ingest/... ./internal/enrich/... ./internal/constituency/... ./internal/notify/... ./internal/mail/...
	./$(BIN) bench ingest --rows 1000000 --shared $(SHARED)
	./$(BIN) bench notify --events 1000000 --orgs 10000 --shared $(SHARED)

# A minute of fuzzing for every Fuzz test.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 60s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin tocsin-data
