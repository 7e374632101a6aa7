/* drove — fuzz: dvi_pspec_parse, the reading of a pipeline spec (a file
 * a user wrote, or was sent).
 *
 * For any bytes it returns a spec or NULL with DV_EINVAL, without reading
 * outside them (ASan) or leaking (LSan); a spec it returns has a name, a
 * non-empty NULL-terminated argv, an input tree whose every pfs input has
 * a name and a glob starting with '/', and an absolute output directory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drove.h"
#include "pipeline/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_check_input(dvi_pinput *in, void *arg)
{
    (void)arg;
    if (in->name == NULL || in->name[0] == '\0' || in->glob == NULL ||
        in->glob[0] != '/' || (in->repo == NULL) == (in->pipeline == NULL)) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    dvi_pspec *s = dvi_pspec_parse("/nonexistent/fuzz/spec.json", text);
    if (s == NULL) {
        if (dv_last_code() != DV_EINVAL) {
            abort();
        }
    } else {
        if (s->name == NULL || s->name[0] == '\0' || s->ncmd == 0 ||
            s->cmd[s->ncmd] != NULL || s->output == NULL ||
            s->output[0] != '/' || s->datum_tries < 1) {
            abort();
        }
        dvi_pinput_each(s->input, s_check_input, NULL);
        dvi_pspec_destroy(&s);
    }
    free(text);
    return 0;
}
