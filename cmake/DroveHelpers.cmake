# dv_test(NAME SOURCES src... [INTERNAL] [LIBS lib...] [TIMEOUT s]
#         [LABELS l...])
# Builds one test executable and registers it with ctest, with a timeout.
# INTERNAL links the static library, whose dvi_* internals unit tests call.
# Tests may read DV_DROVE_BIN (the drove CLI), DV_BUILD_DIR and
# DV_SOURCE_DIR.
function(dv_test name)
    cmake_parse_arguments(T "INTERNAL" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    set(lib drove)
    if(T_INTERNAL)
        set(lib drove_static)
    endif()
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 120)
    endif()
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${lib} ${T_LIBS})
    target_link_options(${name} PRIVATE -Wl,--export-dynamic)
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src
                               ${PROJECT_SOURCE_DIR}/tests/support)
    target_compile_definitions(${name} PRIVATE
        DV_DROVE_BIN="$<TARGET_FILE:drove_cli>"
        DV_BUILD_DIR="${PROJECT_BINARY_DIR}"
        DV_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
    if(T_LABELS)
        set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
    endif()
endfunction()

# dv_use_mimalloc(TARGET): the target's own calls of malloc, calloc,
# realloc and free (drove's code linked into it) go to src/common/alloc.c,
# on mimalloc, when DV_MIMALLOC is on.
function(dv_use_mimalloc target)
    if(NOT DV_MIMALLOC)
        return()
    endif()
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src/common/alloc.c)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/src/common/alloc.c
        TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS -mtls-dialect=gnu2)
    # libc first: an executable that names libmimalloc before it would
    # have mimalloc's malloc for the whole process (it overrides), and
    # drove's memory rules are for drove's calls alone.
    target_link_libraries(${target} PRIVATE c mimalloc)
    target_link_options(${target} PRIVATE
        -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free)
endfunction()
