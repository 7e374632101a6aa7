/* Reading and writing a whole file, with errors that name it. */
#ifndef DVI_FILE_H
#define DVI_FILE_H

#include <stddef.h>

/* Reads the file at path into *out (malloc'ed; caller frees) and its size
 * into *len. Returns 0, or DV_EIO / DV_ENOMEM / DV_ELIMIT with the reason
 * set (naming the path). */
int dvi_read_file(const char *path, char **out, size_t *len);
/* Writes len bytes to path atomically (a temporary file renamed over
 * it), mode 0600. Returns 0, or DV_EIO naming the file. */
int dvi_write_file(const char *path, const char *data, size_t len);

#endif
