"""The order's lifecycle: 点单 ordered → 派单 dispatched → 接单 accepted → completed → 评单
rated; a decline puts a dispatched order back in the queue (ordered)."""

from __future__ import annotations

from enum import StrEnum

from api.access.policy import Role


class OrderStatus(StrEnum):
    ORDERED = "ordered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    RATED = "rated"


class Step(StrEnum):
    ORDER = "order"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    DECLINE = "decline"
    COMPLETE = "complete"
    RATE = "rate"


#: Each step: the status it starts from and the one it leads to.
STEPS: dict[Step, tuple[OrderStatus, OrderStatus]] = {
    Step.DISPATCH: (OrderStatus.ORDERED, OrderStatus.DISPATCHED),
    Step.ACCEPT: (OrderStatus.DISPATCHED, OrderStatus.ACCEPTED),
    Step.DECLINE: (OrderStatus.DISPATCHED, OrderStatus.ORDERED),
    Step.COMPLETE: (OrderStatus.ACCEPTED, OrderStatus.COMPLETED),
    Step.RATE: (OrderStatus.COMPLETED, OrderStatus.RATED),
}

#: Who takes each step (the team's own lead for accept, decline, complete; the resident who
#: ordered it for the rating: checked on the order).
STEP_ROLES: dict[Step, frozenset[Role]] = {
    Step.ORDER: frozenset({Role.REPORTER, Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN}),
    Step.DISPATCH: frozenset({Role.DISPATCHER, Role.ADMIN}),
    Step.ACCEPT: frozenset({Role.TEAM_LEAD}),
    Step.DECLINE: frozenset({Role.TEAM_LEAD}),
    Step.COMPLETE: frozenset({Role.TEAM_LEAD}),
    Step.RATE: frozenset({Role.REPORTER, Role.GRID_WORKER}),
}

#: Statuses in which an order holds a place in its team's capacity.
HOLDS_CAPACITY = (OrderStatus.DISPATCHED, OrderStatus.ACCEPTED)
#: Statuses at or past each milestone (for the coverage shares).
DISPATCHED_OR_LATER = frozenset(
    {OrderStatus.DISPATCHED, OrderStatus.ACCEPTED, OrderStatus.COMPLETED, OrderStatus.RATED}
)
ACCEPTED_OR_LATER = frozenset({OrderStatus.ACCEPTED, OrderStatus.COMPLETED, OrderStatus.RATED})
DONE = frozenset({OrderStatus.COMPLETED, OrderStatus.RATED})


def next_steps(status: str) -> list[str]:
    """The steps the lifecycle allows from a status."""
    return [step.value for step, (start, _) in STEPS.items() if start == status]
