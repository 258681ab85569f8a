"""Business outcomes of tasks: what a task earns and how satisfied its user is.

The numbers are invented for the lab, but they follow the tasks: revenue and task value
come only from successful tasks and grow with the tokens generated, and satisfaction
falls with failures and slow responses.
"""

from __future__ import annotations

import threading

CURRENCY = "USD"
# Price of one successful task by type, plus a price per generated token.
BASE_PRICE_USD = {"summarize": 0.020, "classify": 0.004, "translate": 0.015, "chat": 0.010, "test": 0.001}
PRICE_PER_OUTPUT_TOKEN_USD = 0.00002
# A task finished within this time fully satisfies its user (the request SLO edge).
SATISFIED_WITHIN_S = 1.0
# Weight of the newest task in the moving score: about the last 20 tasks dominate it.
SATISFACTION_ALPHA = 0.05


def task_value_usd(task_type: str, output_tokens: int) -> float:
    """Return what one successful task earns."""
    return BASE_PRICE_USD.get(task_type, 0.0) + PRICE_PER_OUTPUT_TOKEN_USD * output_tokens


def satisfaction_sample(success: bool, duration_s: float) -> float:
    """Score one task from 0 to 100: failures 0, within 1 s 100, then 20 less per second down to 20."""
    if not success:
        return 0.0
    if duration_s <= SATISFIED_WITHIN_S:
        return 100.0
    return max(20.0, 100.0 - 20.0 * (duration_s - SATISFIED_WITHIN_S))


class SatisfactionScore:
    """Exponential moving average of task scores; starts at 100 (no unhappy user yet)."""

    def __init__(self, alpha: float = SATISFACTION_ALPHA, initial: float = 100.0) -> None:
        self.alpha = alpha
        self._value = initial
        self._lock = threading.Lock()

    @property
    def value(self) -> float:
        """The current score, 0 to 100."""
        return self._value

    def record(self, success: bool, duration_s: float) -> float:
        """Fold one task into the score and return the new score."""
        sample = satisfaction_sample(success, duration_s)
        with self._lock:
            self._value += self.alpha * (sample - self._value)
            return self._value
