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
        ("summarize", {"text", "max_tokens"}),
        ("classify", {"text"}),
        ("translate", {"text", "target_language"}),
        ("chat", {"text", "max_tokens"}),
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


def sentence_count(text: str) -> int:
    # A sentence ends with a full stop before a space or the end; "4.2" is no sentence end.
    return len(re.findall(r"\.(?:\s|$)", text))


def test_documents_cover_every_band():
    rng = random.Random(5)
    counts = [sentence_count(workload.random_text(rng, workload.WITH_DOCUMENTS)) for _ in range(2000)]

    assert min(counts) == 1
    assert max(counts) > 15
    assert any(4 <= count <= 10 for count in counts)


@pytest.mark.parametrize("task_type", ["classify", "translate", "chat"])
def test_only_summaries_get_documents(task_type):
    rng = random.Random(9)
    counts = [sentence_count(workload.task_data(rng, task_type)["text"]) for _ in range(500)]

    # Chat prepends one question to its text, hence 11.
    assert max(counts) <= 11
    assert min(counts) >= 1


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
