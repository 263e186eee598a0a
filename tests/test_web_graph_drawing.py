"""The web page's graph drawing routes every arrow between the nodes, as the worksheets do (issue 13).

Checked geometrically on the SVG itself: no arrow segment comes closer to a node's centre than the
node's radius unless it starts or ends at that node. micrograd's test_more_ops graph (10 operations,
arrows spanning several columns) is where a straight arrow would cross other nodes.
"""
import json
import re

from symbackprop import derive, load_spec
from symbackprop.web.svg import graph_svg

MICROGRAD = ["c1 = a + b", "d1 = a*b + b^3", "c2 = c1 + c1 + 1", "c3 = c2 + 1 + c2 + (-a)",
             "d2 = d1 + d1*2 + relu(b + a)", "d3 = d2 + 3*d2 + relu(b - a)",
             "e = c3 - d3", "f = e^2", "g1 = f/2", "g = g1 + 10/f"]


def _segments_and_circles(svg):
    lines = [tuple(float(v) for v in m) for m in
             re.findall(r'<line class="edge" x1="([\d.-]+)" y1="([\d.-]+)" x2="([\d.-]+)" y2="([\d.-]+)"', svg)]
    circles = [tuple(float(v) for v in m) for m in re.findall(r'<circle class="node" cx="([\d.-]+)" cy="([\d.-]+)" r="([\d.-]+)"', svg)]
    return lines, circles


def _distance(px, py, x1, y1, x2, y2):
    dx, dy = x2 - x1, y2 - y1
    t = max(0.0, min(1.0, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy or 1.0)))
    return ((px - x1 - t * dx) ** 2 + (py - y1 - t * dy) ** 2) ** 0.5


def _crossings(svg):
    lines, circles = _segments_and_circles(svg)
    assert lines and circles
    bad = []
    for (x1, y1, x2, y2) in lines:
        for (cx, cy, r) in circles:
            own = min(((x1 - cx) ** 2 + (y1 - cy) ** 2) ** 0.5, ((x2 - cx) ** 2 + (y2 - cy) ** 2) ** 0.5) < r + 15
            if not own and _distance(cx, cy, x1, y1, x2, y2) < r:
                bad.append(((x1, y1, x2, y2), (cx, cy)))
    return bad


def test_no_arrow_crosses_a_node_in_the_web_drawing(tmp_path):
    spec = tmp_path / "micrograd.toml"
    spec.write_text('title = "micrograd"\n[graph]\nequations = ' + json.dumps(MICROGRAD) + "\n[data]\na = -4\nb = 2\n")
    svg = graph_svg(derive(load_spec(spec)))
    lines, circles = _segments_and_circles(svg)
    assert len(circles) == 10          # one circle per operation
    assert len(lines) > 16             # 16 arrows between nodes and the output's, some bent into several segments
    assert _crossings(svg) == []


def test_the_crossing_check_catches_a_straight_arrow_through_a_node():
    svg = ('<line class="edge" x1="0" y1="0" x2="100" y2="0"/><circle class="node" cx="50" cy="2" r="10"/>'
           '<circle class="node" cx="110" cy="0" r="10"/>')
    assert len(_crossings(svg)) == 1


def test_the_slides_graph_in_the_web_drawing():
    svg = graph_svg(derive(load_spec("derivations/computational_graph.toml")))
    lines, circles = _segments_and_circles(svg)
    assert len(circles) == 2 and len(lines) == 5   # q and f; x, y → q, q, z → f, and the output's arrow
    assert _crossings(svg) == []
