#include "base/thread_pool.h"

namespace radseek {
namespace {
// Workers spin this many polls before sleeping: decode issues a parallel_for every few
// microseconds, and a futex wake-up would cost more than the work.
constexpr int kSpinPolls = 20000;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_tasks(uint32_t gen, int64_t n_tasks, const TaskRef* fn, int thread_index) {
  for (;;) {
    uint64_t cur = ticket_.load(std::memory_order_acquire);
    int64_t task = -1;
    while (static_cast<uint32_t>(cur >> 32) == gen && static_cast<int64_t>(cur & 0xffffffffu) < n_tasks) {
      if (ticket_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) {
        task = static_cast<int64_t>(cur & 0xffffffffu);
        break;
      }
    }
    if (task < 0) return;
    (*fn)(task, thread_index);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::parallel_for(int64_t n_tasks, TaskRef fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  uint32_t gen = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_tasks_ = n_tasks;
    done_.store(0, std::memory_order_relaxed);
    gen = static_cast<uint32_t>(generation_.fetch_add(1, std::memory_order_acq_rel) + 1);
    ticket_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
  }
  cv_.notify_all();
  run_tasks(gen, n_tasks, &fn, 0);
  while (done_.load(std::memory_order_acquire) != n_tasks) __builtin_ia32_pause();
}

void ThreadPool::worker_loop(int thread_index) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < kSpinPolls) {
      __builtin_ia32_pause();
      ++spins;
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    int64_t n_tasks = 0;
    const TaskRef* fn = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
      n_tasks = n_tasks_;
      fn = fn_;
    }
    run_tasks(static_cast<uint32_t>(seen), n_tasks, fn, thread_index);
  }
}

}  // namespace radseek
