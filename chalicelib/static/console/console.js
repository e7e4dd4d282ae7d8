(() => {
  'use strict';

  const KEY = 'orquesta.ops.key';
  const EXECUTIONS_PAGE = 200;
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (selector) => document.querySelector(selector);
  const state = {
    executions: [], executionsTotal: { count: 0, capped: false },
    definition: null, order: null, executionsSeq: 0, orderSeq: 0,
  };

  // Elements are built with textContent only: nothing from the API is parsed as HTML.
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function s(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function when(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    // In UTC, as the API and the timeline's details give times (a probe: local times next
    // to UTC details read as an hour apart); the header says so once.
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
      `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  }

  function took(from, to) {
    if (!from || !to) return '';
    const ms = new Date(to) - new Date(from);
    if (ms < 1000) return `${ms} ms`;
    if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.round(ms / 60000)} min`;
  }

  function showError(id, message) {
    const node = $(id);
    node.textContent = message || '';
    node.hidden = !message;
  }

  // --- API ------------------------------------------------------------------------------
  class AuthError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  async function api(path, key, options = {}) {
    const token = key || sessionStorage.getItem(KEY);
    if (!token) throw new AuthError(401, 'not signed in');
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    Object.assign(headers, options.headers || {});
    const response = await fetch(path, {
      method: options.method || 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
      credentials: 'omit',
    });
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (response.status === 401 || response.status === 403) {
      throw new AuthError(response.status, (body && body.detail) || response.statusText);
    }
    if (!response.ok) {
      const failure = new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
      failure.problem = body; // the problem document: its errors name each field
      throw failure;
    }
    return body;
  }

  // --- Sign-in --------------------------------------------------------------------------
  function showSignIn(message) {
    sessionStorage.removeItem(KEY);
    $('#console').hidden = true;
    $('#sign-out').hidden = true;
    $('#signin').hidden = false;
    showError('#signin-error', message);
    $('#ops-key').focus();
  }

  function showConsole() {
    $('#signin').hidden = true;
    $('#console').hidden = false;
    $('#sign-out').hidden = false;
    showError('#signin-error', '');
  }

  function guard(error, panelError) {
    if (error instanceof AuthError) {
      showSignIn(error.status === 403
        ? 'That key may not use the ops console (not an ops key).'
        : 'Your session has ended: sign in again.');
      return;
    }
    showError(panelError, error.message);
  }

  $('#signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = $('#ops-key').value.trim();
    if (!key) { showError('#signin-error', 'Enter the ops key.'); return; }
    $('#signin-submit').disabled = true;
    try {
      await api('/ops/executions?limit=1', key);
      sessionStorage.setItem(KEY, key);
      $('#ops-key').value = '';
      showConsole();
      loadAll();
    } catch (error) {
      if (error instanceof AuthError) {
        showError('#signin-error', error.status === 403
          ? 'That key is valid but not an ops key: the console needs the ops role.'
          : 'That key was not recognised. Check it and try again.');
      } else {
        showError('#signin-error', `Could not sign in: ${error.message}`);
      }
    } finally {
      $('#signin-submit').disabled = false;
    }
  });

  $('#sign-out').addEventListener('click', () => showSignIn(''));

  // --- Executions -----------------------------------------------------------------------
  async function loadExecutions() {
    // Only the latest request is drawn: an older answer arriving late is dropped.
    const seq = ++state.executionsSeq;
    const table = $('#executions');
    const status = $('#status-filter').value;
    const query = new URLSearchParams({ limit: String(EXECUTIONS_PAGE) });
    if (status) query.set('status', status);
    table.setAttribute('aria-busy', 'true');
    try {
      const body = await api(`/ops/executions?${query}`);
      if (seq !== state.executionsSeq) return;
      showError('#executions-error', '');
      state.executions = body.executions;
      state.executionsTotal = filteredTotal(body, status);
      renderCounts(body);
      renderExecutions();
      table.setAttribute('data-status-filter', status);
    } catch (error) {
      if (seq === state.executionsSeq) guard(error, '#executions-error');
    } finally {
      if (seq === state.executionsSeq) table.setAttribute('aria-busy', 'false');
    }
  }

  // The executions the filter matches, as the tiles count them (capped at count_cap).
  function filteredTotal(body, status) {
    const counts = status ? [body.counts[status] || 0] : Object.values(body.counts);
    return {
      count: counts.reduce((a, b) => a + b, 0),
      capped: counts.some((count) => count >= body.count_cap),
    };
  }

  function renderCounts(body) {
    const counts = $('#counts');
    counts.replaceChildren();
    const current = $('#status-filter').value;
    const total = Object.values(body.counts).reduce((a, b) => a + b, 0);
    const tiles = [['', 'ALL', total], ...Object.entries(body.counts).map(([k, v]) => [k, k, v])];
    for (const [status, label, count] of tiles) {
      const capped = status && count >= body.count_cap ? '+' : '';
      const tile = h('button', {
        type: 'button', class: `count${status === current ? ' active' : ''}`,
        'data-status': status || 'ALL', 'aria-pressed': status === current ? 'true' : 'false',
      }, h('span', { class: 'n', text: `${count}${capped}` }), h('span', { class: 'label', text: label }));
      tile.addEventListener('click', () => { $('#status-filter').value = status; loadExecutions(); });
      counts.append(tile);
    }
  }

  function renderExecutions() {
    const needle = $('#order-filter').value.trim().toLowerCase();
    const rows = state.executions.filter((e) => !needle || e.order_id.toLowerCase().includes(needle));
    const body = $('#executions tbody');
    body.replaceChildren();
    for (const execution of rows) {
      const link = h('a', { class: 'order-link', href: `#order=${encodeURIComponent(execution.order_id)}`, text: execution.order_id });
      const row = h('tr', {
        class: `execution${state.order === execution.order_id ? ' selected' : ''}`,
        'data-order-id': execution.order_id, 'data-status': execution.status,
      },
      h('td', {}, link),
      h('td', {}, executionPill(
        execution.status, execution.order_status, execution.order_attention, execution.retried,
        execution.order_nothing_left)),
      h('td', { text: when(execution.started_at) }),
      h('td', { text: when(execution.stopped_at) }));
      row.addEventListener('click', (event) => {
        event.preventDefault();
        const hash = `#order=${encodeURIComponent(execution.order_id)}`;
        if (location.hash === hash) openOrder(execution.order_id);
        else location.hash = hash;
      });
      body.append(row);
    }
    $('#executions-note').textContent = executionsNote(rows.length, state.executions.length,
      state.executionsTotal, needle);
  }

  // An execution stopped with its order at rest is no fault: a cancel during a long picking
  // time stops it with nothing held. Its pill is quiet and says where the order stands; a
  // stop that left an order half-way stays red (and is under "Needs attention").
  const AT_REST = ['REJECTED', 'CANCELLED', 'RETURNED']; // domain/order_status.py AT_REST
  // Grey only for a stop that left its order at rest with nothing for ops to look at (a
  // cancel during picking); one that the compensation cancelled stays red (probe 207).
  // A stop an ops retry carries on is over too, unless its order still shows something
  // (probe 256: it stayed red once retried).
  function executionPill(status, orderStatus, attention, retried = false, nothingLeft = false) {
    const atRest = status === 'ABORTED' && AT_REST.includes(orderStatus) && !attention;
    const carriedOn = status === 'ABORTED' && retried && !attention;
    // Every part ended lost or cancelled: nothing for ops to carry on (probe 268: red).
    const ended = status === 'ABORTED' && nothingLeft && !attention && !atRest && !carriedOn;
    const said = atRest ? `order ${orderStatus.toLowerCase()}` : carriedOn ? 'retried' : ended ? 'nothing left' : '';
    return h('span', {
      class: `pill ${status}${atRest || carriedOn || ended ? ' at-rest' : ''}`,
      text: said ? `${status} · ${said}` : status,
    });
  }

  // What the table holds against what exists: the list loads the newest 200, and a note
  // saying "200 of 200 shown" while the tile counted 220 hid the rest (a probe).
  // Only a full page can have left some out (the counts are read apart, and an execution
  // that changed status between the two reads may be counted twice).
  function executionsNote(shown, loaded, total, needle) {
    const more = loaded >= EXECUTIONS_PAGE && (total.count > loaded || total.capped);
    const all = `${total.count}${total.capped ? '+' : ''}`;
    const note = more ? `${shown} of the newest ${loaded} shown, ${all} in all` : `${shown} of ${loaded} shown`;
    return note + (needle ? ` (filtered by “${needle}”)` : '');
  }
  window.OrquestaConsole = Object.freeze({ executionsNote, executionPill, nothingLeft });

  $('#status-filter').addEventListener('change', loadExecutions);
  $('#order-filter').addEventListener('input', renderExecutions);
  $('#refresh').addEventListener('click', () => loadAll());
  $('#open-order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $('#open-order-id').value.trim();
    if (id) location.hash = `order=${encodeURIComponent(id)}`;
  });

  // --- One order ------------------------------------------------------------------------
  function orderFromHash() {
    const match = /^#order=(.+)$/.exec(location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  async function loadDefinition() {
    if (!state.definition) state.definition = (await api('/ops/statemachine')).definition;
    return state.definition;
  }

  // Nothing of the order shown before stays under another order's title (a probe: an
  // unknown id left the previous order's status, timeline and graph on screen).
  function clearOrder() {
    $('#order-status').textContent = '';
    $('#timeline').replaceChildren();
    $('#execution-status').textContent = '';
    $('#console-link').hidden = true;
    $('#graph').replaceChildren();
    $('#execution-history tbody').replaceChildren();
    $('#order-parts tbody').replaceChildren();
    $('#order-money').textContent = '';
    $('#order-retry').hidden = true;
  }

  // Each fulfilment with its status, and the money (a probe: a lost, refunded parcel's
  // order showed only "SHIPPED", with no part or refund to be seen).
  function renderParts(order) {
    const body = $('#order-parts tbody');
    body.replaceChildren();
    for (const part of order.fulfillments) {
      const shipment = part.shipment;
      // The tracking number whole on its line (probe 222: it broke mid-number).
      const carrier = shipment
        ? [`${shipment.carrier} `, h('span', { class: 'nowrap', text: shipment.tracking_number }),
          ` · by ${when(shipment.promised_by)}` +
          (shipment.sla && shipment.sla.status ? ` · ${shipment.sla.status}` : '')]
        // Its deadline while it waits (probe 242: "collect by" a pick-up collected already).
        : [part.pickup_deadline && ['PENDING', 'READY_FOR_PICKUP'].includes(part.status)
          ? `collect by ${when(part.pickup_deadline)}` : '—'];
      // The part's own suffix ("F1"): the order's id is the panel's title, and the whole
      // id broke over five lines (probe 215); it stays in the tooltip.
      const suffix = part.fulfillment_id.startsWith(`${order.order_id}-`)
        ? part.fulfillment_id.slice(order.order_id.length + 1) : part.fulfillment_id;
      body.append(h('tr', { class: 'part', 'data-fulfillment-id': part.fulfillment_id },
        h('td', { class: 'nowrap', title: part.fulfillment_id, text: `${suffix} · ${part.type}` }),
        h('td', { class: 'nowrap', text: part.location_id }),
        // Its reason under the pill, not in it: the pill kept the table wider than its
        // column at 1280 px, the tracking number out of sight (probe 223).
        h('td', {}, h('span', { class: `pill ${part.status}`, text: part.status }),
          part.status_reason
            ? h('div', { class: 'muted', text: part.status_reason.replace(/_/g, ' ') })
            : null),
        h('td', {}, ...carrier)));
    }
    if (!order.fulfillments.length) {
      body.append(h('tr', {}, h('td', { class: 'muted', colspan: 4, text: 'None (not reserved).' })));
    }
    const pay = order.payment;
    const amount = (m) => `${m.amount} ${m.currency}`;
    $('#order-money').textContent = `Total ${amount(order.total)} · payment ${pay.status}` +
      ` · authorised ${amount(pay.authorized)} · captured ${amount(pay.captured)}` +
      ` · voided ${amount(pay.voided)} · refunded ${amount(pay.refunded)}` +
      (pay.owed.length ? ` · ${pay.owed.length} owed to the gateway` : '');
  }

  async function openOrder(orderId) {
    const seq = ++state.orderSeq;
    if (state.order !== orderId) {
      $('#order-note').hidden = true;
      clearOrder();
    }
    state.order = orderId;
    $('#order-panel').hidden = false;
    $('#order-title').textContent = orderId;
    $('#order-panel').setAttribute('data-order-id', orderId);
    $('#order-panel').setAttribute('data-loaded', 'false');
    document.querySelectorAll('tr.execution').forEach((row) =>
      row.classList.toggle('selected', row.getAttribute('data-order-id') === orderId));
    try {
      const [timeline, execution, definition, order] = await Promise.all([
        api(`/ops/orders/${encodeURIComponent(orderId)}/timeline`),
        api(`/ops/orders/${encodeURIComponent(orderId)}/execution`).catch((error) => {
          if (error instanceof AuthError) throw error;
          // Named by the order, not started: being started, or its start failed, which a
          // retry carries on (probe 26A: the route answered 500 then).
          const type = String((error.problem && error.problem.type) || '');
          const status = type.endsWith('/execution-not-started') ? 'NOT_STARTED' : 'NONE';
          return { status, history: [], console_url: null, error: error.message };
        }),
        loadDefinition(),
        api(`/orders/${encodeURIComponent(orderId)}`),
      ]);
      if (seq !== state.orderSeq) return;
      $('#order-panel .order-cols').hidden = false;
      showError('#order-error', execution.error ? `Execution: ${execution.error}` : '');
      $('#order-status').textContent = timeline.status;
      renderParts(order);
      renderTimeline(timeline);
      renderExecution(execution, definition, timeline.status, Boolean(order.attention), nothingLeft(order));
      // One not started is the one the order names.
      offerRetry(orderId, timeline.status, { ...execution, execution_arn: execution.execution_arn || order.execution_arn }, nothingLeft(order));
      $('#order-panel').setAttribute('data-loaded', 'true');
      $('#order-panel').scrollIntoView({ block: 'start' });
    } catch (error) {
      if (seq !== state.orderSeq) return;
      clearOrder();
      // Only why: empty parts, timeline and graph read as an order with nothing in it
      // (probe 256, an id nobody knows).
      $('#order-panel .order-cols').hidden = true;
      guard(error, '#order-error');
    }
  }

  // A failed, timed-out or stopped execution can be retried. One key per execution shown,
  // so a double click (or a click after a lost answer) starts one retry, not two.
  const RETRYABLE = ['FAILED', 'TIMED_OUT', 'ABORTED', 'NOT_STARTED'];
  // At rest: a retry has nothing to resume (the API answers 409; probe 192: RETURNED).
  const ENDED_FOR_GOOD = ['REJECTED', 'CANCELLED', 'RETURNED'];
  const retryKeys = new Map();

  // Every part ended without reaching the customer (lost, cancelled): a retry has nothing
  // to carry on, and the API answers 409 (probe 26F: the button was offered all the same).
  function nothingLeft(order) {
    const parts = order.fulfillments || [];
    return parts.length > 0 && parts.every((part) => ['LOST', 'CANCELLED'].includes(part.status));
  }

  function offerRetry(orderId, orderStatus, execution, nothingToCarryOn = false) {
    const button = $('#order-retry');
    const retryable = RETRYABLE.includes(execution.status) && !ENDED_FOR_GOOD.includes(orderStatus)
      && !nothingToCarryOn;
    button.hidden = !retryable;
    button.disabled = false;
    button.dataset.orderId = orderId;
    button.dataset.executionArn = execution.execution_arn || '';
  }

  async function retryOrder() {
    const button = $('#order-retry');
    const orderId = button.dataset.orderId;
    const arn = button.dataset.executionArn;
    if (!retryKeys.has(arn)) retryKeys.set(arn, crypto.randomUUID());
    button.disabled = true;
    try {
      const retry = await api(`/ops/orders/${encodeURIComponent(orderId)}/retry`, null, {
        method: 'POST',
        headers: { 'Idempotency-Key': retryKeys.get(arn) },
        body: { reason: 'retried from the ops console' },
      });
      const note = $('#order-note');
      note.textContent = `Retry ${retry.attempt} started from ${retry.resumed_from}: ${retry.execution_arn}`;
      note.hidden = false;
      // The retry resolves the order's workflow_stopped alert: the lists show it at once.
      await Promise.all([openOrder(orderId), loadAlerts(), loadExecutions()]);
    } catch (error) {
      button.disabled = false;
      guard(error, '#order-error');
    }
  }

  $('#order-retry').addEventListener('click', retryOrder);

  function closeOrder() {
    state.order = null;
    $('#order-panel').hidden = true;
    if (location.hash) history.replaceState(null, '', location.pathname);
    document.querySelectorAll('tr.execution.selected').forEach((row) => row.classList.remove('selected'));
  }

  $('#order-refresh').addEventListener('click', () => state.order && openOrder(state.order));
  $('#order-close').addEventListener('click', closeOrder);
  window.addEventListener('hashchange', () => {
    if (!sessionStorage.getItem(KEY)) return;
    const id = orderFromHash();
    if (id) openOrder(id);
  });

  function renderTimeline(timeline) {
    const list = $('#timeline');
    list.replaceChildren();
    for (const entry of timeline.entries) {
      list.append(h('li', { class: 'entry', 'data-kind': entry.kind, 'data-title': entry.title },
        h('div', {}, h('span', { class: 'when', text: when(entry.at), title: entry.at }),
          h('span', { class: 'kind', text: entry.kind })),
        h('div', { class: 'title', text: entry.title }),
        entry.detail ? h('div', { class: 'detail', text: entry.detail }) : null));
    }
    if (!timeline.entries.length) list.append(h('li', { class: 'muted', text: 'Nothing yet.' }));
  }

  // A state with no exit is still running only while the execution runs; otherwise the
  // execution ended there (stopped, failed or timed out).
  function notExited(status) {
    return status === 'RUNNING' ? 'running' : `— (${status.toLowerCase().replace('_', ' ')})`;
  }

  function renderExecution(execution, definition, orderStatus, attention, nothingToCarryOn = false) {
    const pill = executionPill(execution.status, orderStatus, attention, false, nothingToCarryOn);
    $('#execution-status').className = pill.className;
    $('#execution-status').textContent = pill.textContent;
    const link = $('#console-link');
    link.hidden = !execution.console_url;
    if (execution.console_url) link.setAttribute('href', execution.console_url);
    const wrap = $('#graph');
    wrap.replaceChildren(drawGraph(definition, execution));
    // A graph wider than its box (a phone) opens on the path taken, not on its left edge
    // (a probe saw only the unvisited RejectOrder branch).
    const first = wrap.querySelector('.state.visited');
    if (first && wrap.scrollWidth > wrap.clientWidth) {
      const node = first.getBoundingClientRect(), box = wrap.getBoundingClientRect();
      wrap.scrollLeft += node.left + node.width / 2 - (box.left + box.width / 2);
    }
    const body = $('#execution-history tbody');
    body.replaceChildren();
    // An execution that did not succeed ended in the states it left last: they say how.
    const ended = !['RUNNING', 'SUCCEEDED'].includes(execution.status);
    const last = execution.history.reduce((m, r) => (r.exited && r.exited > m ? r.exited : m), '');
    for (const row of execution.history) {
      let exit = notExited(execution.status);
      if (row.exited) {
        exit = when(row.exited);
        if (ended && row.exited === last) exit += ` (${execution.status.toLowerCase().replace('_', ' ')})`;
      }
      body.append(h('tr', { 'data-state': row.state },
        h('td', { text: row.state }), h('td', { text: row.type || '' }),
        h('td', { text: when(row.entered) }), h('td', { text: exit }),
        h('td', { text: took(row.entered, row.exited) })));
    }
  }

  // --- The state-machine graph ----------------------------------------------------------
  const { layout, edgePath, HEADER } = window.OrquestaGraph;

  function visitsOf(execution) {
    const visits = {};
    for (const row of execution.history || []) (visits[row.state] = visits[row.state] || []).push(row);
    return visits;
  }

  function taken(e, visits) {
    const from = visits[e.from], to = visits[e.to];
    if (!from || !to) return false;
    return from.some((a) => a.exited && to.some((b) => b.entered >= a.exited));
  }

  function drawGraph(definition, execution) {
    const g = layout(definition);
    const visits = visitsOf(execution);
    const running = execution.status === 'RUNNING';
    const root = s('svg', {
      id: 'state-graph', xmlns: SVG, width: g.width, height: g.height + 26,
      viewBox: `0 -26 ${g.width} ${g.height + 26}`, role: 'img',
      'aria-label': 'The order state machine with the states this execution entered highlighted',
    });
    root.append(s('defs', {},
      marker('arrow', '#bcc6d0'), marker('arrow-taken', '#1a7f4b')));
    drawInto(root, g, visits, running);
    return root;
  }

  function marker(id, fill) {
    return s('marker', {
      id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9,
      markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse',
    },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill }));
  }

  function drawInto(parent, g, visits, running) {
    const startNode = g.nodes[g.start];
    if (startNode) {
      const on = Boolean(visits[g.start]);
      parent.append(s('circle', { class: `start-dot${on ? ' taken' : ''}`, cx: startNode.cx, cy: startNode.y - 20, r: 5 }));
      parent.append(s('path', {
        class: `edge${on ? ' taken' : ''}`, d: `M${startNode.cx},${startNode.y - 15} V${startNode.y - 2}`,
        'marker-end': `url(#${on ? 'arrow-taken' : 'arrow'})`,
      }));
    }
    const ordered = [...g.edges].sort((a, b) => Number(taken(a, visits)) - Number(taken(b, visits)));
    for (const e of ordered) {
      const on = taken(e, visits);
      parent.append(s('path', {
        class: `edge ${e.kind}${on ? ' taken' : ''}`, d: edgePath(e, g),
        'data-from': e.from, 'data-to': e.to,
        'marker-end': `url(#${on ? 'arrow-taken' : 'arrow'})`,
      }, s('title', { text: `${e.from} → ${e.to}: ${e.labels.join('; ')}` })));
    }
    for (const node of Object.values(g.nodes)) {
      const rows = visits[node.name] || [];
      const active = running && rows.some((r) => !r.exited);
      const type = String(node.st.Type || 'Task').toLowerCase();
      const group = s('g', {
        class: `state ${type}${rows.length ? ' visited' : ''}${active ? ' active' : ''}`,
        'data-state': node.name, 'data-type': node.st.Type, 'data-visits': rows.length,
        transform: `translate(${node.x},${node.y})`,
      });
      group.append(s('title', { text: `${node.name} (${node.st.Type})${node.st.Comment ? `\n${node.st.Comment}` : ''}` }));
      group.append(s('rect', { class: 'box', width: node.w, height: node.h, rx: 8 }));
      if (node.inner) {
        group.append(s('text', { class: 'name', x: 12, y: 18, text: node.name }));
        group.append(s('text', { class: 'type', x: 12, y: 32, text: String(node.st.Type).toUpperCase() }));
        const inner = s('g', { transform: `translate(${(node.w - node.inner.width) / 2},${HEADER})` });
        drawInto(inner, node.inner, visits, running);
        group.append(inner);
      } else {
        group.append(s('text', { class: 'name', x: node.w / 2, y: 20, 'text-anchor': 'middle', text: node.name }));
        group.append(s('text', { class: 'type', x: node.w / 2, y: 36, 'text-anchor': 'middle', text: String(node.st.Type).toUpperCase() }));
      }
      if (rows.length > 1) {
        group.append(s('text', { class: 'visits', x: node.w - 8, y: 14, 'text-anchor': 'end', text: `×${rows.length}` }));
      }
      parent.append(group);
    }
  }

  // --- SLA scorecard --------------------------------------------------------------------
  async function loadScorecard() {
    try {
      const body = await api(`/ops/sla?days=${encodeURIComponent($('#scorecard-days').value)}`);
      showError('#scorecard-error', '');
      $('#scorecard').replaceChildren(drawScorecard(body.carriers || []));
    } catch (error) { guard(error, '#scorecard-error'); }
  }

  function drawScorecard(rows) {
    // Each row's figures on two lines under its bar, and the chart scaled to its panel
    // (probe 215: one long line ran past the bar's end and the panel cut the "%").
    const LABEL = 190, BAR = 360, ROW = 68, TOP = 24, TARGET = 95;
    const width = LABEL + BAR + 64;
    const height = TOP + Math.max(1, rows.length) * ROW + 22;
    const chart = s('svg', {
      id: 'scorecard-chart', xmlns: SVG, width, height, viewBox: `0 0 ${width} ${height}`,
      role: 'img', 'aria-label': 'On-time delivery per carrier and service level',
      'data-rows': rows.length,
    });
    const xOf = (pct) => LABEL + (BAR * pct) / 100;
    for (const pct of [0, 25, 50, 75, 100]) {
      chart.append(s('line', { class: 'axis', x1: xOf(pct), x2: xOf(pct), y1: TOP - 6, y2: height - 20 }));
      chart.append(s('text', { class: 'axis-label', x: xOf(pct), y: TOP - 10, 'text-anchor': 'middle', text: `${pct}%` }));
    }
    chart.append(s('line', { class: 'target', x1: xOf(TARGET), x2: xOf(TARGET), y1: TOP - 6, y2: height - 20 }));
    chart.append(s('text', { class: 'axis-label', x: xOf(TARGET), y: height - 6, 'text-anchor': 'middle', text: `target ${TARGET}%` }));
    if (!rows.length) {
      chart.append(s('text', { class: 'bar-note', x: LABEL, y: TOP + 24, text: 'No shipments handed over in this period.' }));
    }
    rows.forEach((row, i) => {
      const y = TOP + i * ROW;
      const pct = row.on_time_pct;
      const known = pct !== null && pct !== undefined;
      const grade = !known ? 'none' : pct >= TARGET ? 'good' : pct >= 80 ? 'fair' : 'poor';
      const group = s('g', {
        class: 'bar-row', 'data-carrier': row.carrier, 'data-service-level': row.service_level,
        'data-on-time-pct': known ? pct : '',
      });
      group.append(s('text', { class: 'bar-label', x: 0, y: y + 18, text: `${row.carrier} · ${row.service_level}` }));
      group.append(s('text', { class: 'bar-note', x: 0, y: y + 34, text: `${row.shipments} shipment${row.shipments === 1 ? '' : 's'}` }));
      group.append(s('rect', { class: 'bar-bg', x: LABEL, y: y + 6, width: BAR, height: 18, rx: 4 }));
      group.append(s('rect', { class: `bar ${grade}`, x: LABEL, y: y + 6, width: known ? (BAR * pct) / 100 : 0, height: 18, rx: 4 },
        s('title', { text: `${row.on_time} on time, ${row.late} late, ${row.open_past_due} open past due` })));
      group.append(s('text', { class: 'bar-value', x: LABEL + BAR + 8, y: y + 20, text: known ? `${Number(pct).toFixed(1)}%` : '—' }));
      const hours = [row.p50_hours, row.p90_hours].every((v) => v === null || v === undefined)
        ? 'no deliveries yet' : `p50 ${fmtHours(row.p50_hours)} · p90 ${fmtHours(row.p90_hours)} to deliver`;
      const counts = `${row.on_time} on time · ${row.late} late · ${row.open_past_due} open past due`;
      group.append(s('text', { class: 'bar-note', x: LABEL, y: y + 38, text: counts }));
      group.append(s('text', { class: 'bar-note', x: LABEL, y: y + 52, text: hours }));
      chart.append(group);
    });
    return chart;
  }

  function fmtHours(value) {
    return value === null || value === undefined ? '—' : `${Number(value).toFixed(1)} h`;
  }

  $('#scorecard-days').addEventListener('change', loadScorecard);

  // --- Outbox ---------------------------------------------------------------------------
  async function loadOutbox() {
    try {
      const body = await api('/ops/outbox?limit=30');
      showError('#outbox-error', '');
      $('#outbox-note').textContent = body.note;
      const list = $('#outbox');
      list.replaceChildren();
      for (const email of body.emails) {
        list.append(h('details', { class: 'email', 'data-message-id': email.message_id },
          h('summary', {},
            h('span', { class: 'when', text: when(email.sent_at) }),
            h('span', { text: email.to }),
            h('span', { class: 'subject', text: email.subject })),
          h('pre', { text: email.preview })));
      }
      if (body.available && !body.emails.length) list.append(h('p', { class: 'muted', text: 'No emails yet.' }));
    } catch (error) { guard(error, '#outbox-error'); }
  }

  $('#outbox-refresh').addEventListener('click', loadOutbox);

  // --- Needs attention: open ops alerts, newest first, a page at a time -----------------
  const ALERTS_PAGE = 100;
  let olderAlerts = null;  // the cursor of the next page; null once every open alert is shown
  let alertsLoad = 0;  // the load that last began: an older one arriving late is dropped

  // Read again as many open alerts as are shown (at least a page): a Resolve or a refresh
  // after "Show older alerts" keeps the older ones in view, rather than folding them away.
  // The list is replaced once every page has arrived (two refreshes in flight must not
  // both add rows).
  async function loadAlerts() {
    const load = ++alertsLoad;
    const wanted = Math.max($('#alerts tbody').children.length, 1);
    try {
      const alerts = [];
      let cursor = null;
      do {
        const body = await alertsPage(cursor);
        alerts.push(...body.alerts);
        cursor = body.next_cursor;
      } while (cursor && alerts.length < wanted);
      if (load === alertsLoad) showAlerts(alerts, cursor, true);
    } catch (error) { guard(error, '#attention-error'); }
  }

  async function loadOlderAlerts() {
    const load = alertsLoad;
    const from = olderAlerts;
    try {
      const body = await alertsPage(from);
      // Dropped when the list was read again meanwhile, or a click before added this page.
      if (load === alertsLoad && from === olderAlerts) showAlerts(body.alerts, body.next_cursor, false);
    } catch (error) { guard(error, '#attention-error'); }
  }

  function alertsPage(cursor) {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    return api(`/ops/alerts?status=open&limit=${ALERTS_PAGE}${after}`);
  }

  function showAlerts(alerts, next, replace) {
    showError('#attention-error', '');
    const rows = $('#alerts tbody');
    if (replace) rows.replaceChildren();
    for (const alert of alerts) {
      const order = alert.order_id
        ? h('a', { class: 'order-link', href: `#order=${encodeURIComponent(alert.order_id)}`, text: alert.order_id })
        : h('span', { class: 'muted', text: '—' });
      const resolve = h('button', { type: 'button', class: 'resolve', text: 'Resolve' });
      resolve.addEventListener('click', () => resolveAlert(alert.alert_id, resolve));
      rows.append(h('tr', { class: 'alert', 'data-alert-id': alert.alert_id, 'data-kind': alert.kind },
        h('td', { text: when(alert.at) }),
        h('td', {}, h('span', { class: 'pill alert-kind', text: alert.kind })),
        h('td', {}, order),
        h('td', { class: 'detail', text: alert.detail }),
        h('td', {}, resolve)));
    }
    olderAlerts = next;
    // What is shown, and "+" while older open alerts are not (a count of the page alone
    // read as "100 need attention" when thousands did).
    const count = rows.children.length;
    $('#attention-count').textContent = olderAlerts ? `${count}+` : String(count);
    $('#alerts-older').hidden = !olderAlerts;
    $('#attention-panel').classList.toggle('calm', count === 0);
    $('#attention-note').textContent = count ? 'Open alerts, newest first: open the order if there is one, deal with it, resolve it.' : 'Nothing needs attention.';
  }

  $('#alerts-older').addEventListener('click', loadOlderAlerts);

  async function resolveAlert(alertId, button) {
    button.disabled = true;
    try {
      await api(`/ops/alerts/${encodeURIComponent(alertId)}/resolve`, null, {
        method: 'POST', body: { note: 'resolved from the ops console' },
      });
      await loadAlerts();
    } catch (error) {
      button.disabled = false;
      guard(error, '#attention-error');
    }
  }

  $('#attention-refresh').addEventListener('click', loadAlerts);

  // --- Satisfaction and opportunities (insights.js) ------------------------------------
  const insights = window.OrquestaInsights({ $, h, api, guard, showError });
  // --- Promotions and campaigns (promotions.js) ----------------------------------------
  const marketing = window.OrquestaPromotions({ $, h, api, guard, showError });

  // --- Start ----------------------------------------------------------------------------
  function loadAll() {
    const id = orderFromHash();
    return Promise.all([
      loadAlerts(), loadExecutions(), loadScorecard(), loadOutbox(), insights.load(),
      marketing.load(),
      id ? openOrder(id) : null,
    ]);
  }

  if (sessionStorage.getItem(KEY)) {
    showConsole();
    loadAll();
  } else {
    showSignIn('');
  }
})();
