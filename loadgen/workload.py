"""Request bodies for the agent's task API: a weighted mix of task types and priorities.

The Locust users and the fault scenarios draw their requests from here, so both send the
same traffic shape. Weights are relative, not percentages. Every generator takes a
`random.Random` so a caller can seed it and get the same sequence again.
"""

from __future__ import annotations

import random

# Share of each task type in the mix. Summaries and chat dominate, as in a typical assistant
# workload; "test" is the agent's smoke-test task and stays rare.
TASK_TYPE_WEIGHTS: dict[str, int] = {
    "summarize": 30,
    "classify": 25,
    "chat": 25,
    "translate": 15,
    "test": 5,
}

PRIORITY_WEIGHTS: dict[str, int] = {"normal": 70, "high": 15, "low": 15}

# Sentences that the text generator strings together. They read like support tickets, release
# notes, reviews and meeting notes, so summaries and classifications get varied input.
SENTENCES: tuple[str, ...] = (
    "The invoice for March was charged twice to the same corporate card.",
    "After the latest update the mobile app logs me out every few minutes.",
    "Our team would like to move the quarterly review to the second week of June.",
    "The replacement battery arrived quickly and fits perfectly.",
    "Support closed my ticket without answering the question about data export.",
    "Release 4.2 adds single sign-on for workspaces on the business plan.",
    "Search results load slowly when the filter panel has more than ten options selected.",
    "Please confirm whether the warranty covers water damage to the charging port.",
    "The onboarding checklist helped new hires finish their setup in one afternoon.",
    "We noticed a spike in failed payments from customers in one region overnight.",
    "The meeting agreed to freeze new features until the migration is finished.",
    "Delivery was two days late and the box was visibly damaged.",
    "Exporting a report to CSV drops every column that contains a date.",
    "The new pricing page explains the difference between plans much more clearly.",
    "Two engineers will pair on the flaky integration tests this sprint.",
    "I cannot find where to change the language of the notification emails.",
    "The hotel room was clean, quiet and close to the conference venue.",
    "Legal asked us to keep audit logs for at least thirteen months.",
    "Dark mode makes the dashboard far easier to read at night.",
    "The API returns a timeout when a request carries more than five hundred items.",
    "Customer satisfaction rose after we added live chat during business hours.",
    "The printer driver fails to install on machines with the latest operating system.",
    "Finance needs the cost breakdown per department before Friday noon.",
    "The tutorial video skips the step where the access token is created.",
)

TARGET_LANGUAGES: tuple[str, ...] = ("de", "es", "fr", "it", "ja", "pt")

CHAT_OPENERS: tuple[str, ...] = (
    "Can you help me draft a reply to this customer?",
    "What are the next steps for this ticket?",
    "Explain this issue to a non-technical manager.",
    "Suggest three questions to ask before we escalate this.",
    "Is there anything risky in this plan?",
)

# Sentence counts per text, as (weight, min sentences, max sentences): mostly short messages,
# some paragraphs, and for summaries a few long documents.
SHORT_AND_MEDIUM: tuple[tuple[int, int, int], ...] = ((60, 1, 3), (40, 4, 10))
WITH_DOCUMENTS: tuple[tuple[int, int, int], ...] = ((55, 1, 3), (35, 4, 10), (10, 15, 40))

# Only summaries get long documents. A translation's output grows with its input, and a
# 40-sentence translation takes the simulated model over 2 s, which would make healthy load
# look like the slow-model fault (ModelInferenceSlow fires on inference p99 above 2 s).
LENGTH_BANDS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "summarize": WITH_DOCUMENTS,
    "classify": SHORT_AND_MEDIUM,
    "translate": SHORT_AND_MEDIUM,
    "chat": SHORT_AND_MEDIUM,
}


def weighted_choice(rng: random.Random, weights: dict[str, int]) -> str:
    """Pick one key of `weights` with probability proportional to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def random_text(rng: random.Random, bands: tuple[tuple[int, int, int], ...] = WITH_DOCUMENTS) -> str:
    """Build a text whose sentence count is drawn from `bands`."""
    band_weights = [band[0] for band in bands]
    _, min_sentences, max_sentences = rng.choices(bands, weights=band_weights)[0]
    count = rng.randint(min_sentences, max_sentences)
    return " ".join(rng.choice(SENTENCES) for _ in range(count))


def task_data(rng: random.Random, task_type: str) -> dict:
    """Build the `data` object for one task of `task_type`, in the fields the agent reads.

    `max_tokens` is set where a client would cap the output; otherwise the agent derives it.
    """
    if task_type == "test":
        return {"text": "ping"}
    if task_type not in LENGTH_BANDS:
        raise ValueError(f"unknown task type {task_type!r}; expected one of {sorted(TASK_TYPE_WEIGHTS)}")

    text = random_text(rng, LENGTH_BANDS[task_type])
    if task_type == "summarize":
        return {"text": text, "max_tokens": rng.choice((32, 64, 128))}
    if task_type == "translate":
        return {"text": text, "target_language": rng.choice(TARGET_LANGUAGES)}
    if task_type == "chat":
        return {"text": f"{rng.choice(CHAT_OPENERS)} {text}", "max_tokens": rng.choice((64, 128, 256))}
    return {"text": text}


def random_task(rng: random.Random, task_type: str | None = None) -> dict:
    """Build one request body for POST /api/v1/process or /api/v1/tasks.

    The task type comes from TASK_TYPE_WEIGHTS unless `task_type` is given.
    """
    task_type = task_type or weighted_choice(rng, TASK_TYPE_WEIGHTS)
    return {
        "task": task_type,
        "data": task_data(rng, task_type),
        "priority": weighted_choice(rng, PRIORITY_WEIGHTS),
    }


def error_task(rng: random.Random) -> dict:
    """Build a task that the agent fails on purpose (`trigger_error`), counted as an error."""
    body = random_task(rng)
    body["trigger_error"] = True
    return body
