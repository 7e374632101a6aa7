/* dvi_preg: pipelines.json in the profile's directory (see registry.h).
 *
 * Kept beside the profile's certificates rather than in a database: it
 * is small, read whole, and a user may read or fix it by hand.
 */
#include "pipeline/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/file.h"
#include "common/profile.h"

int
dvi_preg_path(const char *profile, char *out, size_t size)
{
    dvi_profile p;
    if (dvi_profile_init(&p, profile) < 0) {
        return DV_EINVAL;
    }
    dvi_profile_path(&p, "pipelines.json", out, size);
    return 0;
}

json_t *
dvi_preg_load(const char *profile)
{
    char path[2048];
    if (dvi_preg_path(profile, path, sizeof(path)) < 0) {
        return NULL;
    }
    char *text;
    size_t len;
    struct stat st;
    if (stat(path, &st) != 0) {
        return json_object();
    }
    if (dvi_read_file(path, &text, &len) < 0) {
        return NULL;
    }
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        dvi_seterr(DV_EINVAL, "%s: not a JSON object of pipelines (%s)", path,
                   jerr.text);
        return NULL;
    }
    return o;
}

int
dvi_preg_put(const char *profile, const char *name, const char *spec,
             const char *output)
{
    json_t *o = dvi_preg_load(profile);
    if (o == NULL) {
        return dvi_last_code();
    }
    json_t *cur = json_object_get(o, name);
    const char *cs = json_string_value(json_object_get(cur, "spec"));
    const char *co = json_string_value(json_object_get(cur, "output"));
    if (cs != NULL && co != NULL && strcmp(cs, spec) == 0 &&
        strcmp(co, output) == 0) {
        json_decref(o);
        return 0; /* unchanged: no write on every run */
    }
    json_object_set_new(
        o, name, json_pack("{s:s, s:s}", "spec", spec, "output", output));
    dvi_profile p;
    char path[2048];
    dvi_profile_init(&p, profile);
    dvi_profile_path(&p, "pipelines.json", path, sizeof(path));
    if (mkdir(p.home, 0700) != 0 && errno != EEXIST) {
        json_decref(o);
        return dvi_seterr(DV_EIO, "%s: %s", p.home, strerror(errno));
    }
    if (mkdir(p.dir, 0700) != 0 && errno != EEXIST) {
        json_decref(o);
        return dvi_seterr(DV_EIO, "%s: %s", p.dir, strerror(errno));
    }
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    int rc = dvi_write_file(path, text, strlen(text));
    free(text);
    return rc;
}
