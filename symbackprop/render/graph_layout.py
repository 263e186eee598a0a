r"""Where the nodes of a computational graph go, and the route of every arrow (cm): a layered
drawing whose arrows pass through no node.

- **columns by depth**: a node defined by an equation sits one column right of its deepest input
  (column = 1 + max over its inputs); a leaf (an input, a constant) sits just left of the first
  node it feeds, so f = (x + y) z reads like the slides: x, y → q, then q, z → f;
- **wires**: an arrow that spans several columns is routed through one waypoint per column it
  crosses (a "wire" of its source, shared by all of that source's long arrows), and every wire has
  a row of its own in its column, so it passes between the nodes there, never through them;
- **rows**: within a column nodes and wires keep the order of the barycentre heuristic (each
  item near the mean position of its neighbours in the next and previous columns); their heights
  are the closest to those means that keep neighbours apart (a node's box and a wire's clearance),
  found by isotonic regression (pool adjacent violators);
- **straightened**: a waypoint is dropped when the straight arrow without it meets no node box,
  so an arrow bends only where it must; a steep arrow between neighbouring columns that would clip
  a node beside its ends leaves and enters level, its slanted part in the gap between the columns.

:func:`layered_layout` returns a :class:`GraphLayout`; ``tests/test_graph_worksheets.py`` parses
the TikZ drawn from it and checks that no arrow segment meets a node's box.
"""
from __future__ import annotations

from dataclasses import dataclass

from .tikz_layout import Box

WIRE_CLEAR_CM = 0.35     # a wire's half height: how far it keeps from its neighbours
NODE_CLEAR_CM = 0.12     # the margin kept around a node's box when a route is straightened
SWEEPS = 6


@dataclass(frozen=True)
class GraphLayout:
    """``at``: {node: (x, y)}; ``routes``: {(parent, child): [(x, y), ...]} from the parent's centre
    through its waypoints to the child's centre; ``column``: {node: column}."""

    at: dict
    routes: dict
    column: dict


def _box_hit(a, b, box) -> bool:
    """Does the segment a-b pass through the axis-aligned ``box`` (x0, y0, x1, y1)? (Liang-Barsky,
    :meth:`~symbackprop.render.tikz_layout.Box.hits_segment`)"""
    x0, y0, x1, y1 = box
    return Box((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, "node").hits_segment(a, b)


def _columns(order, parents, leaves, children) -> dict:
    column = {}
    for v in order:
        column[v] = 0 if v in leaves else 1 + max((column[p] for p in parents[v]), default=0)
    for v in order:
        if v in leaves:
            kids = [column[c] for c in children[v] if c in column]
            column[v] = max(min(kids) - 1, 0) if kids else 0
    for v in order:   # a node stays right of its inputs after the leaves moved
        if v not in leaves:
            column[v] = max([column[v]] + [column[p] + 1 for p in parents[v]])
    return column


def _isotonic(desired, gaps) -> list:
    """Heights y_0 > y_1 > ... closest (least squares) to ``desired`` with y_i - y_{i+1} >= gaps[i]."""
    offset = [0.0]
    for gap in gaps:
        offset.append(offset[-1] + gap)
    z = [d + o for d, o in zip(desired, offset)]   # z_i = y_i + offset_i must not increase
    blocks = []                                   # [mean, count]
    for value in z:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    fitted = [m for m, c in blocks for _ in range(c)]
    return [f - o for f, o in zip(fitted, offset)]


def layered_layout(order, parents, leaves, half_sizes, dx, dy) -> GraphLayout:
    """The layered drawing of a graph.

    ``order``: the node names in the equations' order (inputs first); ``parents``: {node: [inputs]};
    ``leaves``: the names that no equation defines; ``half_sizes``: {node: (half width, half height)}
    of each node's box (cm); ``dx``: the distance between columns; ``dy``: between two nodes' rows."""
    children = {v: [] for v in order}
    for v in order:
        for p in parents[v]:
            children[p].append(v)
    column = _columns(order, parents, leaves, children)
    n_cols = max(column.values()) + 1
    # items: a node is its name, a wire is (source, column)
    members = [[] for _ in range(n_cols)]
    for v in order:
        members[column[v]].append(v)
    wires = []
    for v in order:
        far = max((column[c] for c in children[v]), default=column[v])
        for k in range(column[v] + 1, far):
            if any(column[c] > k for c in children[v]):
                wires.append((v, k))
    for w in wires:
        members[w[1]].append(w)

    def col(item):
        return item[1] if isinstance(item, tuple) else column[item]

    def source(item):
        return item[0] if isinstance(item, tuple) else item

    def at_column(v, k):
        """The item through which v's arrows pass in column k (v itself, or its wire)."""
        return v if column[v] == k else (v, k)

    def neighbours(item, step):
        k = col(item)
        if step < 0:   # the previous column
            if isinstance(item, tuple):
                return [at_column(item[0], k - 1)]
            return [at_column(p, k - 1) for p in parents[item]]
        v = source(item)
        out = []
        for c in children[v]:
            if column[c] == k + 1:
                out.append(c)
            elif column[c] > k + 1 and (v, k + 1) not in out:
                out.append((v, k + 1))
        return out

    # order within columns: the barycentre heuristic, sweeping right and left
    rank = {item: i for m in members for i, item in enumerate(m)}
    for sweep in range(SWEEPS):
        step = -1 if sweep % 2 == 0 else 1
        cols = range(1, n_cols) if step < 0 else range(n_cols - 2, -1, -1)
        for k in cols:
            def bary(item, k=k, step=step):
                nb = neighbours(item, step)
                return sum(rank[x] for x in nb) / len(nb) if nb else rank[item]
            members[k].sort(key=lambda item: (bary(item), rank[item]))
            for i, item in enumerate(members[k]):
                rank[item] = i

    def half_height(item):
        return WIRE_CLEAR_CM if isinstance(item, tuple) else half_sizes[item][1]

    def gap(a, b):
        if isinstance(a, tuple) or isinstance(b, tuple):
            return half_height(a) + half_height(b) + 0.15
        return dy

    gaps = {k: [gap(a, b) for a, b in zip(m, m[1:])] for k, m in enumerate(members)}
    y = {}
    for k, m in enumerate(members):
        total = sum(gaps[k])
        for i, item in enumerate(m):
            y[item] = total / 2 - sum(gaps[k][:i])
    for sweep in range(2 * SWEEPS):
        step = 1 if sweep % 2 == 0 else -1
        cols = range(n_cols - 1, -1, -1) if step > 0 else range(n_cols)
        for k in cols:
            m = members[k]
            desired = []
            for item in m:
                nb = neighbours(item, step) or neighbours(item, -step)
                desired.append(sum(y[x] for x in nb) / len(nb) if nb else y[item])
            for item, value in zip(m, _isotonic(desired, gaps[k])):
                y[item] = value

    at = {v: (column[v] * dx, y[v]) for v in order}
    boxes = {v: (at[v][0] - half_sizes[v][0] - NODE_CLEAR_CM, at[v][1] - half_sizes[v][1] - NODE_CLEAR_CM,
                 at[v][0] + half_sizes[v][0] + NODE_CLEAR_CM, at[v][1] + half_sizes[v][1] + NODE_CLEAR_CM)
             for v in order}

    def clear(a, b, ends):
        return not any(_box_hit(a, b, box) for v, box in boxes.items() if v not in ends)

    widest = {}   # {x of a column: the half width of its widest node}
    for v in order:
        widest[at[v][0]] = max(widest.get(at[v][0], 0.0), half_sizes[v][0])
    routes = {}
    for c in order:
        for p in parents[c]:
            points = [at[p]] + [(k * dx, y[(p, k)]) for k in range(column[p] + 1, column[c])] + [at[c]]
            points = _straighten(points, lambda a, b, p=p, c=c: clear(a, b, {p, c}))
            routes[(p, c)] = _elbows(points, widest, lambda a, b, p=p, c=c: clear(a, b, {p, c}))
    return GraphLayout(at, routes, column)


def _elbows(points, widest, clear) -> list:
    """A steep segment between neighbouring columns that clips a node next to its ends leaves its
    start level and reaches its end level: a → (just right of a, a's height) → (just left of b,
    b's height) → b, so its slanted part lies in the gap between the columns, where no node is."""
    out = [points[0]]
    for a, b in zip(points, points[1:]):
        if not clear(a, b):
            xa = a[0] + widest.get(a[0], 0.0) + NODE_CLEAR_CM + 0.05
            xb = b[0] - widest.get(b[0], 0.0) - NODE_CLEAR_CM - 0.05
            if xa < xb:
                out += [(xa, a[1]), (xb, b[1])]
        out.append(b)
    return out


def _straighten(points, clear) -> list:
    """``points`` with every waypoint dropped that the straight line past it can do without."""
    out = [points[0]]
    i = 0
    while i < len(points) - 1:
        j = len(points) - 1
        while j > i + 1 and not clear(points[i], points[j]):
            j -= 1
        out.append(points[j])
        i = j
    return out


__all__ = ["GraphLayout", "layered_layout"]
