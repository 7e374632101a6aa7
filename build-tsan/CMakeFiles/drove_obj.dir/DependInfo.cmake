
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/client/as_completed.c" "CMakeFiles/drove_obj.dir/src/client/as_completed.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/as_completed.c.o.d"
  "/work/main/src/client/connect.c" "CMakeFiles/drove_obj.dir/src/client/connect.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/connect.c.o.d"
  "/work/main/src/client/embedded.c" "CMakeFiles/drove_obj.dir/src/client/embedded.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/embedded.c.o.d"
  "/work/main/src/client/fninfo.c" "CMakeFiles/drove_obj.dir/src/client/fninfo.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/fninfo.c.o.d"
  "/work/main/src/client/future.c" "CMakeFiles/drove_obj.dir/src/client/future.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/future.c.o.d"
  "/work/main/src/client/request.c" "CMakeFiles/drove_obj.dir/src/client/request.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/request.c.o.d"
  "/work/main/src/client/submit.c" "CMakeFiles/drove_obj.dir/src/client/submit.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/client/submit.c.o.d"
  "/work/main/src/common/blob.c" "CMakeFiles/drove_obj.dir/src/common/blob.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/blob.c.o.d"
  "/work/main/src/common/elfsyms.c" "CMakeFiles/drove_obj.dir/src/common/elfsyms.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/elfsyms.c.o.d"
  "/work/main/src/common/err.c" "CMakeFiles/drove_obj.dir/src/common/err.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/err.c.o.d"
  "/work/main/src/common/file.c" "CMakeFiles/drove_obj.dir/src/common/file.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/file.c.o.d"
  "/work/main/src/common/log.c" "CMakeFiles/drove_obj.dir/src/common/log.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/log.c.o.d"
  "/work/main/src/common/map.c" "CMakeFiles/drove_obj.dir/src/common/map.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/map.c.o.d"
  "/work/main/src/common/mpcheck.c" "CMakeFiles/drove_obj.dir/src/common/mpcheck.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/mpcheck.c.o.d"
  "/work/main/src/common/pset.c" "CMakeFiles/drove_obj.dir/src/common/pset.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/pset.c.o.d"
  "/work/main/src/common/runtime.c" "CMakeFiles/drove_obj.dir/src/common/runtime.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/runtime.c.o.d"
  "/work/main/src/common/value.c" "CMakeFiles/drove_obj.dir/src/common/value.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/common/value.c.o.d"
  "/work/main/src/proto/codec.c" "CMakeFiles/drove_obj.dir/src/proto/codec.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/codec.c.o.d"
  "/work/main/src/proto/conn.c" "CMakeFiles/drove_obj.dir/src/proto/conn.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/conn.c.o.d"
  "/work/main/src/proto/fetch.c" "CMakeFiles/drove_obj.dir/src/proto/fetch.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/fetch.c.o.d"
  "/work/main/src/proto/hello.c" "CMakeFiles/drove_obj.dir/src/proto/hello.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/hello.c.o.d"
  "/work/main/src/proto/msg.c" "CMakeFiles/drove_obj.dir/src/proto/msg.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/msg.c.o.d"
  "/work/main/src/proto/outbox.c" "CMakeFiles/drove_obj.dir/src/proto/outbox.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/outbox.c.o.d"
  "/work/main/src/proto/stream.c" "CMakeFiles/drove_obj.dir/src/proto/stream.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/stream.c.o.d"
  "/work/main/src/proto/stream_inproc.c" "CMakeFiles/drove_obj.dir/src/proto/stream_inproc.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/stream_inproc.c.o.d"
  "/work/main/src/proto/stream_pipe.c" "CMakeFiles/drove_obj.dir/src/proto/stream_pipe.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/stream_pipe.c.o.d"
  "/work/main/src/proto/stream_tcp.c" "CMakeFiles/drove_obj.dir/src/proto/stream_tcp.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/stream_tcp.c.o.d"
  "/work/main/src/proto/stream_uv.c" "CMakeFiles/drove_obj.dir/src/proto/stream_uv.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/proto/stream_uv.c.o.d"
  "/work/main/src/scheduler/core.c" "CMakeFiles/drove_obj.dir/src/scheduler/core.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/core.c.o.d"
  "/work/main/src/scheduler/events.c" "CMakeFiles/drove_obj.dir/src/scheduler/events.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/events.c.o.d"
  "/work/main/src/scheduler/graph.c" "CMakeFiles/drove_obj.dir/src/scheduler/graph.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/graph.c.o.d"
  "/work/main/src/scheduler/library.c" "CMakeFiles/drove_obj.dir/src/scheduler/library.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/library.c.o.d"
  "/work/main/src/scheduler/place.c" "CMakeFiles/drove_obj.dir/src/scheduler/place.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/place.c.o.d"
  "/work/main/src/scheduler/publish.c" "CMakeFiles/drove_obj.dir/src/scheduler/publish.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/publish.c.o.d"
  "/work/main/src/scheduler/sched.c" "CMakeFiles/drove_obj.dir/src/scheduler/sched.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/sched.c.o.d"
  "/work/main/src/scheduler/session.c" "CMakeFiles/drove_obj.dir/src/scheduler/session.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/session.c.o.d"
  "/work/main/src/scheduler/task.c" "CMakeFiles/drove_obj.dir/src/scheduler/task.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/task.c.o.d"
  "/work/main/src/scheduler/taskvec.c" "CMakeFiles/drove_obj.dir/src/scheduler/taskvec.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/scheduler/taskvec.c.o.d"
  "/work/main/src/worker/call.c" "CMakeFiles/drove_obj.dir/src/worker/call.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/call.c.o.d"
  "/work/main/src/worker/executor.c" "CMakeFiles/drove_obj.dir/src/worker/executor.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/executor.c.o.d"
  "/work/main/src/worker/funcs.c" "CMakeFiles/drove_obj.dir/src/worker/funcs.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/funcs.c.o.d"
  "/work/main/src/worker/role.c" "CMakeFiles/drove_obj.dir/src/worker/role.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/role.c.o.d"
  "/work/main/src/worker/run.c" "CMakeFiles/drove_obj.dir/src/worker/run.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/run.c.o.d"
  "/work/main/src/worker/serve.c" "CMakeFiles/drove_obj.dir/src/worker/serve.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/serve.c.o.d"
  "/work/main/src/worker/store.c" "CMakeFiles/drove_obj.dir/src/worker/store.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/store.c.o.d"
  "/work/main/src/worker/worker.c" "CMakeFiles/drove_obj.dir/src/worker/worker.c.o" "gcc" "CMakeFiles/drove_obj.dir/src/worker/worker.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
