"""The engine's preference losses agree with TRL's on the same tiny model and batch (to 1e-5).

DPO / IPO / Hinge: TRL's own ``DPOTrainer.compute_loss`` (policy = LoRA model, reference = the
same model with the adapter disabled) against the engine's packed forward on the same token ids.
SimPO / ORPO: TRL's ``CPOTrainer.cpo_loss`` / ``ORPOTrainer.odds_ratio_loss`` on TRL's own padded
log-probabilities against the engine's loss on its packed forward.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from studio.config import ExperimentConfig
from studio.config.templates import DEFAULT_CHAT_TEMPLATE
from training import batching
from training.problems.dpo import PreferenceProblem
from training.text_samples import TextSample, encode

PAIRS = [
    {"prompt": "Reverse the word: fish", "chosen": "hsif", "rejected": "fish"},
    {"prompt": "What is 2 + 3?", "chosen": "5", "rejected": "6 or so"},
    {"prompt": "Capitalize: snow", "chosen": "SNOW", "rejected": "snow, I think"},
]


LORA = dict(r=4, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM")


def perturb_adapter(model) -> None:
    """A trained-looking adapter, so that the policy and the reference (adapter disabled) differ."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)


def base_model(tiny_llama_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32),
            AutoTokenizer.from_pretrained(tiny_llama_dir))


@pytest.fixture(scope="module")
def lora_model(tiny_llama_dir):
    from peft import LoraConfig, get_peft_model

    model, tokenizer = base_model(tiny_llama_dir)
    model = get_peft_model(model, LoraConfig(**LORA))
    perturb_adapter(model)
    tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    return model, tokenizer


def engine_problem(loss_function: str, model, tokenizer, beta: float = 0.1) -> PreferenceProblem:
    cfg = ExperimentConfig(problem_type="text_dpo_modeling", llm_backbone="tiny",
                           dataset={"train_dataframe": "pairs.csv"},
                           training={"loss_function": loss_function, "beta": beta, "simpo_gamma": 0.5})
    problem = PreferenceProblem(cfg, logs=None, device=torch.device("cpu"))
    problem.processor = problem.tokenizer = tokenizer
    problem.packing = True
    return problem


def sequences_of(batch: dict) -> list[dict]:
    """TRL's padded [chosen..., rejected...] rows as the engine's samples, in the engine's pair order."""
    rows = []
    for ids, attention, completion in zip(batch["input_ids"], batch["attention_mask"], batch["completion_mask"]):
        keep = attention.bool()
        ids, completion = ids[keep].tolist(), completion[keep].tolist()
        labels = [t if c else -100 for t, c in zip(ids, completion)]
        rows.append({"input_ids": ids, "labels": labels, "prompt_ids": ids[:completion.index(1)]})
    half = len(rows) // 2
    return [seq for pair in zip(rows[:half], rows[half:]) for seq in pair]


def engine_loss(problem, model, sequences) -> torch.Tensor:
    return problem.training_loss(model, problem.collate(sequences))


@pytest.mark.parametrize("engine_name,trl_name", [("DPOLoss", "sigmoid"), ("IPOLoss", "ipo"), ("HingeLoss", "hinge")])
def test_reference_losses_match_trl_dpo_trainer(tiny_llama_dir, tmp_path, engine_name, trl_name):
    from datasets import Dataset
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    model, tokenizer = base_model(tiny_llama_dir)
    args = DPOConfig(output_dir=str(tmp_path), loss_type=[trl_name], beta=0.1, per_device_train_batch_size=len(PAIRS),
                     report_to=[], use_cpu=True, max_length=64, bf16=False, fp16=False, dataloader_num_workers=0,
                     remove_unused_columns=False)
    # TRL adds a new adapter (reference = adapter disabled), as the engine does
    trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(PAIRS), processing_class=tokenizer,
                         peft_config=LoraConfig(**LORA))
    model = trainer.model
    perturb_adapter(model)
    batch = next(iter(trainer.get_train_dataloader()))
    model.train()
    with torch.no_grad():
        expected = trainer.compute_loss(trainer.model, batch)
        got = engine_loss(engine_problem(engine_name, model, tokenizer), model, sequences_of(batch))
    assert abs(float(got) - float(expected)) < 1e-5, (engine_name, float(got), float(expected))


def padded_average_logps(model, sequences):
    """TRL's get_batch_logps(average_log_prob=True) on a right-padded batch of the sequences."""
    from trl.experimental.orpo.orpo_trainer import ORPOTrainer

    width = max(len(s["input_ids"]) for s in sequences)
    ids = torch.tensor([s["input_ids"] + [0] * (width - len(s["input_ids"])) for s in sequences])
    labels = torch.tensor([s["labels"] + [-100] * (width - len(s["labels"])) for s in sequences])
    mask = torch.tensor([[1] * len(s["input_ids"]) + [0] * (width - len(s["input_ids"])) for s in sequences])
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    average = ORPOTrainer.get_batch_logps(logits, labels, average_log_prob=True)
    nll = torch.nn.functional.cross_entropy(logits[0::2, :-1].reshape(-1, logits.size(-1)),
                                            labels[0::2, 1:].reshape(-1), ignore_index=-100)
    return average[0::2], average[1::2], nll


@pytest.mark.parametrize("beta", [0.1, 2.0])
def test_reference_free_losses_match_trl_cpo_and_orpo(lora_model, beta):
    from trl.experimental.cpo.cpo_trainer import CPOTrainer
    from trl.experimental.orpo.orpo_trainer import ORPOTrainer

    model, tokenizer = lora_model
    problem = engine_problem("SimPOLoss", model, tokenizer, beta)

    sequences = []
    for pair in PAIRS:
        messages = [{"role": "user", "content": pair["prompt"]}]
        for answer in (pair["chosen"], pair["rejected"]):
            sequences.append(encode(tokenizer, TextSample(messages, answer, 1), 64))
    model.eval()
    with torch.no_grad():
        chosen, rejected, nll = padded_average_logps(model, sequences)
        shim = SimpleNamespace(beta=beta, simpo_gamma=0.5, label_smoothing=0.0, alpha=0.0, loss_type="simpo",
                               accelerator=SimpleNamespace(device="cpu"))
        simpo_expected = CPOTrainer.cpo_loss(shim, chosen, rejected)[0].mean()
        orpo_losses = ORPOTrainer.odds_ratio_loss(shim, chosen, rejected)[0]
        orpo_expected = nll - orpo_losses.mean()
        simpo_got = engine_loss(problem, model, sequences)
        orpo_got = engine_loss(engine_problem("ORPOLoss", model, tokenizer, beta), model, sequences)
    assert abs(float(simpo_got) - float(simpo_expected)) < 1e-5
    assert abs(float(orpo_got) - float(orpo_expected)) < 1e-5


def test_pair_logps_come_from_one_packed_forward(lora_model):
    model, tokenizer = lora_model
    problem = engine_problem("SimPOLoss", model, tokenizer)

    sequences = [encode(tokenizer, TextSample([{"role": "user", "content": p["prompt"]}], a, 1), 64)
                 for p in PAIRS for a in (p["chosen"], p["rejected"])]
    batch = problem.collate(sequences)
    assert batch["input_ids"].shape[0] == 1  # chosen and rejected answers share one packed row
    assert batching.next_token_targets(batch)[0].numel() == sum(
        sum(1 for label in s["labels"] if label != -100) for s in sequences)
