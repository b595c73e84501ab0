#include "types.h"

const char *err_name(int err)
{
	static const char *const names[] = {
		[E_OK] = "ok", [E_INVAL] = "inval", [E_RANGE] = "range",
		[E_NOMEM] = "nomem", [E_IO] = "io", [E_TIMEDOUT] = "timedout",
		[E_NOTSUP] = "notsup", [E_NOENT] = "noent", [E_EXIST] = "exist",
		[E_NOSPC] = "nospc", [E_NOTDIR] = "notdir", [E_ISDIR] = "isdir",
		[E_NOTEMPTY] = "notempty", [E_ACCES] = "acces", [E_ROFS] = "rofs",
		[E_CORRUPT] = "corrupt", [E_NAMETOOLONG] = "nametoolong",
		[E_AUTH] = "auth",
	};
	if (err < 0)
		err = -err;
	if ((size_t)err < ARRAY_SIZE(names) && names[err])
		return names[err];
	return "unknown";
}
