# sriov sources
