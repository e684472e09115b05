"""The training engine: the Trainer and what it trains with — losses, optimisers and
schedules, precision, devices, memory checks, per-step metrics, Part 1's hand-written backward.
It writes nothing itself: writers are observers (core.store.writers).
"""
