#pragma once
// Ctrl-C during fit(): the first SIGINT only raises a flag that the fit loop reads after each
// batch, so the batch finishes, on_train_end runs (checkpoints and logs are complete) and fit
// returns its History with `interrupted` set. A second SIGINT aborts at once (the default
// action). The previous handler comes back when the outermost guard ends; a process that
// ignores SIGINT (nohup, background jobs) keeps ignoring it.
namespace fitrun::detail {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  /// True once SIGINT arrived during this guard's lifetime.
  bool requested() const;
};

}  // namespace fitrun::detail
