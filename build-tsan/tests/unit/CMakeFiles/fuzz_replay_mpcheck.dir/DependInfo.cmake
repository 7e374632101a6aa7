
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/fuzz/fuzz_mpcheck.c" "tests/unit/CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/fuzz_mpcheck.c.o" "gcc" "tests/unit/CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/fuzz_mpcheck.c.o.d"
  "/work/main/fuzz/replay.c" "tests/unit/CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/replay.c.o" "gcc" "tests/unit/CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/replay.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-tsan/CMakeFiles/drove_static.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
