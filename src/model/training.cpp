// fit / evaluate / predict: Keras' loops over batches, driving callbacks. Batches are gathered
// into buffers allocated once per fit, so the steady-state loop allocates no tensors.
#include <algorithm>
#include <cmath>

#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/random.hpp"
#include "model/interrupt.hpp"
#include "model/model_impl.hpp"

namespace fitrun {

namespace {

/// The callbacks of one fit/evaluate/predict call, in Keras' order: History first (fit),
/// then the user's, then the progress bar.
class CallbackList {
 public:
  CallbackList(Model* model, const std::vector<CallbackRef>& user, int verbose,
               callbacks::History* history) {
    if (history) list_.push_back(std::shared_ptr<callbacks::Callback>(history, [](auto*) {}));
    for (const auto& c : user) list_.push_back(c.ptr());
    if (verbose > 0) list_.push_back(std::make_shared<callbacks::ProgbarLogger>(verbose));
    for (auto& c : list_) c->set_model(model);
  }
  void set_params(const json& p) {
    for (auto& c : list_) c->set_params(p);
  }
  template <class F> void each(F&& f) {
    for (auto& c : list_) f(*c);
  }

 private:
  std::vector<std::shared_ptr<callbacks::Callback>> list_;
};

/// Reusable per-batch buffers for every input and label array, filled by gathering rows.
struct BatchBuffers {
  std::vector<Tensor> full;  // (batch_size, ...) each
  TensorList views;          // the current batch (full, or a leading slice for the last one)

  BatchBuffers(const TensorList& source, int64_t batch_size) {
    std::vector<Tensor> v;
    for (const auto& t : source) {
      full.push_back(Tensor(t.shape().with_batch(batch_size), t.dtype()));
      v.push_back(full.back());
    }
    views = TensorList(std::move(v));
  }
  /// Gathers rows `index[0..count)` of each source array.
  void gather(const TensorList& source, const int64_t* index, int64_t count) {
    for (size_t k = 0; k < full.size(); ++k) {
      views[k] = count == full[k].dim(0) ? full[k] : full[k].slice(0, count);
      ops::gather_rows(source[k], index, count, views[k]);
    }
  }
};

TensorList slice_all(const TensorList& list, int64_t begin, int64_t end) {
  std::vector<Tensor> out;
  for (const auto& t : list) out.push_back(t.slice(begin, end));
  return out;
}

}  // namespace

callbacks::History& Model::fit(const TensorList& x_in, const TensorList& y_in,
                               const FitOptions& o) {
  ensure_graph(x_in);
  Impl& m = *impl_;
  m.require_compiled(name(), "fit");
  m.finish_compile(name());
  if (o.batch_size <= 0)
    throw ConfigError("fit: batch_size must be >= 1, got " + std::to_string(o.batch_size));
  if (o.epochs < 0) throw ConfigError("fit: epochs must be >= 0, got " + std::to_string(o.epochs));
  if (!(o.validation_split >= 0.0 && o.validation_split < 1.0))
    throw ConfigError("fit: validation_split must be in [0, 1), got " +
                      std::to_string(o.validation_split));
  const int64_t n_all = m.check_data(name(), x_in, &y_in);

  // Keras takes the validation split from the end, before shuffling.
  TensorList x = x_in, y = y_in, vx, vy;
  if (o.validation_data) {
    vx = o.validation_data->x;
    vy = o.validation_data->y;
    m.check_data(name(), vx, &vy);
  } else if (o.validation_split > 0) {
    const auto n_train = static_cast<int64_t>(std::floor(double(n_all) * (1 - o.validation_split)));
    if (n_train <= 0 || n_train >= n_all)
      throw ConfigError("fit: validation_split " + std::to_string(o.validation_split) + " of " +
                        std::to_string(n_all) + " samples leaves no training or validation data");
    vx = slice_all(x_in, n_train, n_all);
    vy = slice_all(y_in, n_train, n_all);
    x = slice_all(x_in, 0, n_train);
    y = slice_all(y_in, 0, n_train);
  }
  const int64_t n = x[0].dim(0);
  const int64_t bs = std::min<int64_t>(o.batch_size, n);
  const int64_t full_steps = (n + bs - 1) / bs;
  const int64_t steps = o.steps_per_epoch > 0 ? o.steps_per_epoch : full_steps;

  m.history = callbacks::History();
  stop_training = false;
  resume_from = {};
  CallbackList cbs(this, o.callbacks, o.verbose, &m.history);
  cbs.set_params({{"epochs", o.epochs}, {"steps", steps}, {"verbose", o.verbose}});

  BatchBuffers xb(x, bs), yb(y, bs);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  int64_t pass = 0;  // passes over the data within the current epoch

  Logs logs, epoch_logs;
  detail::InterruptGuard interrupt;  // Ctrl-C ends fit after the current batch
  cbs.each([&](auto& c) { c.on_train_begin(logs); });
  const int first_epoch = resume_from.epoch >= 0 ? resume_from.epoch : o.initial_epoch;
  int64_t cursor = n;  // position in `order`; an epoch of steps_per_epoch may span passes
  for (int epoch = first_epoch; epoch < o.epochs && !stop_training && !interrupt.requested();
       ++epoch) {
    m.reset_metrics();
    epoch_logs.clear();
    cbs.each([&](auto& c) { c.on_epoch_begin(epoch, epoch_logs); });
    if (o.steps_per_epoch <= 0) cursor = n;
    pass = 0;
    for (int64_t step = 0; step < steps && !stop_training && !interrupt.requested(); ++step) {
      if (cursor >= n) {
        if (o.shuffle) {
          // A fresh permutation from (seed, epoch, pass): resumable, independent of history.
          Generator gen(m.shuffle_seed ^ (0x9e3779b97f4a7c15ULL * uint64_t(epoch + 1)) ^
                        (0xc2b2ae3d27d4eb4fULL * uint64_t(pass)));
          for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
          for (int64_t i = n - 1; i > 0; --i)
            std::swap(order[static_cast<size_t>(i)], order[gen.below(static_cast<uint64_t>(i + 1))]);
        }
        ++pass;
        cursor = 0;
      }
      const int64_t count = std::min(bs, n - cursor);
      if (epoch == resume_from.epoch && step < resume_from.batch) {  // trained before a restart
        cursor += count;
        continue;
      }
      const int batch_index = static_cast<int>(step);
      cbs.each([&](auto& c) { c.on_train_batch_begin(batch_index, logs); });
      xb.gather(x, order.data() + cursor, count);
      yb.gather(y, order.data() + cursor, count);
      cursor += count;
      train_step(xb.views, yb.views);
      m.collect_logs(logs);
      cbs.each([&](auto& c) { c.on_train_batch_end(batch_index, logs); });
    }
    if (interrupt.requested()) break;  // a partial epoch has no epoch end
    m.collect_logs(epoch_logs);
    const bool validate = !vx.empty() && o.validation_freq > 0 &&
                          (epoch + 1 - o.initial_epoch) % o.validation_freq == 0;
    if (validate) {
      EvaluateOptions eo;
      eo.batch_size = o.validation_batch_size > 0 ? o.validation_batch_size : o.batch_size;
      eo.verbose = 0;
      Logs val = evaluate(vx, vy, eo);
      for (const auto& [k, v] : val) epoch_logs["val_" + k] = v;
    }
    cbs.each([&](auto& c) { c.on_epoch_end(epoch, epoch_logs); });
  }
  m.history.interrupted = interrupt.requested();
  cbs.each([&](auto& c) { c.on_train_end(epoch_logs); });
  return m.history;
}

Logs Model::evaluate(const TensorList& x, const TensorList& y, const EvaluateOptions& o) {
  ensure_graph(x);
  Impl& m = *impl_;
  m.require_compiled(name(), "evaluate");
  m.finish_compile(name());
  if (o.batch_size <= 0)
    throw ConfigError("evaluate: batch_size must be >= 1, got " + std::to_string(o.batch_size));
  const int64_t n = m.check_data(name(), x, &y);
  const int64_t bs = std::min<int64_t>(o.batch_size, n);
  const int64_t steps = (n + bs - 1) / bs;
  CallbackList cbs(this, o.callbacks, o.verbose, nullptr);
  cbs.set_params({{"epochs", 1}, {"steps", steps}, {"verbose", o.verbose}});
  m.reset_metrics();
  Logs logs;
  cbs.each([&](auto& c) { c.on_test_begin(logs); });
  auto before = [&](int s) { cbs.each([&](auto& c) { c.on_test_batch_begin(s, logs); }); };
  m.forward_batches(x, n, bs, before, [&](int s, int64_t b, int64_t e, detail::Plan& p) {
    m.loss_and_metrics(p, slice_all(y, b, e), false);
    m.collect_logs(logs);
    cbs.each([&](auto& c) { c.on_test_batch_end(s, logs); });
  });
  cbs.each([&](auto& c) { c.on_test_end(logs); });
  return logs;
}

TensorList Model::predict(const TensorList& x, const PredictOptions& o) {
  ensure_graph(x);
  Impl& m = *impl_;
  if (o.batch_size <= 0)
    throw ConfigError("predict: batch_size must be >= 1, got " + std::to_string(o.batch_size));
  const int64_t n = m.check_data(name(), x, nullptr);
  const int64_t bs = std::max<int64_t>(1, std::min<int64_t>(o.batch_size, n));
  const int64_t steps = (n + bs - 1) / bs;
  std::vector<Tensor> out;
  for (int node : m.graph->output_nodes)
    out.push_back(Tensor(m.graph->nodes[static_cast<size_t>(node)].shape.with_batch(n)));
  CallbackList cbs(this, o.callbacks, o.verbose, nullptr);
  cbs.set_params({{"epochs", 1}, {"steps", steps}, {"verbose", o.verbose}});
  Logs logs;
  cbs.each([&](auto& c) { c.on_predict_begin(logs); });
  auto before = [&](int s) { cbs.each([&](auto& c) { c.on_predict_batch_begin(s, logs); }); };
  m.forward_batches(x, n, bs, before, [&](int s, int64_t b, int64_t e, detail::Plan& p) {
    for (size_t k = 0; k < out.size(); ++k) {
      Tensor dst = out[k].slice(b, e);
      ops::copy(p.output(k), dst);
    }
    cbs.each([&](auto& c) { c.on_predict_batch_end(s, logs); });
  });
  cbs.each([&](auto& c) { c.on_predict_end(logs); });
  return out;
}

}  // namespace fitrun
