IOVCTL_SRCS += cli/main.c cli/cmd_list.c cli/cmd_show.c cli/table.c cli/output.c
