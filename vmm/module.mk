# vmm sources (owned by the VMM work)
IOVM_SRCS +=
IOVM_LIB_SRCS +=
IOVM_LIBS +=
.PHONY: vmm-test
vmm-test:
	@echo "vmm-test: no tests yet"
