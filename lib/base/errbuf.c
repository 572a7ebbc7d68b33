// SPDX-License-Identifier: Apache-2.0
/* The error-buffer convention of lib/ (include/warden/errbuf.h). */
#include <stdarg.h>
#include <stdio.h>

#include "warden/errbuf.h"

void errbuf__printf(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}
