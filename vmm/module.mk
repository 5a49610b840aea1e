# iovm, the KVM VMM. The pure parts (boot protocol, config-space and MSI-X emulation) are
# also linked into every unit test binary; they must stay free of main() and of KVM ioctls.
IOVM_LIB_SRCS := vmm/bootparams.c vmm/mem.c vmm/pcicfg.c vmm/msix.c vmm/dmaplan.c vmm/confilter.c \
                 vmm/acpi.c vmm/aml.c vmm/virtq.c vmm/blkreq.c vmm/hpslot.c
IOVM_SRCS += vmm/main.c vmm/vm.c vmm/bus.c vmm/boot.c vmm/uart.c vmm/legacy.c \
             vmm/pci.c vmm/pvpanic.c vmm/vfio.c vmm/vfio_container.c vmm/vfio_dev.c vmm/console.c vmm/sandbox.c vmm/tty.c vmm/power.c \
             vmm/virtio_pci.c vmm/blk.c vmm/hotplug.c $(IOVM_LIB_SRCS)
IOVM_LIBS := -lpthread -lseccomp

UNIT_TESTS += tests/unit/test_vmm_bootparams.c tests/unit/test_vmm_pcicfg.c tests/unit/test_vmm_msix.c \
              tests/unit/test_vmm_dmaplan.c tests/unit/test_vmm_confilter.c tests/unit/test_vmm_acpi.c \
              tests/unit/test_vmm_virtq.c tests/unit/test_vmm_hpslot.c



# Guest test payload: a minimal bzImage (setup header + 32/64-bit entries) plus a
# freestanding C program; flat binary laid out by payload.ld. Built without the project's
# CFLAGS (no sanitizers, no SSE: it runs as the guest).
VMM_PAYLOAD := $(BUILD)/vmm-payloads/payload.bin
VMM_PAYLOAD_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -Wall -Wextra -Werror
$(VMM_PAYLOAD): tests/vmm/head.S tests/vmm/payload.c tests/vmm/payload.ld
	@mkdir -p $(dir $@)
	$(CC) -c -o $(dir $@)head.o tests/vmm/head.S
	$(CC) $(VMM_PAYLOAD_CFLAGS) -c -o $(dir $@)payload.o tests/vmm/payload.c
	ld -nostdlib -no-pie -T tests/vmm/payload.ld -o $@ $(dir $@)head.o $(dir $@)payload.o

# Guest payloads on this machine's /dev/kvm (see tests/vmm/run.sh).
# Without a usable /dev/kvm here (kvmcheck cannot run guest code; IOV_NO_KVM=1 pretends so),
# the same tests run inside the test host on its nested KVM (rig scenario vmm_payloads), so
# every machine exercises them. Run `make vmm-test` under the rig lock in that case.
vmm-test: $(BUILD)/iovm $(VMM_PAYLOAD)
	@$(MAKE) --no-print-directory $(or $(RIG_OUT),build/rig)/helpers/kvmcheck >/dev/null
	@if [ -z "$(IOV_NO_KVM)" ] && $(or $(RIG_OUT),build/rig)/helpers/kvmcheck /dev/kvm >/dev/null 2>&1; then \
		tests/vmm/run.sh $(BUILD)/iovm $(VMM_PAYLOAD); \
	else \
		echo "vmm-test: no usable /dev/kvm here$(if $(IOV_NO_KVM), (IOV_NO_KVM set)); running the payload tests in the test host"; \
		$(MAKE) --no-print-directory rig-test SCENARIO=vmm_payloads PRESETS=default; \
	fi
.PHONY: vmm-test

# Figures: bench/vmm_bench.sh (this machine's /dev/kvm, then the test host if available).
.PHONY: bench-vmm
bench-vmm: $(BUILD)/iovm $(VMM_PAYLOAD)
	$(if $(filter 1,$(NO_RIG)),,$(MAKE) rig-helpers && )IOV_RIG_OUT=$(or $(RIG_OUT),build/rig) \
		IOV_RIG_BIN=$(BUILD) IOV_RIG_HELPERS=$(or $(RIG_OUT),build/rig)/helpers \
		bench/vmm_bench.sh $(BUILD)/iovm $(VMM_PAYLOAD) $(if $(filter 1,$(NO_RIG)),--no-rig)

# libFuzzer harness for the guest-facing pure code (needs clang): make vmm-fuzz [FUZZ_SECS=60];
# built and linked by tests/fuzz/fuzz.mk (fuzz-vmm).
.PHONY: vmm-fuzz
vmm-fuzz: fuzz-vmm
