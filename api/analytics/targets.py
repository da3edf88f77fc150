"""What to target first: (unit, category) pairs scored by how many reports came in, how far
above their usual rate, whether the unit is a hot spot of that category, and the recurring
places in it; each with one sentence in Chinese and in English saying why."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The baseline: the rate of the same pair over this many days before the window.
BASELINE_DAYS = 90
DAYS_RANGE = (7, 365)
TOP_RANGE = (1, 200)
#: How much a hot-spot class weighs in the score.
HOT_WEIGHT = {"hot_99": 1.5, "hot_95": 1.3, "hot_90": 1.15}
#: Points added per recurring place of the pair in the unit.
RECURRING_POINTS = 3.0


@dataclass(frozen=True)
class Candidate:
    """One (unit, category) pair with what its score is made of."""

    unit: str
    unit_name: str
    category: str
    category_zh: str
    category_en: str
    count: int
    baseline: int  # reports in the BASELINE_DAYS before the window
    days: int
    hot_class: str
    recurring: int

    @property
    def expected(self) -> float:
        """Reports the window would have had at the baseline's rate."""
        return self.baseline * self.days / BASELINE_DAYS

    @property
    def ratio(self) -> float | None:
        """The window's rate over the baseline's (None: no report in the baseline)."""
        return self.count / self.expected if self.baseline else None

    @property
    def score(self) -> float:
        growth = 1.0 + math.log2(max(self.ratio if self.ratio is not None else 2.0, 1.0))
        weight = HOT_WEIGHT.get(self.hot_class, 1.0)
        return round(self.count * growth * weight + RECURRING_POINTS * self.recurring, 1)

    def reason(self) -> dict[str, str]:
        zh = [f"{self.unit_name}近{self.days}天{self.category_zh}{self.count}件"]
        en = [f"{self.count} {self.category_en} reports in {self.days} days in {self.unit_name}"]
        if self.ratio is None:
            zh.append(f"前{BASELINE_DAYS}天没有")
            en.append(f"none in the {BASELINE_DAYS} days before")
        else:
            zh.append(f"是前{BASELINE_DAYS}天平均水平的{self.ratio:.1f}倍")
            en.append(f"{self.ratio:.1f} times its {BASELINE_DAYS}-day rate")
        if self.hot_class.startswith("hot_"):
            confidence = self.hot_class.removeprefix("hot_")
            zh.append(f"是热点（{confidence}%置信）")
            en.append(f"a hot spot at {confidence}% confidence")
        if self.recurring:
            zh.append(f"有{self.recurring}处反复投诉点")
            en.append(f"{self.recurring} recurring place{'s' if self.recurring > 1 else ''}")
        return {"zh": "，".join(zh) + "。", "en": "; ".join(en) + "."}


def rank(candidates: list[Candidate], top: int) -> list[Candidate]:
    """The ``top`` pairs by score (ties: more reports, then code and category)."""
    ordered = sorted(candidates, key=lambda c: (-c.score, -c.count, c.unit, c.category))
    return ordered[:top]
