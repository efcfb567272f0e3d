"""Generate the small demo datasets shipped with Studio (deterministic: same files every run).

    python assets/data/make_demo_data.py [OUT_DIR]

- demo_instructions.csv: input/output instruction pairs a tiny model learns on CPU in a
  minute (reverse a word, upper-case a word, add small numbers, repeat a word); a
  ``system`` column is filled in a few rows.
- demo_chat.jsonl: multi-turn conversations in a ``messages`` column ([{role, content}]):
  the assistant remembers the user's name and favourite colour across turns.
- demo_sentiment.csv: text/label for classification (positive, negative, neutral), the
  label given away by keywords.
- demo_preferences.csv: prompt/chosen/rejected preference pairs for text_dpo_modeling: the
  chosen answer is right, the rejected one a typical near miss (the word not reversed, the
  sum off by one, ...).
"""
from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

WORDS = ["cat", "dog", "sun", "tree", "milk", "book", "lamp", "fish", "star", "rain", "bird", "frog",
         "cake", "ship", "moon", "road", "leaf", "rock", "wind", "door", "bell", "kite", "rose", "snow"]
NAMES = ["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jade", "Kai", "Lena", "Max", "Nia"]
COLORS = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"]
SYSTEM_PROMPT = "You are a precise assistant. Answer with the result only."


def instructions(rng: random.Random, rows: int = 300) -> list[dict]:
    tasks = [
        lambda w, a, b: (f"Reverse the word: {w}", w[::-1]),
        lambda w, a, b: (f"Capitalize: {w}", w.upper()),
        lambda w, a, b: (f"What is {a} + {b}?", str(a + b)),
        lambda w, a, b: (f"Repeat twice: {w}", f"{w} {w}"),
    ]
    out = []
    for i in range(rows):
        task = tasks[i % len(tasks)]
        prompt, answer = task(rng.choice(WORDS), rng.randint(0, 9), rng.randint(0, 9))
        out.append({"input": prompt, "output": answer, "system": SYSTEM_PROMPT if i % 20 == 0 else ""})
    return out


def chats(rng: random.Random, rows: int = 100) -> list[dict]:
    out = []
    for i in range(rows):
        name, color = rng.choice(NAMES), rng.choice(COLORS)
        messages = []
        if i % 4 == 0:
            messages.append({"role": "system", "content": "You are a friendly assistant with a good memory."})
        messages += [
            {"role": "user", "content": f"Hi, my name is {name}."},
            {"role": "assistant", "content": f"Nice to meet you, {name}!"},
            {"role": "user", "content": f"My favourite colour is {color}."},
            {"role": "assistant", "content": f"Noted: your favourite colour is {color}."},
        ]
        if i % 2 == 0:
            messages += [{"role": "user", "content": "What is my name?"},
                         {"role": "assistant", "content": f"Your name is {name}."}]
        else:
            messages += [{"role": "user", "content": "Which colour do I like?"},
                         {"role": "assistant", "content": f"You like {color}."}]
        out.append({"messages": messages})
    return out


def sentiment(rng: random.Random, rows: int = 300) -> list[dict]:
    cues = {
        "positive": ["great", "wonderful", "excellent", "loved", "fantastic", "delightful"],
        "negative": ["terrible", "awful", "horrible", "hated", "disappointing", "broken"],
        "neutral": ["okay", "average", "ordinary", "fine", "standard", "acceptable"],
    }
    things = ["the movie", "this phone", "the hotel", "our dinner", "the service", "this book", "the delivery",
              "the concert", "my new shoes", "the app"]
    templates = ["I thought {thing} was {cue}.", "Honestly, {thing} was {cue}.", "{Thing} turned out {cue}.",
                 "Overall {thing} felt {cue} to me.", "My verdict on {thing}: {cue}."]
    out = []
    labels = list(cues)
    for i in range(rows):
        label = labels[i % len(labels)]
        thing = rng.choice(things)
        text = rng.choice(templates).format(thing=thing, Thing=thing[0].upper() + thing[1:], cue=rng.choice(cues[label]))
        out.append({"text": text, "label": label})
    return out


def preferences(rng: random.Random, rows: int = 300) -> list[dict]:
    tasks = [
        lambda w, a, b: (f"Reverse the word: {w}", w[::-1], w),
        lambda w, a, b: (f"Capitalize: {w}", w.upper(), w),
        lambda w, a, b: (f"What is {a} + {b}?", str(a + b), str(a + b + 1)),
        lambda w, a, b: (f"Repeat twice: {w}", f"{w} {w}", w),
    ]
    out = []
    for i in range(rows):
        prompt, chosen, rejected = tasks[i % len(tasks)](rng.choice(WORDS), rng.randint(0, 9), rng.randint(0, 9))
        out.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return out


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "demo_instructions.csv", instructions(random.Random(1)))
    with (out / "demo_chat.jsonl").open("w", encoding="utf-8") as handle:
        for row in chats(random.Random(2)):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    write_csv(out / "demo_sentiment.csv", sentiment(random.Random(3)))
    write_csv(out / "demo_preferences.csv", preferences(random.Random(4)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
