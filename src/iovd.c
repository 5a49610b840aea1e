/* iovd: the daemon (work in progress; the varlink service lands next). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "iovd: not implemented yet\n");
	return 1;
}
