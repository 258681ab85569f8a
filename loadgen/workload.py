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

CLASSIFY_LABELS: tuple[tuple[str, ...], ...] = (
    ("billing", "technical", "account", "shipping", "other"),
    ("positive", "neutral", "negative"),
    ("bug", "feature_request", "question"),
    ("urgent", "routine"),
)

TARGET_LANGUAGES: tuple[str, ...] = ("de", "es", "fr", "it", "ja", "pt")

CHAT_OPENERS: tuple[str, ...] = (
    "Can you help me draft a reply to this customer?",
    "What are the next steps for this ticket?",
    "Explain this issue to a non-technical manager.",
    "Suggest three questions to ask before we escalate this.",
    "Is there anything risky in this plan?",
)

# Sentence counts per text: mostly short messages, some paragraphs, a few long documents.
LENGTH_BANDS: tuple[tuple[int, int, int], ...] = (
    # (weight, min sentences, max sentences)
    (55, 1, 3),
    (35, 4, 10),
    (10, 15, 40),
)


def weighted_choice(rng: random.Random, weights: dict[str, int]) -> str:
    """Pick one key of `weights` with probability proportional to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def random_text(rng: random.Random) -> str:
    """Build a text of one to forty sentences, its length drawn from LENGTH_BANDS."""
    band_weights = [band[0] for band in LENGTH_BANDS]
    _, min_sentences, max_sentences = rng.choices(LENGTH_BANDS, weights=band_weights)[0]
    count = rng.randint(min_sentences, max_sentences)
    return " ".join(rng.choice(SENTENCES) for _ in range(count))


def task_data(rng: random.Random, task_type: str) -> dict:
    """Build the `data` object for one task of `task_type`.

    Every type carries `text`; the other fields are the ones that type needs.
    """
    if task_type == "summarize":
        return {"text": random_text(rng), "max_words": rng.choice((30, 50, 100))}
    if task_type == "classify":
        return {"text": random_text(rng), "labels": list(rng.choice(CLASSIFY_LABELS))}
    if task_type == "translate":
        return {"text": random_text(rng), "target_language": rng.choice(TARGET_LANGUAGES)}
    if task_type == "chat":
        history_turns = rng.randint(0, 3)
        messages = [
            {"role": "user" if turn % 2 == 0 else "assistant", "content": rng.choice(SENTENCES)}
            for turn in range(history_turns * 2)
        ]
        messages.append({"role": "user", "content": rng.choice(CHAT_OPENERS)})
        return {"text": random_text(rng), "messages": messages}
    if task_type == "test":
        return {"text": "ping"}
    raise ValueError(f"unknown task type {task_type!r}; expected one of {sorted(TASK_TYPE_WEIGHTS)}")


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
