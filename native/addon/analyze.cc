// startAnalysis(jobs, options, onEvent) -> { cancel() }: runs the engine on its own thread and streams
// events back through one thread-safe function: {type:'result', ...}, {type:'progress', ...} and finally
// {type:'done', error?}. Job specs are validated here on the JS thread, before the thread starts.
#include <cmath>
#include <memory>
#include <thread>

#include "addon.hpp"
#include "checkpoint_handle.hpp"
#include "paramscope/engine.hpp"
#include "paramscope/error.hpp"
#include "result_to_js.hpp"

namespace paramscope::addon {

namespace {

struct Analysis {
  std::atomic<bool> cancel{false};
  std::thread thread;
  Napi::ThreadSafeFunction events;
};

// A tensor of an open checkpoint, resolved from {checkpoint, tensor}.
struct TensorRef {
  std::shared_ptr<const Checkpoint> checkpoint;
  CheckpointTensor tensor;
  MatrixShape shape;
};

TensorRef tensor_ref(Napi::Env env, Napi::Value spec, const std::string& what) {
  if (!spec.IsObject()) throw argument_error(env, what + " must be {checkpoint, tensor}");
  Napi::Object o = spec.As<Napi::Object>();
  TensorRef ref;
  ref.checkpoint = checkpoint_of(env, o.Get("checkpoint"));
  if (!o.Get("tensor").IsString()) throw argument_error(env, what + ".tensor must be a string");
  std::string name = o.Get("tensor").As<Napi::String>();
  ref.tensor = guarded(env, [&] { return ref.checkpoint->get(name); });
  if (!dtype_info(ref.tensor.info->dtype).decodable)
    throw to_js_error(env, std::make_exception_ptr(Error(ErrorCode::UNSUPPORTED_DTYPE,
        "tensor \"" + name + "\" has dtype " + std::string(dtype_info(ref.tensor.info->dtype).name) + ", which cannot be analysed",
        ref.checkpoint->shards()[ref.tensor.shard]->path(), name)));
  ref.shape = matrix_shape(*ref.tensor.info);
  return ref;
}

uint64_t uint_field(Napi::Env env, Napi::Object o, const char* key, const std::string& what) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0)
    throw argument_error(env, what + "." + key + " must be a non-negative number");
  return static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue());
}

// Machine epsilon of a stored float format (2^(1-p), p significand bits with the implicit one): the
// precision the numerical-rank threshold is scaled by.
double storage_epsilon(DType dtype) {
  switch (dtype) {
    case DType::BF16: return 0x1.0p-7;
    case DType::F16: return 0x1.0p-10;
    case DType::F64: return 0x1.0p-52;
    case DType::F8_E4M3: case DType::F8_E4M3FNUZ: return 0x1.0p-3;
    case DType::F8_E5M2: case DType::F8_E5M2FNUZ: return 0x1.0p-2;
    case DType::F8_E8M0: return 1.0;
    default: return 0x1.0p-23;
  }
}

std::function<void()> prefetch_tensor(const TensorRef& ref) {
  const auto& shard = ref.checkpoint->shards()[ref.tensor.shard];
  return prefetch_range(shard->shared_file(), shard->absolute_offset(*ref.tensor.info), ref.tensor.info->byte_size());
}

MatrixJob make_job(Napi::Env env, Napi::Object spec, size_t index) {
  std::string what = "jobs[" + std::to_string(index) + "]";
  MatrixJob job;
  if (!spec.Get("name").IsString()) throw argument_error(env, what + ".name must be a string");
  job.name = spec.Get("name").As<Napi::String>();
  std::string kind = spec.Get("kind").IsString() ? spec.Get("kind").As<Napi::String>().Utf8Value() : "";
  if (kind == "dense") {
    TensorRef ref = tensor_ref(env, spec.Get("source"), what + ".source");
    job.stored_bytes = ref.tensor.info->byte_size();
    job.prefetch = prefetch_tensor(ref);
    DType dtype = ref.tensor.info->dtype;
    job.metrics_options = [dtype](const LinearOperator& op, const Spectrum& spectrum) {
      MetricsOptions m;
      m.dtype_epsilon = storage_epsilon(dtype);
      // The rounding noise of the stored values: measured (Σ ulp²/12) when a pass over all rows recorded
      // it, else modelled from their rms.
      const double entries = double(op.rows()) * double(op.cols()), measured = static_cast<const DenseOp&>(op).rounding_energy();
      if (entries > 0) m.noise_sigma = measured >= 0 ? std::sqrt(measured / entries) : rounding_noise_sigma(dtype, std::sqrt(spectrum.frobenius_squared / entries));
      return m;
    };
    job.make_operator = [ref, label = job.name] {
      auto op = std::make_unique<DenseOp>(ref.shape.rows, ref.shape.cols, checkpoint_row_source(ref.checkpoint, ref.tensor));
      op->set_storage_format(storage_format(ref.tensor.info->dtype));
      op->set_label("tensor " + label);
      return op;
    };
  } else if (kind == "diff") {
    TensorRef tuned = tensor_ref(env, spec.Get("tuned"), what + ".tuned");
    TensorRef base = tensor_ref(env, spec.Get("base"), what + ".base");
    // Rows shared by both (a resized vocabulary compares only the common rows).
    uint64_t rows = spec.Get("rows").IsNumber() ? uint_field(env, spec, "rows", what) : tuned.shape.rows;
    if (tuned.shape.cols != base.shape.cols || rows > tuned.shape.rows || rows > base.shape.rows)
      throw to_js_error(env, std::make_exception_ptr(Error(ErrorCode::SHAPE_MISMATCH,
          "cannot subtract \"" + base.tensor.info->name + "\" [" + std::to_string(base.shape.rows) + " x " + std::to_string(base.shape.cols) +
          "] from \"" + tuned.tensor.info->name + "\" [" + std::to_string(tuned.shape.rows) + " x " + std::to_string(tuned.shape.cols) + "]",
          tuned.checkpoint->path(), tuned.tensor.info->name)));
    job.stored_bytes = tuned.tensor.info->byte_size() + base.tensor.info->byte_size();
    auto prefetch_tuned = prefetch_tensor(tuned), prefetch_base = prefetch_tensor(base);
    job.prefetch = [prefetch_tuned, prefetch_base] {
      if (prefetch_tuned) prefetch_tuned();
      if (prefetch_base) prefetch_base();
    };
    DType tuned_dtype = tuned.tensor.info->dtype, base_dtype = base.tensor.info->dtype;
    job.metrics_options = [tuned_dtype, base_dtype](const LinearOperator& op, const Spectrum&) {
      MetricsOptions m;
      m.dtype_epsilon = std::max(storage_epsilon(tuned_dtype), storage_epsilon(base_dtype));
      // Storage noise of a difference: the rounding of each stored operand, independent, so the variances
      // add (conservative when the base was stored exactly and only the tuned side was rounded). Each
      // side's variance is Σ ulp²/12 over its stored values, read from their exponents.
      DiffOp::OperandNorms norms = static_cast<const DiffOp&>(op).operand_norms(RunControl{});
      double entries = double(op.rows()) * double(op.cols());
      if (entries > 0 && norms.tuned_rounding_energy >= 0 && norms.base_rounding_energy >= 0) {
        m.noise_sigma = std::sqrt((norms.tuned_rounding_energy + norms.base_rounding_energy) / entries);
      } else if (entries > 0) {
        double tuned_noise = rounding_noise_sigma(tuned_dtype, std::sqrt(norms.tuned_squared / entries));
        double base_noise = rounding_noise_sigma(base_dtype, std::sqrt(norms.base_squared / entries));
        m.noise_sigma = std::sqrt(tuned_noise * tuned_noise + base_noise * base_noise);
      }
      return m;
    };
    job.make_operator = [tuned, base, rows, label = job.name] {
      auto op = std::make_unique<DiffOp>(rows, tuned.shape.cols, checkpoint_row_source(tuned.checkpoint, tuned.tensor),
                                         checkpoint_row_source(base.checkpoint, base.tensor));
      op->set_storage_formats(storage_format(tuned.tensor.info->dtype), storage_format(base.tensor.info->dtype));
      op->set_label("update of " + label);
      return op;
    };
  } else if (kind == "lowrank") {
    uint64_t rows = uint_field(env, spec, "rows", what), cols = uint_field(env, spec, "cols", what),
             rank = uint_field(env, spec, "rank", what);
    Napi::Value b = spec.Get("b"), a = spec.Get("a");
    if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        !a.IsTypedArray() || a.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw argument_error(env, what + ".a and .b must be Float32Arrays");
    auto bf = b.As<Napi::Float32Array>(), af = a.As<Napi::Float32Array>();
    if (bf.ElementLength() != rows * rank || af.ElementLength() != rank * cols)
      throw argument_error(env, what + ": b must hold rows x rank and a rank x cols values");
    double scale = spec.Get("scale").IsNumber() ? spec.Get("scale").As<Napi::Number>().DoubleValue() : 1.0;
    auto factors = std::make_shared<std::pair<std::vector<float>, std::vector<float>>>(
        std::vector<float>(bf.Data(), bf.Data() + bf.ElementLength()), std::vector<float>(af.Data(), af.Data() + af.ElementLength()));
    job.stored_bytes = (bf.ElementLength() + af.ElementLength()) * sizeof(float);
    job.make_operator = [factors, rows, cols, rank, scale, label = job.name] {
      auto op = std::make_unique<LowRankOp>(rows, cols, rank, factors->first.data(), factors->second.data(), scale);
      op->set_label("low-rank update " + label);
      return op;
    };
  } else {
    throw argument_error(env, what + ".kind must be 'dense', 'diff' or 'lowrank'");
  }
  if (spec.Get("vectors").IsBoolean()) job.vectors = spec.Get("vectors").As<Napi::Boolean>().Value();
  return job;
}

EngineOptions parse_options(Napi::Env env, Napi::Value value) {
  EngineOptions options;
  if (!value.IsObject()) return options;
  Napi::Object o = value.As<Napi::Object>();
  auto number = [&](const char* key, double fallback) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
  };
  std::string mode = o.Get("mode").IsString() ? o.Get("mode").As<Napi::String>().Utf8Value() : "exact";
  options.mode = mode == "truncated" ? SpectrumMode::Truncated : SpectrumMode::Exact;
  options.truncated.rank = static_cast<uint64_t>(number("rank", 64));
  options.truncated.oversampling = static_cast<uint64_t>(number("oversampling", 10));
  options.truncated.power_iterations = static_cast<uint32_t>(number("powerIterations", 2));
  options.truncated.tolerance = number("tolerance", 0);
  options.truncated.max_iterations = static_cast<uint32_t>(number("maxIterations", 50));
  options.truncated.seed = static_cast<uint64_t>(number("seed", 0x5EED));
  std::string precision = o.Get("precision").IsString() ? o.Get("precision").As<Napi::String>().Utf8Value() : "f32";
  options.truncated.single_precision = precision != "f64";
  bool vectors = o.Get("vectors").IsBoolean() && o.Get("vectors").As<Napi::Boolean>().Value();
  options.truncated.vectors = vectors;
  options.exact.vectors = vectors;
  std::string route = o.Get("exactRoute").IsString() ? o.Get("exactRoute").As<Napi::String>().Utf8Value() : "auto";
  options.exact.route = route == "gram" ? ExactRoute::Gram : route == "direct" ? ExactRoute::Direct : ExactRoute::Auto;
  options.memory_budget = static_cast<uint64_t>(number("memoryBudget", double(config::kDefaultMemoryBudget)));
  options.threads = static_cast<int>(number("threads", 0));
  options.lanes = static_cast<int>(number("parallelMatrices", 0));
  return options;
}

// Data carried from the engine thread to the JS thread, one event at a time.
struct Event {
  enum Kind { Result, Progress, Done } kind;
  JobResult result;
  EngineProgress progress;
  CapturedError error;
};

void deliver(Napi::Env env, Napi::Function on_event, Event* event) {
  std::unique_ptr<Event> owned(event);
  if (env == nullptr) return;  // environment shutting down
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
  for (uint32_t i = 0; i < specs.Length(); ++i) {
    Napi::Value spec = specs.Get(i);
    if (!spec.IsObject()) throw argument_error(env, "startAnalysis: jobs[" + std::to_string(i) + "] must be an object");
    jobs->push_back(make_job(env, spec.As<Napi::Object>(), i));
  }
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
    auto* done = new Event{Event::Done, {}, {}, {}};
    try {
      run_engine(*jobs, options, callbacks, analysis->cancel);
    } catch (...) {
      done->error.capture(std::current_exception());
    }
    jobs->clear();  // release checkpoints before telling JS we are done
    send(done);
    analysis->events.Release();
  });
  analysis->thread.detach();  // it owns `analysis` and ends after its last event

  Napi::FunctionReference& constructor = instance(env).analysis_constructor;
  if (constructor.IsEmpty()) constructor = Napi::Persistent(AnalysisHandle::define(env));
  Napi::Object handle = constructor.New({});
  AnalysisHandle::Unwrap(handle)->attach(analysis);
  return handle;
}

}  // namespace

void register_analysis(Napi::Env env, Napi::Object exports) {
  exports.Set("startAnalysis", Napi::Function::New(env, start_analysis, "startAnalysis"));
}

}  // namespace paramscope::addon
