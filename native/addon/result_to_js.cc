#include "result_to_js.hpp"

#include <cstring>

namespace paramscope::addon {

namespace {

Napi::Float64Array float64_array(Napi::Env env, const std::vector<double>& values) {
  auto out = Napi::Float64Array::New(env, values.size());
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(double));
  return out;
}

// A metric known exactly is a number; one known only within bounds (truncated mode) is {lo, hi}.
Napi::Value interval(Napi::Env env, const Interval& i) {
  if (i.exact()) return Napi::Number::New(env, i.lo);
  Napi::Object o = Napi::Object::New(env);
  o.Set("lo", i.lo);
  o.Set("hi", i.hi);
  return o;
}

Napi::Object metrics_to_js(Napi::Env env, const SpectralMetrics& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("minDim", static_cast<double>(m.min_dim));
  o.Set("knownValues", static_cast<double>(m.known_values));
  o.Set("complete", m.complete);
  o.Set("frobeniusNorm", m.frobenius_norm);
  o.Set("spectralNorm", m.spectral_norm);
  o.Set("stableRank", m.stable_rank);
  o.Set("effectiveRank", interval(env, m.effective_rank));
  o.Set("effectiveRankRatio", interval(env, m.effective_rank_ratio));
  o.Set("energyEffectiveRank", interval(env, m.energy_effective_rank));
  o.Set("energyEffectiveRankRatio", interval(env, m.energy_effective_rank_ratio));
  o.Set("numericalRank", interval(env, m.numerical_rank));
  o.Set("numericalRankTolerance", m.numerical_rank_tolerance);
  Napi::Object energy_rank = Napi::Object::New(env);
  for (size_t i = 0; i < kEnergyRankFractions.size(); ++i)
    energy_rank.Set(std::to_string(static_cast<int>(kEnergyRankFractions[i] * 100 + 0.5)), interval(env, m.energy_rank[i]));
  o.Set("energyRank", energy_rank);
  o.Set("topK", static_cast<double>(m.top_k));
  o.Set("topKEnergyShare", interval(env, m.top_k_energy_share));
  o.Set("participationRatio", interval(env, m.participation_ratio));
  o.Set("conditionNumber", m.condition_number ? Napi::Number::New(env, *m.condition_number) : env.Null());
  Napi::Object power_law = Napi::Object::New(env);
  power_law.Set("valid", m.power_law.valid);
  if (m.power_law.valid) {
    power_law.Set("alpha", m.power_law.alpha);
    power_law.Set("xmin", m.power_law.xmin);
    power_law.Set("xmax", m.power_law.xmax);
    power_law.Set("tailCount", static_cast<double>(m.power_law.tail_count));
    power_law.Set("ksDistance", m.power_law.ks_distance);
    power_law.Set("xminSearchRestricted", m.power_law.xmin_search_restricted);
  }
  o.Set("powerLaw", power_law);
  o.Set("noiseEdge", m.mp_edge ? Napi::Number::New(env, *m.mp_edge) : env.Null());
  o.Set("aboveNoiseEdge", m.above_mp_edge ? interval(env, *m.above_mp_edge) : env.Null());
  return o;
}

}  // namespace

Napi::Object result_to_js(Napi::Env env, const JobResult& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("index", static_cast<double>(r.index));
  out.Set("name", r.name);
  out.Set("rows", static_cast<double>(r.rows));
  out.Set("cols", static_cast<double>(r.cols));
  out.Set("seconds", r.seconds);
  if (r.error) {
    Napi::Object error = Napi::Object::New(env);
    error.Set("code", error_code_name(*r.error));
    error.Set("message", r.error_message);
    out.Set("error", error);
    return out;
  }
  const Spectrum& s = r.spectrum;
  out.Set("values", float64_array(env, s.values));
  out.Set("errorBounds", float64_array(env, s.error_bounds));
  out.Set("frobeniusSquared", s.frobenius_squared);
  out.Set("complete", s.complete);
  out.Set("converged", s.converged);
  out.Set("powerIterations", s.power_iterations);
  out.Set("passes", static_cast<double>(s.passes));
  out.Set("method", s.method);
  out.Set("metrics", metrics_to_js(env, r.metrics));
  Napi::Object timing = Napi::Object::New(env);
  timing.Set("readDecode", s.timing.read_decode);
  timing.Set("products", s.timing.products);
  timing.Set("orthonormalize", s.timing.orthonormalize);
  timing.Set("eigensolver", s.timing.eigensolver);
  out.Set("timing", timing);
  if (r.base_frobenius_squared >= 0) {
    out.Set("tunedFrobeniusSquared", r.tuned_frobenius_squared);
    out.Set("baseFrobeniusSquared", r.base_frobenius_squared);
    if (r.rounding_energy >= 0) out.Set("roundingEnergy", r.rounding_energy);
    if (r.identical_entries >= 0) out.Set("identicalEntries", static_cast<double>(r.identical_entries));
    if (r.below_spacing_entries >= 0) out.Set("belowSpacingEntries", static_cast<double>(r.below_spacing_entries));
  }
  if (s.vector_count > 0) {
    out.Set("vectorCount", static_cast<double>(s.vector_count));
    out.Set("u", float64_array(env, s.u));
    out.Set("v", float64_array(env, s.v));
  }
  return out;
}

}  // namespace paramscope::addon
