/* Shared between the vm subcommands (cli/cmd_vm.c, cli/cmd_vm_nic.c). */
#ifndef IOV_CLI_CMD_VM_H
#define IOV_CLI_CMD_VM_H

#include <stddef.h>

#include <jansson.h>

#include "cli/cli.h"

/* --nic POOL|PF/vfN|ADDRESS[,mac=M][,vlan=V] as a NicSpec object; NULL with err. */
json_t *vm_parse_nic(const char *arg, char *err, size_t len);
/* VmShow's guest object for people. */
void vm_print_guest(json_t *g);
/* vm attach NAME --nic NIC [--save] | vm detach NAME NIC [--timeout S] [--save] */
int vm_nic_cmd(int argc, char **argv, struct cli_ctx *ctx);

#endif
