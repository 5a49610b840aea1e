#!/bin/sh
# Every server string iovctl prints goes through cli/srvstr.h (escaped for the terminal):
# outside cli/srvstr.c no file of cli/ may take a string out of a reply with
# json_string_value, except on a line that says why it is not printed ("not printed").
cd "$(dirname "$0")/.." || exit 2
bad=$(grep -n 'json_string_value' cli/*.c | grep -v '^cli/srvstr\.c:' | grep -v 'not printed')
if [ -n "$bad" ]; then
	echo "$bad"
	echo "cli_escape: server strings taken raw (print them with cli_str/cli_sval/cli_put_text, cli/srvstr.h)"
	exit 1
fi
echo "cli_escape: every server string printed through cli/srvstr.h"
