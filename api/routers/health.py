"""Service health and what is loaded."""

from __future__ import annotations

from fastapi import APIRouter

from api import VERSION
from api.deps import BoundariesDep, CasesDep
from api.errors import error_responses
from api.schemas import BoundaryInfo, Health, LevelInfo, WriterInfo

router = APIRouter(tags=["health"], responses=error_responses((422, "Unknown query parameter")))


@router.get("/health", response_model=Health)
async def read_health(boundaries: BoundariesDep, cases: CasesDep) -> Health:
    """Whether the service is up, and which boundary version it answers with."""
    # (on the event loop: it only reads what is in memory)
    snapshot = boundaries.current
    bset = snapshot.index.bset
    building = [part for part, built in snapshot.index.prepared.items() if not built]
    writer = cases.writer
    if writer is None:
        writes = WriterInfo(runs_in="none", alive=True)
    else:
        where = "process" if writer.in_other_process else "thread"
        load = writer.load
        writes = WriterInfo(
            runs_in=where,
            alive=writer.alive,
            batches=load.batches,
            reports=load.jobs,
            busy=round(load.busy(), 3),
        )
    return Health(
        status="ok",
        version=VERSION,
        ready=not building,
        building=building,
        writer=writes,
        boundaries=BoundaryInfo(
            name=bset.name,
            version_id=snapshot.version_id,
            source_crs=str(bset.source_crs),
            levels=[
                LevelInfo(name=name, depth=d, units=int(bset.level_positions(d).size))
                for d, name in enumerate(bset.levels)
            ],
            bounds=bset.bounds,
        ),
    )
