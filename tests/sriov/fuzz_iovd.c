/* libFuzzer harness for what a peer or a user controls on the way into iovd: the varlink
 * call decoder, the VF property JSON of SetVf, and the iovctl argument parsers.
 * make sriov-fuzz [FUZZ_SECS=60] (needs clang). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/varlink.h"
#include "sriov/vfconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], pf[64], *buf, *argv[64], *save;
	struct iov_vfconf c;
	const char *method;
	json_t *msg, *params, *j;
	unsigned vf;
	bool oneway;
	int argc = 0;

	if (size > VL_MAX_MSG)
		return 0;
	if (vl_parse_call((const char *)data, size, &msg, &method, &params, &oneway, err,
			  sizeof(err)) == 0) {
		json_t *conf = params ? json_object_get(params, "config") : NULL;

		if (conf && iov_vfconf_from_json(conf, &c, err, sizeof(err)) == 0 &&
		    iov_vfconf_check(&c, err, sizeof(err)) != 0)
			abort();	/* accepted but not valid */
		json_decref(msg);
	}
	if ((j = json_loadb((const char *)data, size, 0, NULL))) {
		if (iov_vfconf_from_json(j, &c, err, sizeof(err)) == 0) {
			json_t *back = iov_vfconf_to_json(&c);
			struct iov_vfconf d;

			if (iov_vfconf_from_json(back, &d, err, sizeof(err)) != 0 ||
			    memcmp(&c, &d, sizeof(c)) != 0)
				abort();	/* the JSON form must round-trip */
			json_decref(back);
		}
		json_decref(j);
	}
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	(void)iov_parse_vf_spec(buf, pf, sizeof(pf), &vf, err, sizeof(err));
	for (char *t = strtok_r(buf, " ", &save); t && argc < 64; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	if (iov_vfconf_parse_args(argc, argv, &c, err, sizeof(err)) == 0 &&
	    iov_vfconf_check(&c, err, sizeof(err)) != 0)
		abort();
	free(buf);
	return 0;
}
