#!/usr/bin/env python3
"""Writes the seed corpus in fuzz/corpus/ (small valid files; rerun after changing the formats).

safetensors/: files in the official layout (BF16, F32, F8_E4M3 with a partial-edge weight_scale_inv,
zero-sized tensors, metadata). config/: DeepSeek-V3, V2 and V2-Lite config.json (spec section 1.2)
and the tiny test presets. gguf/: written by fuzz/make_gguf_seeds (the C++ GGUF writer) when present.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "I8": 1, "U8": 1, "I16": 2, "I32": 4, "I64": 8, "F64": 8, "BOOL": 1}


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n]}
        data += bytes((i * 37 + len(name)) & 0xFF for i in range(n))
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write(folder, name, blob):
    os.makedirs(os.path.join(HERE, "corpus", folder), exist_ok=True)
    with open(os.path.join(HERE, "corpus", folder, name), "wb") as f:
        f.write(blob if isinstance(blob, bytes) else blob.encode())


def yarn(m):
    return {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
            "beta_slow": 1, "mscale": m, "mscale_all_dim": m}


V3 = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "vocab_size": 129280,
      "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61,
      "num_attention_heads": 128, "num_key_value_heads": 128, "q_lora_rank": 1536, "kv_lora_rank": 512,
      "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128, "n_routed_experts": 256,
      "n_shared_experts": 1, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc",
      "scoring_func": "sigmoid", "norm_topk_prob": True, "routed_scaling_factor": 2.5, "first_k_dense_replace": 3,
      "moe_layer_freq": 1, "num_nextn_predict_layers": 1, "max_position_embeddings": 163840, "rope_theta": 10000,
      "rope_scaling": yarn(1.0), "rms_norm_eps": 1e-6, "tie_word_embeddings": False, "bos_token_id": 0,
      "eos_token_id": 1, "torch_dtype": "bfloat16",
      "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                              "weight_block_size": [128, 128]}}
V2 = dict(V3, architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2", vocab_size=102400,
          hidden_size=5120, intermediate_size=12288, moe_intermediate_size=1536, num_hidden_layers=60,
          n_routed_experts=160, n_shared_experts=2, num_experts_per_tok=6, topk_group=3,
          topk_method="group_limited_greedy", scoring_func="softmax", norm_topk_prob=False,
          routed_scaling_factor=16.0, first_k_dense_replace=1, rope_scaling=yarn(0.707), bos_token_id=100000,
          eos_token_id=100001)
del V2["quantization_config"], V2["num_nextn_predict_layers"]
V2_LITE = dict(V2, hidden_size=2048, intermediate_size=10944, moe_intermediate_size=1408, num_hidden_layers=27,
               num_attention_heads=16, num_key_value_heads=16, q_lora_rank=None, n_routed_experts=64, n_group=1,
               topk_group=1, topk_method="greedy", routed_scaling_factor=1.0)
TINY_V3 = dict(V3, vocab_size=512, hidden_size=64, intermediate_size=160, moe_intermediate_size=48,
               num_hidden_layers=3, num_attention_heads=4, q_lora_rank=48, kv_lora_rank=96, qk_nope_head_dim=32,
               qk_rope_head_dim=16, v_head_dim=24, n_routed_experts=8, num_experts_per_tok=2, n_group=4,
               topk_group=2, first_k_dense_replace=1, eos_token_id=[1, 2])
TINY_V2 = dict(V2_LITE, vocab_size=512, hidden_size=64, rope_scaling={"rope_type": "default"}, bos_token_id=0,
               eos_token_id=1)


def main():
    write("safetensors", "bf16_fp8.safetensors", safetensors([
        ("model.embed_tokens.weight", "BF16", [8, 4]),
        ("model.layers.0.self_attn.kv_a_proj_with_mqa.weight", "F8_E4M3", [130, 3]),
        ("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv", "F32", [2, 1]),
        ("model.norm.weight", "F32", [4])], metadata={"format": "pt"}))
    write("safetensors", "all_dtypes.safetensors", safetensors(
        [(f"t.{d}", d, [2, 3]) for d in SIZES] + [("empty", "F32", [0, 7]), ("scalar", "F64", [])]))
    write("safetensors", "metadata_only.safetensors", safetensors([], metadata={"format": "pt", "note": "x"}))
    for name, cfg in [("v3", V3), ("v2", V2), ("v2_lite", V2_LITE), ("tiny_v3", TINY_V3), ("tiny_v2", TINY_V2)]:
        write("config", name + ".json", json.dumps(cfg, indent=1))


if __name__ == "__main__":
    main()
