# iovd: plain GNU make. `make` builds build/iovctl, build/iovd, build/iovm.
# `make SAN=1` builds the same into build/san with ASan+UBSan. `make test` runs everything.
# Each folder adds its sources in its own module.mk; the lists are explicit.

CC      ?= cc
PKG     ?= pkg-config
PKGS    := libpci libudev libnl-3.0 libnl-route-3.0 jansson

SAN     ?= 0
ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD   ?= build
SANFLAGS :=
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-truncation -Wno-unused-parameter -Wnull-dereference -Wvla
# CFLAGS/LDFLAGS are the packager's (`make CFLAGS=...` replaces them); what the build
# needs and the hardening are in IOV_CFLAGS/IOV_LDFLAGS, which the command line leaves
# alone. Fortify needs optimization: it is left out when CFLAGS asks for -O0.
CFLAGS  ?= -O2 -g
HARDEN_CFLAGS := $(if $(filter -O0,$(CFLAGS)),,-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3) \
           -fstack-protector-strong -fstack-clash-protection -fcf-protection
HARDEN_LDFLAGS := -Wl,-z,relro,-z,now
IOV_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN_CFLAGS) $(SANFLAGS) -MMD -MP -I. \
           $(shell $(PKG) --cflags $(PKGS))
IOV_LDFLAGS := $(HARDEN_LDFLAGS) $(SANFLAGS)
LIBS    := $(shell $(PKG) --libs $(PKGS))

.DEFAULT_GOAL := all

# Filled by the module.mk files.
LIB_SRCS    :=
IOVCTL_SRCS :=
IOVD_SRCS   :=
IOVM_SRCS   :=
UNIT_TESTS  :=
BENCH_SRCS  :=
TEST_TARGETS :=

include lib/module.mk src/module.mk irq/module.mk sriov/module.mk vfio/module.mk config/module.mk \
        cli/module.mk vmm/module.mk tests/module.mk bench/module.mk dist/module.mk

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB      := $(BUILD)/libiov.a
PROGS    := $(BUILD)/iovctl $(BUILD)/iovd $(BUILD)/iovm

.PHONY: all clean test unit golden san-test rig-test vmm-test bench setup
all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(IOV_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/iovctl: $(call obj,$(IOVCTL_SRCS)) $(LIB)
	$(CC) $(IOV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/iovd: $(call obj,$(IOVD_SRCS)) $(LIB)
	$(CC) $(IOV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# iovm stays small: it links only what it needs from libiov and no netlink/udev.
$(BUILD)/iovm: $(call obj,$(IOVM_SRCS)) $(LIB)
	$(CC) $(IOV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(IOVM_LIBS)

# Unit tests: tests/unit/test_foo.c -> $(BUILD)/tests/test_foo
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_TESTS))
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(IOVD_LIB_SRCS)) $(LIB) $(call obj,$(IOVM_LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(IOV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(shell $(PKG) --libs cmocka)

$(BUILD)/obj/tests/unit/%.o: IOV_CFLAGS += $(shell $(PKG) --cflags cmocka)

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# `make test`: unit + golden tests in the normal and the sanitizer build, VMM tests on
# this machine's /dev/kvm, then the test-host (QEMU) scenarios and the runner's self-tests
# (tests/testall.sh: the last line counts passes, failures, skips and test-host retries).
test:
	MAKE="$(MAKE)" tests/testall.sh

# The main job, live in the test host: VFs created, a guest booted with one, traffic, a verdict.
.PHONY: demo
demo: rig-demo

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
