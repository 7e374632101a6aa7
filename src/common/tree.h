/* Directory trees: creating a file's directories, listing the regular
 * files under a directory, removing a tree (symbolic links are never
 * followed). Thread-safe (no process-wide state such as nftw's).
 */
#ifndef DVI_TREE_H
#define DVI_TREE_H

#include <stddef.h>

/* Creates the directories leading to the file at path (mode 0755).
 * Returns 0, or DV_EIO with the reason set. */
int dvi_tree_make_parents(const char *path);

/* Calls fn(ctx, rel) for every regular file under dir, rel being its path
 * relative to dir, in no particular order; stops at the first non-zero
 * return of fn and returns it. Returns 0, or DV_EIO with the reason set
 * (a dir that does not exist is empty). */
typedef int (*dvi_tree_fn)(void *ctx, const char *rel);
int dvi_tree_walk(const char *dir, dvi_tree_fn fn, void *ctx);

/* Removes path and, for a directory, everything under it. Returns 0, or
 * DV_EIO with the reason set (it goes on past what it cannot remove). */
int dvi_tree_remove(const char *path);

#endif
