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

/* dvi_write_file's flags (0: its behaviour). */
enum {
    DVI_FILE_SHARED = 1,   /* mode 0644, not 0600: a user's file */
    DVI_FILE_NO_SYNC = 2,  /* no fsync: for files many and short-lived */
    DVI_FILE_IN_PLACE = 4, /* written at path itself, not renamed there:
                              for a directory no one reads meanwhile */
};
/* Writes len bytes to path as flags say. Returns 0, or DV_EIO naming the
 * file. */
int dvi_write_file_as(const char *path, const void *data, size_t len,
                      unsigned flags);

#endif
