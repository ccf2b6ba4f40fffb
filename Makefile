# SPDX-License-Identifier: BSD-3-Clause
# Thin wrapper over Meson and Ninja for the everyday verbs (STYLE.md B12).
# The build is meson.build; this file only names the steps. Every verb
# first installs any missing Debian package (scripts/deps.sh, quick when
# all are present), so `make run` and `make test` work on a fresh machine.

SHELL := /bin/bash

BUILD        ?= build
ASAN_BUILD   ?= build-asan
FUZZ_BUILD   ?= build-fuzz
GCC_BUILD    ?= build-gcc
CLANG_BUILD  ?= build-clang
PREFIX       ?= /usr/local
DESTDIR      ?=
FUZZ_SECONDS ?= 60
CALLGRIND    ?=
MESON        ?= meson
NINJA        ?= ninja
CLANG_FORMAT ?= $(shell command -v clang-format-14 || echo clang-format)

# make sanitize: libre's CI matrix, picohttpparser's Makefile (STYLE.md B8)
ASAN_OPTS = -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fno-sanitize-recover=all
SAN_ENV = ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# Every C file the house style covers (make lint).
SRC_DIRS = $(wildcard src include tests fuzz bench)

# $(call setup,DIR,ENV,OPTIONS): meson setup on first use; a directory a
# failed setup left half-made is set up again. Ninja re-configures by
# itself when a meson.build changes, but not when a fuzz harness appears
# (fuzz/meson.build skips the missing ones), so a new set of fuzz/*.c
# files re-configures here.
setup = if [ ! -f $(1)/build.ninja ]; then \
		if [ -d $(1)/meson-private ]; then rm -rf $(1); fi; \
		$(2) $(MESON) setup $(1) $(3) && \
		echo "$(FUZZ_SOURCES)" >$(1)/fuzz-sources.txt; \
	elif [ "$(FUZZ_SOURCES)" != "$$(cat $(1)/fuzz-sources.txt \
			2>/dev/null)" ]; then \
		$(MESON) setup --reconfigure $(1) >/dev/null && \
		echo "$(FUZZ_SOURCES)" >$(1)/fuzz-sources.txt; \
	fi
FUZZ_SOURCES = $(sort $(wildcard fuzz/*.c))

.PHONY: all build deps run demo test sanitize fuzz bench lint install \
	check-compilers clean help

all: build

help:
	@echo "make                 build into $(BUILD)/"
	@echo "make run             sipcertd on its embedded defaults" \
		"(for now: the RFC 4475 conformance check)"
	@echo "make demo            RFC 6072 end to end, narrated, on a" \
		"throw-away domain"
	@echo "make test            every suite; ends \"N passed, N failed\""
	@echo "make sanitize        unit tests and corpus replay under" \
		"ASan+UBSan ($(ASAN_BUILD)/)"
	@echo "make fuzz            libFuzzer harnesses for FUZZ_SECONDS" \
		"in all ($(FUZZ_BUILD)/)"
	@echo "make bench           bench/ programs; CALLGRIND=1 for" \
		"instruction counts"
	@echo "make lint            clang-format, checksrc, check-layers," \
		"mandoc -Tlint"
	@echo "make check-compilers -Werror builds with gcc and clang"
	@echo "make install         PREFIX=$(PREFIX) DESTDIR="
	@echo "make clean           remove every build directory"

deps:
	@scripts/deps.sh

build: deps
	@$(call setup,$(BUILD),,)
	$(NINJA) -C $(BUILD)

# The daemon on its embedded defaults once it exists; until then the
# conformance suite, which prints each torture message's verdict.
# sipcertd on its embedded defaults: domain example.test on 127.0.0.1
# (SIP 5060 UDP/TCP, 5061 TLS), state in $(RUN_DIR), made once with
# `sipcert init-domain`; Ctrl-C stops it.
RUN_DIR ?= run
run: build
	@if [ ! -f $(RUN_DIR)/sipcertd.conf ]; then \
		$(BUILD)/src/cli/sipcert init-domain --domain example.test \
			--dir $(RUN_DIR) || exit 1; \
	fi
	exec $(BUILD)/src/daemon/sipcertd -c $(RUN_DIR)/sipcertd.conf

# RFC 6072 end to end on a throw-away domain, narrated (scripts/demo.sh)
demo: build
	@scripts/demo.sh $(BUILD)

test: build
	@scripts/deps.sh --test
	@scripts/test.sh -b $(BUILD)

sanitize: deps
	@$(call setup,$(ASAN_BUILD),CC=clang,$(ASAN_OPTS))
	$(NINJA) -C $(ASAN_BUILD)
	@$(SAN_ENV) scripts/test.sh -b $(ASAN_BUILD) unit replay

fuzz: deps
	@$(call setup,$(FUZZ_BUILD),CC=clang,-Dfuzz=true)
	$(NINJA) -C $(FUZZ_BUILD)
	@scripts/fuzz.sh -b $(FUZZ_BUILD) -t $(FUZZ_SECONDS)

# Each program prints ops/s and ns/op; under callgrind the instruction
# count is what reviews compare, as it repeats exactly (STYLE.md B10).
bench: build
	@found=0; \
	for b in $(BUILD)/bench/*; do \
		[ -f "$$b" ] && [ -x "$$b" ] || continue; \
		found=1; name=$${b##*/}; \
		echo "== $$name"; \
		if [ -n "$(CALLGRIND)" ]; then \
			out=$(BUILD)/bench/callgrind.out.$$name; \
			valgrind --tool=callgrind --callgrind-out-file=$$out \
				"$$b" || exit 1; \
			callgrind_annotate $$out | grep -m 1 'PROGRAM TOTALS'; \
		else \
			"$$b" || exit 1; \
		fi; \
	done; \
	if [ $$found = 0 ]; then \
		echo "make bench: no benchmark built in $(BUILD)/bench"; \
	fi

lint: deps
	@p=0; f=0; \
	check() { \
		local name=$$1; shift; \
		if "$$@"; then echo "PASS $$name"; p=$$((p + 1)); \
		else echo "FAIL $$name"; f=$$((f + 1)); fi; \
	}; \
	format() { \
		local file n bad=0; \
		for file in $$(find $(SRC_DIRS) -name '*.[ch]' | sort); do \
			n=$$($(CLANG_FORMAT) --dry-run -Werror "$$file" 2>&1 | \
				grep -c 'clang-format-violations'); \
			[ "$$n" -eq 0 ] && continue; \
			echo "$$file: $$n place(s) differ from .clang-format"; \
			bad=1; \
		done; \
		[ $$bad = 0 ] || echo "see: $(CLANG_FORMAT) --dry-run FILE"; \
		return $$bad; \
	}; \
	check clang-format format; \
	check checksrc scripts/checksrc.sh; \
	check check-layers scripts/check-layers.sh; \
	man=$$(find docs/man -type f 2>/dev/null | sort); \
	if [ -n "$$man" ]; then \
		check mandoc mandoc -Tlint -Wwarning $$man; \
	fi; \
	echo "$$p passed, $$f failed"; \
	[ $$f -eq 0 ]

install: build
	$(MESON) configure $(BUILD) -Dprefix=$(PREFIX)
	$(if $(DESTDIR),DESTDIR=$(DESTDIR)) $(MESON) install -C $(BUILD)

# Both compilers, warnings as errors: each sees what the other misses.
check-compilers: deps
	@p=0; f=0; \
	for pair in gcc:$(GCC_BUILD) clang:$(CLANG_BUILD); do \
		cc=$${pair%%:*}; dir=$${pair#*:}; \
		echo "== $$cc ($$dir)"; \
		if { $(call setup,$$dir,CC=$$cc,-Dwerror=true); } && \
		   $(NINJA) -C $$dir; then \
			echo "PASS $$cc: -Werror build"; p=$$((p + 1)); \
		else \
			echo "FAIL $$cc: -Werror build"; f=$$((f + 1)); \
		fi; \
	done; \
	echo "$$p passed, $$f failed"; \
	[ $$f -eq 0 ]

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(GCC_BUILD) \
		$(CLANG_BUILD)
