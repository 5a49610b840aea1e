# vfio sources
