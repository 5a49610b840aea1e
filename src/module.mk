# iovd, the daemon: main loop (iovd.c) and the io.iovd API (iovd_api.c). The API is also
# linked into the unit tests that drive it on fake trees.
IOVD_LIB_SRCS := src/iovd_api.c src/events.c src/journal.c src/apply.c src/apply_host.c src/follow.c src/udevmon.c src/guest.c src/drift.c
# The CDI specs of the pools in force (follow.c schedules a sync when a config is adopted).
IOVD_LIB_SRCS += src/cdi.c
IOVD_SRCS += src/iovd.c $(IOVD_LIB_SRCS)
# The guest supervisor names a seccomp-killed iovm's system call (libseccomp's table).
LIBS += $(shell $(PKG) --libs libseccomp)
