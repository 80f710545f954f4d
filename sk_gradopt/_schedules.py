"""The rate of a step now lives in the public :mod:`sk_gradopt.schedules`; kept for imports."""

from .schedules import (  # noqa: F401
    SCHEDULES,
    scheduled_learning_rate,
    scheduled_learning_rates,
    warmup_factor,
)
