# iovd, the daemon: main loop (iovd.c) and the io.iovd API (iovd_api.c). The API is also
# linked into the unit tests that drive it on fake trees.
IOVD_LIB_SRCS := src/iovd_api.c src/offload.c src/events.c src/journal.c src/apply.c src/apply_host.c src/follow.c src/udevmon.c src/guest.c src/guest_priv.c src/guest_vf.c src/guest_store.c src/guest_log.c src/guest_hp.c src/drift.c
# The CDI specs of the pools in force (follow.c schedules a sync when a config is adopted).
IOVD_LIB_SRCS += src/cdi.c
IOVD_SRCS += src/iovd.c $(IOVD_LIB_SRCS)
# The guest supervisor names a seccomp-killed iovm's system call (libseccomp's table).
LIBS += $(shell $(PKG) --libs libseccomp)

# The guest wing's privilege boundary: iovm's argv and fds, the guest user (and, as root,
# what a spawned iovm really holds).
UNIT_TESTS += tests/unit/test_guest_priv.c
$(BUILD)/tests/test_guest_priv: $(BUILD)/obj/tests/unit/fakesys.o
# Issue 17's guest-file repros against the in-process daemon (as root and as uid 65534).
UNIT_TESTS += tests/unit/test_vm_files.c tests/unit/test_guest_vf.c
$(BUILD)/tests/test_guest_vf: $(BUILD)/obj/tests/unit/fakesys.o
$(BUILD)/tests/test_vm_files: $(BUILD)/obj/tests/unit/fakesys.o
UNIT_TESTS += tests/unit/test_vm_hotplug.c
$(BUILD)/tests/test_vm_hotplug: $(BUILD)/obj/tests/unit/fakesys.o
