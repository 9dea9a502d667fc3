"""Faults a test injects into a fake for its next matching requests: an error answer instead of
the work, or the work done and no answer (an unknown outcome)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Fault:
    method: str
    path: str  # a regex matched against the whole path
    status: int | None = None  # answer this instead of doing the work
    headers: dict[str, str] = field(default_factory=dict)  # added to that answer (e.g. Retry-After)
    timeout_after: bool = False  # do the work, then never answer (requests.ReadTimeout)
    times: int = 1


def fault_take(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first fault for this request, counted down and dropped once used up."""
    for fault in faults:
        if fault.method == method and re.fullmatch(fault.path, path):
            fault.times -= 1
            if fault.times <= 0:
                faults.remove(fault)
            return fault
    return None
