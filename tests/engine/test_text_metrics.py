"""Text metrics: QA_Accuracy's normalized exact-match rule, BLEU against sacrebleu, perplexity."""
from __future__ import annotations

import math

import pytest
import sacrebleu

from training.metrics import text


@pytest.mark.parametrize("prediction,target,correct", [
    ("The Paris.", "paris", True),
    ("  an  apple ", "Apple!", True),
    ("Paris, France", "Paris", False),  # exact match after normalization, not containment
    ("paris", "", False),
    ("42", "42", True),
])
def test_qa_accuracy_is_normalized_exact_match(prediction, target, correct):
    assert text.qa_correct(prediction, target) == float(correct)


def test_qa_accuracy_is_the_fraction_correct():
    assert text.qa_accuracy(["the cat", "dog", "x"], ["Cat", "dog.", "y"]) == pytest.approx(2 / 3)


def test_bleu_matches_sacrebleu_corpus_score():
    preds = ["the cat sat on the mat", "a quick brown dog", "hello there world"]
    refs = ["the cat sat on a mat", "the quick brown fox", "hello world"]
    assert text.corpus_bleu(preds, refs) == pytest.approx(sacrebleu.BLEU().corpus_score(preds, [refs]).score)
    assert text.corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert text.sentence_bleu("completely unrelated words here", "the cat sat on a mat") < 10


def test_perplexity_is_exp_of_mean_token_loss():
    assert text.perplexity(math.log(7.0)) == pytest.approx(7.0)
