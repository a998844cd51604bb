# routevm top-level build.  Targets:
#   all      routec, routevm and the mock provider mockprov (build/)
#   demo     the product's main job on examples/support.route
#   check    every test, under ASan/UBSan (and the threads test under TSan);
#            ends with "N passed, N failed"
#   bench    benchmarks side by side with the anchors (bench/RESULTS.md)
#   fuzz     each libFuzzer harness for FUZZ_SECONDS (clang)
#   install  into $(DESTDIR)$(PREFIX): the binaries of $(BUILD), the stdlib,
#            the docs and the manual pages; uninstall removes exactly those
#   deps     install missing Debian packages (as root) or print the command
# Variables: BUILD (output dir), SAN=1 (ASan, UBSan) or SAN=thread (TSan),
# CC, CFLAGS, PREFIX, DESTDIR (a staging directory install writes under).

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
SAN     ?=
FUZZ_SECONDS ?= 60

# The stdlib path compiled into the binaries is only a fallback: routec
# looks next to its own executable first (<bindir>/../share/routevm/stdlib;
# only $ROUTEC_STDLIB comes before it, compiler/compiler.c), so an
# installed tree works wherever it is put.
STDLIB_INSTALL := $(PREFIX)/share/routevm/stdlib
BINDIR  := $(PREFIX)/bin
DOCDIR  := $(PREFIX)/share/doc/routevm
MANDIR  := $(PREFIX)/share/man
DOC_FILES := $(filter-out docs/STATUS.md,$(wildcard docs/*.md)) $(wildcard docs/*.svg)
MAN1_FILES := $(wildcard docs/man/*.1)
MAN5_FILES := $(wildcard docs/man/*.5)
ALL_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter $(CFLAGS) \
              -Ivm -Ivm/providers -Ivm/serve -Icompiler -I$(BUILD)/gen \
              -DRV_STDLIB_SRC='"$(CURDIR)/stdlib"' -DRV_STDLIB_INSTALL='"$(STDLIB_INSTALL)"'
LDLIBS  := -lpcre2-8 -lcurl -lhttp_parser -lssl -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lz -lm
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# SAN=thread: ThreadSanitizer, for the threads test (make check builds
# build/tsan/tests/threads_test with it; tests/suites/tsan.sh runs it)
ifeq ($(SAN),thread)
ALL_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

VM_SRC   := $(filter-out vm/routevm.c vm/cli_%.c,$(wildcard vm/*.c))
# routevm's commands that load policies through the compiler (vm/cli.h)
CLI_SRC  := $(wildcard vm/cli_*.c)
PROV_SRC := $(wildcard vm/providers/*.c)
SERVE_SRC := $(wildcard vm/serve/*.c)
COMP_SRC := $(filter-out compiler/routec.c,$(wildcard compiler/*.c))
GEN_SRC  := $(BUILD)/gen/parser.c $(BUILD)/gen/lexer.c
VM_OBJ   := $(VM_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
PROV_OBJ := $(PROV_SRC:%.c=$(BUILD)/%.o)
SERVE_OBJ := $(SERVE_SRC:%.c=$(BUILD)/%.o)
# the gateway's libraries: libevent (loop, bufferevents), SQLite (http-parser,
# which the gateway's server and the engine's own HTTP/1.1 transport use, is in LDLIBS)
SERVE_LIBS := -levent -lsqlite3 -lpthread
COMP_OBJ := $(COMP_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/parser.o $(BUILD)/gen/lexer.o
TEST_SRC := $(wildcard tests/unit/*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# the fuzz harnesses of byte parsers with no command-line front end, and
# the .rbc harness (which runs what it loads), linked to a main() that runs
# them over files (tests/suites/corpus.sh)
REPLAY_SRC := tests/fuzz/fuzz_sse.c tests/fuzz/fuzz_eventstream.c tests/fuzz/fuzz_answers.c tests/fuzz/fuzz_rbc.c tests/fuzz/fuzz_sigv4.c tests/fuzz/fuzz_serve.c \
              tests/fuzz/fuzz_gateway.c tests/fuzz/fuzz_lsp.c tests/fuzz/fuzz_import.c tests/fuzz/fuzz_equations.c \
              tests/fuzz/fuzz_h1.c tests/fuzz/fuzz_hhead.c tests/fuzz/fuzz_filter.c tests/fuzz/fuzz_jsonfast.c
REPLAY_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/replay/%,$(wildcard $(REPLAY_SRC)))
# The mock model provider (test infrastructure for end-to-end tests and the
# demo; tests/mock/README.md).  Its objects live outside $(BUILD)/tests,
# whose executables tests/run.sh runs as unit tests.
MOCK_SRC := $(wildcard tests/mock/*.c)
MOCK_OBJ := $(MOCK_SRC:tests/mock/%.c=$(BUILD)/mock/%.o)

.PHONY: all demo check bench fuzz install clean deps tests
all: deps-ok $(BUILD)/routec $(BUILD)/routevm $(TEST_BIN) $(REPLAY_BIN) $(BUILD)/mockprov $(BUILD)/lexdump

deps-ok:
	@sh mk/deps.sh

deps:
	@sh mk/deps.sh install

$(BUILD)/gen/parser.c $(BUILD)/gen/parser.h &: grammar/parser.y
	@mkdir -p $(BUILD)/gen
	bison -Wall -Werror -o $(BUILD)/gen/parser.c --defines=$(BUILD)/gen/parser.h $<

$(BUILD)/gen/lexer.c $(BUILD)/gen/lexer.h &: grammar/lexer.l $(BUILD)/gen/parser.h
	@mkdir -p $(BUILD)/gen
	flex -o $(BUILD)/gen/lexer.c --header-file=$(BUILD)/gen/lexer.h $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -Wno-sign-compare -Wno-unused-function -Wno-shadow -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c $(BUILD)/gen/parser.h $(BUILD)/gen/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libvm.a: $(VM_OBJ)
	rm -f $@; ar rcs $@ $^
$(BUILD)/libcompiler.a: $(COMP_OBJ)
	rm -f $@; ar rcs $@ $^
$(BUILD)/libproviders.a: $(PROV_OBJ)
	rm -f $@; ar rcs $@ $^
$(BUILD)/libserve.a: $(SERVE_OBJ)
	rm -f $@; ar rcs $@ $^

# libyaml: only routec links it, for 'routec import litellm' (cfg_yaml.c)
$(BUILD)/routec: $(BUILD)/compiler/routec.o $(BUILD)/libcompiler.a $(BUILD)/libvm.a
	$(CC) $(LDFLAGS) -o $@ $^ -lyaml $(LDLIBS)

$(BUILD)/routevm: $(BUILD)/vm/routevm.o $(CLI_OBJ) $(BUILD)/libserve.a $(BUILD)/libcompiler.a $(BUILD)/libproviders.a $(BUILD)/libvm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVE_LIBS) $(LDLIBS)

$(BUILD)/mock/%.o: tests/mock/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# libevent_openssl: the mock's TLS listener (--tls-cert, --tls-key)
$(BUILD)/mockprov: $(MOCK_OBJ) $(BUILD)/libproviders.a $(BUILD)/libvm.a
	$(CC) $(LDFLAGS) -o $@ $^ -levent_openssl -levent $(LDLIBS)

# The lexer's tokens of a file, for the TextMate grammar's test
# (tests/suites/textmate.sh); outside $(BUILD)/tests, which holds unit tests.
$(BUILD)/lexdump: tests/textmate/lexdump.c $(BUILD)/gen/parser.h $(BUILD)/gen/lexer.h $(BUILD)/libcompiler.a $(BUILD)/libvm.a
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# (only the test's own source is compiled: a .c file it includes, such as
# the fuzz harness tests/unit/gateway_oom_test.c runs, is a prerequisite
# through its .d file, not a second unit)
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libserve.a $(BUILD)/libcompiler.a $(BUILD)/libproviders.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(filter %.a,$^) $(SERVE_LIBS) $(LDLIBS)

# the HTTP server and whole-gateway harnesses also need the gateway and the compiler
$(BUILD)/replay/fuzz_serve $(BUILD)/replay/fuzz_gateway: $(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c \
                            $(BUILD)/libserve.a $(BUILD)/libcompiler.a $(BUILD)/libproviders.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(SERVE_LIBS) $(LDLIBS)

# the LSP session harness runs the compiler on the documents it opens
$(BUILD)/replay/fuzz_lsp: tests/fuzz/fuzz_lsp.c tests/fuzz/replay.c $(BUILD)/libcompiler.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)
# the importers' harness needs the compiler (it checks what it makes) and libyaml
$(BUILD)/replay/fuzz_import: tests/fuzz/fuzz_import.c tests/fuzz/replay.c $(BUILD)/libcompiler.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter %.c %.a,$^) -lyaml $(LDLIBS)

$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libproviders.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

demo: all
	@sh examples/demo.sh $(BUILD)

# The suite runs against a sanitizer build (build/asan); the plain build is
# built too, so a warning in either configuration shows up here.
check: all
	@$(MAKE) -s --no-print-directory BUILD=build/asan SAN=1 CFLAGS='-O1 -g' all
	@$(MAKE) -s --no-print-directory BUILD=build/tsan SAN=thread CFLAGS='-O1 -g' build/tsan/tests/threads_test
	@SAN=1 CFLAGS='-O1 -g' sh tests/run.sh build/asan

bench: all
	@sh bench/run.sh $(BUILD)

fuzz: all
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# install copies the binaries of $(BUILD) as they are (made first only if
# missing or out of date), so 'make install BUILD=build/asan' installs the
# sanitizer build rather than rebuilding it with other flags.  The stdlib
# is copied file by file, and uninstall removes those files and then the
# directories only routevm uses (share/routevm, share/doc/routevm) when
# they are empty: never bin/ or share/man/, nor anything else in them.
install: deps-ok $(BUILD)/routec $(BUILD)/routevm
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(STDLIB_INSTALL)" "$(DESTDIR)$(DOCDIR)" \
	           "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man5"
	install -m 755 "$(BUILD)/routec" "$(BUILD)/routevm" "$(DESTDIR)$(BINDIR)/"
	cd stdlib && find . -type d | while read -r d; do install -d "$(DESTDIR)$(STDLIB_INSTALL)/$$d" || exit 1; done
	cd stdlib && find . -type f | while read -r f; do install -m 644 "$$f" "$(DESTDIR)$(STDLIB_INSTALL)/$$f" || exit 1; done
	install -m 644 $(DOC_FILES) "$(DESTDIR)$(DOCDIR)/"
	install -m 644 $(MAN1_FILES) "$(DESTDIR)$(MANDIR)/man1/"
	install -m 644 $(MAN5_FILES) "$(DESTDIR)$(MANDIR)/man5/"

# (the file lists are names in this tree, without spaces; the directories
# may have them, so every one is quoted)
.PHONY: uninstall
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/routec" "$(DESTDIR)$(BINDIR)/routevm"
	cd stdlib && find . -type f | while read -r f; do rm -f "$(DESTDIR)$(STDLIB_INSTALL)/$$f"; done
	cd stdlib && find . -depth -type d ! -name . | while read -r d; do rmdir "$(DESTDIR)$(STDLIB_INSTALL)/$$d" 2>/dev/null; done; true
	for f in $(notdir $(DOC_FILES)); do rm -f "$(DESTDIR)$(DOCDIR)/$$f"; done
	for f in $(notdir $(MAN1_FILES)); do rm -f "$(DESTDIR)$(MANDIR)/man1/$$f"; done
	for f in $(notdir $(MAN5_FILES)); do rm -f "$(DESTDIR)$(MANDIR)/man5/$$f"; done
	rmdir "$(DESTDIR)$(STDLIB_INSTALL)" "$(DESTDIR)$(PREFIX)/share/routevm" "$(DESTDIR)$(DOCDIR)" 2>/dev/null; true

clean:
	rm -rf build
