/* drove: the command-line entry point; dispatches to cmd_<verb>.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "drove.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} s_commands[] = {
    {"scheduler", dvi_cmd_scheduler, "run a scheduler (the cluster's hub)"},
    {"worker", dvi_cmd_worker, "run a worker that connects to a scheduler"},
    {"cluster", dvi_cmd_cluster,
     "start, inspect, scale and stop a cluster from one command"},
    {"run", dvi_cmd_run, "run one command on a worker, relaying its output"},
    {"top", dvi_cmd_top,
     "watch the cluster: workers, tasks and throughput, redrawn live"},
    {"pipeline", dvi_cmd_pipeline,
     "run Pachyderm-style pipelines over directories, incrementally"},
    {"profile", dvi_cmd_profile,
     "create, list, show or export profiles (a cluster's certificates)"},
    {"map", dvi_cmd_map,
     "run a command once per argument on the cluster (GNU parallel)"},
};

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: drove COMMAND [OPTIONS]\n\n"
                 "Runs C functions in parallel on a cluster of workers.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        fprintf(out, "  %-12s %s\n", s_commands[i].name, s_commands[i].help);
    }
    fprintf(out, "  %-12s %s\n\n", "version", "print the version");
    fprintf(out, "Run 'drove COMMAND --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("drove %s\n", dv_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        if (strcmp(argv[1], s_commands[i].name) == 0) {
            return s_commands[i].run(argc - 2, argv + 2);
        }
    }
    fprintf(stderr, "drove: unknown command '%s' (see drove --help)\n",
            argv[1]);
    return 2;
}
