"""The reports per heat cell, kept by the database (migration 0009): what the unfiltered
density map's heat layer reads instead of grouping every report."""

from __future__ import annotations

from sqlalchemy import Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base


class HeatCell(Base):
    """One cell of the global grid (geo.grid, cells of api.db.models.HEAT_CELL_M metres) that
    holds or held reports: how many, and the sums of their positions (for the mean).

    Triggers on ``reports`` keep it in the transaction that inserts or deletes a report, so
    no writer can forget it; a cell whose reports are gone stays, with ``cases`` 0.
    """

    __tablename__ = "report_heat_cells"

    heat_y: Mapped[int] = mapped_column(Integer, primary_key=True)
    heat_x: Mapped[int] = mapped_column(Integer, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    lat_sum: Mapped[float] = mapped_column(Float)
    lon_sum: Mapped[float] = mapped_column(Float)
