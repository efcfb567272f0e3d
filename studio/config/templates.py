"""Studio's default chat template and LLM-judge prompt (used when the config leaves them null)."""

# Plain-text role markers work with any tokenizer, trained or not, and keep the
# prompt/answer boundary visible in logs. ``add_generation_prompt`` opens the answer.
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}<|system|>{{ message['content'] }}{{ eos_token }}"
    "{% elif message['role'] == 'user' %}<|prompt|>{{ message['content'] }}{{ eos_token }}"
    "{% elif message['role'] == 'assistant' %}<|answer|>{{ message['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|answer|>{% endif %}"
)

DEFAULT_JUDGE_PROMPT_TEMPLATE = """You are a strict and fair evaluator of answers written by an AI assistant.

[Question]
{PROMPT}

[Reference answer]
{TARGET_TEXT}

[Assistant's answer]
{PREDICTED_TEXT}

Compare the assistant's answer with the reference answer for correctness, completeness and relevance.
First explain your judgement in one or two sentences. Then, on the last line, write the score
as a number between 0 and 10 in exactly this form: "Score: <number>".
"""
