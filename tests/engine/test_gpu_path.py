"""The fast GPU path's decisions and arithmetic, checked on CPU (the kernels themselves need a GPU)."""
from __future__ import annotations

import json

import pytest
import torch

from training import checkpoint, mfu
from training.distributed import Ranks
from training.errors import RunError
from training.fused_loss import fused_loss_choice
from training.modeling import has_native_bf16
from training.packed_attention import FLASH_ATTN, PER_SEQUENCE_SDPA, TORCH_VARLEN, varlen_kernel
from training.parallel import SingleProcess
from training.recipe import rank_share


def test_packed_rows_use_torch_varlen_on_cuda_in_half_precision_and_flash_attn_only_without_it():
    bf16 = torch.bfloat16
    assert varlen_kernel("cuda", bf16, 0.0, torch_varlen=True, flash_attn=True) == TORCH_VARLEN
    assert varlen_kernel("cuda", torch.float16, 0.0, torch_varlen=False, flash_attn=True) == FLASH_ATTN
    assert varlen_kernel("cuda", bf16, 0.0, torch_varlen=False, flash_attn=False) == PER_SEQUENCE_SDPA
    # flash kernels: no fp32, no dropout, no CPU
    assert varlen_kernel("cuda", torch.float32, 0.0, torch_varlen=True, flash_attn=True) == PER_SEQUENCE_SDPA
    assert varlen_kernel("cuda", bf16, 0.1, torch_varlen=True, flash_attn=True) == PER_SEQUENCE_SDPA
    assert varlen_kernel("cpu", bf16, 0.0, torch_varlen=True, flash_attn=True) == PER_SEQUENCE_SDPA


def test_installed_torch_has_its_own_varlen_attention():
    # torch 2.13 (requirements) ships torch.nn.attention.varlen: the CUDA path needs no flash-attn.
    assert varlen_kernel("cuda", torch.bfloat16, 0.0, flash_attn=False) == TORCH_VARLEN


def test_bf16_autocast_only_from_ampere_on():
    assert has_native_bf16((8, 0)) and has_native_bf16((9, 0)) and has_native_bf16((8, 9))
    assert not has_native_bf16((7, 5)) and not has_native_bf16((7, 0))


def test_fused_linear_cross_entropy_needs_cuda_liger_a_known_model_and_the_token_averaged_loss():
    known = {"llama", "qwen2"}
    assert fused_loss_choice("cuda", "TokenAveragedCrossEntropy", "qwen2", known)[0]
    off = [fused_loss_choice("cpu", "TokenAveragedCrossEntropy", "llama", known),
           fused_loss_choice("cuda", "TokenAveragedCrossEntropy", "llama", set()),
           fused_loss_choice("cuda", "TokenAveragedCrossEntropy", "gpt2", known),
           fused_loss_choice("cuda", "SampleAveragedCrossEntropy", "llama", known)]
    assert [used for used, _ in off] == [False] * 4
    assert "CUDA" in off[0][1] and "not installed" in off[1][1] and "'gpt2'" in off[2][1]
    assert "SampleAveragedCrossEntropy" in off[3][1]


def test_mfu_counts_4n_flops_per_token_for_lora_and_6n_for_full_against_the_dense_bf16_peak():
    n = 494_000_000  # a Qwen2-0.5B-class model
    assert mfu.flops_per_token(n, "lora") == 4 * n and mfu.flops_per_token(n, "full") == 6 * n
    # 100k tokens/s of LoRA on one H100 SXM: 100e3 * 4 * 494e6 / 989e12 = 0.1998
    assert mfu.mfu(100_000, n, "lora", 989.0) == pytest.approx(0.19980, rel=1e-4)
    assert mfu.mfu(100_000, n, "full", 312.0, n_gpus=2) == pytest.approx(100e3 * 6 * n / (2 * 312e12))
    assert mfu.peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert mfu.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert mfu.peak_tflops("NVIDIA H200") == 989.0
    assert mfu.peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert mfu.peak_tflops("NVIDIA L4") == 121.0 and mfu.peak_tflops("NVIDIA L40S") == 362.0
    assert mfu.peak_tflops("Tesla T4") is None


def test_rank_shares_of_a_step_weigh_up_to_the_one_process_mean():
    group = [[0], [1], [2]]  # a short last group: 3 micro-batches for 2 ranks
    shares = [rank_share(group, rank, 2) for rank in (0, 1)]
    assert shares[0] == [([0], 2 / 3), ([2], 2 / 3)]
    assert shares[1] == [([1], 2 / 3), ([0], 0.0)]  # padded so both ranks run two passes
    # DDP averages gradients over 2 ranks: (sum of weights) / 2 = 1 per real micro-batch / 3 each
    assert sum(w for share in shares for _, w in share) / 2 == pytest.approx(1.0)
    assert rank_share(group, 0, 1) == [(b, 1 / 3) for b in group]  # one process: today's mean


def test_resume_with_another_number_of_processes_is_refused_naming_both(tmp_path):
    folder = tmp_path / "last"
    folder.mkdir()
    (folder / "state.json").write_text(json.dumps({"step": 8, "world_size": 2}))
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(RunError, match=r"written by a run on 2 process\(es\) and this one has 1"):
        checkpoint.load_last(folder, SingleProcess(Ranks()), model, optimizer, None, None)


def test_compile_model_compiles_each_decoder_layer(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    from training.compiled_layers import compile_decoder_layers

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    assert compile_decoder_layers(model) == model.config.num_hidden_layers
    assert all(layer._compiled_call_impl is not None for layer in model.model.layers)
