"""The experiment configuration: one pydantic model per YAML section.

Every key and default of the spec lives here and nowhere else: the New Experiment
dialog, the Advanced YAML editor, validation and the engine all read these fields.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, field_validator

from .data_bounds import MAX_NUM_CLASSES
from .fields import setting
from .problem_types import (
    CAUSAL_LM, CHAT_TYPES, DPO, GENERATION_TYPES, IMAGE_CLASSIFICATION, IMAGE_TYPES,
    LLM_JUDGE, LOSS_FUNCTIONS, NUM_CLASSES_TYPES, PROBLEM_TYPES, TEXT_INPUT_TYPES,
)
from .templates import DEFAULT_JUDGE_PROMPT_TEMPLATE

# Every loss of every type: the dialog narrows them to the chosen type's (LOSS_FUNCTIONS), the
# validator refuses another type's loss by name.
ALL_LOSS_CHOICES = [None, *dict.fromkeys(name for names in LOSS_FUNCTIONS.values() for name in names)]

GENERATION = sorted(GENERATION_TYPES)
LORA_MODES = {"architecture.training_mode": ["lora", "qlora"]}


class Section(BaseModel):
    # allow_inf_nan=False: no setting means anything at inf or nan (a weight decay of inf
    # would train to nan), so every float field of every section refuses them.
    # coerce_numbers_to_str: YAML reads an unquoted id or column name made of digits as a number.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False,
                              coerce_numbers_to_str=True)


class DatasetSettings(Section):
    train_dataset_id: Optional[str] = setting(
        None, "The dataset to train on, chosen from the current project's datasets.",
        label="Train dataset", dialog=True)
    train_dataframe: Optional[str] = setting(
        None, "Path to a CSV, Parquet, JSON or JSONL file to train on (CLI use, instead of a dataset id).",
        label="Train data file")
    validation_dataset_id: Optional[str] = setting(
        None, "A separate validation dataset, used when Validation strategy is custom.",
        label="Validation dataset", dialog=True,
        show_when={"dataset.validation_strategy": ["custom"]})
    validation_dataframe: Optional[str] = setting(
        None, "Path to a validation data file (CLI use, with validation_strategy custom).",
        label="Validation data file")
    input_column: str = setting(
        "input", "Column holding the input text: the prompt or instruction.",
        label="Input column", dialog=True, problem_types=sorted(TEXT_INPUT_TYPES))
    output_column: Optional[Union[str, list[str]]] = setting(
        "output", "Target column with the expected answer or label. Several columns are "
        "concatenated. For object_detection: COCO annotations {bbox, category}. "
        "Null when Unroll conversations is on: the assistant turns are the answers.",
        label="Output column", dialog=True)
    image_column: str = setting(
        "image", "Column holding the image (bytes, base64 or a file inside the dataset).",
        label="Image column", dialog=True, problem_types=sorted(IMAGE_TYPES))
    data_sample: float = setting(
        1.0, "Fraction of the dataset to use (0 < x <= 1). Use 1.0 for final runs.",
        label="Data sample", dialog=True, gt=0.0, le=1.0)
    data_sample_choice: list[Literal["Train", "Validation"]] = setting(
        lambda: ["Train", "Validation"], "Which splits Data sample downsamples when it is below 1.0.",
        label="Data sample choice", dialog=True, choices=["Train", "Validation"], multiselect=True)
    validation_strategy: Literal["automatic", "custom"] = setting(
        "automatic", "automatic: split Validation size off the training data; custom: use a separate validation dataset.",
        label="Validation strategy", dialog=True, choices=["automatic", "custom"])
    validation_size: float = setting(
        0.2, "Fraction of the training data held out for validation (automatic strategy).",
        label="Validation size", dialog=True, gt=0.0, lt=1.0,
        show_when={"dataset.validation_strategy": ["automatic"]})
    num_classes: Optional[int] = setting(
        None, "Number of output classes; inferred from the data when empty.",
        label="Number of classes", dialog=True, problem_types=sorted(NUM_CLASSES_TYPES), ge=1,
        le=MAX_NUM_CLASSES)
    system_column: Optional[str] = setting(
        None, "Column holding a system prompt; none applied when empty.",
        label="System column", dialog=True, problem_types=sorted(CHAT_TYPES))
    unroll_conversations: bool = setting(
        False, "Split multi-turn conversations (a column of [{role, content}, ...] messages) into one "
        "sample per assistant turn: the system prompt, the user turn before it and that answer.",
        label="Unroll conversations", problem_types=sorted(CHAT_TYPES))
    unroll_with_history: bool = setting(
        False, "With Unroll conversations: keep every earlier turn of the conversation in each sample's "
        "prompt (more context, longer samples) instead of only the system prompt and the user turn.",
        label="Unroll with history", problem_types=sorted(CHAT_TYPES),
        show_when={"dataset.unroll_conversations": [True]})
    rejected_output_column: str = setting(
        "rejected", "Column holding the rejected answer of each preference pair (the Output column holds "
        "the chosen one).", label="Rejected answer column", dialog=True, problem_types=[DPO])


class TokenizerSettings(Section):
    max_length: int = setting(
        512, "Maximum tokens per sample after tokenization; longer inputs are truncated. "
        "Capped at the model's max_position_embeddings.",
        label="Max token length", dialog=True, problem_types=sorted(TEXT_INPUT_TYPES), ge=8, le=1_048_576)
    padding_quantile: float = setting(
        1.0, "Pad each batch to this quantile of its lengths (1.0 = longest, 0.0 = no dynamic padding: "
        "always max_length); longer samples are cut. No effect where batches are packed (Causal LM with "
        "batch size > 1 and sdpa/eager/flash attention): nothing is padded there.",
        label="Padding quantile", ge=0.0, le=1.0)
    tokenizer_kwargs: str = setting(
        '{"use_fast": true, "add_prefix_space": false}',
        "JSON keyword arguments passed to AutoTokenizer.from_pretrained.", label="Tokenizer kwargs")
    chat_template: Optional[str] = setting(
        None, 'Jinja2 chat template. null = Studio default; "model" = the tokenizer\'s own; '
        "any other string = a custom template.", label="Chat template", problem_types=GENERATION)
    padding_side: Optional[Literal["left", "right"]] = setting(
        None, "Padding side; auto: left for generation types, right for classifiers.",
        label="Padding side", choices=[None, "left", "right"])


class ArchitectureSettings(Section):
    training_mode: Literal["lora", "qlora", "full"] = setting(
        "lora", "lora: low-rank adapters; qlora: adapters on a 4-bit model (least memory); "
        "full: update all weights.", label="Training mode", dialog=True, choices=["lora", "qlora", "full"])
    gradient_checkpointing: bool = setting(
        True, "Recompute activations in the backward pass: less memory, a little slower.",
        label="Gradient checkpointing")
    intermediate_dropout: float = setting(
        0.0, "Dropout probability on intermediate layers (the hidden/MLP dropout of the model; added to "
        "the MLP blocks of models that have none, such as Llama). 0.0 leaves the model's own dropout.",
        label="Intermediate dropout", ge=0.0, lt=1.0)
    backbone_kwargs: str = setting(
        "{}", "JSON keyword arguments passed to AutoConfig.from_pretrained for the backbone.",
        label="Backbone kwargs")


class TrainingSettings(Section):
    batch_size: int = setting(1, "Training samples per step per GPU.", label="Batch size", dialog=True, ge=1, le=4096)
    learning_rate: float = setting(
        0.0001, "Size of each optimizer update.", label="Learning rate", dialog=True, gt=0.0, le=10.0)
    epochs: float = setting(1, "Full passes over the training data.", label="Epochs", dialog=True, gt=0.0, le=10_000)
    attention_implementation: Literal["auto", "eager", "sdpa", "flash_attention_2", "flash_attention_3"] = setting(
        "auto", "Attention backend; auto picks the best available (flash attention, then sdpa).",
        label="Attention implementation", choices=["auto", "eager", "sdpa", "flash_attention_2", "flash_attention_3"])
    evaluate_before_training: Optional[bool] = setting(
        None, "Evaluate once before training; auto: true for classifiers, false otherwise.",
        label="Evaluate before training")
    differential_learning_rate: float = setting(
        1.0e-05, "Learning rate for the layers in differential_learning_rate_layers.",
        label="Differential learning rate", ge=0.0)
    differential_learning_rate_layers: list[str] = setting(
        list, "Comma-separated layer names (substrings) trained at the differential learning rate "
        "(a YAML list works too); empty = off.", label="Differential learning rate layers")
    gradient_clip: float = setting(0.0, "Maximum gradient norm; 0 disables clipping.", label="Gradient clip", ge=0.0)
    weight_decay: float = setting(0.0, "L2 regularization coefficient.", label="Weight decay", ge=0.0)
    warmup_epochs: float = setting(
        0.0, "Epochs of linear warm-up from 0 to the learning rate.", label="Warmup epochs", ge=0.0)
    min_learning_rate_ratio: float = setting(
        0.0, "Floor of the schedule as a fraction of the learning rate.", label="Minimum learning rate ratio",
        ge=0.0, le=1.0)
    grad_accumulation: int = setting(
        1, "Forward passes per optimizer update.", label="Gradient accumulation", ge=1, le=4096)
    evaluation_epochs: float = setting(
        0.5, "Evaluate every this many epochs (0.5 = twice per epoch).", label="Evaluation epochs", gt=0.0)
    optimizer: Literal["AdamW", "Adam", "SGD", "RMSprop", "Adadelta", "AdamW8bit"] = setting(
        "AdamW", "Optimization algorithm (AdamW8bit needs bitsandbytes).", label="Optimizer",
        choices=["AdamW", "Adam", "SGD", "RMSprop", "Adadelta", "AdamW8bit"])
    schedule: Literal["Cosine", "Linear", "Constant"] = setting(
        "Cosine", "Learning-rate schedule after warm-up.", label="Schedule", choices=["Cosine", "Linear", "Constant"])
    train_validation_data: bool = setting(
        False, "Merge the validation data into training (final production runs; no validation monitoring).",
        label="Train on validation data")
    use_length_based_sampler: bool = setting(
        True, "Group samples of similar length into batches to cut padding.", label="Use length-based sampler")
    lora_rank: int = setting(4, "Inner dimension of the LoRA matrices.", label="LoRA rank", dialog=True,
                             show_when=LORA_MODES, ge=1, le=4096)
    lora_alpha: float = setting(16, "Scaling factor of the LoRA update.", label="LoRA alpha", dialog=True,
                                show_when=LORA_MODES, gt=0)
    lora_dropout: float = setting(0.05, "Dropout on LoRA layers.", label="LoRA dropout", dialog=True,
                                  show_when=LORA_MODES, ge=0.0, lt=1.0)
    lora_target_modules: str = setting(
        "", "Comma-separated module names to adapt; empty = all linear layers except the head.",
        label="LoRA target modules", dialog=True, show_when=LORA_MODES)
    loss_function: Optional[str] = setting(
        None, "Override the problem type's default loss (null = default, the first listed). Preference tuning: "
        "DPOLoss (sigmoid), IPOLoss, HingeLoss, SimPOLoss (reference-free, length-normalised), ORPOLoss "
        "(reference-free, with the SFT term).", label="Loss function", dialog=True, choices=ALL_LOSS_CHOICES)
    image_augmentation_pipeline: Optional[Literal["low", "medium", "high"]] = setting(
        None, "null: none; low: flip; medium: flip, affine, random erasing; high: random resized crop, "
        "flip, affine, colour jitter, random erasing.", label="Image augmentation",
        dialog=True, problem_types=[IMAGE_CLASSIFICATION], choices=[None, "low", "medium", "high"])
    image_resolution: Optional[int] = setting(
        None, "Resize images to this many pixels; null = the image processor's default.",
        label="Image resolution", dialog=True, problem_types=[IMAGE_CLASSIFICATION], ge=8, le=4096)
    use_mixup: bool = setting(False, "Blend pairs of images and their labels.", label="Use mixup",
                              dialog=True, problem_types=[IMAGE_CLASSIFICATION])
    use_cutmix: bool = setting(False, "Paste a patch of one image into another and mix labels by area.",
                               label="Use CutMix", dialog=True, problem_types=[IMAGE_CLASSIFICATION])
    @field_validator("differential_learning_rate_layers", mode="before")
    @classmethod
    def _layers_from_comma_text(cls, value):
        # The spec writes this setting as comma-separated text ("head, layers.11").
        return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value

    llm_judge_model: str = setting(
        "gpt-5-mini", "Model that scores outputs for the LLM-as-a-Judge metric.", label="LLM judge model",
        dialog=True, problem_types=sorted(CHAT_TYPES), show_when={"prediction.metrics": [LLM_JUDGE]})
    llm_judge_prompt_template: str = setting(
        DEFAULT_JUDGE_PROMPT_TEMPLATE, "Prompt for the judge, with {PROMPT}, {PREDICTED_TEXT} and {TARGET_TEXT}.",
        label="LLM judge prompt template", dialog=True, problem_types=sorted(CHAT_TYPES),
        show_when={"prediction.metrics": [LLM_JUDGE]})
    beta: float = setting(
        0.1, "Preference strength: DPO/Hinge temperature on the reward difference, IPO's regularisation tau, "
        "SimPO's reward scale, ORPO's weight of the odds-ratio term.", label="Beta", dialog=True,
        problem_types=[DPO], gt=0.0, le=100.0)
    simpo_gamma: float = setting(
        0.5, "SimPO target reward margin (gamma); only for SimPOLoss.", label="SimPO gamma", dialog=True,
        problem_types=[DPO], show_when={"training.loss_function": ["SimPOLoss"]}, ge=0.0, le=100.0)


class PredictionSettings(Section):
    metrics: Optional[list[str]] = setting(
        None, "Validation metrics; null = the problem type's defaults.", label="Metrics", dialog=True,
        multiselect=True)
    batch_size_inference: int = setting(
        0, "Inference batch size; 0 = the training batch size.", label="Inference batch size", ge=0)
    max_length_inference: int = setting(
        128, "Maximum new tokens generated per output.", label="Max generation length",
        problem_types=GENERATION, ge=1)
    min_length_inference: int = setting(
        2, "Minimum new tokens before end-of-sequence is allowed.", label="Min generation length",
        problem_types=GENERATION, ge=0)
    num_beams: int = setting(1, "Beams in beam search; 1 = greedy or sampling.", label="Number of beams",
                             problem_types=GENERATION, ge=1, le=64)
    repetition_penalty: float = setting(
        1.0, "Penalty on repeated tokens; 1.0 = none.", label="Repetition penalty", problem_types=GENERATION, gt=0.0)
    temperature: float = setting(0.0, "Sampling temperature; 0 = greedy.", label="Temperature",
                                 problem_types=GENERATION, ge=0.0)
    top_k: int = setting(0, "Sample from the k most likely tokens (temperature > 0); 0 = off.", label="Top-K",
                         problem_types=GENERATION, ge=0)
    top_p: float = setting(1.0, "Nucleus sampling threshold (temperature > 0); 1.0 = off.", label="Top-P",
                           problem_types=GENERATION, gt=0.0, le=1.0)


class EnvironmentSettings(Section):
    find_unused_parameters: bool = setting(
        False, "DDP flag; disabled automatically with gradient checkpointing.", label="Find unused parameters")
    mixed_precision: bool = setting(
        True, "Automatic mixed precision on GPU (bf16 where supported, else fp16); fp32 on CPU.",
        label="Mixed precision")
    trust_remote_code: bool = setting(
        False, "Run custom model code from the model repository. Only for repositories you trust.",
        label="Trust remote code")
    number_of_gpus: int = setting(
        1, "GPUs this run uses. More than 1 starts one training process per GPU under torchrun "
        "(DDP, or FSDP with use_fsdp); the run waits in the queue until that many GPUs are free. "
        "On a machine without GPUs, more than 1 starts that many CPU processes (gloo).",
        label="Number of GPUs", dialog=True, needs_gpu=True, ge=1, le=64)
    use_fsdp: bool = setting(False, "Shard the model across GPUs with FSDP.", label="Use FSDP")
    use_fsdp_cpu_offload: bool = setting(
        False, "Offload FSDP parameters and optimizer state to CPU (needs use_fsdp).", label="Use FSDP CPU offload")
    compile_model: bool = setting(
        False, "Compile each decoder layer with torch.compile: slower first steps, then faster ones on GPU.",
        label="Compile model")
    seed: int = setting(-1, "Random seed; -1 picks one per run and records it.", label="Seed", ge=-1)
    huggingface_branch: str = setting(
        "main", "Branch, tag or commit of the model repository.", label="Hugging Face branch")


SECTIONS: dict[str, type[Section]] = {
    "dataset": DatasetSettings,
    "tokenizer": TokenizerSettings,
    "architecture": ArchitectureSettings,
    "training": TrainingSettings,
    "prediction": PredictionSettings,
    "environment": EnvironmentSettings,
}

TOP_LEVEL = {
    "experiment_name": setting("", "A label for this run; generated when blank.", label="Experiment name", dialog=True),
    "problem_type": setting(CAUSAL_LM, "Model head, loss and metrics.", label="Problem type", dialog=True,
                            choices=PROBLEM_TYPES),
    "llm_backbone": setting("h2oai/h2o-danube3-500m-chat", "Pretrained model to fine-tune: a Hub id or a local folder.",
                            label="Model", dialog=True),
}
