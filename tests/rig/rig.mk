# The test host: a Debian 6.12 kernel under QEMU (TCG) with VT-d, an igb SR-IOV NIC and nested
# KVM. See tests/rig/README.md. Included from tests/module.mk.
#
#   make rig-test [SCENARIO="vf_list kvm_nested"] [PRESETS="default no-iommu"]
#   make rig-image      kernel (downloaded once into $IOV_RIG_CACHE) + initramfs
#   make rig-capture    regenerate tests/fixtures/captured/<preset>/ [PRESETS=...]
#   make rig-shell      interactive shell on the test host [PRESET=default]
#   make rig-demo       the main job on the test host (tests/rig/demo.sh)
#   make rig-selftest   the runner's own rules, each broken once (tests/rig/selftest.sh)
#
# The guest runs $(BUILD)/iovctl, iovd, iovm (so `make SAN=1 rig-test` ships the sanitizer build).

RIG_OUT     ?= build/rig
# Spelled out: this file is included before the Makefile defines PROGS.
RIG_PROGS   := $(BUILD)/iovctl $(BUILD)/iovd $(BUILD)/iovm $(BUILD)/iov-bindtool
RIG_HELPERS := $(RIG_OUT)/helpers/jget $(RIG_OUT)/helpers/kvmcheck $(RIG_OUT)/helpers/asuser \
               $(RIG_OUT)/helpers/vfiocheck $(RIG_OUT)/helpers/msiforge $(RIG_OUT)/helpers/cdi-validate \
               $(RIG_OUT)/helpers/ptyrun $(RIG_OUT)/helpers/diskbench $(RIG_OUT)/helpers/loadtool
RIG_ENV      = IOV_RIG_OUT=$(RIG_OUT) IOV_RIG_BIN=$(BUILD) IOV_RIG_HELPERS=$(RIG_OUT)/helpers
RIG_PRESET_ENV = $(if $(PRESETS),IOV_RIG_PRESETS="$(PRESETS)")

.PHONY: rig-helpers rig-helpers-test rig-image rig-test rig-selftest rig-capture rig-shell rig-demo rig-load

# Static helpers for the guest (no libraries to carry), built with the project's warnings.
$(RIG_OUT)/helpers/%: tests/rig/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -static -o $@ $<

# Debian's CDI library in a static Go program (no cgo), for cdi_live: GOPATH mode over
# /usr/share/gocode, nothing downloaded.
$(RIG_OUT)/helpers/cdi-validate: tests/cdi/validate.go
	@mkdir -p $(dir $@)
	cd tests/cdi && CGO_ENABLED=0 GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off \
		GOCACHE=$(abspath $(RIG_OUT))/go-cache go build -ldflags "-s -w" -o $(abspath $@) validate.go

rig-helpers: $(RIG_HELPERS)

rig-helpers-test: $(RIG_OUT)/helpers/jget
	tests/rig/jget-test.sh $(RIG_OUT)/helpers/jget

# The iovm payload (vmm/module.mk) goes in too, for the vmm_payloads scenario.
rig-image: $(RIG_PROGS) $(RIG_HELPERS) $(VMM_PAYLOAD)
	$(RIG_ENV) tests/rig/image.sh

rig-test: $(RIG_PROGS) $(RIG_HELPERS) $(VMM_PAYLOAD) rig-helpers-test
	$(RIG_ENV) $(RIG_PRESET_ENV) tests/rig/suite.sh $(SCENARIO)

# Scenarios that break each runner rule once must fail (or skip, or be retried) as it says.
rig-selftest: $(RIG_PROGS) $(RIG_HELPERS) $(VMM_PAYLOAD)
	$(RIG_ENV) tests/rig/selftest.sh

# The long fault runs of issue 17 (on demand; make test runs their short forms guest_load and
# guest_soak): 8 clients for 5 minutes, then 100 guest start/stop cycles, one boot.
# IOV_RIG_APPEND="gload.seed=N" replays a seed.
rig-load: $(RIG_PROGS) $(RIG_HELPERS) $(VMM_PAYLOAD)
	$(RIG_ENV) IOV_RIG_PRESETS=default tests/rig/suite.sh guest_load_long guest_soak_long

rig-capture: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) tests/rig/capture.sh $(PRESETS)

rig-shell: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) tests/rig/run.sh --mode shell $(or $(PRESET),default)

rig-demo: $(RIG_PROGS) $(RIG_HELPERS)
	$(RIG_ENV) tests/rig/demo.sh

# Issue 22: 20 hot attach/detach cycles on a running guest (make test's guest_hotplug runs as
# many as fit in 2 minutes). On demand, under the rig lock.
.PHONY: rig-hotplug-soak
rig-hotplug-soak: $(RIG_PROGS) $(RIG_HELPERS) $(VMM_PAYLOAD)
	$(RIG_ENV) tests/rig/run.sh guests guest_hotplug_soak
