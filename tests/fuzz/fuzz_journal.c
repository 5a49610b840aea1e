/* libFuzzer harness for the apply journal reader (src/journal.c): any bytes as the
 * journal file of a state directory; every record it returns must be a JSON object. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/log.h"
#include "src/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], file[128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iov_err e = { 0 };
	json_t *recs = NULL;
	FILE *f;

	if (!dir[0]) {
		strcpy(dir, "/tmp/fuzz_journal.XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(file, sizeof(file), "%s/%s", dir, IOVD_JOURNAL_NAME);
		iov_log_set_level(IOV_LOG_ERR);	/* torn lines are warned about */
	}
	if (!(f = fopen(file, "w")))
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (iovd_journal_read(dir, &recs, &e) == 0) {
		size_t i;
		json_t *r;

		if (!json_is_array(recs))
			abort();
		json_array_foreach(recs, i, r)
			if (!json_is_object(r))
				abort();
		json_decref(recs);
	}
	return 0;
}
