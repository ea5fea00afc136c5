"""Ambiguous sends: the push went out and no answer came back in time.

A service that stores the push but answers after calfsync's timeout (a slow Raspberry Pi
behind a VPN, an overloaded ntfy) looks exactly like one that never got it. Resending on every
retry made one copy per attempt (issue 11: 3 alerts over 5 flushes made 15 copies). So:

- after an ambiguous outcome the row's ``ambiguous`` count goes up and the next attempt waits
  :data:`TIMEOUT_FACTOR` times longer for the answer (a slow server then gets to answer);
- the next attempt carries the same dedupe key, which a service that has one uses to recognise
  the repeat (ntfy's sequence id, the webhook's ``webhook-id``);
- after :data:`MAX_AMBIGUOUS` ambiguous outcomes the row is not sent again: it becomes a dead
  letter whose reason says the push may have arrived and how to fix the cause.

So a push makes at most ``MAX_AMBIGUOUS`` copies (one per ambiguous send, or one ambiguous and
one answered). A flusher killed after its request left counts the same way
(``notify/reclaim.py``).
"""

from __future__ import annotations

from typing import Any

MAX_AMBIGUOUS = 2  # ambiguous sends of one push before it is kept as a dead letter
TIMEOUT_FACTOR = 4.0  # the timeout after an ambiguous send, as a multiple of timeout_s
TIMEOUT_CAP_S = 600.0  # the schema's upper bound for timeout_s


def timeout_s(base_s: float, claimed: list[dict[str, Any]]) -> float:
    """The timeout for sending ``claimed``: ``base_s``, or longer after an ambiguous send."""
    if any(int(r.get("ambiguous") or 0) > 0 for r in claimed):
        return min(TIMEOUT_CAP_S, base_s * TIMEOUT_FACTOR)
    return base_s


def count_after(claimed: list[dict[str, Any]]) -> int:
    """The rows' ambiguous count once this ambiguous send is counted."""
    return max(int(r.get("ambiguous") or 0) for r in claimed) + 1


def dead_reason(channel: str, reason: str, waited_s: float) -> str:
    """Why a push is no longer resent, naming the fix."""
    return (
        f"not resent after {MAX_AMBIGUOUS} sends that got no answer (the last waited "
        f"{waited_s:g} s): the service may have shown it already, and each resend could add a "
        f"copy. Check the server, or raise timeout_s of channel '{channel}' in "
        f"[[notify.channels]] above its response time, then `calfsync notify retry ID` if it "
        f"never arrived. Last error: {reason}"
    )
