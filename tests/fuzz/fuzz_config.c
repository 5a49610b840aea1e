/* libFuzzer harness for the config loader (config/load.c): any bytes as one document.
 * An accepted config must free cleanly; a refusal must come with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iov_config *c = NULL;
	struct iov_err e = { 0 };
	int r = iov_config_load_buf("fuzz.json", (const char *)data, size, &c, &e);

	if (r == 0) {
		if (!c)
			abort();	/* success writes the out-parameter */
		iov_config_free(c);
	} else if (r > 0 || !e.msg[0]) {
		abort();		/* a refusal is -errno and says why */
	}
	return 0;
}
