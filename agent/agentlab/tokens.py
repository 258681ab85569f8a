"""A stand-in tokenizer and text generator for the simulated model.

Tokens are words of up to MAX_WORD_CHARS characters and single punctuation marks; a longer
word counts as several tokens, so a long text without spaces cannot pass as one token. Real
tokenizers split finer, but the lab only needs counts that grow with the text, and the
agent and model must agree on them.
"""

from __future__ import annotations

import random
import re

MAX_WORD_CHARS = 16
_TOKEN = re.compile(rf"\w{{1,{MAX_WORD_CHARS}}}|[^\w\s]")
_WORDS = (
    "the agent model task result signal latency token trace metric alert budget queue "
    "request answer summary context value service error window rate score label user "
    "data input output plan step check review report brief note draft reply"
).split()


def count_tokens(text: str) -> int:
    """Count the tokens in `text`."""
    return len(_TOKEN.findall(text))


def generate_text(token_count: int, rng: random.Random) -> str:
    """Return `token_count` tokens of filler text: words with a period every 12 tokens."""
    tokens: list[str] = []
    while len(tokens) < token_count:
        if len(tokens) % 12 == 11:
            tokens.append(".")
        else:
            tokens.append(rng.choice(_WORDS))
    return " ".join(tokens)
