# iovm, the KVM VMM. The pure parts (boot protocol, config-space and MSI-X emulation) are
# also linked into every unit test binary; they must stay free of main() and of KVM ioctls.
IOVM_LIB_SRCS := vmm/bootparams.c vmm/mem.c vmm/pcicfg.c vmm/msix.c vmm/dmaplan.c vmm/confilter.c
IOVM_SRCS += vmm/main.c vmm/vm.c vmm/bus.c vmm/boot.c vmm/uart.c vmm/legacy.c \
             vmm/pci.c vmm/pvpanic.c vmm/vfio.c vmm/console.c vmm/sandbox.c $(IOVM_LIB_SRCS)
IOVM_LIBS := -lpthread -lseccomp

UNIT_TESTS += tests/unit/test_vmm_bootparams.c tests/unit/test_vmm_pcicfg.c tests/unit/test_vmm_msix.c \
              tests/unit/test_vmm_dmaplan.c tests/unit/test_vmm_confilter.c



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
vmm-test: $(BUILD)/iovm $(VMM_PAYLOAD)
	tests/vmm/run.sh $(BUILD)/iovm $(VMM_PAYLOAD)
.PHONY: vmm-test

# Figures: bench/vmm_bench.sh (this machine's /dev/kvm, then the test host if available).
.PHONY: bench-vmm
bench-vmm: $(BUILD)/iovm $(VMM_PAYLOAD)
	$(if $(filter 1,$(NO_RIG)),,$(MAKE) rig-helpers && )IOV_RIG_OUT=$(or $(RIG_OUT),build/rig) \
		IOV_RIG_BIN=$(BUILD) IOV_RIG_HELPERS=$(or $(RIG_OUT),build/rig)/helpers \
		bench/vmm_bench.sh $(BUILD)/iovm $(VMM_PAYLOAD) $(if $(filter 1,$(NO_RIG)),--no-rig)
bench: bench-vmm

# libFuzzer harness for the guest-facing pure code (needs clang): make vmm-fuzz [FUZZ_SECS=60]
VMM_FUZZ := $(BUILD)/vmm-fuzz/fuzz_vmm
$(VMM_FUZZ): tests/vmm/fuzz_vmm.c vmm/pcicfg.c vmm/msix.c vmm/bootparams.c vmm/mem.c vmm/dmaplan.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -I. $(filter-out -Wno-format-truncation,$(WARN)) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $^
.PHONY: vmm-fuzz
vmm-fuzz: $(VMM_FUZZ)
	@mkdir -p $(BUILD)/vmm-fuzz/corpus
	$(VMM_FUZZ) -max_total_time=$(or $(FUZZ_SECS),30) -max_len=4096 $(BUILD)/vmm-fuzz/corpus
