#include "paramscope/stored_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "internal/kernels.hpp"
#include "internal/quantized.hpp"
#include "paramscope/engine.hpp"
#include "paramscope/error.hpp"

namespace paramscope {

namespace {

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The shape without its size-1 dimensions: [E, 1, n] and [E, n] describe the same scales.
std::vector<uint64_t> squeezed(std::vector<uint64_t> shape) {
  shape.erase(std::remove(shape.begin(), shape.end(), uint64_t(1)), shape.end());
  return shape;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

}  // namespace

// A byte range of a tensor as read for one call: a pointer into the mapping or a staged copy.
struct StoredMatrix::Bytes {
  const unsigned char* data = nullptr;
  uint64_t first = 0;  // the tensor byte that data[0] is
  std::vector<unsigned char> staging;
  const unsigned char* at(uint64_t byte) const noexcept { return data + (byte - first); }
};

std::shared_ptr<const StoredMatrix> StoredMatrix::resolve(const TensorRef& ref, const std::string& job) {
  if (!ref.checkpoint) throw Error(ErrorCode::INVALID_ARGUMENT, "job " + job + ": no checkpoint given for tensor \"" + ref.tensor + "\"");
  std::shared_ptr<StoredMatrix> m(new StoredMatrix());
  m->ref_ = ref;
  m->codes_ = ref.checkpoint->get(ref.tensor);
  m->info_ = m->codes_.info;
  const TensorInfo& info = *m->info_;
  const std::string file = ref.checkpoint->shards()[m->codes_.shard]->path();
  auto fail = [&](ErrorCode code, const std::string& what) -> void { throw Error(code, "job " + job + ": " + what, file, info.name); };
  const std::string tensor = "tensor \"" + info.name + "\"";
  const std::string dtype_name(dtype_info(info.dtype).name);

  switch (ref.encoding) {
    case Encoding::Plain:
      if (!dtype_info(info.dtype).decodable) fail(ErrorCode::UNSUPPORTED_DTYPE, tensor + " has dtype " + dtype_name + ", which cannot be analysed");
      m->grid_ = storage_format(info.dtype);
      break;
    case Encoding::Scaled:
      if (!quantized::is_fp8(info.dtype))
        fail(ErrorCode::UNSUPPORTED_DTYPE, "the codes of an FP8-scaled layout are F8_E4M3, F8_E5M2 or their FNUZ variants; " + tensor + " is " + dtype_name);
      m->grid_ = storage_format(info.dtype);
      break;
    case Encoding::Mxfp4:
      if (info.dtype != DType::U8 && info.dtype != DType::I8)
        fail(ErrorCode::UNSUPPORTED_DTYPE, "MXFP4 codes are packed two per byte in a U8 or I8 tensor; " + tensor + " is " + dtype_name);
      m->grid_ = quantized::kFp4Grid;
      break;
  }

  // One expert's matrix as stored: [d0, d1·…·dk] of the tensor, or of its slice `expert`.
  const std::vector<uint64_t>& shape = info.shape;
  size_t first = 0;
  uint64_t experts = 1;
  if (ref.expert) {
    if (shape.size() < 3) fail(ErrorCode::INVALID_ARGUMENT, "an expert slice needs a tensor of 3 or more dimensions; " + tensor + " has shape " + shape_text(shape));
    experts = shape[0];
    if (*ref.expert >= experts)
      fail(ErrorCode::SLICE_OUT_OF_RANGE, "expert " + std::to_string(*ref.expert) + " of " + tensor + ", which holds " + std::to_string(experts));
    first = 1;
  }
  if (shape.size() == first) {
    m->stored_rows_ = m->stored_cols_ = 1;
  } else if (shape.size() == first + 1) {
    m->stored_rows_ = 1;
    m->stored_cols_ = shape[first];
  } else {
    m->stored_rows_ = shape[first];
    m->stored_cols_ = 1;
    for (size_t i = first + 1; i < shape.size(); ++i) m->stored_cols_ *= shape[i];
  }
  const bool packed = ref.encoding == Encoding::Mxfp4;
  if (packed) m->stored_cols_ *= 2;  // two codes per byte
  const uint64_t per_expert = m->stored_rows_ * m->stored_cols_;
  m->slice_begin_ = ref.expert ? *ref.expert * per_expert : 0;
  m->code_bytes_ = packed ? per_expert / 2 : per_expert * (dtype_info(info.dtype).bits / 8);
  if (ref.expert == std::nullopt && !packed) m->code_bytes_ = info.byte_size();

  if (ref.encoding != Encoding::Plain) {
    if (ref.scale.empty()) fail(ErrorCode::INVALID_QUANTIZATION, tensor + " is quantized, but no scale tensor was given");
    m->scale_ = ref.checkpoint->get(ref.scale);
    const TensorInfo& scale = *m->scale_.info;
    const bool fits = packed ? (scale.dtype == DType::U8 || scale.dtype == DType::F8_E8M0)
                             : (scale.dtype == DType::F32 || scale.dtype == DType::BF16 || scale.dtype == DType::F16 || scale.dtype == DType::F8_E8M0);
    if (!fits)
      fail(ErrorCode::INVALID_QUANTIZATION, "scale \"" + scale.name + "\" of " + tensor + " has dtype " + std::string(dtype_info(scale.dtype).name) +
                                                (packed ? "; MXFP4 scales are E8M0 exponents (U8 or F8_E8M0)" : "; FP8 scales are F32, BF16, F16 or F8_E8M0"));
    if (ref.block_rows == 0 || ref.block_cols == 0) fail(ErrorCode::INVALID_QUANTIZATION, "the scale block of " + tensor + " is empty");
    m->grid_rows_ = ceil_div(m->stored_rows_, ref.block_rows);
    m->grid_cols_ = ceil_div(m->stored_cols_, ref.block_cols);
    std::vector<uint64_t> expected = {m->grid_rows_, m->grid_cols_};
    if (ref.expert) expected.insert(expected.begin(), experts);
    const uint64_t expected_count = (ref.expert ? experts : 1) * m->grid_rows_ * m->grid_cols_;
    if (scale.numel != expected_count || squeezed(scale.shape) != squeezed(expected))
      fail(ErrorCode::INVALID_QUANTIZATION,
           "scale \"" + scale.name + "\" has shape " + shape_text(scale.shape) + ", but " + tensor + " " + shape_text(shape) + " in blocks of " +
               std::to_string(ref.block_rows) + " x " + std::to_string(ref.block_cols) + " needs " + shape_text(expected) + " scales (size-1 dimensions aside)");
    m->scale_bytes_ = m->grid_rows_ * m->grid_cols_ * (dtype_info(scale.dtype).bits / 8);
  }

  if (ref.row_stride == 0) fail(ErrorCode::INVALID_ARGUMENT, "a row stride of 0 for " + tensor);
  const uint64_t oriented_rows = ref.transpose ? m->stored_cols_ : m->stored_rows_;
  const uint64_t available = ref.row_offset < oriented_rows ? ceil_div(oriented_rows - ref.row_offset, ref.row_stride) : 0;
  const uint64_t count = ref.row_count.value_or(available);
  if (count > available)
    fail(ErrorCode::SLICE_OUT_OF_RANGE, std::to_string(count) + " rows from row " + std::to_string(ref.row_offset) + " in steps of " +
                                            std::to_string(ref.row_stride) + " of a matrix of " + std::to_string(oriented_rows) + " rows (" + tensor + ")");
  m->rows_ = count;
  m->cols_ = ref.transpose ? m->stored_rows_ : m->stored_cols_;
  m->whole_plain_ = ref.encoding == Encoding::Plain && !ref.expert && !ref.transpose && ref.row_offset == 0 && ref.row_stride == 1 && count == m->stored_rows_;
  return m;
}

double StoredMatrix::epsilon() const noexcept { return std::ldexp(1.0, 1 - (grid_.precision > 0 ? grid_.precision : 24)); }

const std::string& StoredMatrix::file() const { return ref_.checkpoint->shards()[codes_.shard]->path(); }

std::string StoredMatrix::describe() const {
  std::string out = "tensor \"" + info_->name + "\"";
  if (ref_.expert) out += "[" + std::to_string(*ref_.expert) + "]";
  if (ref_.transpose) out += " transposed";
  if (ref_.row_offset != 0 || ref_.row_stride != 1 || rows_ != (ref_.transpose ? stored_cols_ : stored_rows_))
    out += " rows " + std::to_string(ref_.row_offset) + ":" + std::to_string(ref_.row_offset + rows_ * ref_.row_stride) + ":" + std::to_string(ref_.row_stride);
  if (ref_.encoding != Encoding::Plain) out += " times scales \"" + scale_.info->name + "\"";
  return out;
}

std::function<void()> StoredMatrix::prefetch() const {
  const auto& shard = ref_.checkpoint->shards()[codes_.shard];
  const uint64_t code_offset = shard->absolute_offset(*info_) + (ref_.encoding == Encoding::Mxfp4 ? slice_begin_ / 2 : slice_begin_ * (dtype_info(info_->dtype).bits / 8));
  std::function<void()> codes = prefetch_range(shard->shared_file(), code_offset, code_bytes_);
  if (ref_.encoding == Encoding::Plain) return codes;
  const auto& scale_shard = ref_.checkpoint->shards()[scale_.shard];
  const uint64_t scale_first = (ref_.expert ? *ref_.expert : 0) * scale_bytes_;
  std::function<void()> scales = prefetch_range(scale_shard->shared_file(), scale_shard->absolute_offset(*scale_.info) + scale_first, scale_bytes_);
  return [codes, scales] {
    if (codes) codes();
    if (scales) scales();
  };
}

std::function<void()> StoredMatrix::release() const {
  const auto& shard = ref_.checkpoint->shards()[codes_.shard];
  const uint64_t code_offset = shard->absolute_offset(*info_) + (ref_.encoding == Encoding::Mxfp4 ? slice_begin_ / 2 : slice_begin_ * (dtype_info(info_->dtype).bits / 8));
  std::function<void()> codes = release_range(shard->shared_file(), code_offset, code_bytes_);
  if (ref_.encoding == Encoding::Plain) return codes;
  const auto& scale_shard = ref_.checkpoint->shards()[scale_.shard];
  const uint64_t scale_first = (ref_.expert ? *ref_.expert : 0) * scale_bytes_;
  std::function<void()> scales = release_range(scale_shard->shared_file(), scale_shard->absolute_offset(*scale_.info) + scale_first, scale_bytes_);
  return [codes, scales] {
    if (codes) codes();
    if (scales) scales();
  };
}

void StoredMatrix::decode_segment(const Bytes& codes, const Bytes& scales, uint64_t row, uint64_t c0, uint64_t c1, float* values,
                                  float* spacing) const {
  const uint64_t element = slice_begin_ + row * stored_cols_;
  if (ref_.encoding == Encoding::Plain) {
    const uint64_t width = dtype_info(info_->dtype).bits / 8;
    decode_to_f32(info_->dtype, codes.at((element + c0) * width), c1 - c0, values);
    if (spacing) kernels::grid_spacing(values, c1 - c0, grid_, spacing);
    return;
  }
  const DType scale_dtype = scale_.info->dtype;
  const uint64_t scale_width = dtype_info(scale_dtype).bits / 8;
  const uint64_t scale_row = (ref_.expert ? *ref_.expert * grid_rows_ : 0) + row / ref_.block_rows;
  for (uint64_t c = c0; c < c1;) {
    const uint64_t block = c / ref_.block_cols, end = std::min(c1, (block + 1) * ref_.block_cols);
    const float scale = quantized::decode_scale(scale_dtype, scales.at((scale_row * grid_cols_ + block) * scale_width));
    float* v = values + (c - c0);
    float* s = spacing ? spacing + (c - c0) : nullptr;
    if (ref_.encoding == Encoding::Scaled) {
      quantized::decode_fp8_scaled(info_->dtype, codes.at(element + c), end - c, scale, v, s);
    } else {
      const uint64_t nibble = element + c;
      quantized::decode_fp4_scaled(codes.at(nibble / 2), unsigned(nibble % 2), end - c, scale, v, s);
    }
    c = end;
  }
}

void StoredMatrix::read_rows(uint64_t r0, uint64_t r1, float* dst, float* spacing) const {
  if (r1 <= r0) return;
  if (whole_plain_) {
    // Scalars and vectors are one row; RowRange counts leading-dimension entries, so read them whole.
    const bool single_row = info_->shape.size() <= 1;
    ref_.checkpoint->read_f32(codes_, single_row ? RowRange{} : RowRange{false, r0, r1}, dst);
    if (spacing) kernels::grid_spacing(dst, (r1 - r0) * cols_, grid_, spacing);
    return;
  }
  const uint64_t stride = ref_.row_stride;
  // The elements of the codes this call touches (within the tensor), then their bytes.
  uint64_t first_element, end_element, column_begin = 0, column_end = 0;
  if (!ref_.transpose) {
    first_element = slice_begin_ + (ref_.row_offset + r0 * stride) * stored_cols_;
    end_element = slice_begin_ + (ref_.row_offset + (r1 - 1) * stride + 1) * stored_cols_;
  } else {
    column_begin = ref_.row_offset + r0 * stride;
    column_end = ref_.row_offset + (r1 - 1) * stride + 1;
    first_element = slice_begin_ + column_begin;
    end_element = slice_begin_ + (stored_rows_ - 1) * stored_cols_ + column_end;
  }
  const bool packed = ref_.encoding == Encoding::Mxfp4;
  const uint64_t width = packed ? 1 : dtype_info(info_->dtype).bits / 8;
  const uint64_t first_byte = packed ? first_element / 2 : first_element * width;
  const uint64_t end_byte = packed ? (end_element + 1) / 2 : end_element * width;
  Bytes codes, scales;
  codes.first = first_byte;
  codes.data = ref_.checkpoint->tensor_bytes(codes_, first_byte, end_byte - first_byte, codes.staging);
  if (ref_.encoding != Encoding::Plain) {
    scales.first = (ref_.expert ? *ref_.expert : 0) * scale_bytes_;
    scales.data = ref_.checkpoint->tensor_bytes(scale_, scales.first, scale_bytes_, scales.staging);
  }
  if (!ref_.transpose) {
    if (ref_.encoding == Encoding::Plain && stride == 1) {  // consecutive rows: one decode
      const uint64_t count = (r1 - r0) * cols_;
      decode_to_f32(info_->dtype, codes.at(first_byte), count, dst);
      if (spacing) kernels::grid_spacing(dst, count, grid_, spacing);
      return;
    }
    for (uint64_t r = r0; r < r1; ++r)
      decode_segment(codes, scales, ref_.row_offset + r * stride, 0, stored_cols_, dst + (r - r0) * cols_, spacing ? spacing + (r - r0) * cols_ : nullptr);
    return;
  }
  // Transposed: row r of the matrix is stored column row_offset + r·stride. Each stored row's span of
  // those columns is decoded once and its entries scattered into the rows they belong to.
  const uint64_t span = column_end - column_begin, n = r1 - r0;
  std::vector<float> values(span), spacings(spacing ? span : 0);
  for (uint64_t k = 0; k < stored_rows_; ++k) {
    decode_segment(codes, scales, k, column_begin, column_end, values.data(), spacing ? spacings.data() : nullptr);
    for (uint64_t j = 0; j < n; ++j) dst[j * cols_ + k] = values[j * stride];
    if (spacing)
      for (uint64_t j = 0; j < n; ++j) spacing[j * cols_ + k] = spacings[j * stride];
  }
}

RowSource stored_matrix_source(std::shared_ptr<const StoredMatrix> matrix) {
  if (matrix->encoding() == Encoding::Plain) {
    const StorageFormat grid = matrix->grid();
    return RowSource([matrix](uint64_t r0, uint64_t r1, float* dst) { matrix->read_rows(r0, r1, dst, nullptr); }, grid);
  }
  return RowSource::with_spacing([matrix](uint64_t r0, uint64_t r1, float* dst, float* spacing) { matrix->read_rows(r0, r1, dst, spacing); });
}

}  // namespace paramscope
