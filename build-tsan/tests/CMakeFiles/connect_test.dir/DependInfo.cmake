
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/integration/connect_test.c" "tests/CMakeFiles/connect_test.dir/integration/connect_test.c.o" "gcc" "tests/CMakeFiles/connect_test.dir/integration/connect_test.c.o.d"
  "/work/main/tests/support/dvtest.c" "tests/CMakeFiles/connect_test.dir/support/dvtest.c.o" "gcc" "tests/CMakeFiles/connect_test.dir/support/dvtest.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-tsan/tests/CMakeFiles/dvt_funcs.dir/DependInfo.cmake"
  "/work/main/build-tsan/CMakeFiles/drove.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
