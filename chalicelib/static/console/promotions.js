// The console's marketing panels: promotions (create one, list them with their live
// redemptions) and the campaign figures. Installed by console.js with its helpers, as
// insights.js is: window.OrquestaPromotions(tools) returns { load }.
(() => {
  'use strict';

  const KIND_LABELS = { percent: '%', amount: '€ off', free_shipping: 'free shipping' };

  function install({ $, h, api, guard, showError }) {
    const money = (m) => `${m.amount} ${m.currency}`;

    function offer(p) {
      if (p.kind === 'percent') return `${p.value} %`;
      if (p.kind === 'amount') return `${p.value} € off`;
      return KIND_LABELS[p.kind] || p.kind;
    }

    // What a basket must meet to get it (probe 242: ops could not see why an order did not).
    function conditionsOf(p) {
      const parts = [];
      if (p.min_subtotal !== null && p.min_subtotal !== undefined) parts.push(`basket ≥ ${p.min_subtotal}\u00a0€`);
      if (p.channels) parts.push(p.channels.join(', '));
      if (p.once_per_customer) parts.push('once per customer');
      return parts.join(' · ') || '—';
    }

    // To the minute, in UTC: an end at midnight is the day before's last moment, not that
    // day (probe 207: "→ 2026-12-20" read as valid on the 20th).
    function windowOf(p) {
      const moment = (iso) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '…');
      return p.starts_at || p.ends_at ? `${moment(p.starts_at)} → ${moment(p.ends_at)} UTC` : 'always';
    }

    // The form's "Last day (UTC)": valid all that day, so it ends when the next one begins
    // (probe 207: it ended when the chosen day began, a coupon refused all its last day).
    function endOfDay(day) {
      const next = new Date(`${day}T00:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      return next.toISOString().replace('.000Z', 'Z');
    }

    // --- Promotions ---------------------------------------------------------------------
    async function loadPromotions() {
      try {
        const body = await api('/promotions');
        showError('#promotions-error', '');
        renderPromotions(body.promotions);
      } catch (error) { guard(error, '#promotions-error'); }
    }

    // Switch a promotion off now (it ends at this moment), once confirmed; the button waits
    // for the answer, so a second click ends nothing more.
    async function endPromotion(p, button) {
      // It cannot be undone: a new promotion would have to be made.
      if (!window.confirm(`End ${p.code || p.name} now? It stops applying at once.`)) return;
      button.disabled = true;
      try {
        await api(`/promotions/${encodeURIComponent(p.promotion_id)}/end`, undefined, { method: 'POST' });
        showError('#promotions-error', '');
        await loadPromotions();
      } catch (error) {
        button.disabled = false;
        guard(error, '#promotions-error');
      }
    }

    function renderPromotions(promotions) {
      const rows = $('#promotions tbody');
      rows.replaceChildren();
      const now = new Date();
      // Newest first: the API lists them by id, and an id begins with its creation time.
      for (const p of [...promotions].reverse()) {
        const limit = p.max_redemptions === null ? '∞' : String(p.max_redemptions);
        // Ended, or switched off before it began (its window empty: it ends where it starts).
        const ended = p.ends_at && (new Date(p.ends_at) <= now
          || (p.starts_at && new Date(p.ends_at) <= new Date(p.starts_at)));
        let control = h('span', { class: 'muted', text: 'ended' });
        if (!ended) {
          control = h('button', { type: 'button', class: 'end-promotion', text: 'End now' });
          const button = control;
          button.addEventListener('click', () => endPromotion(p, button));
        }
        rows.append(h('tr', {
          class: 'promotion', 'data-promotion-id': p.promotion_id,
          'data-redemptions': p.redemptions,
        },
        h('td', { class: 'name', text: p.name }),
        h('td', { class: 'code', text: p.code || 'automatic' }),
        h('td', { class: 'offer', text: offer(p) }),
        h('td', { class: 'conditions', text: conditionsOf(p) }),
        h('td', { class: 'campaign', text: p.campaign || '—' }),
        h('td', { class: 'window', text: windowOf(p) }),
        h('td', { class: 'num redemptions', text: `${p.redemptions} / ${limit}` }),
        h('td', { class: 'end' }, control)));
      }
      if (!promotions.length) {
        rows.append(h('tr', {}, h('td', { class: 'muted', colspan: 8, text: 'No promotions yet.' })));
      }
      $('#promotions-note').textContent =
        `${promotions.length} promotion${promotions.length === 1 ? '' : 's'}; redemptions count live orders (a rejected or cancelled order gives its own back).`;
    }

    function formBody() {
      const value = (id) => $(id).value.trim();
      const body = { name: value('#promo-name'), kind: value('#promo-kind') };
      if (value('#promo-code')) body.code = value('#promo-code');
      // As typed, whatever the kind: the API refuses a value free shipping does not take,
      // naming it (probe 256: the console dropped it without a word).
      if (value('#promo-value')) body.value = value('#promo-value');
      if (value('#promo-min')) body.min_subtotal = value('#promo-min');
      if (value('#promo-ends')) body.ends_at = endOfDay(value('#promo-ends'));
      // Whole digits as a number; anything else as typed, for the API to refuse naming the
      // field (probe 242: a number input read "1e" as empty, and the coupon had no cap).
      const max = value('#promo-max');
      if (max) body.max_redemptions = /^[0-9]+$/.test(max) ? Number(max) : max;
      if ($('#promo-once').checked) body.once_per_customer = true;
      if (value('#promo-campaign')) body.campaign = value('#promo-campaign');
      return body;
    }

    async function createPromotion(event) {
      event.preventDefault();
      const button = $('#promo-submit');
      const body = formBody();
      if (body.ends_at && new Date(body.ends_at) <= new Date()) {
        // Staff meant a promotion that runs: one whose last day is over would be refused
        // to every shopper from the start.
        showError('#promo-error', 'Last day: that day is over (UTC).');
        return;
      }
      button.disabled = true;
      try {
        const created = await api('/promotions', undefined, { method: 'POST', body });
        showError('#promo-error', '');
        $('#promotion-form').reset();
        $('#promo-created').textContent = `Created ${created.code || created.name} (${created.promotion_id}).`;
        await loadPromotions();
      } catch (error) {
        $('#promo-created').textContent = '';
        const fields = (error.problem && error.problem.errors) || [];
        if (fields.length) {
          showError('#promo-error', fields.map((f) => `${f.field}: ${f.message}`).join(' · '));
        } else {
          guard(error, '#promo-error');
        }
      } finally {
        button.disabled = false;
      }
    }

    // --- Campaigns ----------------------------------------------------------------------
    async function loadCampaigns() {
      try {
        const body = await api('/analytics/campaigns');
        showError('#campaigns-error', '');
        renderCampaigns(body.campaigns);
      } catch (error) { guard(error, '#campaigns-error'); }
    }

    function renderCampaigns(campaigns) {
      const rows = $('#campaigns tbody');
      rows.replaceChildren();
      for (const c of campaigns) {
        const channels = Object.entries(c.by_channel).map(([k, n]) => `${k} ${n}`).join(' · ');
        rows.append(h('tr', { class: 'campaign', 'data-campaign': c.campaign },
          h('td', { class: 'name', text: c.campaign }),
          h('td', { class: 'num', text: String(c.orders) }),
          h('td', { class: 'num', text: money(c.revenue) }),
          h('td', { class: 'num', text: String(c.new_customers) }),
          h('td', { class: 'num', text: String(c.returning_customers) }),
          h('td', { class: 'channels', text: channels || '—' })));
      }
      if (!campaigns.length) {
        rows.append(h('tr', {}, h('td', { class: 'muted', colspan: 6, text: 'No campaign has orders yet.' })));
      }
    }

    $('#promotion-form').addEventListener('submit', createPromotion);
    $('#promotions-refresh').addEventListener('click', loadPromotions);
    $('#campaigns-refresh').addEventListener('click', loadCampaigns);

    return { load: () => Promise.all([loadPromotions(), loadCampaigns()]) };
  }

  window.OrquestaPromotions = install;
})();
