"""The task mix that the Locust users and the fault scenarios send."""

from __future__ import annotations

import collections
import random
import re

import pytest

from loadgen import workload

SAMPLES = 20_000


def share(counts: collections.Counter, key: str) -> float:
    return counts[key] / sum(counts.values())


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        (workload.TASK_TYPE_WEIGHTS, "task"),
        (workload.PRIORITY_WEIGHTS, "priority"),
    ],
)
def test_mix_follows_weights(weights, field):
    rng = random.Random(7)
    counts = collections.Counter(workload.random_task(rng)[field] for _ in range(SAMPLES))
    total_weight = sum(weights.values())

    assert set(counts) == set(weights)
    for key, weight in weights.items():
        # 20 000 draws put the sampling error of each share well under 0.02.
        assert share(counts, key) == pytest.approx(weight / total_weight, abs=0.02), key


@pytest.mark.parametrize(
    ("task_type", "fields"),
    [
        ("summarize", {"text", "max_words"}),
        ("classify", {"text", "labels"}),
        ("translate", {"text", "target_language"}),
        ("chat", {"text", "messages"}),
        ("test", {"text"}),
    ],
)
def test_task_data_fields(task_type, fields):
    body = workload.random_task(random.Random(1), task_type)

    assert body["task"] == task_type
    assert set(body["data"]) == fields
    assert body["data"]["text"]
    assert body["priority"] in workload.PRIORITY_WEIGHTS
    assert "trigger_error" not in body


def test_chat_ends_with_user_turn():
    rng = random.Random(3)
    for _ in range(50):
        messages = workload.task_data(rng, "chat")["messages"]
        assert messages[-1]["role"] == "user"
        assert [m["role"] for m in messages[:-1]] == ["user", "assistant"] * ((len(messages) - 1) // 2)


def test_text_lengths_cover_every_band():
    rng = random.Random(5)
    # A sentence ends with a full stop before a space or the end; "4.2" is no sentence end.
    sentence_counts = [len(re.findall(r"\.(?:\s|$)", workload.random_text(rng))) for _ in range(2000)]

    assert min(sentence_counts) == 1
    assert max(sentence_counts) > 15
    assert any(4 <= count <= 10 for count in sentence_counts)


def test_error_task_sets_trigger_error():
    body = workload.error_task(random.Random(2))

    assert body["trigger_error"] is True
    assert body["task"] in workload.TASK_TYPE_WEIGHTS


def test_unknown_task_type_rejected():
    with pytest.raises(ValueError, match="unknown task type 'poem'"):
        workload.task_data(random.Random(), "poem")


def test_same_seed_same_requests():
    first = [workload.random_task(random.Random(11)) for _ in range(3)]
    second = [workload.random_task(random.Random(11)) for _ in range(3)]

    assert first == second
