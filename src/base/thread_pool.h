// Persistent worker pool. parallel_for hands out task indices [0, n) through one atomic ticket that
// carries the call's generation, so a worker that wakes late (the core was busy with another process)
// can never take a task of a newer call; the caller works too and waits only for tasks that were
// actually claimed, never for a descheduled worker to check in. Nothing is allocated per call (the
// task is a function reference), so it is safe on the per-token path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace radseek {

// Non-owning reference to a callable `void(int64_t task, int thread)`.
class TaskRef {
 public:
  template <typename F>
  TaskRef(const F& f)  // NOLINT(google-explicit-constructor)
      : obj_(&f), call_([](const void* o, int64_t task, int thread) {
          (*static_cast<const F*>(o))(task, thread);
        }) {}
  void operator()(int64_t task, int thread) const { call_(obj_, task, thread); }

 private:
  const void* obj_;
  void (*call_)(const void*, int64_t, int);
};

class ThreadPool {
 public:
  // n_threads counts the caller: 1 means no workers.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(task, thread) for every task in [0, n_tasks); returns when all are done.
  void parallel_for(int64_t n_tasks, TaskRef fn);

 private:
  void worker_loop(int thread_index);
  // Runs tasks of generation `gen` until none is left to claim.
  void run_tasks(uint32_t gen, int64_t n_tasks, const TaskRef* fn, int thread_index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> ticket_{0};  // (generation << 32) | next task index
  std::atomic<int64_t> done_{0};     // tasks of the current call that have finished
  int64_t n_tasks_ = 0;
  const TaskRef* fn_ = nullptr;
  bool stop_ = false;
};

}  // namespace radseek
