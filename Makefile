# SPDX-License-Identifier: MIT
# uiommufd build.
#
#   make            library (static + shared), LD_PRELOAD shim, the uiommufd command
#   make check      every test, in the normal build and in the ASan+UBSan build
#   make test       every test in one build (SAN=1 selects the sanitizer build)
#   make client-tests  real clients from Debian (QEMU 7.2, QEMU 10, DPDK), part of test
#   make bench      benchmarks; writes bench/results.txt
#   make install    PREFIX=/usr/local DESTDIR=
#   make fuzz       libFuzzer harnesses, FUZZ_TIME s each (fuzz-ci: 120 s each)
#   make tsan       ThreadSanitizer stress test
#
# Two builds never share objects: the normal one lives in build/, the
# sanitizer one (SAN=1) in build-san/.

VERSION     := 0.1.0
SOVERSION   := 0
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
PKGLIBDIR   ?= $(LIBDIR)/uiommufd

CC          ?= cc
OPT         ?= -O2
WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wno-unused-parameter -Wno-missing-field-initializers
CSTD        := -std=gnu11
CPPFLAGS    += -D_GNU_SOURCE -Iinclude -Isrc
BASE_CFLAGS := $(CSTD) $(OPT) -g -fPIC -fvisibility=hidden -pthread $(WARN)

ifeq ($(SAN),1)
BUILD       ?= build-san
SANFLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD       ?= build
SANFLAGS    :=
endif

CFLAGS_ALL  := $(BASE_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)
LDLIBS_ALL  := -ldl $(LDLIBS)

LIB_SRCS    := $(sort $(wildcard src/core/*.c src/host/*.c src/iommu/*.c src/iommu/*/*.c src/pt/*.c \
                 src/vfio/*.c src/devices/*.c))
SHIM_SRCS   := $(sort $(wildcard src/shim/*.c))
TOOL_SRCS   := src/tools/uiommufd.c
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c tests/pt/test_*.c))
SCEN_SRCS   := $(sort $(wildcard tests/scenario/test_*.c))
EXAMPLE_SRCS:= $(sort $(wildcard examples/*.c))
BENCH_SRCS  := $(sort $(wildcard bench/bench_*.c))
BENCH_CLIENT_SRCS := $(sort $(wildcard bench/client_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJS    := $(call obj,$(LIB_SRCS))
SHIM_OBJS   := $(call obj,$(SHIM_SRCS))
PT_OBJS     := $(call obj,$(sort $(wildcard src/pt/*.c)))

STATIC_LIB  := $(BUILD)/lib/libuiommufd.a
PT_LIB      := $(BUILD)/lib/libuiommufd_pt.a
SHARED_LIB  := $(BUILD)/lib/libuiommufd.so.$(SOVERSION)
PRELOAD_LIB := $(BUILD)/lib/uiommufd_preload.so
TOOL        := $(BUILD)/bin/uiommufd
UNIT_BINS   := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))
SCEN_BINS   := $(patsubst %.c,$(BUILD)/%,$(SCEN_SRCS))
EXAMPLE_BINS:= $(patsubst %.c,$(BUILD)/%,$(EXAMPLE_SRCS))
BENCH_BINS  := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRCS) $(BENCH_CLIENT_SRCS))

CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

.PHONY: all test check bench install clean unit-tests scenario-tests client-tests bench-boot
all: $(STATIC_LIB) $(SHARED_LIB) $(PRELOAD_LIB) $(TOOL) $(EXAMPLE_BINS) $(BUILD)/uiommufd.pc

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -DUIOMMUFD_PKGLIBDIR='"$(PKGLIBDIR)"' -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The page-table library alone, so its tests and benchmarks build on their own.
$(PT_LIB): $(PT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libuiommufd.so.$(SOVERSION) -Wl,--no-undefined $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)
	ln -sf libuiommufd.so.$(SOVERSION) $(BUILD)/lib/libuiommufd.so

# The shim carries its own copy of the core, so a preloaded program needs
# nothing else on its library path.
$(PRELOAD_LIB): $(SHIM_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,--no-undefined $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# The command checks --device lists with the library's parser and lists
# its device models, so it links the library's objects (not the archive:
# every model must be in).
$(TOOL): $(call obj,$(TOOL_SRCS)) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# Test and example binaries track the headers they include (stale layouts
# of internal structs otherwise survive an incremental build).
DEPFLAGS = -MMD -MP -MF $@.d
-include $(wildcard $(BUILD)/tests/*/*.d $(BUILD)/examples/*.d)

# Unit tests see the core's private headers and link the static library.
$(BUILD)/tests/unit/%: tests/unit/%.c $(STATIC_LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -Itests $(CFLAGS_ALL) $(CMOCKA_CFLAGS) $< -o $@ $(STATIC_LIB) $(LDFLAGS_ALL) $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/pt/%: tests/pt/%.c $(PT_LIB) $(wildcard tests/pt/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -Itests $(CFLAGS_ALL) $(CMOCKA_CFLAGS) $< -o $@ $(PT_LIB) $(LDFLAGS_ALL) $(CMOCKA_LIBS) $(LDLIBS_ALL)

# Scenario tests and examples are plain iommufd clients: they link nothing of
# ours and only ever reach uiommufd through /dev/iommu.
$(BUILD)/tests/scenario/%: tests/scenario/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) -Itests $(CFLAGS_ALL) $(CMOCKA_CFLAGS) $< -o $@ $(LDFLAGS_ALL) $(CMOCKA_LIBS)

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS_ALL) $< -o $@ $(LDFLAGS_ALL)

$(BUILD)/bench/client_%: bench/client_%.c bench/bench.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS_ALL) $< -o $@ $(LDFLAGS_ALL) -lm

$(BUILD)/bench/bench_pt: bench/bench_pt.c bench/bench.h $(PT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS_ALL) $< -o $@ $(PT_LIB) $(LDFLAGS_ALL) $(LDLIBS_ALL) -lm

$(BUILD)/bench/bench_%: bench/bench_%.c bench/bench.h bench/bench_ctx.h $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS_ALL) $< -o $@ $(STATIC_LIB) $(LDFLAGS_ALL) $(LDLIBS_ALL) -lm

$(BUILD)/uiommufd.pc: uiommufd.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# In the sanitizer build the preloaded shim needs the ASan runtime loaded
# before it.
ifeq ($(SAN),1)
RUN_ENV := LD_PRELOAD=$(shell $(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=1
endif

# test_vfio_group runs the command too.
unit-tests: $(UNIT_BINS) $(TOOL)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

scenario-tests: all $(SCEN_BINS)
	@set -e; for t in $(SCEN_BINS); do echo "== $$t (through uiommufd run)"; \
		$(RUN_ENV) $(TOOL) run -- $$t; done
	@set -e; for e in $(EXAMPLE_BINS); do echo "== $$e (through uiommufd run)"; \
		$(RUN_ENV) $(TOOL) run -- $$e > /dev/null; done

# Real programs from Debian packages (tests/clients/README.md): a QEMU 7.2
# and a QEMU 10 guest whose ioatdma drives the emulated I/OAT, DPDK's
# dmadev_autotest.  Their own leaks are not ours: no leak check for them.
CLIENT_RUN_ENV := $(subst detect_leaks=1,detect_leaks=0,$(RUN_ENV))
client-tests: all
	@BUILD=$(BUILD) RUN_ENV="$(CLIENT_RUN_ENV)" sh tests/clients/run.sh

# After the other tests, never beside them: a TCG guest on 2 cores is slow
# enough alone.
test: all unit-tests scenario-tests
	@$(MAKE) --no-print-directory client-tests

check:
	$(MAKE) test
	$(MAKE) SAN=1 test

bench: all $(BENCH_BINS)
	@BUILD=$(BUILD) sh bench/run.sh

# Guest boot time with and without the emulated device (QEMU 7.2, TCG).
bench-boot: all
	@BUILD=$(BUILD) sh bench/boot.sh

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(INCLUDEDIR)/uiommufd/uapi \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libuiommufd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libuiommufd.so
	install -m 755 $(PRELOAD_LIB) $(DESTDIR)$(PKGLIBDIR)/
	install -m 644 include/uiommufd.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/uapi/*.h $(DESTDIR)$(INCLUDEDIR)/uiommufd/uapi/
	install -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/
	install -m 644 man/uiommufd.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUILD)/uiommufd.pc $(DESTDIR)$(LIBDIR)/pkgconfig/

# ---- libFuzzer harnesses: make fuzz [FUZZ_TIME=seconds per harness], make fuzz-ci
#
# clang's libFuzzer with ASan+UBSan, in build-fuzz/.  The harnesses link the
# core directly (in-process host) and need no root.  New inputs go to
# build-fuzz/corpus/<harness>/, crashes to build-fuzz/artifacts/.  The seeds
# live in tests/fuzz/corpus/: named ones in <harness>/*.b64 (an SPDX line,
# then base64), what long runs found in <harness>.pack (one base64 input a
# line; make fuzz-pack); tests/fuzz/seeds.sh decodes both into
# build-fuzz/seeds/<harness>/ before each run.
FUZZ_CC       ?= clang
FUZZ_BUILD    := build-fuzz
FUZZ_TIME     ?= 1800
FUZZ_CI_TIME  ?= 120
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   := $(CSTD) -O1 -g -pthread $(WARN) $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRCS))
FUZZ_NAMES    := fuzz_ioctl fuzz_dma fuzz_vfio
FUZZ_BINS     := $(addprefix $(FUZZ_BUILD)/,$(FUZZ_NAMES))
FUZZ_OPTS     := -timeout=20 -rss_limit_mb=2560 -max_len=2048 -print_final_stats=1

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libuiommufd.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_BUILD)/libuiommufd.a
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -o $@ $(FUZZ_BUILD)/libuiommufd.a -ldl

.PHONY: fuzz-build fuzz fuzz-ci fuzz-pack
fuzz-build: $(FUZZ_BINS)

# One harness after the other, each for $(1) seconds; any crash fails.
define fuzz_run
	@set -e; for h in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$h $(FUZZ_BUILD)/artifacts; \
		tests/fuzz/seeds.sh unpack $$h $(FUZZ_BUILD)/seeds/$$h; \
		echo "== $$h for $(1) s"; \
		$(FUZZ_BUILD)/$$h $(FUZZ_OPTS) -max_total_time=$(1) \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$h- \
			$(FUZZ_BUILD)/corpus/$$h $(FUZZ_BUILD)/seeds/$$h; \
	done
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_TIME))

fuzz-ci: fuzz-build
	$(call fuzz_run,$(FUZZ_CI_TIME))

# After a long make fuzz: keep what build-fuzz/corpus/ adds to the seeds in
# tests/fuzz/corpus/<harness>.pack, for CI's short runs to start from.
fuzz-pack: fuzz-build
	@set -e; for h in $(FUZZ_NAMES); do \
		tests/fuzz/seeds.sh pack $$h $(FUZZ_BUILD)/$$h $(FUZZ_BUILD)/corpus/$$h; \
	done

# ---- ThreadSanitizer: make tsan
#
# The library and tests/stress/stress_threads.c with -fsanitize=thread in
# build-tsan/; the stress test runs several threads on one context.  No
# suppressions: a report fails the target.
TSAN_CC       ?= clang
TSAN_BUILD    := build-tsan
TSAN_CFLAGS   := $(CSTD) -O1 -g -pthread $(WARN) -fsanitize=thread -fno-omit-frame-pointer
TSAN_LIB_OBJS := $(patsubst %.c,$(TSAN_BUILD)/obj/%.o,$(LIB_SRCS))
STRESS_SECS   ?= 20

$(TSAN_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(CPPFLAGS) $(TSAN_CFLAGS) -MMD -MP -c $< -o $@

$(TSAN_BUILD)/libuiommufd.a: $(TSAN_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(TSAN_BUILD)/stress_threads: tests/stress/stress_threads.c $(TSAN_BUILD)/libuiommufd.a
	$(TSAN_CC) $(CPPFLAGS) $(TSAN_CFLAGS) $< -o $@ $(TSAN_BUILD)/libuiommufd.a -ldl

.PHONY: tsan
tsan: $(TSAN_BUILD)/stress_threads
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
		$(TSAN_BUILD)/stress_threads $(STRESS_SECS)

clean:
	rm -rf build build-san build-fuzz build-tsan

-include $(shell find build build-san build-fuzz build-tsan -name '*.d' 2>/dev/null)
