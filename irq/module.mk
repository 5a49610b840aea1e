# irq sources: host interrupt facts above the base layer (the remapping evidence is part of
# the host model, lib/intremap.c).
LIB_SRCS += irq/place.c
