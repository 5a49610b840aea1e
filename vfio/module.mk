# vfio sources: guard (host-critical, usage snapshot), verify (pure isolation verdict),
# plan/state/bind (moving whole groups to vfio-pci and back).
LIB_SRCS += vfio/guard.c vfio/verify.c vfio/state.c vfio/plan.c vfio/bind.c
