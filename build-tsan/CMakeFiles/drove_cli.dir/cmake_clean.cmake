file(REMOVE_RECURSE
  "CMakeFiles/drove_cli.dir/src/cli/cmd_scheduler.c.o"
  "CMakeFiles/drove_cli.dir/src/cli/cmd_scheduler.c.o.d"
  "CMakeFiles/drove_cli.dir/src/cli/cmd_worker.c.o"
  "CMakeFiles/drove_cli.dir/src/cli/cmd_worker.c.o.d"
  "CMakeFiles/drove_cli.dir/src/cli/main.c.o"
  "CMakeFiles/drove_cli.dir/src/cli/main.c.o.d"
  "CMakeFiles/drove_cli.dir/src/cli/options.c.o"
  "CMakeFiles/drove_cli.dir/src/cli/options.c.o.d"
  "drove"
  "drove.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/drove_cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
