# OpenPCA - top-level build.  See README.md.
#
#   make deps    install missing Debian 12 packages (no-op when present)
#   make         build bin/pcad and bin/pcactl
#   make check   deps + build + every test; ends in "N passed, N failed"
#   make check-long  the crash test with 200 trials (CI runs 20) and
#                the 850,000-entry CRL (test_crl_big, ~5 min)
#   make asan    the same tests under ASan/UBSan
#   make run     deps + build + pcactl init ./var/appliance + pcad
#   make bench   benchmarks with the peers, one run
#   make soak    API issuance + OCSP load, memory sampled (SOAK_SECONDS=600)
#   make bench-scale  10M certificates: disk, start-up, CRL, OCSP table
#                (BENCH_SCALE_N=10000000, ~1.3 GB of disk per million)
#   make lint    cppcheck, grep rules, api/model.c up to date (tools/lint.sh)
#   make regress golden-output tests (tests/regress/; also in make check)
#   make fuzz    the libFuzzer targets, FUZZ_SECONDS each
#   make fuzz-long  each target FUZZ_LONG_SECONDS (3600), corpora grown
#   make install [PREFIX=/usr/local] [DESTDIR=]   binaries, man pages,
#                example configs, systemd unit (docs/production.md)

CC      ?= cc
BUILD   ?= build
BIN     ?= bin
OPT     ?= -O2 -D_FORTIFY_SOURCE=3
SAN     ?=
PKGS    := p11-kit-1 lmdb jansson libcrypto libssl libmicrohttpd libcurl \
	   libarchive libseccomp libcares

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith -Wvla \
	   -Wimplicit-fallthrough -Wundef
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  := -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -fstack-protector-strong \
	   -fPIE $(SAN) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pie -Wl,-z,relro,-z,now $(SAN)
LIBS    := $(PKG_LIBS) -lpthread -ldl

LIB_SRC := $(wildcard common/*.c hsm/*.c store/*.c ca/*.c crl/*.c ocsp/*.c \
	     policy/*.c api/*.c sync/*.c monitor/*.c iam/*.c http/*.c \
	     backup/*.c x509/*.c acme/*.c console/*.c profile/*.c \
	     discover/*.c alert/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBPCA  := $(BUILD)/libpca.a

UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

PROGS := $(BIN)/pcactl $(BIN)/pcad

.PHONY: all deps check test unit asan run bench clean lint format \
	check-format fuzz fuzz-long fuzz-build check-generated regress install \
	soak bench-scale
all: $(PROGS)

deps:
	@sh tools/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBPCA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/pcactl: $(BUILD)/cmd/pcactl_init.o $(BUILD)/cmd/pcactl_backup.o
$(BIN)/pcactl: $(BUILD)/cmd/pcactl_help.o $(BUILD)/cmd/pcactl_cert.o \
	$(BUILD)/cmd/pcactl_subject.o
$(BIN)/pcactl: $(BUILD)/cmd/pcactl_token.o $(BUILD)/cmd/pcactl_tls.o
$(BIN)/pcad: $(BUILD)/cmd/pcad_proc.o $(BUILD)/cmd/pcad_seccomp.o
$(BIN)/pcad: $(BUILD)/cmd/pcad_responder.o
$(BIN)/pcactl: $(BUILD)/cmd/pcactl_acme.o $(BUILD)/cmd/pcactl_discover.o \
	$(BUILD)/cmd/pcactl_alerts.o
$(BIN)/%: $(BUILD)/cmd/%.o $(BUILD)/cmd/appliance.o $(LIBPCA)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS)

# One archive per module; a unit test links the archives of its module and
# of what the module builds on (only the objects it uses are pulled in), so
# one module's suite builds while another module is being changed.
MODULES := common hsm store ca crl ocsp policy api sync monitor iam http \
	backup x509 acme console profile discover alert
mod_lib = $(BUILD)/lib$(1).a
$(foreach m,$(MODULES),$(eval $(call mod_lib,$(m)): \
	$(filter $(BUILD)/$(m)/%,$(LIB_OBJ)) ; @rm -f $$@ && ar rcs $$@ $$^))
MOD_DEPS_common := common
MOD_DEPS_hsm    := hsm x509 common
MOD_DEPS_store  := store common
MOD_DEPS_ca     := ca profile store hsm x509 common
MOD_DEPS_api    := api iam http discover ca profile store hsm x509 common
MOD_DEPS_crl    := crl http ca profile store hsm x509 common
MOD_DEPS_sync   := sync store common
MOD_DEPS_ocsp   := ocsp http ca profile store hsm x509 common
MOD_DEPS_policy := policy ca profile store hsm x509 common
MOD_DEPS_monitor := monitor discover acme http policy ca profile store hsm x509 common
MOD_DEPS_iam    := iam api http discover ca profile store hsm x509 common
MOD_DEPS_http   := http common
MOD_DEPS_backup := backup sync ca profile x509 store hsm common
MOD_DEPS_x509   := x509 common
MOD_DEPS_profile := profile x509 common
MOD_DEPS_acme   := acme http policy ca profile x509 store hsm common
MOD_DEPS_console := console api iam http alert discover ca profile store hsm x509 common
MOD_DEPS_discover := discover store common
MOD_DEPS_alert  := alert store common
mod_deps = $(foreach m,$(or $(MOD_DEPS_$(1)),$(MODULES)),\
	$(if $(filter $(BUILD)/$(m)/%,$(LIB_OBJ)),$(call mod_lib,$(m))))

# Keep the objects of binaries (make would delete them as intermediates).
.SECONDARY:

# tests/unit/testlib.{c,h}, testlib_hsm.c: fixtures every suite may use.
TESTLIB_SRC := $(wildcard tests/unit/testlib*.c)
TESTLIB := $(BUILD)/libtestlib.a
$(BUILD)/testlib/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(TESTLIB): $(TESTLIB_SRC:tests/unit/%.c=$(BUILD)/testlib/%.o)
	@rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $(TESTLIB) \
		$$(call mod_deps,$$(firstword $$(subst /, ,$$*)))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		$(LDFLAGS) -o $@ $< -Wl,--start-group $(filter %.a,$^) \
		-Wl,--end-group $(LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/cmd/appliance.o $(LIBPCA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/cmd/appliance.o $(LIBPCA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Golden-output regress drivers: tests/regress/<area>/driver.c ->
# $(BUILD)/regress/<area>, run by tests/regress/regress.sh (tests/run.sh).
REGRESS_SRC := $(wildcard tests/regress/*/driver.c)
REGRESS_BIN := $(patsubst tests/regress/%/driver.c,$(BUILD)/regress/%,\
	$(REGRESS_SRC))

$(BUILD)/regress/%: tests/regress/%/driver.c $(LIBPCA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIBPCA) $(LIBS)

unit: $(UNIT_BIN) $(TOOL_BIN) $(REGRESS_BIN)

regress: $(REGRESS_BIN)
	@BUILD=$(BUILD) sh tests/regress/regress.sh

# Every test: unit suites, then integration scripts, one summary line.
test: all unit
	@BUILD=$(BUILD) BIN=$(BIN) sh tests/run.sh

check: deps
	@$(MAKE) --no-print-directory test

# The long crash-safety run (reliability matrix T2): 200 kill -9 / crash
# point trials instead of the 20 of "make check".
.PHONY: check-long
check-long: deps all unit
	@CRASH_TRIALS=200 TESTS=test_crash BUILD=$(BUILD) BIN=$(BIN) \
		sh tests/run.sh
	@CHECK_LONG=1 TESTS=test_crl_big BUILD=$(BUILD) BIN=$(BIN) \
		sh tests/run.sh

asan: deps
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/bin \
		OPT="-O1" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		test

run: deps all
	@sh tools/run.sh

bench: deps all $(BENCH_BIN)
	@BUILD=$(BUILD) BIN=$(BIN) sh bench/run.sh

# Not in make check: SOAK_SECONDS (default 600) of load; fails on >= 5%
# anonymous-memory growth after the warm-up (bench/soak.sh).
soak: all $(BUILD)/bench/api_load $(BUILD)/tools/inv_fill
	@BUILD=$(BUILD) BIN=$(BIN) sh bench/soak.sh

# issue 16's 10M simulation (bench/scale.sh; not in check nor bench)
bench-scale: all $(BUILD)/tools/inv_fill $(BUILD)/bench/inventory_page
	@BUILD=$(BUILD) BIN=$(BIN) sh bench/scale.sh

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang; each runs
# FUZZ_SECONDS (default 60) on its seed corpus with no crash allowed.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

# (cmd/appliance.o too: fuzz_conf drives its config parser)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/cmd/appliance.o $(LIBPCA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer $(LDFLAGS) \
		-o $@ $< $(BUILD)/cmd/appliance.o $(LIBPCA) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz BIN=build-fuzz/bin \
		CC=clang OPT="-O1" \
		SAN="-fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		fuzz-build
	@BUILD=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# Each target FUZZ_LONG_SECONDS of CPU time (one CPU-hour by default;
# FUZZ_LONG_TARGETS="http ocsp" runs only those); what it finds is merged
# into tests/fuzz/corpus/<target>/ (tests/fuzz/run_long.sh).
FUZZ_LONG_SECONDS ?= 3600
FUZZ_LONG_TARGETS ?=
fuzz-long: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz BIN=build-fuzz/bin \
		CC=clang OPT="-O1" \
		SAN="-fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		fuzz-build
	@BUILD=build-fuzz FUZZ_LONG_SECONDS=$(FUZZ_LONG_SECONDS) \
		FUZZ_LONG_TARGETS="$(FUZZ_LONG_TARGETS)" sh tests/fuzz/run_long.sh

# FHS layout under PREFIX; the unit's paths follow PREFIX.
PREFIX  ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/doc/openpca/examples \
		$(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	install -m 0755 $(BIN)/pcad $(DESTDIR)$(PREFIX)/sbin/pcad
	install -m 0755 $(BIN)/pcactl $(DESTDIR)$(PREFIX)/bin/pcactl
	install -m 0644 man/pcad.8 man/pcactl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 man/pcad.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 conf/pcad.conf.example conf/policies.example \
		$(DESTDIR)$(PREFIX)/share/doc/openpca/examples/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/openpca/
	for u in pcad.service pcad-tls-renew.service pcad-tls-renew.timer; do \
		sed 's|/usr/local/|$(PREFIX)/|g' conf/$$u \
			>$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u && \
		chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; \
	done
	install -m 0644 conf/openpca.sysusers \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d/openpca.conf
	install -m 0644 conf/openpca.tmpfiles \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d/openpca.conf

lint: check-generated
	@sh tools/lint.sh

# api/model.c is generated from the vendored ACM-PCA model (api/model/,
# refreshed by "python3 api/gen_model.py --vendor") and the OpenPCA.*
# extension operations; check-generated proves the committed file is what
# the generator makes (CI runs it through make lint).
MODEL_IN := api/gen_model.py api/model/service-2.json api/model/VERSION \
	api/openpca-ext.json
api/model.c: $(MODEL_IN)
	python3 api/gen_model.py >$@.tmp && mv $@.tmp $@

check-generated:
	@python3 api/gen_model.py | cmp -s - api/model.c || { \
	    echo "api/model.c differs from what api/gen_model.py makes" \
		"(run: make api/model.c)"; exit 1; }
	@echo "check-generated: api/model.c is up to date"

# every tracked C file but the generated api/model.c (make lint checks it)
FORMAT_SRC = $(filter-out api/model.c,$(shell git ls-files '*.c' '*.h'))
format:
	clang-format -i $(FORMAT_SRC)

check-format:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build build-asan bin

-include $(LIB_OBJ:.o=.d) $(wildcard $(BUILD)/cmd/*.d $(BUILD)/testlib/*.d \
	$(BUILD)/regress/*.d)
