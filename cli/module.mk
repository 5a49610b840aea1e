IOVCTL_SRCS += cli/main.c cli/cmd_list.c cli/cmd_show.c cli/table.c cli/output.c
IOVCTL_SRCS += cli/cmd_verify.c
IOVCTL_SRCS += cli/client.c cli/cmd_vfs.c cli/cmd_vf.c cli/cmd_bind.c
IOVCTL_SRCS += cli/cmd_monitor.c
IOVCTL_SRCS += cli/cmd_config.c
IOVCTL_SRCS += cli/cmd_apply.c cli/progress.c
IOVCTL_SRCS += cli/cmd_vm.c cli/cmd_vm_nic.c cli/fdpass.c cli/srvstr.c
IOVCTL_SRCS += cli/cmd_export.c
IOVCTL_SRCS += cli/nvmeout.c

# Every server string iovctl prints goes through cli/srvstr.h (run by `make golden`).
.PHONY: cli-escape
cli-escape:
	tests/cli_escape.sh
golden: cli-escape
