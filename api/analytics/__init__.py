"""Targeted governance (靶向治理): hot spots, emerging trends, recurring places, what to target
first and each unit's handling performance, on the active boundary version.

The statistics libraries (esda, libpysal, pymannkendall, scikit-learn; with them scipy.stats)
are imported by the functions that use them, on the first analytics request: importing this
package costs a server's start nothing, and most processes never ask for a statistic.
"""

from api.analytics.errors import ANALYTICS_STATUS_CODES
from api.analytics.service import Analytics

__all__ = ["ANALYTICS_STATUS_CODES", "Analytics"]
