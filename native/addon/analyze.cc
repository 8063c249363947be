// startAnalysis(jobs, options, onEvent) -> { cancel() }: runs the engine on its own thread and streams
// events back through one thread-safe function: {type:'result', ...}, {type:'progress', ...} and finally
// {type:'done', error?}. Job specs are converted (and the core validates them) here on the JS thread,
// before the engine thread starts.
#include <algorithm>
#include <climits>
#include <memory>
#include <thread>

#include "addon.hpp"
#include "checkpoint_handle.hpp"
#include "fields.hpp"
#include "paramscope/engine.hpp"
#include "paramscope/jobs.hpp"
#include "result_to_js.hpp"

namespace paramscope::addon {

namespace {

// One running analysis. Its engine thread is joined, never detached: either on the JS thread when its
// last event arrives, or by an environment cleanup hook when the environment ends first (a worker_thread
// terminated mid-analysis). The hook runs before N-API tears down the thread-safe function (cleanup hooks
// run in reverse order of registration), so the thread never calls into a freed function.
struct Analysis {
  std::atomic<bool> cancel{false};
  std::thread thread;
  Napi::ThreadSafeFunction events;
  std::shared_ptr<Analysis> self;  // keeps the analysis alive while its cleanup hook is registered

  static void on_environment_teardown(void* arg) {
    auto* analysis = static_cast<Analysis*>(arg);
    std::shared_ptr<Analysis> keep = std::move(analysis->self);
    analysis->cancel.store(true);
    if (analysis->thread.joinable()) analysis->thread.join();
  }
  // On the JS thread, after the last event: the thread is about to return.
  void finish(Napi::Env env) {
    napi_remove_env_cleanup_hook(env, on_environment_teardown, this);
    std::shared_ptr<Analysis> keep = std::move(self);
    if (thread.joinable()) thread.join();
  }
};

// {checkpoint, tensor} and, for the layouts of docs/formats.md, {encoding, scale, blockRows, blockCols,
// expert, transpose, rowOffset, rowStride, rowCount} (NativeTensorRef in lib/engine/binding.ts).
TensorRef tensor_ref(Napi::Env env, const Fields& spec) {
  TensorRef ref;
  ref.checkpoint = checkpoint_of(env, spec.raw("checkpoint"));
  ref.tensor = spec.text("tensor");
  if (!spec.raw("encoding").IsUndefined()) {
    const std::string encoding = spec.choice("encoding", {"plain", "scaled", "mxfp4"});
    ref.encoding = encoding == "scaled" ? Encoding::Scaled : encoding == "mxfp4" ? Encoding::Mxfp4 : Encoding::Plain;
  }
  if (ref.encoding != Encoding::Plain) {
    ref.scale = spec.text("scale");
    ref.block_rows = spec.count("blockRows");
    ref.block_cols = spec.count("blockCols");
  }
  ref.expert = spec.optional_count("expert");
  ref.transpose = spec.optional_flag("transpose").value_or(false);
  ref.row_offset = spec.optional_count("rowOffset").value_or(0);
  ref.row_stride = spec.optional_count("rowStride").value_or(1);
  ref.row_count = spec.optional_count("rowCount");
  return ref;
}

std::vector<float> float_values(const Fields& spec, const char* key) {
  Napi::Value v = spec.raw(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw spec.error(std::string(key) + " must be a Float32Array");
  auto array = v.As<Napi::Float32Array>();
  return std::vector<float>(array.Data(), array.Data() + array.ElementLength());
}

// A job spec as lib/engine/ sends it: {kind, name, vectors?, ...} (NativeJobSpec in lib/engine/binding.ts).
MatrixJob make_job(Napi::Env env, Napi::Value value, size_t index) {
  const Fields spec(env, value, "jobs[" + std::to_string(index) + "]");
  const std::string kind = spec.choice("kind", {"dense", "diff", "lowrank"});
  const std::string name = spec.text("name");
  const std::optional<bool> vectors = spec.optional_flag("vectors");
  if (kind == "dense") {
    DenseJobSpec dense{name, tensor_ref(env, spec.object("source")), vectors};
    return guarded(env, [&] { return dense_job(dense); });
  }
  if (kind == "diff") {
    DifferenceJobSpec difference{name, tensor_ref(env, spec.object("tuned")), tensor_ref(env, spec.object("base")), spec.optional_count("rows"), vectors};
    return guarded(env, [&] { return difference_job(difference); });
  }
  LowRankJobSpec low_rank{name, spec.count("rows"), spec.count("cols"), spec.count("rank"), float_values(spec, "b"), float_values(spec, "a"),
                          spec.number("scale"), vectors};
  return guarded(env, [&] { return low_rank_job(std::move(low_rank)); });
}

// Engine options as lib/engine/ sends them: every field present (NativeEngineOptions in binding.ts).
EngineOptions parse_options(Napi::Env env, Napi::Value value) {
  const Fields o(env, value, "options");
  EngineOptions options;
  options.mode = o.choice("mode", {"exact", "truncated"}) == "truncated" ? SpectrumMode::Truncated : SpectrumMode::Exact;
  options.truncated.rank = o.count("rank");
  options.truncated.oversampling = o.count("oversampling");
  options.truncated.power_iterations = static_cast<uint32_t>(std::min<uint64_t>(o.count("powerIterations"), UINT32_MAX));
  options.truncated.tolerance = o.number("tolerance");
  options.truncated.max_iterations = static_cast<uint32_t>(std::min<uint64_t>(o.count("maxIterations"), UINT32_MAX));
  options.truncated.seed = o.count("seed");
  options.truncated.single_precision = o.choice("precision", {"f32", "f64"}) == "f32";
  options.truncated.vectors = options.exact.vectors = o.flag("vectors");
  const std::string route = o.choice("exactRoute", {"auto", "gram", "direct"});
  options.exact.route = route == "gram" ? ExactRoute::Gram : route == "direct" ? ExactRoute::Direct : ExactRoute::Auto;
  options.memory_budget = o.count("memoryBudget");
  const std::string backend = o.choice("backend", {"auto", "cpu", "cuda"});
  options.backend = backend == "cpu" ? BackendChoice::Cpu : backend == "cuda" ? BackendChoice::Cuda : BackendChoice::Auto;
  options.device_memory_budget = o.count("deviceMemoryBudget");
  options.threads = static_cast<int>(std::min<uint64_t>(o.count("threads"), 4096));
  options.lanes = static_cast<int>(std::min<uint64_t>(o.count("parallelMatrices"), 4096));
  return options;
}

// Data carried from the engine thread to the JS thread, one event at a time.
struct Event {
  enum Kind { Result, Progress, Done } kind;
  JobResult result;
  EngineProgress progress;
  CapturedError error;
  Analysis* analysis = nullptr;  // set on Done
};

void deliver(Napi::Env env, Napi::Function on_event, Event* event) {
  std::unique_ptr<Event> owned(event);
  if (env == nullptr) return;  // environment shutting down: the cleanup hook joined the thread
  if (event->kind == Event::Done) event->analysis->finish(env);
  Napi::Object out = Napi::Object::New(env);
  switch (event->kind) {
    case Event::Result:
      out.Set("type", "result");
      out.Set("result", result_to_js(env, event->result));
      break;
    case Event::Progress: {
      const EngineProgress& p = event->progress;
      out.Set("type", "progress");
      out.Set("jobsDone", static_cast<double>(p.jobs_done));
      out.Set("jobsTotal", static_cast<double>(p.jobs_total));
      out.Set("bytesDone", static_cast<double>(p.bytes_done));
      out.Set("bytesTotal", static_cast<double>(p.bytes_total));
      out.Set("flopsDone", p.flops_done);
      out.Set("current", p.current);
      break;
    }
    case Event::Done:
      out.Set("type", "done");
      if (event->error.set) out.Set("error", event->error.to_js(env).Value());
      break;
  }
  on_event.Call({out});
}

class AnalysisHandle : public Napi::ObjectWrap<AnalysisHandle> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeAnalysis", {InstanceMethod("cancel", &AnalysisHandle::cancel)});
  }
  explicit AnalysisHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AnalysisHandle>(info) {}
  void attach(std::shared_ptr<Analysis> analysis) { analysis_ = std::move(analysis); }

 private:
  Napi::Value cancel(const Napi::CallbackInfo& info) {
    if (analysis_) analysis_->cancel.store(true);
    return info.Env().Undefined();
  }
  std::shared_ptr<Analysis> analysis_;
};

Napi::Value start_analysis(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw argument_error(env, "startAnalysis: jobs must be an array");
  if (!info[2].IsFunction()) throw argument_error(env, "startAnalysis: onEvent must be a function");
  Napi::Array specs = info[0].As<Napi::Array>();
  auto jobs = std::make_shared<std::vector<MatrixJob>>();
  for (uint32_t i = 0; i < specs.Length(); ++i) jobs->push_back(make_job(env, specs.Get(i), i));
  EngineOptions options = parse_options(env, info[1]);

  auto analysis = std::make_shared<Analysis>();
  analysis->events = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "paramscope.analysis", 0, 1);
  analysis->thread = std::thread([analysis, jobs, options] {
    auto send = [&](Event* event) {
      if (analysis->events.BlockingCall(event, deliver) != napi_ok) delete event;
    };
    EngineCallbacks callbacks;
    callbacks.on_result = [&](JobResult&& result) {
      auto* event = new Event{Event::Result, std::move(result), {}, {}};
      send(event);
    };
    callbacks.on_progress = [&](const EngineProgress& progress) {
      send(new Event{Event::Progress, {}, progress, {}});
    };
    auto* done = new Event{Event::Done, {}, {}, {}, analysis.get()};
    try {
      run_engine(*jobs, options, callbacks, analysis->cancel);
    } catch (...) {
      done->error.capture(std::current_exception());
    }
    jobs->clear();  // release checkpoints before telling JS we are done
    send(done);
    analysis->events.Release();
  });
  analysis->self = analysis;
  napi_add_env_cleanup_hook(env, Analysis::on_environment_teardown, analysis.get());

  Napi::FunctionReference& constructor = instance(env).analysis_constructor;
  if (constructor.IsEmpty()) constructor = Napi::Persistent(AnalysisHandle::define(env));
  Napi::Object handle = constructor.New({});
  AnalysisHandle::Unwrap(handle)->attach(analysis);
  return handle;
}

// laneCount(options, jobs): how many matrices the engine computes at once for `jobs` jobs (lane_count).
Napi::Value lane_count_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EngineOptions options = parse_options(env, info[0]);
  if (!info[1].IsNumber() || info[1].As<Napi::Number>().DoubleValue() < 0) throw argument_error(env, "laneCount: jobs must be a non-negative number");
  return Napi::Number::New(env, lane_count(options, static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue())));
}

}  // namespace

void register_analysis(Napi::Env env, Napi::Object exports) {
  exports.Set("startAnalysis", Napi::Function::New(env, start_analysis, "startAnalysis"));
  exports.Set("laneCount", Napi::Function::New(env, lane_count_js, "laneCount"));
}

}  // namespace paramscope::addon
