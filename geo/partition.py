"""Split polygons into hand-drawn-looking pieces that tile them exactly (for demo boundary sets).

The method, per polygon to split into ``n`` pieces of typical size ``L = sqrt(area / n)``:

1. ``n`` seed points are drawn uniformly inside the polygon and moved by a few steps of Lloyd
   relaxation (each seed goes to the centroid of its Voronoi cell clipped to the polygon), which
   evens out the piece areas.
2. The Voronoi edges of the seeds are segmentized and every vertex is moved by one smooth
   displacement field (a sum of a few sinusoids with random directions and phases, wavelength
   1.5-3 ``L``). The field is a function of position only, so an edge is bent the same way for
   both cells it separates, and its gradient is capped so the map stays one-to-one and the bent
   edges never cross.
3. The bent edges of *all* polygons, each clipped to its own polygon, are noded together with the
   polygons' outlines and polygonized. Every face is given to the polygon and bent cell that
   contain it, and the faces of a cell are merged into one piece.

Because step 3 nodes everything at once, a point where a new edge meets a polygon's outline is a
vertex of the pieces on both sides of that outline, so the pieces of a polygonal coverage are
again a valid coverage (:func:`shapely.coverage_is_valid`), level after level. Everything is
seeded by the caller's :class:`numpy.random.Generator`: the same input and seed give the same
coordinates, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import ArrayLike

from geo.errors import InvalidGeometry

__all__ = ["apportion", "partition_coverage", "partition_polygon"]

# Number of sinusoids in the displacement field, and the cap on the sum of amplitude x wave
# number. The Jacobian of the displacement is then at most 0.6 in norm, so p -> p + d(p) is
# one-to-one and bent Voronoi edges cannot fold over each other.
_WAVES = 4
_MAX_GRADIENT = 0.6
# Voronoi edges are cut into pieces of at most L / _SEGMENTS before bending.
_SEGMENTS = 6
# A bent edge is clipped to its polygon grown by this many metres, so that it crosses the outline
# and the noder computes that crossing once, for the pieces on both sides of the outline.
_OVERSHOOT = 1e-3
# Bending is halved this many times (then dropped) for a polygon whose bent cells would miss it.
_MAX_SOFTENING = 6


def apportion(weights: ArrayLike, total: int, *, minimum: int = 1) -> np.ndarray:
    """Share an integer total out in proportion to weights (largest remainder method).

    Each share is at least ``minimum``; the rest of the total is shared in proportion to the
    weights, rounding down and then giving one more to the largest remainders, so the shares
    add up to ``total`` exactly.

    Parameters
    ----------
    weights : array_like of float
        Non-negative weights, e.g. areas; at least one must be positive unless the total is
        covered by the minimums.
    total : int
        The sum the shares must reach; at least ``minimum * len(weights)``.
    minimum : int, default 1
        The smallest share any weight gets.

    Returns
    -------
    numpy.ndarray of int64
        One share per weight, summing to ``total``.

    Examples
    --------
    >>> apportion([3.0, 1.0, 1.0], 10, minimum=0).tolist()
    [6, 2, 2]
    >>> apportion([100.0, 0.0], 5).tolist()
    [4, 1]
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be a 1-d array of finite non-negative numbers")
    spare = int(total) - minimum * len(w)
    if spare < 0:
        raise ValueError(f"total {total} is less than minimum x count = {minimum * len(w)}")
    shares = np.full(len(w), minimum, dtype=np.int64)
    if spare == 0:
        return shares
    if w.sum() <= 0:
        raise ValueError("at least one weight must be positive to share out the rest")
    quota = spare * w / w.sum()
    floor = np.floor(quota).astype(np.int64)
    left = spare - int(floor.sum())
    # Stable sort on the negated remainder: ties go to the earlier weight, deterministically.
    order = np.argsort(-(quota - floor), kind="stable")
    floor[order[:left]] += 1
    return shares + floor


def partition_polygon(
    polygon: shapely.Polygon | shapely.MultiPolygon,
    n: int,
    rng: np.random.Generator,
    *,
    wiggle: float = 0.15,
    relax: int = 3,
) -> list[shapely.Polygon | shapely.MultiPolygon]:
    """Split a polygon in metric coordinates into ``n`` pieces that tile it exactly.

    The pieces have roughly even areas, edges that curve like hand-drawn lines, share their
    edges vertex for vertex, and their union is the polygon (up to float noise). A piece is a
    Polygon, or a MultiPolygon only where it spans separate parts of a MultiPolygon input.

    Parameters
    ----------
    polygon : shapely.Polygon or shapely.MultiPolygon
        A valid, non-empty polygon in a projected CRS with metres as units (the bending and
        sizes are metric).
    n : int
        The number of pieces, at least 1. ``n == 1`` returns ``[polygon]`` unchanged.
    rng : numpy.random.Generator
        The source of randomness; the same generator state gives the same pieces.
    wiggle : float, default 0.15
        How far edges are bent, as the RMS displacement over the typical piece size
        ``sqrt(area / n)``; ``0`` gives straight Voronoi edges. The bending is capped so that
        edges never fold over each other.
    relax : int, default 3
        Steps of Lloyd relaxation; more steps give more even areas and rounder pieces.

    Returns
    -------
    list of shapely.Polygon or shapely.MultiPolygon
        ``n`` valid, non-empty pieces, numbered roughly in reading order (rows from north to
        south, alternating direction).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> square = shapely.box(0, 0, 1000, 1000)
    >>> pieces = partition_polygon(square, 5, np.random.default_rng(1))
    >>> len(pieces), round(sum(p.area for p in pieces))
    (5, 1000000)
    """
    if n == 1:
        _check_polygons(np.array([polygon], dtype=object))
        return [polygon]
    pieces, _ = partition_coverage([polygon], [n], rng, wiggle=wiggle, relax=relax)
    return list(pieces)


def partition_coverage(
    polygons: Sequence[shapely.Polygon | shapely.MultiPolygon] | np.ndarray,
    counts: ArrayLike,
    rng: np.random.Generator,
    *,
    wiggle: float = 0.15,
    relax: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Split each polygon of a coverage into its own number of pieces, all in one pass.

    Like :func:`partition_polygon` for every polygon at once, with one difference that matters
    for boundary sets: where a new edge meets the outline shared by two neighbouring polygons,
    the meeting point becomes a vertex of the pieces on both sides. If the input is a valid
    polygonal coverage (neighbours share their edges vertex for vertex, see
    :func:`shapely.coverage_is_valid`), so is the output, and it can be split again.

    Parameters
    ----------
    polygons : sequence or array of shapely.Polygon or shapely.MultiPolygon
        Valid, non-empty polygons in a projected CRS with metres as units. They must not
        overlap (gaps between them are fine).
    counts : array_like of int
        The number of pieces for each polygon, each at least 1.
    rng : numpy.random.Generator
        The source of randomness; the same generator state gives the same pieces.
    wiggle : float, default 0.15
        How far edges are bent, as the RMS displacement over each polygon's typical piece size
        ``sqrt(area / count)``; see :func:`partition_polygon`.
    relax : int, default 3
        Steps of Lloyd relaxation.

    Returns
    -------
    pieces : numpy.ndarray of shapely.Polygon or shapely.MultiPolygon
        ``sum(counts)`` valid, non-empty pieces: those of polygon 0 first, then those of
        polygon 1, and so on, each group numbered roughly in reading order.
    owner : numpy.ndarray of int64
        For each piece, the position of the polygon it belongs to.

    Raises
    ------
    geo.errors.InvalidGeometry
        If a polygon is empty, not polygonal or invalid, or the polygons overlap.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> halves = [shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)]
    >>> pieces, owner = partition_coverage(halves, [3, 4], np.random.default_rng(7))
    >>> owner.tolist()
    [0, 0, 0, 1, 1, 1, 1]
    >>> bool(shapely.coverage_is_valid(pieces))
    True
    """
    polys = np.asarray(polygons, dtype=object).reshape(-1)
    counts = np.asarray(counts).reshape(-1)
    if len(counts) != len(polys):
        raise ValueError(f"got {len(polys)} polygons but {len(counts)} counts")
    if not np.issubdtype(counts.dtype, np.integer) or np.any(counts < 1):
        raise ValueError("counts must be integers of at least 1")
    if not (np.isfinite(wiggle) and wiggle >= 0):
        raise ValueError(f"wiggle must be a finite number >= 0, got {wiggle}")
    counts = counts.astype(np.int64)
    _check_polygons(polys)
    shapely.prepare(polys)

    owner = np.repeat(np.arange(len(polys)), counts)
    scale = np.sqrt(shapely.area(polys) / counts)
    split = np.flatnonzero(counts > 1)

    seeds = _sample_seeds(polys, counts, rng)
    for _ in range(relax):
        seeds = _relax(polys, counts, split, seeds, owner, scale)
    seeds = _reading_order(seeds, counts, scale)
    bounds = shapely.bounds(polys)
    field = _Field.random((bounds[:, :2] + bounds[:, 2:]) / 2, scale, wiggle, rng)

    # The extent reaches well past each polygon and its largest bend, so that every bent edge
    # that matters runs across the polygon's outline.
    cells = _voronoi_cells(polys, counts, split, seeds, 2 * scale + 2 * field.reach)
    edges, edge_owner = _voronoi_edges(cells, owner)
    bent_cells = _soften_until_seeds_fit(polys, cells, seeds, owner, field)
    bent_edges = field.apply(edges, edge_owner, np.ones(len(edges), dtype=bool))

    faces, face_cell = _faces(polys, counts, bent_cells, bent_edges, edge_owner, owner)
    pieces = _merge_faces(faces, face_cell, len(owner))
    pieces = _absorb_fragments(pieces, owner)

    _check_tiling(polys, pieces, owner)
    return pieces, owner


def _check_polygons(polys: np.ndarray) -> None:
    """Raise InvalidGeometry unless every item is a valid, non-empty (Multi)Polygon."""
    type_ids = shapely.get_type_id(polys)
    bad = np.flatnonzero(~np.isin(type_ids, (3, 6)) | shapely.is_empty(polys))
    if len(bad):
        raise InvalidGeometry(
            f"item {bad[0]} is not a non-empty polygon", allowed="Polygon or MultiPolygon"
        )
    bad = np.flatnonzero(~shapely.is_valid(polys))
    if len(bad):
        raise InvalidGeometry(
            f"polygon {bad[0]} is invalid: {shapely.is_valid_reason(polys[bad[0]])}",
            allowed="valid polygons (see shapely.make_valid)",
        )


def _sample_seeds(polys: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw counts[i] points uniformly inside each polygon by rejection from its bounding box."""
    bounds = shapely.bounds(polys)
    fill = shapely.area(polys) / np.maximum(
        (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-300
    )
    seeds = np.empty((int(counts.sum()), 2))
    start = 0
    for i, (poly, n) in enumerate(zip(polys, counts, strict=True)):
        xmin, ymin, xmax, ymax = bounds[i]
        got: list[np.ndarray] = []
        have = 0
        while have < n:
            batch = int(np.ceil(1.3 * (n - have) / max(fill[i], 1e-3))) + 8
            xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(batch, 2))
            xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
            got.append(xy)
            have += len(xy)
        seeds[start : start + n] = np.concatenate(got)[:n]
        start += n
    return seeds


def _voronoi_cells(
    polys: np.ndarray,
    counts: np.ndarray,
    split: np.ndarray,
    seeds: np.ndarray,
    margin: np.ndarray,
) -> np.ndarray:
    """Voronoi cells of each split polygon's seeds, in seed order; None for unsplit polygons.

    Each diagram is clipped to the polygon's bounding box grown by its margin.
    """
    offsets = np.concatenate([[0], np.cumsum(counts)])
    cells = np.full(len(seeds), None, dtype=object)
    if len(split) == 0:
        return cells
    sites = np.array(
        [shapely.multipoints(seeds[offsets[i] : offsets[i + 1]]) for i in split], dtype=object
    )
    bounds = shapely.bounds(polys[split])
    grow = margin[split][:, None] * np.array([-1.0, -1.0, 1.0, 1.0])
    extents = shapely.box(*(bounds + grow).T)
    diagrams = shapely.voronoi_polygons(sites, extend_to=extents, ordered=True)
    parts, which = shapely.get_parts(diagrams, return_index=True)
    if not np.array_equal(np.bincount(which, minlength=len(split)), counts[split]):
        raise RuntimeError("a Voronoi diagram has fewer cells than seeds (repeated seeds?)")
    idx = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in split])
    cells[idx] = parts
    return cells


def _voronoi_edges(cells: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each edge between two Voronoi cells once, as a two-point line, with its polygon.

    Neighbouring cells of one diagram have bitwise identical vertices, so an edge is found as
    a segment that occurs twice; segments that occur once lie on the clipping box.
    """
    has_cell = np.flatnonzero(~shapely.is_missing(cells))
    if len(has_cell) == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    xy, which = shapely.get_coordinates(shapely.boundary(cells[has_cell]), return_index=True)
    same = which[1:] == which[:-1]
    a, b, who = xy[:-1][same], xy[1:][same], owner[has_cell][which[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    start = np.where(swap[:, None], b, a)
    end = np.where(swap[:, None], a, b)
    rows = np.column_stack([who.astype(np.float64), start, end])
    unique, seen = np.unique(rows, axis=0, return_counts=True)
    shared = unique[seen == 2]
    lines = shapely.linestrings(shared[:, 1:].reshape(-1, 2, 2))
    return lines, shared[:, 0].astype(np.int64)


def _relax(
    polys: np.ndarray,
    counts: np.ndarray,
    split: np.ndarray,
    seeds: np.ndarray,
    owner: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """One Lloyd step: move each seed to the centroid of its Voronoi cell within its polygon."""
    if len(split) == 0:
        return seeds
    cells = _voronoi_cells(polys, counts, split, seeds, 2 * scale)
    idx = np.flatnonzero(~shapely.is_missing(cells))
    cells = cells[idx]
    parents = polys[owner[idx]]
    clipped = shapely.intersection(cells, parents)
    centre = shapely.get_coordinates(shapely.centroid(clipped))
    # The centroid of a concave clipped cell can fall outside the polygon; then use a point
    # on the cell's surface, which is always inside.
    outside = ~shapely.contains_xy(parents, centre[:, 0], centre[:, 1])
    if outside.any():
        centre[outside] = shapely.get_coordinates(shapely.point_on_surface(clipped[outside]))
    moved = seeds.copy()
    moved[idx] = centre
    return moved


def _reading_order(seeds: np.ndarray, counts: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Reorder each polygon's seeds in rows of height L from the north, alternating direction.

    Pieces are numbered in seed order, so neighbouring numbers end up near each other, as on
    hand-numbered grid maps.
    """
    offsets = np.concatenate([[0], np.cumsum(counts)])
    out = seeds.copy()
    for i in np.flatnonzero(counts > 1):
        xy = seeds[offsets[i] : offsets[i + 1]]
        row = np.floor((xy[:, 1].max() - xy[:, 1]) / scale[i]).astype(np.int64)
        x = np.where(row % 2 == 0, xy[:, 0], -xy[:, 0])
        out[offsets[i] : offsets[i + 1]] = xy[np.lexsort((x, row))]
    return out


class _Field:
    """A smooth displacement field per polygon: d(p) = sum_k u_k sin(w_k . (p - o) + phi_k)."""

    def __init__(
        self,
        origin: np.ndarray,
        wave: np.ndarray,
        phase: np.ndarray,
        amplitude: np.ndarray,
        segment: np.ndarray,
        reach: np.ndarray,
    ) -> None:
        self.origin = origin  # (P, 2): keeps the sine arguments small
        self.wave = wave  # (P, K, 2) wave vectors
        self.phase = phase  # (P, K)
        self.amplitude = amplitude  # (P, K, 2) displacement vectors
        self.segment = segment  # (P,) longest segment before bending
        self.reach = reach  # (P,) the largest possible displacement

    @classmethod
    def random(
        cls, origin: np.ndarray, scale: np.ndarray, wiggle: float, rng: np.random.Generator
    ) -> _Field:
        """Draw wave directions, wavelengths (1.5-3 L), phases and amplitudes per polygon."""
        p = len(scale)
        direction = rng.uniform(0.0, 2 * np.pi, (p, _WAVES))
        wavelength = scale[:, None] * rng.uniform(1.5, 3.0, (p, _WAVES))
        phase = rng.uniform(0.0, 2 * np.pi, (p, _WAVES))
        heading = rng.uniform(0.0, 2 * np.pi, (p, _WAVES))
        number = 2 * np.pi / wavelength
        wave = np.stack([number * np.cos(direction), number * np.sin(direction)], axis=-1)
        # RMS of |d| is wiggle * L for independent phases: each term has RMS size a / sqrt(2).
        size = np.full((p, _WAVES), wiggle) * scale[:, None] * np.sqrt(2.0 / _WAVES)
        gradient = (size * number).sum(axis=1)
        size *= np.minimum(1.0, _MAX_GRADIENT / np.maximum(gradient, 1e-300))[:, None]
        amplitude = size[..., None] * np.stack([np.cos(heading), np.sin(heading)], axis=-1)
        return cls(
            origin=origin,
            wave=wave,
            phase=phase,
            amplitude=amplitude,
            segment=scale / _SEGMENTS,
            reach=size.sum(axis=1),
        )

    def displace(self, xy: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """Move points, each by the field of the polygon it belongs to."""
        local = xy - self.origin[owner]
        arg = np.einsum("nkj,nj->nk", self.wave[owner], local) + self.phase[owner]
        return xy + np.einsum("nk,nkj->nj", np.sin(arg), self.amplitude[owner])

    def apply(self, geoms: np.ndarray, owner: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Segmentize and bend the geometries where mask is true and the field is not zero."""
        out = geoms.copy()
        bends = np.any(self.amplitude != 0, axis=(1, 2))[owner]
        sel = np.flatnonzero(mask & bends & ~shapely.is_missing(geoms))
        if len(sel) == 0:
            return out
        dense = shapely.segmentize(geoms[sel], self.segment[owner[sel]])
        xy, which = shapely.get_coordinates(dense, return_index=True)
        bent = self.displace(xy, owner[sel][which])
        out[sel] = shapely.set_coordinates(dense, bent)
        return out


def _soften_until_seeds_fit(
    polys: np.ndarray,
    cells: np.ndarray,
    seeds: np.ndarray,
    owner: np.ndarray,
    field: _Field,
) -> np.ndarray:
    """Weaken the bending of polygons where a bent seed would leave its polygon or cell.

    A bent cell that keeps its bent seed inside the polygon is sure to get a piece; halving the
    amplitude (and finally dropping it: a seed is always inside its own polygon and Voronoi
    cell) guarantees that, deterministically. Returns the bent cells (None where unsplit).
    """
    has_cell = ~shapely.is_missing(cells)
    for attempt in range(_MAX_SOFTENING + 1):
        bent_seeds = field.displace(seeds, owner)
        bent_cells = field.apply(cells, owner, has_cell)
        ok = shapely.contains_xy(polys[owner], bent_seeds[:, 0], bent_seeds[:, 1])
        ok[has_cell] &= shapely.contains_xy(
            bent_cells[has_cell], bent_seeds[has_cell, 0], bent_seeds[has_cell, 1]
        )
        bad = np.unique(owner[~ok])
        if len(bad) == 0 or attempt == _MAX_SOFTENING:
            break
        factor = 0.0 if attempt == _MAX_SOFTENING - 1 else 0.5
        field.amplitude[bad] *= factor
    return bent_cells


def _faces(
    polys: np.ndarray,
    counts: np.ndarray,
    bent_cells: np.ndarray,
    bent_edges: np.ndarray,
    edge_owner: np.ndarray,
    owner: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Node all bent edges with the outlines, polygonize, and say which cell each face is in."""
    if len(bent_edges):
        grown = shapely.buffer(polys[np.unique(edge_owner)], _OVERSHOOT, quad_segs=2)
        lookup = np.full(len(polys), -1, dtype=np.int64)
        lookup[np.unique(edge_owner)] = np.arange(len(grown))
        clipped = shapely.intersection(bent_edges, grown[lookup[edge_owner]])
        clipped = clipped[~shapely.is_empty(clipped)]
    else:
        clipped = np.empty(0, dtype=object)
    outlines = shapely.boundary(polys)
    linework = shapely.union_all(np.concatenate([outlines, clipped]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inner = shapely.point_on_surface(faces)

    # The polygon each face lies in; faces in holes or gaps belong to none and are dropped.
    face_idx, poly_idx = shapely.STRtree(polys).query(inner, predicate="within")
    face_idx, first = np.unique(face_idx, return_index=True)
    poly_idx = poly_idx[first]
    faces, inner = faces[face_idx], inner[face_idx]

    offsets = np.concatenate([[0], np.cumsum(counts)])
    face_cell = offsets[poly_idx].copy()  # right for polygons that are not split
    in_split = counts[poly_idx] > 1
    if in_split.any():
        has_cell = np.flatnonzero(~shapely.is_missing(bent_cells))
        sel = np.flatnonzero(in_split)
        hit_face, hit_cell = shapely.STRtree(bent_cells[has_cell]).query(
            inner[sel], predicate="within"
        )
        hit_cell = has_cell[hit_cell]
        same = owner[hit_cell] == poly_idx[sel[hit_face]]
        hit_face, hit_cell = hit_face[same], hit_cell[same]
        found = np.full(len(sel), -1, dtype=np.int64)
        # Keep the first hit per face (a point within float noise of an edge may hit two).
        hit_face, first_hit = np.unique(hit_face, return_index=True)
        found[hit_face] = hit_cell[first_hit]
        for k in np.flatnonzero(found < 0):
            # A sliver whose inner point is lost in float noise: take the nearest cell.
            j = poly_idx[sel[k]]
            candidates = np.arange(offsets[j], offsets[j + 1])
            near = shapely.distance(bent_cells[candidates], inner[sel[k]])
            found[k] = candidates[int(np.argmin(near))]
        face_cell[sel] = found
    return faces, face_cell


def _merge_faces(faces: np.ndarray, face_cell: np.ndarray, n_cells: int) -> np.ndarray:
    """Union the faces of each cell into one piece (faces share exact edges)."""
    order = np.argsort(face_cell, kind="stable")
    cells_sorted = face_cell[order]
    present, start, size = np.unique(cells_sorted, return_index=True, return_counts=True)
    if len(present) != n_cells:
        missing = np.setdiff1d(np.arange(n_cells), present)
        raise RuntimeError(f"{len(missing)} cells got no area (first: cell {missing[0]})")
    pieces = faces[order[start]].copy()
    for k in np.flatnonzero(size > 1):
        group = faces[order[start[k] : start[k] + size[k]]]
        pieces[k] = shapely.coverage_union_all(group)
    return pieces


def _absorb_fragments(pieces: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Give detached parts of a piece to the sibling they share the longest edge with.

    A cell cut by a concave outline falls into parts; only its largest part stays. Parts with no
    sibling next to them (e.g. on a separate island of a MultiPolygon) are kept.
    """
    multi = np.flatnonzero(shapely.get_num_geometries(pieces) > 1)
    if len(multi) == 0:
        return pieces
    pieces = pieces.copy()
    tree = shapely.STRtree(pieces)
    for i in multi:
        parts = shapely.get_parts(pieces[i])
        keep = int(np.argmax(shapely.area(parts)))
        kept = [parts[keep]]
        for k, part in enumerate(parts):
            if k == keep:
                continue
            near = tree.query(part)
            near = near[(near != i) & (owner[near] == owner[i])]
            if len(near) == 0:
                kept.append(part)
                continue
            shared = shapely.length(
                shapely.intersection(shapely.boundary(part), shapely.boundary(pieces[near]))
            )
            if shared.max() <= 0:
                kept.append(part)
                continue
            j = near[int(np.argmax(shared))]
            pieces[j] = shapely.coverage_union_all(np.array([pieces[j], part], dtype=object))
        pieces[i] = kept[0] if len(kept) == 1 else shapely.multipolygons(kept)
    return pieces


def _check_tiling(polys: np.ndarray, pieces: np.ndarray, owner: np.ndarray) -> None:
    """Raise InvalidGeometry unless each polygon's pieces add up to its area."""
    total = np.bincount(owner, weights=shapely.area(pieces), minlength=len(polys))
    area = shapely.area(polys)
    off = np.abs(total - area) > 1e-7 * np.maximum(area, 1.0)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InvalidGeometry(
            f"polygon {i} is not tiled by its pieces ({total[i]:.3f} vs {area[i]:.3f} m2)",
            allowed="polygons that do not overlap one another",
        )
