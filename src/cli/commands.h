/* The drove subcommands: each runs with the arguments after its name and
 * returns the process's exit status (0, 1 for a failure at run time, 2
 * for a usage error). main.c dispatches to them. */
#ifndef DVI_CLI_COMMANDS_H
#define DVI_CLI_COMMANDS_H

int dvi_cmd_scheduler(int argc, char **argv);
int dvi_cmd_worker(int argc, char **argv);
int dvi_cmd_profile(int argc, char **argv);
int dvi_cmd_cluster(int argc, char **argv);
int dvi_cmd_pipeline(int argc, char **argv);
int dvi_cmd_run(int argc, char **argv);
int dvi_cmd_map(int argc, char **argv);
int dvi_cmd_top(int argc, char **argv);

#endif
