// The Checkpoint object exposed to JS: open (async or sync), describe, read tensors (async or sync),
// close. Reads decode on a libuv worker thread into an ArrayBuffer allocated beforehand on the JS thread.
#include <cstring>
#include <memory>

#include "addon.hpp"
#include "checkpoint_handle.hpp"
#include "paramscope/checkpoint.hpp"
#include "paramscope/error.hpp"

namespace paramscope::addon {

namespace {

const char* kind_name(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::File: return "file";
    case CheckpointKind::Directory: return "directory";
    case CheckpointKind::Index: return "index";
  }
  return "file";
}

Checkpoint::Options parse_open_options(const Napi::CallbackInfo& info) {
  Checkpoint::Options options;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Value mmap = info[1].As<Napi::Object>().Get("mmap"), follow_links = info[1].As<Napi::Object>().Get("followLinks");
    if (mmap.IsBoolean()) options.use_mmap = mmap.As<Napi::Boolean>().Value();
    if (follow_links.IsBoolean()) options.follow_links = follow_links.As<Napi::Boolean>().Value();
  }
  return options;
}

enum class ReadMode { F32, Raw };

struct ReadRequest {
  std::shared_ptr<const Checkpoint> checkpoint;
  CheckpointTensor tensor;
  RowRange rows;
  ReadMode mode;
  Checkpoint::ByteRange range;
  // A zero-copy read: a private mapping of the bytes, served as they are. Writes into it stay in it.
  std::shared_ptr<MappedView> zero_copy;
};

// Finalizer for zero-copy ArrayBuffers: each view's mapping lives as long as the view.
void release_view(Napi::Env, void*, std::shared_ptr<MappedView>* hint) { delete hint; }

class CheckpointWrap : public Napi::ObjectWrap<CheckpointWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeCheckpoint",
                       {InstanceMethod("describe", &CheckpointWrap::describe),
                        InstanceMethod("read", &CheckpointWrap::read),
                        InstanceMethod("readSync", &CheckpointWrap::read_sync),
                        InstanceMethod("close", &CheckpointWrap::close)});
  }

  explicit CheckpointWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CheckpointWrap>(info) {}

  void attach(std::shared_ptr<const Checkpoint> checkpoint) { checkpoint_ = std::move(checkpoint); }
  const std::shared_ptr<const Checkpoint>& checkpoint() const noexcept { return checkpoint_; }

 private:
  const Checkpoint& open_checkpoint(Napi::Env env) const {
    if (!checkpoint_) throw argument_error_closed(env);
    return *checkpoint_;
  }

  static Napi::Error argument_error_closed(Napi::Env env) {
    return coded_error(env, ErrorCode::CLOSED, "the checkpoint was closed");
  }

  Napi::Value describe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Checkpoint& ckpt = open_checkpoint(env);
    Napi::Object out = Napi::Object::New(env);
    out.Set("path", ckpt.path());
    out.Set("kind", kind_name(ckpt.kind()));
    Napi::Array shards = Napi::Array::New(env, ckpt.shards().size());
    for (size_t i = 0; i < ckpt.shards().size(); ++i) {
      const auto& shard = *ckpt.shards()[i];
      Napi::Object s = Napi::Object::New(env);
      s.Set("path", shard.path());
      s.Set("bytes", static_cast<double>(shard.file().size()));
      s.Set("headerBytes", static_cast<double>(shard.header().header_length));
      s.Set("mapped", shard.file().is_mapped());
      Napi::Object metadata = Napi::Object::New(env);
      // Defined, not assigned: a key such as "__proto__" must become an own property, not a prototype.
      for (const auto& [key, value] : shard.header().metadata)
        metadata.DefineProperty(Napi::PropertyDescriptor::Value(key, Napi::String::New(env, value), napi_default_jsproperty));
      s.Set("metadata", metadata);
      shards.Set(i, s);
    }
    out.Set("shards", shards);
    Napi::Array tensors = Napi::Array::New(env, ckpt.tensors().size());
    for (size_t i = 0; i < ckpt.tensors().size(); ++i) {
      const CheckpointTensor& t = ckpt.tensors()[i];
      const TensorInfo& ti = *t.info;
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ti.name);
      o.Set("dtype", std::string(dtype_info(ti.dtype).name));
      Napi::Array shape = Napi::Array::New(env, ti.shape.size());
      for (size_t d = 0; d < ti.shape.size(); ++d) shape.Set(d, static_cast<double>(ti.shape[d]));
      o.Set("shape", shape);
      o.Set("numel", static_cast<double>(ti.numel));
      o.Set("bytes", static_cast<double>(ti.byte_size()));
      o.Set("shard", t.shard);
      o.Set("offset", static_cast<double>(ckpt.shards()[t.shard]->absolute_offset(ti)));
      tensors.Set(i, o);
    }
    out.Set("tensors", tensors);
    Napi::Array warnings = Napi::Array::New(env, ckpt.warnings().size());
    for (size_t i = 0; i < ckpt.warnings().size(); ++i) warnings.Set(i, ckpt.warnings()[i]);
    out.Set("warnings", warnings);
    out.Set("indexMetadata", ckpt.index_metadata_json());
    return out;
  }

  // read(name, mode: 'f32' | 'raw', rowBegin?, rowEnd?)
  ReadRequest make_request(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) throw argument_error(env, "read: tensor name must be a string");
    std::string name = info[0].As<Napi::String>();
    std::string mode = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "f32";
    ReadRequest request;
    const Checkpoint& ckpt = open_checkpoint(env);
    request.checkpoint = checkpoint_;
    request.mode = mode == "raw" ? ReadMode::Raw : ReadMode::F32;
    guarded(env, [&] {
      request.tensor = ckpt.get(name);
      if (info.Length() > 3 && info[2].IsNumber() && info[3].IsNumber()) {
        double begin = info[2].As<Napi::Number>().DoubleValue(), end = info[3].As<Napi::Number>().DoubleValue();
        if (begin < 0 || end < 0) throw Error(ErrorCode::SLICE_OUT_OF_RANGE, "rows must be non-negative", ckpt.path(), name);
        request.rows = {false, static_cast<uint64_t>(begin), static_cast<uint64_t>(end)};
      }
      request.range = ckpt.byte_range(request.tensor, request.rows);
      const DTypeInfo& dt = dtype_info(request.tensor.info->dtype);
      if (request.mode == ReadMode::F32 && !dt.decodable)
        throw Error(ErrorCode::UNSUPPORTED_DTYPE,
                    "tensor \"" + name + "\" has dtype " + std::string(dt.name) + ", which cannot be decoded to f32; read it with {as: 'raw'}",
                    ckpt.shards()[request.tensor.shard]->path(), name);
      // Zero-copy when the bytes can be served as they are and the view is aligned for its type.
      bool same_bytes = request.mode == ReadMode::Raw || request.tensor.info->dtype == DType::F32;
      const MappedFile& file = ckpt.shards()[request.tensor.shard]->file();
      size_t alignment = std::max<size_t>(1, dt.bits / 8);
      bool has_destination = info.Length() > 4 && info[4].IsTypedArray();
      bool zero_copy_asked = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
      if (zero_copy_asked && same_bytes && !has_destination && file.is_mapped() && request.range.length > 0) {
        // Alignment survives the page-aligned mapping: the view starts at the same offset within a page.
        if (request.range.offset % alignment == 0) request.zero_copy = file.map_view(request.range.offset, request.range.length);
      }
    });
    return request;
  }

  static Napi::Error out_of_memory(Napi::Env env, uint64_t bytes) {
    return coded_error(env, ErrorCode::OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes for the tensor");
  }

  static void free_large_buffer(Napi::Env env, void* data, size_t* bytes) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(*bytes));
    free_pages(data, *bytes);
    delete bytes;
  }

  // Where a read writes: the caller's `into` array, or a new buffer. Large new buffers are page-mapped
  // with huge pages requested (first-touch faults otherwise cost more than the decode itself); V8 is
  // told about them so garbage collection sees the memory.
  // `buffer` is a persistent reference: the async path uses it from another handle scope.
  struct Destination {
    Napi::Reference<Napi::ArrayBuffer> buffer;
    size_t byte_offset = 0;
    void* data = nullptr;
  };

  static Destination destination(Napi::Env env, const Napi::CallbackInfo& info, const ReadRequest& r) {
    Destination d;
    uint64_t bytes = r.mode == ReadMode::F32 ? r.range.numel * 4 : r.range.length;
    Napi::Value into = info.Length() > 4 ? info[4] : env.Undefined();
    if (into.IsTypedArray()) {
      auto array = into.As<Napi::TypedArray>();
      if (r.mode != ReadMode::F32 || array.TypedArrayType() != napi_float32_array)
        throw argument_error(env, "read: into must be a Float32Array, and only with as: 'f32'");
      if (array.ByteLength() < bytes)
        throw argument_error(env, "read: into holds " + std::to_string(array.ElementLength()) + " floats but the read needs " +
                                      std::to_string(r.range.numel));
      d.buffer = Napi::Persistent(array.ArrayBuffer());
      d.byte_offset = array.ByteOffset();
      d.data = static_cast<unsigned char*>(array.ArrayBuffer().Data()) + d.byte_offset;
      return d;
    }
    constexpr uint64_t kPageMappedBytes = 2u << 20;
    void* pages = bytes >= kPageMappedBytes ? allocate_pages(static_cast<size_t>(bytes)) : nullptr;
    Napi::ArrayBuffer buffer;
    try {
      if (pages) {
        buffer = Napi::ArrayBuffer::New(env, pages, static_cast<size_t>(bytes), free_large_buffer, new size_t(bytes));
        Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
      } else {
        buffer = Napi::ArrayBuffer::New(env, static_cast<size_t>(bytes));
      }
    } catch (const Napi::Error&) {
      // Runtimes that refuse external buffers (Electron's memory cage) get a plain allocation.
      if (pages) free_pages(pages, static_cast<size_t>(bytes));
      try {
        buffer = Napi::ArrayBuffer::New(env, static_cast<size_t>(bytes));
      } catch (const Napi::Error&) {
        throw out_of_memory(env, bytes);
      }
    }
    d.data = buffer.Data();
    d.buffer = Napi::Persistent(buffer);
    return d;
  }

  // Does the decode or copy; runs on a worker thread in the async path. Returns the non-finite count.
  static size_t perform(const ReadRequest& r, void* destination) {
    const Checkpoint& ckpt = *r.checkpoint;
    if (r.zero_copy) {
      if (r.mode == ReadMode::Raw) return 0;
      return count_non_finite(reinterpret_cast<const float*>(r.zero_copy->data()), r.range.numel);
    }
    if (r.mode == ReadMode::Raw) {
      ckpt.read_raw(r.tensor, r.rows, destination);
      return 0;
    }
    return ckpt.read_f32(r.tensor, r.rows, static_cast<float*>(destination));
  }

  static Napi::Object result_object(Napi::Env env, const ReadRequest& r, const Destination& d, size_t non_finite) {
    Napi::Object out = Napi::Object::New(env);
    if (r.zero_copy) {
      auto* keep = new std::shared_ptr<MappedView>(r.zero_copy);
      out.Set("buffer", Napi::ArrayBuffer::New(env, r.zero_copy->data(), static_cast<size_t>(r.range.length), release_view, keep));
      out.Set("byteOffset", 0);
    } else {
      out.Set("buffer", d.buffer.Value());
      out.Set("byteOffset", static_cast<double>(d.byte_offset));
    }
    out.Set("zeroCopy", r.zero_copy != nullptr);
    out.Set("nonFinite", static_cast<double>(non_finite));
    out.Set("dtype", std::string(dtype_info(r.tensor.info->dtype).name));
    return out;
  }

  class ReadWorker : public Napi::AsyncWorker {
   public:
    ReadWorker(Napi::Env env, ReadRequest request, Destination destination)
        : Napi::AsyncWorker(env, "paramscope.read"), deferred_(Napi::Promise::Deferred::New(env)),
          request_(std::move(request)), destination_(std::move(destination)) {}
    Napi::Promise promise() const { return deferred_.Promise(); }

    void Execute() override {
      try {
        non_finite_ = perform(request_, destination_.data);
      } catch (...) {
        error_.capture(std::current_exception());
      }
    }
    void OnOK() override {
      Napi::Env env = Env();
      if (error_.set) return deferred_.Reject(error_.to_js(env).Value());
      try {
        deferred_.Resolve(result_object(env, request_, destination_, non_finite_));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    }

   private:
    Napi::Promise::Deferred deferred_;
    ReadRequest request_;
    Destination destination_;
    size_t non_finite_ = 0;
    CapturedError error_;
  };

  // read(name, mode, rowBegin?, rowEnd?, into?, zeroCopy?)
  Napi::Value read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ReadRequest request = make_request(info);
    Destination d = request.zero_copy ? Destination{} : destination(env, info, request);
    auto* worker = new ReadWorker(env, std::move(request), std::move(d));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  Napi::Value read_sync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ReadRequest request = make_request(info);
    Destination d = request.zero_copy ? Destination{} : destination(env, info, request);
    size_t non_finite = guarded(env, [&] { return perform(request, d.data); });
    return result_object(env, request, d, non_finite);
  }

  Napi::Value close(const Napi::CallbackInfo& info) {
    // In-flight reads and zero-copy views hold their own references; the files close when they end.
    checkpoint_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<const Checkpoint> checkpoint_;
};

Napi::Object wrap(Napi::Env env, std::shared_ptr<const Checkpoint> checkpoint) {
  Napi::Object object = instance(env).checkpoint_constructor.New({});
  CheckpointWrap::Unwrap(object)->attach(std::move(checkpoint));
  return object;
}

class OpenWorker : public Napi::AsyncWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, Checkpoint::Options options)
      : Napi::AsyncWorker(env, "paramscope.open"), deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)), options_(options) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      checkpoint_ = Checkpoint::open(path_, options_);
    } catch (...) {
      error_.capture(std::current_exception());
    }
  }
  void OnOK() override {
    if (error_.set) return deferred_.Reject(error_.to_js(Env()).Value());
    deferred_.Resolve(wrap(Env(), std::move(checkpoint_)));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  Checkpoint::Options options_;
  std::shared_ptr<const Checkpoint> checkpoint_;
  CapturedError error_;
};

Napi::Value open_checkpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw argument_error(env, "openCheckpoint: path must be a string");
  auto* worker = new OpenWorker(env, info[0].As<Napi::String>(), parse_open_options(info));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value open_checkpoint_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw argument_error(env, "openCheckpointSync: path must be a string");
  std::string path = info[0].As<Napi::String>();
  auto checkpoint = guarded(env, [&] { return Checkpoint::open(path, parse_open_options(info)); });
  return wrap(env, std::move(checkpoint));
}

}  // namespace

std::shared_ptr<const Checkpoint> checkpoint_of(Napi::Env env, Napi::Value value) {
  Napi::FunctionReference& constructor = instance(env).checkpoint_constructor;
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(constructor.Value()))
    throw argument_error(env, "expected an open checkpoint");
  const auto& checkpoint = CheckpointWrap::Unwrap(value.As<Napi::Object>())->checkpoint();
  if (!checkpoint) throw coded_error(env, ErrorCode::CLOSED, "the checkpoint was closed");
  return checkpoint;
}

void register_checkpoint(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = CheckpointWrap::define(env);
  instance(env).checkpoint_constructor = Napi::Persistent(constructor);
  exports.Set("openCheckpoint", Napi::Function::New(env, open_checkpoint, "openCheckpoint"));
  exports.Set("openCheckpointSync", Napi::Function::New(env, open_checkpoint_sync, "openCheckpointSync"));
}

}  // namespace paramscope::addon
