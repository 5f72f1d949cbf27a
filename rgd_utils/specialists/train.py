"""Training a specialist's LoRA adapter on the CPU (torch, transformers and peft).

The base model is the packaged GGUF itself, dequantised by transformers to float32, so the
adapter is trained on exactly the weights llama.cpp serves it on. Each training question
becomes the cloze text the pool is scored with (:func:`rgd_utils.responses.cloze_request`):
``Question: ...\\nAnswer:`` followed by the correct option's text, and the loss is the
cross-entropy of the answer's tokens only (the prompt is context, not a target). Sequences are
padded on the left, so every answer ends at the last position and only the last few positions
need the (large) vocabulary projection.

Needs the specialists extra (``make specialists`` installs it); nothing else in the study does.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from rgd_utils.benchmarks.schema import LETTERS
from rgd_utils.responses import cloze_request

from .specs import Recipe


def _import_training() -> tuple[Any, Any, Any]:
    try:
        import peft
        import torch
        import transformers
    except ImportError as error:
        raise ImportError(
            f"training specialists needs torch, transformers and peft ({error.name} is missing): "
            "run `make specialists`, which installs them (torch as the CPU build). Replaying the "
            "committed adapters' answers needs none of them."
        ) from error
    return torch, transformers, peft


def load_base(gguf: Path, threads: int) -> tuple[Any, Any]:
    """The base model (float32, dequantised from its GGUF) and its tokenizer."""
    torch, transformers, _ = _import_training()
    torch.set_num_threads(threads)
    tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    return model.eval(), tokenizer


def encode(tokenizer: Any, table: pd.DataFrame, max_tokens: int) -> tuple[list[list[int]], list[int], list[str]]:
    """Token ids of each question's cloze text and its answer length; ids too long are left out.

    Returns
    -------
    sequences : list of list of int
        Prompt then answer tokens (the prompt with the tokenizer's special tokens, the answer
        tokenised on its own, as llama.cpp scores a continuation).
    answer_lengths : list of int
        Tokens of the answer at the end of each sequence.
    skipped : list of str
        Ids of the questions longer than ``max_tokens``.
    """
    sequences, lengths, skipped = [], [], []
    for qid, question, options, answer in zip(table["qid"], table["question"], table["options"],
                                              table["answer"]):
        prompt, continuations = cloze_request(question, list(options))
        prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        answer_ids = tokenizer(continuations[LETTERS.index(answer)], add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(answer_ids) > max_tokens or not answer_ids:
            skipped.append(qid)
            continue
        sequences.append(prompt_ids + answer_ids)
        lengths.append(len(answer_ids))
    return sequences, lengths, skipped


def answer_loss(model: Any, sequences: list[list[int]], answer_lengths: list[int], pad_id: int) -> Any:
    """Mean cross-entropy of the answer tokens of a batch (left-padded; see the module doc)."""
    torch, _, _ = _import_training()
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, sequence in enumerate(sequences):
        ids[i, width - len(sequence):] = torch.tensor(sequence)
        mask[i, width - len(sequence):] = 1
    keep = max(answer_lengths) + 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                   logits_to_keep=keep).logits[:, :-1]
    targets = ids[:, width - keep + 1:]
    offsets = torch.arange(keep - 1)
    wanted = offsets[None, :] >= (keep - 1 - torch.tensor(answer_lengths))[:, None]
    losses = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                               targets.reshape(-1), reduction="none")
    return (losses.reshape(targets.shape) * wanted).sum() / wanted.sum()


def train_adapter(
    base_gguf: Path,
    table: pd.DataFrame,
    recipe: Recipe,
    out_dir: Path,
    log: Callable[[str], None] = print,
) -> dict:
    """Train a LoRA adapter on ``table``'s questions and save it (peft format) in ``out_dir``.

    Parameters
    ----------
    base_gguf : pathlib.Path
        The base model's GGUF file.
    table : pandas.DataFrame
        Training questions (question schema; ``answer`` is a letter).
    recipe : Recipe
        Hyper-parameters, seed and threads.
    out_dir : pathlib.Path
        Where ``adapter_model.safetensors`` and ``adapter_config.json`` are written.
    log : callable
        Receives a progress line every 10 steps.

    Returns
    -------
    dict
        ``steps``, ``examples``, ``skipped`` (ids too long), ``first_loss`` and ``last_loss``
        (means over the first and last 10 steps) and ``seconds``.
    """
    torch, _, peft = _import_training()
    torch.manual_seed(recipe.seed)
    torch.use_deterministic_algorithms(True)
    model, tokenizer = load_base(base_gguf, recipe.threads)
    sequences, lengths, skipped = encode(tokenizer, table, recipe.max_tokens)
    if not sequences:
        raise ValueError("no training question fits in max_tokens")
    config = peft.LoraConfig(r=recipe.rank, lora_alpha=recipe.alpha, lora_dropout=0.0,
                             target_modules=list(recipe.targets), bias="none",
                             task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=recipe.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / max(recipe.warmup_steps, 1)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rng = np.random.default_rng(recipe.seed)
    losses: list[float] = []
    start = time.perf_counter()
    steps_per_epoch = math.ceil(len(sequences) / recipe.batch_size)
    for epoch in range(recipe.epochs):
        order = rng.permutation(len(sequences))
        for step in range(steps_per_epoch):
            rows = order[step * recipe.batch_size:(step + 1) * recipe.batch_size]
            loss = answer_loss(model, [sequences[i] for i in rows], [lengths[i] for i in rows], pad)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.detach().item())
            if len(losses) % 10 == 0:
                log(f"epoch {epoch + 1} step {step + 1}/{steps_per_epoch}: "
                    f"loss {np.mean(losses[-10:]):.4f} ({time.perf_counter() - start:.0f} s)")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    return {"steps": len(losses), "examples": len(sequences), "skipped": skipped,
            "first_loss": float(np.mean(losses[:10])), "last_loss": float(np.mean(losses[-10:])),
            "seconds": round(time.perf_counter() - start, 1)}
