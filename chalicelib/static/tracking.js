// The tracking page's forms, enhanced: without this script each posts as a plain HTML form
// to /track/{token}/forms/<action> (303 back to the page); with it, each posts JSON to its
// /track/{token}/<action> route (the same contract storefronts use), with one
// Idempotency-Key per filled-in form, so that a double tap or a retry on a flaky phone
// connection acts once. Then it goes where the plain form's 303 goes, which says how it went.
(function () {
  "use strict";
  // Said on the page, so that a test (and CSS, if ever needed) can tell the two apart.
  document.documentElement.setAttribute("data-enhanced", "true");
  var words = JSON.parse(document.getElementById("page-words").textContent);
  var base = window.location.pathname.replace(/\/+$/, "");

  function bodyOf(form) {
    var action = form.getAttribute("data-action");
    var value = function (name) {
      var field = form.elements.namedItem(name);
      return field ? field.value.trim() : "";
    };
    if (action === "payment") {
      return { payment: { method: "card", token: value("token") } };
    }
    if (action === "tickets") {
      return { type: value("type"), subject: value("subject"), description: value("description") };
    }
    if (action === "returns") {
      var lines = [];
      form.querySelectorAll("input[data-sku]").forEach(function (input) {
        var quantity = parseInt(input.value, 10);
        if (quantity > 0) {
          lines.push({ sku: input.getAttribute("data-sku"), quantity: quantity });
        }
      });
      var body = { lines: lines, reason: value("reason"), channel: value("channel") };
      if (body.channel === "store" && value("location_id")) {
        body.location_id = value("location_id");
      }
      return body;
    }
    return {};
  }

  // The form field a problem's field names, as ``presentation/track_forms.form_field``.
  function formField(name) {
    var head = String(name || "").split(".")[0];
    if (head === "payment") {
      return "token";
    }
    if (head === "sku" || head === "quantity") {
      return "lines";
    }
    return Object.prototype.hasOwnProperty.call(words.fields, head) ? head : null;
  }

  // A 404 naming ``token`` is about the link itself (the card is ``payment.token``).
  function linkGone(status, problem) {
    var errors = (problem && problem.errors) || [];
    return status === 404 && errors.some(function (e) { return e.field === "token"; });
  }

  // How a post went, derived from its answer exactly as the plain form's route does
  // (``api/track_forms._outcome``): more units than are left to return, a state that
  // forbids it, a limit reached, the fields to fix, or ours.
  function outcomeOf(status, problem) {
    var errors = (problem && problem.errors) || [];
    var fields = [];
    errors.forEach(function (e) {
      var field = formField(e.field);
      if (field && fields.indexOf(field) < 0) {
        fields.push(field);
      }
    });
    var tooMany = errors.some(function (e) {
      return /^lines\.[0-9]+\.quantity$/.test(String(e.field || ""));
    });
    if (status === 409 && tooMany) {
      return { outcome: "too_many", fields: [] };
    }
    if (status === 409) {
      return { outcome: "conflict", fields: [] };
    }
    // Lost every race to other changes of the order: nothing done, send it again now.
    if (status === 429 && /\/too-many-requests-at-once$/.test(String((problem && problem.type) || ""))) {
      return { outcome: "busy", fields: [] };
    }
    if (status === 429) {
      return { outcome: "limited", fields: [] };
    }
    if ((status === 400 || status === 404 || status === 422) && fields.length) {
      return { outcome: "invalid", fields: fields };
    }
    return { outcome: "failed", fields: [] };
  }

  // The page's own words for a refusal, said beside the form, which keeps what was typed
  // (the API's messages are for developers; probe 176).
  function problemText(went) {
    if (went.outcome === "invalid") {
      var labels = went.fields.map(function (field) { return words.fields[field]; });
      return words.refused.invalid + ": " + labels.join(", ") + ".";
    }
    return words.refused[went.outcome] || words.refused.failed;
  }

  // The page the plain form's 303 leads to: it says how the form went in the customer's
  // language, and, after paying again, reads itself again until the new card is decided
  // (probe 185: a reload said nothing, not even "declined as well"). Without a fragment,
  // so that the same address twice still loads the page again.
  function showOutcome(action, went) {
    var query = "form=" + encodeURIComponent(action) + "&outcome=" + encodeURIComponent(went.outcome);
    if (went.fields.length) {
      query += "&fields=" + encodeURIComponent(went.fields.join(","));
    }
    window.location.assign(base + "?" + query);
  }

  document.querySelectorAll("form[data-action]").forEach(function (form) {
    var key = newIdempotencyKey();
    form.addEventListener("input", function () {
      key = newIdempotencyKey(); // a changed form is a new request
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = form.querySelector(".message");
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      message.className = "message";
      message.textContent = "…";
      fetch(base + "/" + form.getAttribute("data-action"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify(bodyOf(form)),
        credentials: "omit"
      }).then(function (response) {
        var action = form.getAttribute("data-action");
        if (response.ok) {
          message.textContent = words.sent;
          form.setAttribute("data-done", "true");
          window.setTimeout(function () { showOutcome(action, { outcome: "done", fields: [] }); }, 600);
          return null;
        }
        return response.json().then(function (problem) {
          if (linkGone(response.status, problem)) {
            // The page's own link no longer works (renewed, say): its address now shows
            // the page that says so, as a plain form's post does (probe 221: it read
            // "check these fields: New card" under a question).
            window.location.assign(base);
            return;
          }
          var went = outcomeOf(response.status, problem);
          if (went.outcome === "too_many") {
            // The form's maxima are out of date: the page says what is left, afresh.
            showOutcome(action, went);
            return;
          }
          message.className = "message error";
          message.textContent = problemText(went);
          button.disabled = false;
        });
      }).catch(function () {
        message.className = "message error";
        message.textContent = words.failed;
        button.disabled = false;
      });
    });
  });
})();
