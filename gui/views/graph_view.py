"""The graph view: the selected identity's neighbourhood, one or two hops out.

Never the whole graph: nodes sit on rings around the centre (direct neighbours
on the first, their neighbours on the second, near their parent), each ring
capped so that an account in a group of thousands still reads; what is left
out is counted on the ring. Edges are coloured and labelled by their kind
(colours from core's edge-kind registry) with a legend; a click on a node moves
the view there, and on an identity also selects it in the inventory.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nhiplan.core import services

from ..models.inventory_table_model import DECISION_COLOURS

MAX_RING1 = 32
MAX_PER_PARENT = 5
MAX_RING2 = 48
NODE_RADIUS = 16
NODE_FILL = {"group": "#b0bec5", "host": "#a1887f", "computer": "#a1887f", "application": "#80cbc4",
             "resource": "#80cbc4", "person": "#ffcc80"}
KIND_ORDER = ("AllowedToDelegate", "AllowedToAct", "ReadGMSAPassword", "SharesCredential", "FederatedCredential",
              "UsesIdentity", "ManualDependency", "ManagedBy", "Owns", "MemberOf")


class NodeItem(QGraphicsEllipseItem):
    def __init__(self, view: GraphView, key: str, data: dict[str, Any], centre: bool, decision: str | None):
        r = NODE_RADIUS * (1.4 if centre else 1.0)
        super().__init__(-r, -r, 2 * r, 2 * r)
        self.key = key
        self.view = view
        self.is_identity = bool(data.get("identity"))
        kind = self.kind = data.get("kind", "")
        if self.is_identity:
            fill = DECISION_COLOURS.get(decision or "undecided", "#9e9e9e") if kind != "person" else NODE_FILL["person"]
        else:
            fill = NODE_FILL.get(kind, "#cfd8dc")
        self.setBrush(QBrush(QColor(fill)))
        text_colour = view.palette().color(QPalette.ColorRole.Text)
        self.setPen(QPen(text_colour, 3 if centre else 1))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{data.get('name', key)}\n{kind}\n{key}")
        self.setZValue(2)
        label = QGraphicsSimpleTextItem(_short(data.get("name", key)), self)
        font = QFont(label.font())
        font.setBold(centre)
        label.setFont(font)
        label.setBrush(QBrush(text_colour))
        rect = label.boundingRect()
        label.setPos(-rect.width() / 2, r + 2)
        sub = QGraphicsSimpleTextItem(kind.replace("_", " "), self)
        small = QFont(font)
        small.setBold(False)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        sub.setFont(small)
        sub.setBrush(QBrush(view.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)))
        sub.setPos(-sub.boundingRect().width() / 2, r + 2 + rect.height())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.activate(self.key)
            event.accept()
            return
        super().mousePressEvent(event)


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


class GraphView(QWidget):
    """Emits `node_activated(key, is_identity)` when a node is clicked."""

    node_activated = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("graphView")
        self.graph = None  # an IdentityGraph, once loaded in the background
        self.decisions: dict[str, str] = {}
        self.centre: str | None = None
        self.node_items: dict[str, NodeItem] = {}
        self.edge_count = 0
        self.hidden_count = 0
        self._kinds = services.edge_kind_info()
        self._auto_fit = True

        self.hops = QComboBox()
        self.hops.setObjectName("graphHops")
        self.hops.addItems(["1 hop", "2 hops"])
        self.hops.currentIndexChanged.connect(lambda _i: self.centre and self.show_node(self.centre))
        self.fit_button = QPushButton("Fit")
        self.fit_button.clicked.connect(self._fit_clicked)
        self.status = QLabel()
        self.status.setObjectName("graphStatus")
        top = QHBoxLayout()
        top.addWidget(QLabel("Neighbourhood:"))
        top.addWidget(self.hops)
        top.addWidget(self.fit_button)
        top.addWidget(self.status, 1)

        self.scene = QGraphicsScene(self)
        self.view = QGraphicsView(self.scene)
        self.view.setObjectName("graphCanvas")
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.view.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.view.wheelEvent = self._wheel  # zoom with the wheel
        self.legend = QLabel()
        self.legend.setObjectName("graphLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.legend)
        self._message("The graph is loading…")

    # -- inputs --------------------------------------------------------------------------
    def set_graph(self, graph, decisions: dict[str, str] | None = None) -> None:
        self.graph = graph
        self.decisions = dict(decisions or {})
        if self.centre:
            self.show_node(self.centre)
        else:
            self._message("Select an identity to see its neighbourhood.")

    def set_hops(self, hops: int) -> None:
        self.hops.setCurrentIndex(1 if hops >= 2 else 0)

    def update_decisions(self, decisions: dict[str, str]) -> None:
        """Recolour the nodes whose decision changed (in place: clearing the scene costs more)."""
        self.decisions.update(decisions)
        for key, decision in decisions.items():
            item = self.node_items.get(key)
            if item is not None and item.is_identity and item.kind != "person":
                item.setBrush(QBrush(QColor(DECISION_COLOURS.get(decision or "undecided", "#9e9e9e"))))

    def activate(self, key: str) -> None:
        is_identity = self.graph is not None and self.graph.is_identity(key)
        self.show_node(key)
        self.node_activated.emit(key, is_identity)

    def _wheel(self, event) -> None:
        self._auto_fit = False
        factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        self.view.scale(factor, factor)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.centre and self.graph is not None:
            self.show_node(self.centre)  # labels and outlines take the new palette's colours

    def _fit_clicked(self) -> None:
        self._auto_fit = True
        self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._auto_fit:
            self.fit()

    def fit(self) -> None:
        self.view.resetTransform()
        rect = self.scene.itemsBoundingRect().adjusted(-20, -20, 20, 20)
        self.view.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.view.transform().m11() > 1.5:  # a tiny neighbourhood should not be blown up
            self.view.resetTransform()
            self.view.scale(1.5, 1.5)
            self.view.centerOn(0, 0)

    def _message(self, text: str) -> None:
        self.scene.clear()
        self.node_items.clear()
        item = self.scene.addSimpleText(text)
        item.setBrush(QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)))
        self.legend.setText("")
        self.status.setText("")

    # -- drawing -------------------------------------------------------------------------
    def show_node(self, key: str) -> None:
        self.centre = key
        if self.graph is None:
            self._message("The graph is loading…")
            return
        g = self.graph.g
        if key not in g:
            self._message("This node is not in the graph.")
            return
        hops = 2 if self.hops.currentIndex() == 1 else 1
        ring1_all = sorted(set(g.successors(key)) | set(g.predecessors(key)), key=lambda n: self._rank(key, n))
        ring1 = ring1_all[:MAX_RING1]
        hidden = len(ring1_all) - len(ring1)
        placed = {key, *ring1}
        ring2: dict[str, list[str]] = {}
        if hops == 2:
            total2 = 0
            for parent in ring1:
                around = sorted((set(g.successors(parent)) | set(g.predecessors(parent))) - placed,
                                key=lambda n, p=parent: self._rank(p, n))
                take = around[: min(MAX_PER_PARENT, MAX_RING2 - total2)]
                hidden += len(around) - len(take)
                placed.update(take)
                total2 += len(take)
                ring2[parent] = take
        self._draw(key, ring1, ring2, hidden)

    def _rank(self, a: str, b: str) -> tuple[int, str]:
        """Closer relations (delegation, credentials) first, memberships last; then by name."""
        g = self.graph.g
        kinds = set(g.succ[a].get(b, {})) | set(g.pred[a].get(b, {}))
        best = min((KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER) for k in kinds), default=99)
        return best, str(g.nodes[b].get("name", b)).lower()

    def _draw(self, centre: str, ring1: list[str], ring2: dict[str, list[str]], hidden: int) -> None:
        self.scene.clear()
        self.node_items = {}
        g = self.graph.g
        positions: dict[str, QPointF] = {centre: QPointF(0, 0)}
        n1 = max(1, len(ring1))
        r1 = max(150.0, n1 * 56 / (2 * math.pi))
        for i, node in enumerate(ring1):
            angle = 2 * math.pi * i / n1 - math.pi / 2
            positions[node] = QPointF(r1 * math.cos(angle), r1 * math.sin(angle))
        n2 = sum(len(v) for v in ring2.values())
        r2 = max(r1 + 150.0, n2 * 52 / (2 * math.pi))
        for i, parent in enumerate(ring1):
            children = ring2.get(parent, [])
            base = 2 * math.pi * i / n1 - math.pi / 2
            spread = min(2 * math.pi / n1, 0.5 * len(children) * 52 / r2) if children else 0
            for j, node in enumerate(children):
                angle = base + (spread * ((j + 0.5) / len(children) - 0.5) if len(children) > 1 else 0)
                positions[node] = QPointF(r2 * math.cos(angle), r2 * math.sin(angle))

        pair_count: dict[tuple[str, str], int] = {}
        kinds_shown: dict[str, int] = {}
        self.edge_count = 0
        for src, dst, kind in g.subgraph(positions).edges(keys=True):
            pair = (min(src, dst), max(src, dst))
            nth = pair_count.get(pair, 0)
            pair_count[pair] = nth + 1
            self._draw_edge(positions[src], positions[dst], kind, nth)
            kinds_shown[kind] = kinds_shown.get(kind, 0) + 1
            self.edge_count += 1
        for node, pos in positions.items():
            data = g.nodes[node]
            item = NodeItem(self, node, data, node == centre, self.decisions.get(node))
            item.setPos(pos)
            self.scene.addItem(item)
            self.node_items[node] = item
        self.hidden_count = hidden
        text = f"{len(positions)} nodes, {self.edge_count} edges shown"
        if hidden:
            text += f"; {hidden} more neighbours not drawn"
            more = self.scene.addSimpleText(f"+{hidden} more not drawn")
            more.setBrush(QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)))
            more.setPos(-more.boundingRect().width() / 2, -r1 - 60)
        self.status.setText(text)
        self.legend.setText("  ".join(
            f"<span style='color:{self._kinds.get(k, {}).get('colour', '#777')}'>■</span> {k} ({n})"
            for k, n in sorted(kinds_shown.items())))
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-40, -40, 40, 40))
        self._auto_fit = True
        self.fit()

    def _draw_edge(self, a: QPointF, b: QPointF, kind: str, nth: int) -> None:
        colour = QColor(self._kinds.get(kind, {}).get("colour", "#777777"))
        dx, dy = b.x() - a.x(), b.y() - a.y()
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        nx_, ny_ = -uy, ux
        bend = 0.0 if nth == 0 else (18.0 * ((nth + 1) // 2) * (1 if nth % 2 else -1))
        start = QPointF(a.x() + ux * NODE_RADIUS, a.y() + uy * NODE_RADIUS)
        end = QPointF(b.x() - ux * (NODE_RADIUS + 2), b.y() - uy * (NODE_RADIUS + 2))
        mid = QPointF((start.x() + end.x()) / 2 + nx_ * bend * 2, (start.y() + end.y()) / 2 + ny_ * bend * 2)
        path = QPainterPath(start)
        path.quadTo(mid, end)
        line = QGraphicsPathItem(path)
        line.setPen(QPen(colour, 2 if kind != "MemberOf" else 1.2))
        line.setZValue(0)
        line.setToolTip(f"{kind}: {self._kinds.get(kind, {}).get('meaning', '')}")
        self.scene.addItem(line)
        # the arrow head points at dst along the curve's last direction
        tx, ty = end.x() - mid.x(), end.y() - mid.y()
        tl = math.hypot(tx, ty) or 1.0
        tx, ty = tx / tl, ty / tl
        head = QPolygonF([end, QPointF(end.x() - tx * 9 - ty * 4.5, end.y() - ty * 9 + tx * 4.5),
                          QPointF(end.x() - tx * 9 + ty * 4.5, end.y() - ty * 9 - tx * 4.5)])
        arrow = QGraphicsPolygonItem(head)
        arrow.setBrush(QBrush(colour))
        arrow.setPen(QPen(colour))
        arrow.setZValue(1)
        self.scene.addItem(arrow)
        label = QGraphicsSimpleTextItem(kind)
        font = QFont(label.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        label.setFont(font)
        label.setBrush(QBrush(colour.darker(130) if self.palette().color(QPalette.ColorRole.Base).lightness() > 128
                              else colour.lighter(140)))
        rect = label.boundingRect()
        lx = (start.x() + 2 * ((start.x() + end.x()) / 2 + nx_ * bend) + end.x()) / 4
        ly = (start.y() + 2 * ((start.y() + end.y()) / 2 + ny_ * bend) + end.y()) / 4
        backdrop = QGraphicsRectItem(QRectF(0, 0, rect.width() + 4, rect.height()))
        backdrop.setBrush(QBrush(self.palette().color(QPalette.ColorRole.Base)))
        backdrop.setPen(QPen(Qt.PenStyle.NoPen))
        backdrop.setOpacity(0.85)
        backdrop.setPos(lx - rect.width() / 2 - 2, ly - rect.height() / 2)
        backdrop.setZValue(1.5)
        backdrop.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, False)
        self.scene.addItem(backdrop)
        label.setPos(lx - rect.width() / 2, ly - rect.height() / 2)
        label.setZValue(1.6)
        self.scene.addItem(label)
