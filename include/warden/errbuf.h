/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error-buffer convention of lib/: a function that can explain a
 * refusal takes (char *err, size_t err_len) and fills it with one line
 * saying what was wrong. The caller may pass NULL or 0 when it does not
 * want the text.
 */
#ifndef WARDEN_ERRBUF_H
#define WARDEN_ERRBUF_H

#include <stddef.h>

/* snprintf into err, unless err is NULL or err_len 0; always terminated. */
void errbuf__printf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* WARDEN_ERRBUF_H */
