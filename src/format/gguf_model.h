// A GGUF model file (llama.cpp's format) seen as a Hugging Face checkpoint: its metadata becomes the
// config.json a Hugging Face folder would carry (validated by parse_model_config), and its tensors
// are renamed to the Hugging Face names through one mapping table, so the model code loads GGUF and
// safetensors through the same path. Architectures: llama, qwen2, qwen3, deepseek2 (spec §2.6).
//
// Tensor data stays in the mapped file in its ggml type (TensorInfo::ggml_type for block types),
// with two exceptions, both in the loader:
//  * llama: llama.cpp's converter permutes the rows of q_proj / k_proj within each head from HF's
//    half-split RoPE order to adjacent pairs (row h·hd + 2i + j holds HF row h·hd + j·hd/2 + i).
//    radseek undoes this by copying whole stored rows (blocks are per row, so no dequantisation) into
//    HF order; those copies replace the mapped pages of the same bytes, so memory is unchanged.
//    qwen2/qwen3 (NeoX RoPE) and deepseek2 (adjacent pairs in HF too) are not permuted.
//  * stacked expert tensors (blk.N.ffn_*_exps [E, rows, cols]) become E views, one per expert.
// deepseek2 files from newer converters split kv_b_proj into attn_k_b [H, c, dn] (W_UKᵀ per head) and
// attn_v_b [H, dv, c]; they appear as self_attn.k_b_proj.weight [H·c, dn] and
// self_attn.v_b_proj.weight [H·dv, c] (radseek-internal names; model/weights.cpp joins them into kv_b_proj).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "format/gguf.h"
#include "format/hf_config.h"
#include "format/safetensors.h"

namespace radseek::format {

// True when a model path names a GGUF file rather than a model folder: an existing path that is not a
// directory, or a missing one ending in ".gguf" — so a truncated, foreign or mistyped file gets the
// GGUF reader's error (bad magic, cannot open) instead of a folder's ("FILE/config.json: Not a directory").
bool is_gguf_file(const std::string& path);

// The config.json equivalent of a GGUF file's metadata; errors name the file and the GGUF key.
Expected<nlohmann::json> gguf_config_json(const GgufFile& f);

struct GgufModel {
  ModelConfig config;
  Checkpoint checkpoint;  // HF names → the file's tensors; dir() is the GGUF path
};
Expected<GgufModel> open_gguf_model(const std::string& path, FileBacking backing = FileBacking::kMapped);

// The GGUF tensor an HF tensor name comes from ("" when none), to annotate the model loader's errors.
std::string gguf_tensor_for(const std::string& hf_name);

}  // namespace radseek::format
