"""Metrics of generated text: Perplexity, BLEU (sacrebleu) and QA_Accuracy.

QA_Accuracy rule: a prediction is correct when it equals the target after both are
normalized (SQuAD-style): lowercased, punctuation removed, the articles "a", "an",
"the" removed, and whitespace collapsed. "The Paris." matches "paris"; "Paris, France"
does not match "Paris". The metric is the fraction of correct predictions.
"""
from __future__ import annotations

import math
import re
import string

import sacrebleu

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    text = str(text).lower().translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def qa_correct(prediction: str, target: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(target))


def qa_accuracy(predictions: list[str], targets: list[str]) -> float:
    return sum(qa_correct(p, t) for p, t in zip(predictions, targets)) / max(1, len(targets))


def corpus_bleu(predictions: list[str], targets: list[str]) -> float:
    return float(sacrebleu.corpus_bleu(list(predictions), [list(targets)]).score)


def sentence_bleu(prediction: str, target: str) -> float:
    return float(sacrebleu.sentence_bleu(prediction, [target]).score)


def perplexity(mean_token_loss: float) -> float:
    """exp of the mean per-token cross-entropy over all validation answer tokens."""
    return float(math.exp(min(mean_token_loss, 700.0)))  # cap keeps it finite for a diverged model
