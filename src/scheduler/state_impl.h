/* What state.c and state_load.c share; nothing outside them sees it. */
#ifndef DVI_STATE_IMPL_H
#define DVI_STATE_IMPL_H

#include <sqlite3.h>

#include "state.h"

#define DVI_STATE_NSTMTS 7 /* one per enum dvi_state_op_kind */
#define DVI_STATE_MAX_DEPS (1u << 24)

struct dvi_state {
    sqlite3 *db;
    sqlite3_stmt *stmt[DVI_STATE_NSTMTS]; /* prepared once; by kind - 1 */
    char path[];
};

/* Up to 64 bytes of s, what is not printable shown as '?' (a damaged
 * row's key may hold anything), into buf. Returns buf. */
const char *dvi_state_shown(const char *s, char buf[72]);
/* SQLite's rc (on db, if not NULL) as the thread's error, naming the file
 * at path and what was being done. Returns the DV_E* code. */
int dvi_state_sqlerr(const char *path, sqlite3 *db, int rc, const char *doing);

#endif
