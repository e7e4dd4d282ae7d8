// The state-machine graph's layout, apart from drawing: no DOM here, so a test can run
// it on the real definition (window.OrquestaGraph) and check the geometry.
(() => {
  'use strict';

  // Layered layout: ranks by longest path over forward edges (back edges found by DFS),
  // states of a rank side by side, a Map drawn as a box around its own inner graph. Edges
  // between adjacent ranks go straight down; the others take a lane beside the graph.
  const NODE_W = 184, NODE_H = 46, GAP_X = 30, GAP_Y = 44, PAD = 16, HEADER = 46, LANE = 14;

  function successors(st) {
    const out = [];
    const add = (to, kind, label) => {
      if (!to) return;
      const seen = out.find((e) => e.to === to);
      if (seen) { if (kind === 'next' || kind === 'default') seen.kind = kind; seen.labels.push(label); return; }
      out.push({ to, kind, labels: [label] });
    };
    if (st.Next) add(st.Next, 'next', 'next');
    for (const choice of st.Choices || []) add(choice.Next, 'choice', `when ${choice.Variable || 'rule'}`);
    if (st.Default) add(st.Default, 'default', 'default');
    for (const c of st.Catch || []) add(c.Next, 'catch', `catch ${(c.ErrorEquals || []).join(', ')}`);
    return out;
  }

  function innerDefinition(st) {
    return st.ItemProcessor || st.Iterator || null;
  }

  function layout(def) {
    const names = Object.keys(def.States || {});
    const edges = [];
    for (const from of names) {
      for (const e of successors(def.States[from])) if (e.to in def.States) edges.push({ from, ...e });
    }
    const color = {};
    const visit = (name) => {
      color[name] = 1;
      for (const e of edges) {
        if (e.from !== name) continue;
        if (color[e.to] === 1) e.back = true;
        else if (!color[e.to]) visit(e.to);
      }
      color[name] = 2;
    };
    if (def.StartAt in def.States) visit(def.StartAt);
    names.forEach((n) => { if (!color[n]) visit(n); });
    const rank = Object.fromEntries(names.map((n) => [n, 0]));
    for (let i = 0; i < names.length; i += 1) {
      for (const e of edges) if (!e.back) rank[e.to] = Math.max(rank[e.to], rank[e.from] + 1);
    }
    const nodes = {};
    for (const name of names) {
      const st = def.States[name];
      const innerDef = innerDefinition(st);
      const inner = innerDef ? layout(innerDef) : null;
      nodes[name] = {
        name, st, inner, rank: rank[name],
        w: inner ? Math.max(NODE_W, inner.width + 2 * PAD) : NODE_W,
        h: inner ? inner.height + HEADER + PAD : NODE_H,
      };
    }
    const rows = [];
    names.forEach((n) => { (rows[rank[n]] = rows[rank[n]] || []).push(n); });
    let y = 0;
    const bands = [];
    rows.forEach((row, r) => {
      if (!row) return;
      const center = (n) => {
        const preds = edges.filter((e) => e.to === n && !e.back && nodes[e.from].cx !== undefined);
        return preds.length ? preds.reduce((a, e) => a + nodes[e.from].cx, 0) / preds.length : 0;
      };
      row.sort((a, b) => center(a) - center(b));
      const rowW = row.reduce((a, n) => a + nodes[n].w, 0) + GAP_X * (row.length - 1);
      const rowH = Math.max(...row.map((n) => nodes[n].h));
      let x = -rowW / 2;
      for (const n of row) {
        Object.assign(nodes[n], { x, y, cx: x + nodes[n].w / 2 });
        x += nodes[n].w + GAP_X;
      }
      bands[r] = { top: y, bottom: y + rowH };
      y += rowH + GAP_Y;
    });
    const left = Math.min(...names.map((n) => nodes[n].x));
    const right = Math.max(...names.map((n) => nodes[n].x + nodes[n].w));
    // Lanes for edges that skip a rank or go back up: on the side nearer to both ends.
    let lanesLeft = 0, lanesRight = 0;
    for (const e of edges) {
      e.direct = !e.back && rank[e.to] === rank[e.from] + 1;
      if (e.direct) continue;
      const mid = (nodes[e.from].cx + nodes[e.to].cx) / 2;
      e.side = e.back || mid >= 0 ? 'right' : 'left';
      e.lane = e.side === 'right' ? (lanesRight += 1) : (lanesLeft += 1);
    }
    const offset = -left + PAD + lanesLeft * LANE;
    for (const n of names) { nodes[n].x += offset; nodes[n].cx += offset; }
    const coreRight = right + offset;
    for (const e of edges) {
      if (e.direct) continue;
      e.laneX = e.side === 'right' ? coreRight + e.lane * LANE : PAD + (lanesLeft - e.lane + 1) * LANE - LANE;
    }
    return {
      nodes, edges, bands,
      width: coreRight + lanesRight * LANE + PAD,
      height: Math.max(0, y - GAP_Y) + 18,
      start: def.StartAt,
    };
  }

  function edgePath(e, g) {
    const a = g.nodes[e.from], b = g.nodes[e.to];
    const sx = a.cx, sy = a.y + a.h, tx = b.cx, ty = b.y;
    const below = g.bands[a.rank].bottom;
    const above = g.bands[b.rank].top;
    if (e.direct) {
      const midY = below + GAP_Y / 2;
      return `M${sx},${sy} V${midY} H${tx} V${ty - 2}`;
    }
    const jog = 8 + (e.lane % 3) * 6;
    return `M${sx},${sy} V${below + jog} H${e.laneX} V${above - jog} H${tx} V${ty - 2}`;
  }

  window.OrquestaGraph = Object.freeze({ layout, edgePath, HEADER });
})();
