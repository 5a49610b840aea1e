LIB_SRCS += irq/intremap.c
