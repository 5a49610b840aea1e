# vfio sources: guard (host-critical, usage snapshot), verify (pure isolation verdict),
# plan/state/bind (moving whole groups to vfio-pci and back).
LIB_SRCS += vfio/guard.c vfio/verify.c vfio/state.c vfio/plan.c vfio/bind.c

# iov-bindtool: vfio/bind.c without the daemon (test host, debugging); not in PROGS.
.PHONY: iov-bindtool
iov-bindtool: $(BUILD)/iov-bindtool
$(BUILD)/iov-bindtool: $(BUILD)/obj/vfio/bindtool.o $(BUILD)/libiov.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
