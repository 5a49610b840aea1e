# iovd, the daemon: main loop (iovd.c) and the io.iovd API (iovd_api.c). The API is also
# linked into the unit tests that drive it on fake trees.
IOVD_LIB_SRCS := src/iovd_api.c src/events.c src/journal.c src/apply.c src/apply_host.c src/follow.c src/udevmon.c src/drift.c
IOVD_SRCS += src/iovd.c $(IOVD_LIB_SRCS)
