
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/cli/cmd_scheduler.c" "CMakeFiles/drove_cli.dir/src/cli/cmd_scheduler.c.o" "gcc" "CMakeFiles/drove_cli.dir/src/cli/cmd_scheduler.c.o.d"
  "/work/main/src/cli/cmd_worker.c" "CMakeFiles/drove_cli.dir/src/cli/cmd_worker.c.o" "gcc" "CMakeFiles/drove_cli.dir/src/cli/cmd_worker.c.o.d"
  "/work/main/src/cli/main.c" "CMakeFiles/drove_cli.dir/src/cli/main.c.o" "gcc" "CMakeFiles/drove_cli.dir/src/cli/main.c.o.d"
  "/work/main/src/cli/options.c" "CMakeFiles/drove_cli.dir/src/cli/options.c.o" "gcc" "CMakeFiles/drove_cli.dir/src/cli/options.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-tsan/CMakeFiles/drove_static.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
