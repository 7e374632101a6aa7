/* Logging: silent by default; DROVE_LOG=error|warn|notice|info|debug, or
 * dvi_log_set_level(), turns it on. Lines go to stderr as
 * `<ISO-8601 ms> <pid> <role> <level> <component>: <message>`, and a
 * daemon's also to a file of its profile's logs/ directory.
 */
#ifndef DVI_LOG_H
#define DVI_LOG_H

enum dvi_log_level {
    DVI_LOG_NONE = 0,
    DVI_LOG_ERROR,
    DVI_LOG_WARN,
    DVI_LOG_NOTICE,
    DVI_LOG_INFO,
    DVI_LOG_DEBUG
};

extern int dvi_log_level;

/* Sets the level and the role printed on each line ("scheduler"...). */
void dvi_log_init(const char *role, int default_level);
void dvi_log_set_level(int level);
/* The level named "error", "warn", "notice", "info" or "debug" (or
 * "none"), or -1 for another name. */
int dvi_log_level_parse(const char *name);
/* Appends every line from now on to the file at path too (created mode
 * 0600). Call once, at start-up, before other threads log. Returns 0, or
 * DV_EIO with the reason set. */
int dvi_log_to_file(const char *path);
void dvi_log_write(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats nothing unless the level is enabled. */
#define DVI_LOG(level, component, ...)                        \
    do {                                                      \
        if ((level) <= dvi_log_level) {                       \
            dvi_log_write((level), (component), __VA_ARGS__); \
        }                                                     \
    } while (0)

#endif
