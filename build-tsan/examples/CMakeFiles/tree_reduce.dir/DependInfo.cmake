
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/examples/share.c" "examples/CMakeFiles/tree_reduce.dir/share.c.o" "gcc" "examples/CMakeFiles/tree_reduce.dir/share.c.o.d"
  "/work/main/examples/tree_reduce.c" "examples/CMakeFiles/tree_reduce.dir/tree_reduce.c.o" "gcc" "examples/CMakeFiles/tree_reduce.dir/tree_reduce.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-tsan/examples/CMakeFiles/tree_reduce_functions.dir/DependInfo.cmake"
  "/work/main/build-tsan/CMakeFiles/drove.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
