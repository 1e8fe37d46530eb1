// fit / evaluate / predict: Keras' loops over batches, driving callbacks. Batches are gathered
// into buffers allocated once per fit, so the steady-state loop allocates no tensors.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/datasets/dataset.hpp"
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

/// fit's sample order over arrays: passes over a permutation of the n samples (with
/// `shuffle`, a fresh one per pass from (seed, epoch, pass): resumable, independent of
/// history), bs rows at a time. Each epoch starts a fresh pass, unless `continue_pass`
/// (steps_per_epoch), where an epoch goes on where the last one stopped.
class BatchOrder {
 public:
  BatchOrder(int64_t n, int64_t bs, bool shuffle, bool continue_pass, uint64_t seed)
      : n_(n), bs_(bs), shuffle_(shuffle), continue_pass_(continue_pass), seed_(seed),
        order_(static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
  }
  /// The next batch of `epoch`: rows index[0..count) (valid until the next call).
  std::pair<const int64_t*, int64_t> next(int epoch) {
    if (epoch != last_epoch_) {
      if (!continue_pass_) cursor_ = n_;
      pass_ = 0;
      last_epoch_ = epoch;
    }
    if (cursor_ >= n_) {
      if (shuffle_) {
        Generator gen(seed_ ^ (0x9e3779b97f4a7c15ULL * uint64_t(epoch + 1)) ^
                      (0xc2b2ae3d27d4eb4fULL * uint64_t(pass_)));
        for (int64_t i = 0; i < n_; ++i) order_[static_cast<size_t>(i)] = i;
        for (int64_t i = n_ - 1; i > 0; --i)
          std::swap(order_[static_cast<size_t>(i)], order_[gen.below(static_cast<uint64_t>(i + 1))]);
      }
      ++pass_;
      cursor_ = 0;
    }
    const int64_t count = std::min(bs_, n_ - cursor_);
    const int64_t* index = order_.data() + cursor_;
    cursor_ += count;
    return {index, count};
  }

 private:
  int64_t n_, bs_;
  bool shuffle_, continue_pass_;
  uint64_t seed_;
  std::vector<int64_t> order_;
  int64_t pass_ = 0;    // passes over the data within the current epoch
  int64_t cursor_ = 0;  // position in order_
  int last_epoch_ = -1;
};

TensorList slice_all(const TensorList& list, int64_t begin, int64_t end) {
  std::vector<Tensor> out;
  for (const auto& t : list) out.push_back(t.slice(begin, end));
  return out;
}

/// Keras' class_weight_to_sample_weights: each sample weighs its class' weight (labels as
/// integers, (n, 1) columns, or one-hot rows by their argmax; absent classes weigh 1).
Tensor class_weight_to_sample_weight(const Tensor& y, const std::map<int, float>& class_weight) {
  const int64_t n = y.dim(0);
  const int64_t width = n > 0 ? y.size() / n : 1;
  Tensor w({n});
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = 0;
    if (width > 1) {  // argmax of a one-hot row
      for (int64_t j = 1; j < width; ++j)
        if (y.flat(i * width + j) > y.flat(i * width + label)) label = j;
    } else {
      label = static_cast<int64_t>(std::llround(y.flat(i)));
    }
    auto it = class_weight.find(static_cast<int>(label));
    w.data<float>()[i] = it != class_weight.end() ? it->second : 1.f;
  }
  return w;
}

/// Checks a sample_weight argument: float32, one value per sample.
void check_sample_weight(const char* what, const Tensor& w, int64_t n) {
  if (!w.defined()) return;
  if (w.dtype() != DType::float32)
    throw ConfigError(std::string(what) + ": sample_weight must be float32, got " +
                      dtype_name(w.dtype()));
  if (w.rank() < 1 || w.dim(0) != n || w.size() != n)
    throw ShapeError(std::string(what) + ": sample_weight of shape " + w.shape().to_string() +
                     " needs one weight per sample (" + std::to_string(n) + ")");
}

}  // namespace

callbacks::History& Model::Impl::run_fit(Model& model, const FitOptions& o, int64_t steps,
                                         const std::function<bool(int, int64_t, bool)>& batch,
                                         const std::function<void(Logs&)>& validate) {
  place_weights();  // weights built or loaded since Model::to follow the model
  history = callbacks::History();
  model.stop_training = false;
  model.resume_from = {};
  CallbackList cbs(&model, o.callbacks, o.verbose, &history);
  // steps < 0: a pass of unknown length per epoch (Keras' steps=None).
  cbs.set_params({{"epochs", o.epochs},
                  {"steps", steps >= 0 ? json(steps) : json(nullptr)},
                  {"verbose", o.verbose}});
  const int64_t max_steps = steps >= 0 ? steps : std::numeric_limits<int64_t>::max();
  Logs logs, epoch_logs;
  detail::InterruptGuard interrupt;  // Ctrl-C ends fit after the current batch
  cbs.each([&](auto& c) { c.on_train_begin(logs); });
  const ResumePoint resume = model.resume_from;
  const int first_epoch = resume.epoch >= 0 ? resume.epoch : o.initial_epoch;
  bool out_of_data = false;
  for (int epoch = first_epoch; epoch < o.epochs && !model.stop_training && !interrupt.requested();
       ++epoch) {
    reset_metrics();
    epoch_logs.clear();
    cbs.each([&](auto& c) { c.on_epoch_begin(epoch, epoch_logs); });
    for (int64_t step = 0; step < max_steps && !model.stop_training && !interrupt.requested();
         ++step) {
      if (epoch == resume.epoch && step < resume.batch) {  // trained before a restart
        if (!batch(epoch, step, true)) break;
        continue;
      }
      const int batch_index = static_cast<int>(step);
      cbs.each([&](auto& c) { c.on_train_batch_begin(batch_index, logs); });
      bool trained;
      {
        // fit reads the loss from the trackers (collect_logs), so the step does not read it.
        struct Defer {
          bool& flag;
          ~Defer() { flag = false; }
        } defer{defer_loss_read = true};
        trained = batch(epoch, step, false);
      }
      if (!trained) {
        if (steps < 0 && step > 0) break;  // the end of this epoch's pass
        // Keras: a dataset that ends before steps_per_epoch batches ends training.
        spdlog::warn("fit: your input ran out of data after {} of {} steps of epoch {}; "
                     "interrupting training (give a dataset that repeats, or fewer "
                     "steps_per_epoch)", step, steps, epoch + 1);
        out_of_data = true;
        break;
      }
      collect_logs(logs);
      cbs.each([&](auto& c) { c.on_train_batch_end(batch_index, logs); });
    }
    if (interrupt.requested() || out_of_data) break;  // a partial epoch has no epoch end
    collect_logs(epoch_logs);
    if (o.validation_freq > 0 && (epoch + 1 - o.initial_epoch) % o.validation_freq == 0)
      validate(epoch_logs);
    cbs.each([&](auto& c) { c.on_epoch_end(epoch, epoch_logs); });
  }
  // Keras' finalize_variable_values: with use_ema the averages become the weights.
  if (o.epochs > 0) optimizer->finalize_variable_values(trainable);
  history.interrupted = interrupt.requested();
  cbs.each([&](auto& c) { c.on_train_end(epoch_logs); });
  return history;
}

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
  Tensor w_in = o.sample_weight;
  check_sample_weight("fit", w_in, n_all);
  if (!o.class_weight.empty()) {
    if (w_in.defined())
      throw ConfigError("fit: class_weight and sample_weight cannot be used at the same time");
    if (y_in.size() != 1)
      throw ConfigError("fit: class_weight is only supported for models with a single output; "
                        "model \"" + name() + "\" has " + std::to_string(y_in.size()));
  }

  // Keras takes the validation split from the end, before shuffling.
  TensorList x = x_in, y = y_in, vx, vy;
  Tensor w = w_in, vw;
  if (o.validation_data) {
    vx = o.validation_data->x;
    vy = o.validation_data->y;
    vw = o.validation_data->sample_weight;
    check_sample_weight("fit: validation_data", vw, m.check_data(name(), vx, &vy));
  } else if (o.validation_split > 0) {
    const auto n_train = static_cast<int64_t>(std::floor(double(n_all) * (1 - o.validation_split)));
    if (n_train <= 0 || n_train >= n_all)
      throw ConfigError("fit: validation_split " + std::to_string(o.validation_split) + " of " +
                        std::to_string(n_all) + " samples leaves no training or validation data");
    vx = slice_all(x_in, n_train, n_all);
    vy = slice_all(y_in, n_train, n_all);
    x = slice_all(x_in, 0, n_train);
    y = slice_all(y_in, 0, n_train);
    if (w_in.defined()) {
      vw = w_in.slice(n_train, n_all);
      w = w_in.slice(0, n_train);
    }
  }
  // Class weights apply to the training samples only (Keras converts them in the training
  // data adapter, after the split).
  if (!o.class_weight.empty()) w = class_weight_to_sample_weight(y[0], o.class_weight);
  const int64_t n = x[0].dim(0);
  const int64_t bs = std::min<int64_t>(o.batch_size, n);
  const int64_t full_steps = (n + bs - 1) / bs;
  const int64_t steps = o.steps_per_epoch > 0 ? o.steps_per_epoch : full_steps;

  BatchOrder order(n, bs, o.shuffle, o.steps_per_epoch > 0, m.shuffle_seed);
  const datasets::Element data{x, y, w};
  const TensorList w_list = w.defined() ? TensorList(std::vector<Tensor>{w}) : TensorList();
  // On a GPU batch k+1 is gathered into pinned memory and uploaded while step k runs
  // (model/prefetcher.hpp); elsewhere batches are gathered into buffers the step reads.
  std::unique_ptr<detail::Prefetcher> pf;
  std::optional<BatchBuffers> xb, yb, wb;
  if (detail::prefetches(m.device) && detail::Prefetcher::accepts(data)) {
    pf = std::make_unique<detail::Prefetcher>(m.device);
  } else {
    xb.emplace(x, bs);
    yb.emplace(y, bs);
    wb.emplace(w_list, bs);
  }
  auto batch = [&](int epoch, int64_t step, bool skip) {
    if (!pf || skip || pf->empty()) {
      const auto [index, count] = order.next(epoch);
      if (skip) return true;
      if (!pf) {
        xb->gather(x, index, count);
        yb->gather(y, index, count);
        if (w.defined()) wb->gather(w_list, index, count);
        train_step(xb->views, yb->views, w.defined() ? &wb->views[0] : nullptr);
        return true;
      }
      pf->push_rows(data, index, count);
    }
    detail::Plan& p = m.plan(pf->rows());
    const datasets::Element& host = pf->pop(p);
    // run_fit's next call trains (epoch, step + 1), or the next epoch's first batch.
    const int next_epoch = step + 1 < steps ? epoch : epoch + 1;
    if (next_epoch < o.epochs) {
      const auto [index, count] = order.next(next_epoch);
      pf->push_rows(data, index, count);
    }
    m.train(p, host.y, host.sample_weight.defined() ? &host.sample_weight : nullptr);
    return true;
  };
  auto validate = [&](Logs& epoch_logs) {
    if (!vx.empty()) {
      EvaluateOptions eo;
      eo.batch_size = o.validation_batch_size > 0 ? o.validation_batch_size : o.batch_size;
      eo.verbose = 0;
      eo.sample_weight = vw;
      for (const auto& [k, v] : evaluate(vx, vy, eo)) epoch_logs["val_" + k] = v;
    } else if (o.validation_dataset) {
      EvaluateOptions eo;
      eo.verbose = 0;
      eo.steps = o.validation_steps;
      for (const auto& [k, v] : evaluate(*o.validation_dataset, eo)) epoch_logs["val_" + k] = v;
    }
  };
  return m.run_fit(*this, o, steps, batch, validate);
}

callbacks::History& Model::fit(const datasets::Dataset& data, const FitOptions& o) {
  Impl& m = *impl_;
  if (o.epochs < 0) throw ConfigError("fit: epochs must be >= 0, got " + std::to_string(o.epochs));
  if (o.validation_split > 0 || o.validation_data || o.sample_weight.defined())
    throw ConfigError("fit: validation_split, validation_data and sample_weight do not apply to "
                      "a Dataset (give validation_dataset, and sample weights in the dataset)");
  const int64_t cardinality = data.cardinality();
  if (cardinality == datasets::Dataset::kInfinite && o.steps_per_epoch <= 0)
    throw ConfigError("fit: the dataset repeats forever; give steps_per_epoch");
  // Without steps_per_epoch each epoch is a full pass (its length known after the first when
  // the cardinality is unknown); with it, one pass continues across epochs, as in Keras.
  const int64_t steps = o.steps_per_epoch > 0 ? o.steps_per_epoch : cardinality;
  datasets::Dataset::Iterator it;
  datasets::Element el;                // the element fetched last
  bool started = false, exhausted = false;
  bool fetched = false;  // el was fetched ahead (and queued in pf when pf took it)
  int last_epoch = -1;
  // On a GPU the next element is fetched and uploaded while the current step runs
  // (model/prefetcher.hpp).
  std::unique_ptr<detail::Prefetcher> pf;
  if (detail::prefetches(m.device)) pf = std::make_unique<detail::Prefetcher>(m.device);
  auto fetch = [&] {
    if (exhausted || !it.next(el)) exhausted = true;
    return !exhausted;
  };
  // Checks el against the model (building it from the first one) and turns class weights
  // into its sample weights.
  auto prepare = [&] {
    ensure_graph(el.x);
    m.require_compiled(name(), "fit");
    m.finish_compile(name());
    const int64_t n = m.check_data(name(), el.x, &el.y);
    check_sample_weight("fit", el.sample_weight, n);
    if (!o.class_weight.empty()) {
      if (el.sample_weight.defined())
        throw ConfigError("fit: class_weight and sample_weight cannot be used at the same time");
      el.sample_weight = class_weight_to_sample_weight(el.y[0], o.class_weight);
    }
  };
  auto batch = [&](int epoch, int64_t step, bool skip) {
    if (!started || (o.steps_per_epoch <= 0 && epoch != last_epoch)) {
      it = data.iterate();
      started = true;
      exhausted = false;
      fetched = false;
    }
    last_epoch = epoch;
    if (!fetched && !fetch()) return false;
    fetched = false;
    if (skip) return true;
    if (pf && pf->empty() && detail::Prefetcher::accepts(el)) {
      prepare();
      pf->push(el);
    }
    if (!pf || pf->empty()) {  // not prefetched: arrays already on the device, or the CPU
      prepare();
      train_step(el.x, el.y, el.sample_weight.defined() ? &el.sample_weight : nullptr);
      return true;
    }
    detail::Plan& p = m.plan(pf->rows());
    const datasets::Element& host = pf->pop(p);
    // Fetch run_fit's next element now when it comes from this pass (not from a fresh one at
    // the next epoch), so that it travels during this step.
    const bool next_in_pass = o.steps_per_epoch > 0 || steps < 0 || step + 1 < steps;
    const bool last = steps > 0 && step + 1 >= steps && epoch + 1 >= o.epochs;
    if (next_in_pass && !last && fetch()) {
      fetched = true;
      if (detail::Prefetcher::accepts(el)) {
        prepare();
        pf->push(el);
      }
    }
    m.train(p, host.y, host.sample_weight.defined() ? &host.sample_weight : nullptr);
    return true;
  };
  auto validate = [&](Logs& epoch_logs) {
    if (!o.validation_dataset) return;
    EvaluateOptions eo;
    eo.verbose = 0;
    eo.steps = o.validation_steps;
    for (const auto& [k, v] : evaluate(*o.validation_dataset, eo)) epoch_logs["val_" + k] = v;
  };
  // An unknown number of batches per epoch: a full pass, however long; the end of the data
  // then ends the epoch, not training.
  const bool pass_per_epoch = o.steps_per_epoch <= 0 && cardinality < 0;
  return m.run_fit(*this, o, pass_per_epoch ? -1 : steps, batch, validate);
}

Logs Model::evaluate(const TensorList& x, const TensorList& y, const EvaluateOptions& o) {
  impl_->place_weights();  // weights built or loaded since Model::to follow the model
  ensure_graph(x);
  Impl& m = *impl_;
  m.require_compiled(name(), "evaluate");
  m.finish_compile(name());
  if (o.batch_size <= 0)
    throw ConfigError("evaluate: batch_size must be >= 1, got " + std::to_string(o.batch_size));
  const int64_t n = m.check_data(name(), x, &y);
  check_sample_weight("evaluate", o.sample_weight, n);
  const int64_t bs = std::min<int64_t>(o.batch_size, n);
  const int64_t steps = (n + bs - 1) / bs;
  CallbackList cbs(this, o.callbacks, o.verbose, nullptr);
  cbs.set_params({{"epochs", 1}, {"steps", steps}, {"verbose", o.verbose}});
  m.reset_metrics();
  Logs logs;
  cbs.each([&](auto& c) { c.on_test_begin(logs); });
  auto before = [&](int s) { cbs.each([&](auto& c) { c.on_test_batch_begin(s, logs); }); };
  const double penalty = m.regularization_penalty();  // the weights do not change here
  const datasets::Element data{x, y, o.sample_weight};
  m.forward_batches(data, n, bs, before, [&](int s, int64_t b, int64_t e, detail::Plan& p) {
    const Tensor w = o.sample_weight.defined() ? o.sample_weight.slice(b, e) : Tensor();
    m.loss_and_metrics(p, slice_all(y, b, e), false, w.defined() ? &w : nullptr,
                       penalty + p.activity_penalty(), 1.f, false);
    m.collect_logs(logs);
    cbs.each([&](auto& c) { c.on_test_batch_end(s, logs); });
  });
  cbs.each([&](auto& c) { c.on_test_end(logs); });
  return logs;
}

TensorList Model::predict(const TensorList& x, const PredictOptions& o) {
  impl_->place_weights();  // weights built or loaded since Model::to follow the model
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
  m.forward_batches({x, {}, {}}, n, bs, before, [&](int s, int64_t b, int64_t e, detail::Plan& p) {
    for (size_t k = 0; k < out.size(); ++k) {
      Tensor dst = out[k].slice(b, e);
      dst.copy_from(p.output(k));  // from the model's device
    }
    cbs.each([&](auto& c) { c.on_predict_batch_end(s, logs); });
  });
  cbs.each([&](auto& c) { c.on_predict_end(logs); });
  return out;
}

Logs Model::evaluate(const datasets::Dataset& data, const EvaluateOptions& o) {
  impl_->place_weights();  // weights built or loaded since Model::to follow the model
  Impl& m = *impl_;
  if (o.steps <= 0 && data.cardinality() == datasets::Dataset::kInfinite)
    throw ConfigError("evaluate: the dataset repeats forever; give steps");
  const int64_t card = data.cardinality();
  const int64_t steps = o.steps > 0 ? o.steps : card;
  CallbackList cbs(this, o.callbacks, o.verbose, nullptr);
  cbs.set_params({{"epochs", 1}, {"steps", steps >= 0 ? json(steps) : json(nullptr)},
                  {"verbose", o.verbose}});
  Logs logs;
  cbs.each([&](auto& c) { c.on_test_begin(logs); });
  auto it = data.iterate();
  datasets::Element el;
  double penalty = 0;
  // On a GPU the next element is fetched and uploaded while this one is evaluated.
  std::unique_ptr<detail::Prefetcher> pf;
  if (detail::prefetches(m.device)) pf = std::make_unique<detail::Prefetcher>(m.device);
  const auto fetch = [&](int s) { return (o.steps <= 0 || s < o.steps) && it.next(el); };
  bool more = fetch(0);
  for (int s = 0; more; ++s) {
    cbs.each([&](auto& c) { c.on_test_batch_begin(s, logs); });
    ensure_graph(el.x);
    if (s == 0) {
      m.require_compiled(name(), "evaluate");
      m.finish_compile(name());
      m.reset_metrics();
      penalty = m.regularization_penalty();
    }
    const int64_t n = m.check_data(name(), el.x, &el.y);
    check_sample_weight("evaluate", el.sample_weight, n);
    detail::Plan& p = m.plan(n);
    if (pf && (!pf->empty() || detail::Prefetcher::accepts(el))) {
      if (pf->empty()) pf->push(el);
      const datasets::Element& host = pf->pop(p);
      more = fetch(s + 1);  // checked at its own step, as without prefetching
      if (more && detail::Prefetcher::accepts(el)) pf->push(el);
      p.forward(false, m.step);
      m.loss_and_metrics(p, host.y, false,
                         host.sample_weight.defined() ? &host.sample_weight : nullptr,
                         penalty + p.activity_penalty(), 1.f, false);
    } else {
      for (size_t k = 0; k < el.x.size(); ++k) p.bind_input(k, el.x[k]);
      p.forward(false, m.step);
      m.loss_and_metrics(p, el.y, false, el.sample_weight.defined() ? &el.sample_weight : nullptr,
                         penalty + p.activity_penalty(), 1.f, false);
      more = fetch(s + 1);
    }
    m.collect_logs(logs);
    cbs.each([&](auto& c) { c.on_test_batch_end(s, logs); });
  }
  cbs.each([&](auto& c) { c.on_test_end(logs); });
  return logs;
}

TensorList Model::predict(const datasets::Dataset& data, const PredictOptions& o) {
  impl_->place_weights();  // weights built or loaded since Model::to follow the model
  if (o.steps <= 0 && data.cardinality() == datasets::Dataset::kInfinite)
    throw ConfigError("predict: the dataset repeats forever; give steps");
  CallbackList cbs(this, o.callbacks, o.verbose, nullptr);
  const int64_t steps = o.steps > 0 ? o.steps : data.cardinality();
  cbs.set_params({{"epochs", 1}, {"steps", steps >= 0 ? json(steps) : json(nullptr)},
                  {"verbose", o.verbose}});
  Logs logs;
  cbs.each([&](auto& c) { c.on_predict_begin(logs); });
  std::vector<std::vector<Tensor>> batches;  // per output
  int64_t total = 0;
  auto it = data.iterate();
  datasets::Element el;
  for (int s = 0; (o.steps <= 0 || s < o.steps) && it.next(el); ++s) {
    cbs.each([&](auto& c) { c.on_predict_batch_begin(s, logs); });
    TensorList out = predict_on_batch(el.x);
    batches.resize(out.size());
    for (size_t k = 0; k < out.size(); ++k) batches[k].push_back(out[k]);
    total += out[0].dim(0);
    cbs.each([&](auto& c) { c.on_predict_batch_end(s, logs); });
  }
  std::vector<Tensor> result;
  for (const auto& parts : batches) {
    Tensor all(parts[0].shape().with_batch(total));
    int64_t row = 0;
    for (const Tensor& part : parts) {
      Tensor dst = all.slice(row, row + part.dim(0));
      ops::copy(part, dst);
      row += part.dim(0);
    }
    result.push_back(all);
  }
  cbs.each([&](auto& c) { c.on_predict_end(logs); });
  return result;
}

std::vector<std::string> Model::metrics_names() const {
  const Impl& m = *impl_;
  std::vector<std::string> names{"loss"};
  if (m.output_loss_trackers.size() > 1)
    for (const auto& t : m.output_loss_trackers) names.push_back(t.name());
  for (const auto& ms : m.metrics)
    for (const auto& metric : ms) names.push_back(metric->name());
  return names;
}

std::vector<double> Model::evaluate_values(const TensorList& x, const TensorList& y,
                                           const EvaluateOptions& o) {
  const Logs logs = evaluate(x, y, o);
  std::vector<double> out;
  for (const auto& key : metrics_names()) out.push_back(logs.at(key));
  return out;
}

}  // namespace fitrun
