// The console's insight panels: satisfaction (CSAT) and the opportunities followed up.
// Installed by console.js with its helpers (element builder, API call, error guard), the
// way graph.js hands over its layout: window.OrquestaInsights(tools) returns { load }.
(() => {
  'use strict';

  const OPPORTUNITY_STATUSES = ['open', 'notified', 'converted', 'lost'];
  const SLICES = [['by_channel', 'Channel'], ['by_carrier', 'Carrier'], ['by_store', 'Store']];

  function install({ $, h, api, guard, showError }) {
    const dash = (value, suffix = '') =>
      (value === null || value === undefined ? '—' : `${value}${suffix}`);

    function tile(id, value, label) {
      return h('div', { class: 'count figure', id },
        h('span', { class: 'n', text: value }), h('span', { class: 'label', text: label }));
    }

    // --- Satisfaction -------------------------------------------------------------------
    async function loadSatisfaction() {
      try {
        const body = await api('/analytics/satisfaction');
        showError('#satisfaction-error', '');
        renderSatisfaction(body);
      } catch (error) { guard(error, '#satisfaction-error'); }
    }

    function renderSatisfaction(body) {
      const panel = $('#satisfaction-panel');
      panel.setAttribute('data-responses', String(body.responses));
      $('#satisfaction-figures').replaceChildren(
        tile('csat-responses', String(body.responses), 'RESPONSES'),
        tile('csat-average', dash(body.average === null ? null : Number(body.average).toFixed(2)), 'AVERAGE / 5'),
        tile('csat-pct', dash(body.csat_pct === null ? null : Number(body.csat_pct).toFixed(1), '%'), 'CSAT (4–5)'));
      const rows = $('#satisfaction-slices tbody');
      rows.replaceChildren();
      for (const [field, label] of SLICES) {
        const entries = Object.entries(body[field] || {});
        entries.forEach(([key, figures], i) => {
          rows.append(h('tr', { class: 'csat-row', 'data-dimension': field, 'data-key': key },
            h('th', { scope: 'row', class: 'dimension', text: i === 0 ? label : '' }),
            h('td', { text: key }),
            h('td', { class: 'num', text: String(figures.responses) }),
            h('td', { class: 'num', text: dash(figures.average === null ? null : Number(figures.average).toFixed(2)) }),
            h('td', { class: 'num', text: dash(figures.csat_pct === null ? null : Number(figures.csat_pct).toFixed(1), '%') })));
        });
        if (!entries.length) {
          rows.append(h('tr', { class: 'csat-empty', 'data-dimension': field },
            h('th', { scope: 'row', class: 'dimension', text: label }),
            h('td', { class: 'muted', colspan: 4, text: 'no answers yet' })));
        }
      }
      $('#satisfaction-note').textContent = body.responses
        ? 'Survey answers of delivered orders; CSAT is the share of 4 and 5 scores.'
        : 'No survey answered yet.';
    }

    // --- Opportunities ------------------------------------------------------------------
    // The API lists a page at a time, newest first: what is loaded, and where older go on.
    let loaded = [];
    let olderCursor = null;

    async function loadOpportunities(older = false) {
      try {
        const query = older && olderCursor ? `?cursor=${encodeURIComponent(olderCursor)}` : '';
        const body = await api(`/ops/opportunities${query}`);
        showError('#opportunities-error', '');
        loaded = older ? [...loaded, ...body.opportunities] : body.opportunities;
        olderCursor = body.next_cursor;
        renderOpportunities(loaded);
      } catch (error) { guard(error, '#opportunities-error'); }
    }

    function renderOpportunities(opportunities) {
      const counts = Object.fromEntries(OPPORTUNITY_STATUSES.map((status) => [status, 0]));
      for (const o of opportunities) counts[o.status] = (counts[o.status] || 0) + 1;
      $('#opportunity-counts').replaceChildren(...Object.entries(counts).map(([status, n]) =>
        h('div', { class: 'count figure', 'data-status': status, 'data-count': n },
          h('span', { class: 'n', text: String(n) }), h('span', { class: 'label', text: status.toUpperCase() }))));
      const rows = $('#opportunities tbody');
      rows.replaceChildren();
      for (const o of opportunities) {
        const order = o.order_id
          ? h('a', { class: 'order-link', href: `#order=${encodeURIComponent(o.order_id)}`, text: o.order_id })
          : h('span', { class: 'muted', text: '—' });
        rows.append(h('tr', {
          class: 'opportunity', 'data-opportunity-id': o.opportunity_id,
          'data-kind': o.kind, 'data-status': o.status,
        },
        h('td', { text: o.kind.replace(/_/g, ' ') }),
        h('td', {}, h('span', { class: `pill opp-${o.status}`, text: o.status })),
        h('td', { class: o.customer_id ? 'customer' : 'customer muted', text: o.customer_id || '—' }),
        h('td', {}, order),
        h('td', { class: 'sku', text: o.sku || '—' }),
        h('td', { class: 'num value', text: `${o.value.amount} ${o.value.currency}` })));
      }
      if (!opportunities.length) {
        rows.append(h('tr', {}, h('td', { class: 'muted', colspan: 6, text: 'No opportunities yet.' })));
      }
      const shown = `${opportunities.length} opportunit${opportunities.length === 1 ? 'y' : 'ies'}`;
      $('#opportunities-note').textContent = olderCursor
        ? `The newest ${shown}, counted above; older ones follow.`
        : `${shown}, newest first.`;
      $('#opportunities-older').hidden = !olderCursor;
    }

    $('#satisfaction-refresh').addEventListener('click', loadSatisfaction);
    $('#opportunities-refresh').addEventListener('click', () => loadOpportunities());
    $('#opportunities-older').addEventListener('click', () => loadOpportunities(true));

    return { load: () => Promise.all([loadSatisfaction(), loadOpportunities()]) };
  }

  window.OrquestaInsights = install;
})();
