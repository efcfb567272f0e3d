"""The five problem types and what each one implies: model class, metrics, auto defaults."""
from __future__ import annotations

CAUSAL_LM = "text_causal_language_modeling"
CLASSIFICATION_LM = "text_causal_classification_modeling"
IMAGE_CLASSIFICATION = "image_classification"
MULTIMODAL = "multimodal_causal_language_modeling"
OBJECT_DETECTION = "object_detection"
DPO = "text_dpo_modeling"

PROBLEM_TYPES = [CAUSAL_LM, CLASSIFICATION_LM, IMAGE_CLASSIFICATION, MULTIMODAL, OBJECT_DETECTION, DPO]

LABELS = {
    CAUSAL_LM: "Causal LM",
    DPO: "Preference tuning (DPO)",
    CLASSIFICATION_LM: "Classification LM",
    IMAGE_CLASSIFICATION: "Image Classification",
    MULTIMODAL: "Multimodal",
    OBJECT_DETECTION: "Object Detection (experimental)",
}

AUTO_MODEL_CLASS = {
    CAUSAL_LM: "AutoModelForCausalLM",
    DPO: "AutoModelForCausalLM",
    CLASSIFICATION_LM: "AutoModelForSequenceClassification",
    IMAGE_CLASSIFICATION: "AutoModelForImageClassification",
    MULTIMODAL: "AutoModelForImageTextToText",
    OBJECT_DETECTION: "AutoModelForObjectDetection",
}

LLM_JUDGE = "LLM-as-a-Judge"
# Preference metrics: computed on every validation pair from the policy's (and reference's) log-probabilities.
REWARD_ACCURACY, REWARD_MARGIN = "Reward accuracy", "Reward margin"
CHOSEN_LOGP, REJECTED_LOGP = "Chosen logp", "Rejected logp"
PREFERENCE_METRICS = [REWARD_MARGIN, REWARD_ACCURACY, CHOSEN_LOGP, REJECTED_LOGP]

METRICS = {
    CAUSAL_LM: ["Perplexity", "BLEU", LLM_JUDGE, "QA_Accuracy"],
    DPO: PREFERENCE_METRICS + ["Perplexity", "BLEU", LLM_JUDGE, "QA_Accuracy"],
    MULTIMODAL: ["Perplexity", "BLEU", "QA_Accuracy"],
    CLASSIFICATION_LM: ["AUC", "Accuracy", "LogLoss", "MAP@3"],
    IMAGE_CLASSIFICATION: ["AUC", "Accuracy", "LogLoss", "MAP@3"],
    OBJECT_DETECTION: ["mAP", "mAP@50", "mAP@75", "mAR"],
}

DEFAULT_METRICS = {
    CAUSAL_LM: ["Perplexity", "BLEU"],
    DPO: [REWARD_MARGIN, REWARD_ACCURACY],
    MULTIMODAL: ["Perplexity", "BLEU"],
    CLASSIFICATION_LM: ["AUC", "Accuracy"],
    IMAGE_CLASSIFICATION: ["Accuracy", "AUC"],
    OBJECT_DETECTION: ["mAP", "mAP@50"],
}

# Whether a larger value of the metric is better; the UI and "best checkpoint" read this.
HIGHER_IS_BETTER = {
    "Perplexity": False, "BLEU": True, LLM_JUDGE: True, "QA_Accuracy": True,
    "AUC": True, "Accuracy": True, "LogLoss": False, "MAP@3": True,
    "mAP": True, "mAP@50": True, "mAP@75": True, "mAR": True,
    REWARD_ACCURACY: True, REWARD_MARGIN: True, CHOSEN_LOGP: True, REJECTED_LOGP: False,
}

# Problem types that train the same backbones as another (a registry entry for the latter fits them too).
SAME_BACKBONES_AS = {DPO: CAUSAL_LM}

GENERATION_TYPES = {CAUSAL_LM, DPO, MULTIMODAL}
# Chat-formatted text types: system column, conversation unrolling, the judge metric.
CHAT_TYPES = {CAUSAL_LM, DPO}
CLASSIFIER_TYPES = {CLASSIFICATION_LM, IMAGE_CLASSIFICATION}
IMAGE_TYPES = {IMAGE_CLASSIFICATION, MULTIMODAL, OBJECT_DETECTION}
TEXT_INPUT_TYPES = {CAUSAL_LM, DPO, CLASSIFICATION_LM, MULTIMODAL}
NUM_CLASSES_TYPES = {CLASSIFICATION_LM, IMAGE_CLASSIFICATION, OBJECT_DETECTION}
DEPLOYABLE_TYPES = {CAUSAL_LM, DPO, CLASSIFICATION_LM, MULTIMODAL, IMAGE_CLASSIFICATION}
NOT_DEPLOYABLE_REASON = {
    OBJECT_DETECTION: "Object detection models cannot be deployed: DETR models are not "
    "compatible with the serving pipeline (see Known limitations).",
}

# Loss functions each problem type accepts in training.loss_function (first = default).
LOSS_FUNCTIONS = {
    CAUSAL_LM: ["TokenAveragedCrossEntropy", "SampleAveragedCrossEntropy"],
    DPO: ["DPOLoss", "IPOLoss", "HingeLoss", "SimPOLoss", "ORPOLoss"],
    MULTIMODAL: ["TokenAveragedCrossEntropy", "SampleAveragedCrossEntropy"],
    CLASSIFICATION_LM: ["CrossEntropy", "BinaryCrossEntropy", "FocalLoss"],
    IMAGE_CLASSIFICATION: ["CrossEntropy", "BinaryCrossEntropy", "FocalLoss"],
    OBJECT_DETECTION: ["DETRLoss"],
}

# What a checkpoint's config.json "architectures" say it fits, by class-name ending (first match).
ARCHITECTURE_FITS = (
    ("ForCausalLM", (CAUSAL_LM, CLASSIFICATION_LM)),
    ("LMHeadModel", (CAUSAL_LM, CLASSIFICATION_LM)),
    ("ForSequenceClassification", (CLASSIFICATION_LM,)),
    ("ForImageClassification", (IMAGE_CLASSIFICATION,)),
    ("ForObjectDetection", (OBJECT_DETECTION,)),
    ("ForImageTextToText", (MULTIMODAL,)),
    ("ForVision2Seq", (MULTIMODAL,)),
)
VISION_LANGUAGE_SUFFIX = "ForConditionalGeneration"  # multimodal when the config has a vision part


def problem_types_of_checkpoint(model_config: dict) -> tuple[str, ...] | None:
    """The problem types a model's config.json fits, from its architectures; None when it does not say."""
    fits: list[str] = []
    for name in model_config.get("architectures") or []:
        name = str(name)
        found = next((types for suffix, types in ARCHITECTURE_FITS if name.endswith(suffix)), ())
        if not found and name.endswith(VISION_LANGUAGE_SUFFIX) and "vision_config" in model_config:
            found = (MULTIMODAL,)
        fits += [t for t in found if t not in fits]
    return tuple(t for t in PROBLEM_TYPES if t in fits) or None
