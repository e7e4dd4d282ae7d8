// The tracking page's forms, enhanced: without this script each posts as a plain HTML form
// to /track/{token}/forms/<action> (303 back to the page); with it, each posts JSON to its
// /track/{token}/<action> route (the same contract storefronts use), with one
// Idempotency-Key per filled-in form, so that a double tap or a retry on a flaky phone
// connection acts once. Then the page reloads.
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

  // The API's messages are for developers: the customer reads what the plain form's page
  // says for the same answer (``api/track_forms._outcome``): a state that forbids it, a
  // limit reached (its problem names the link, which no field labels), the fields to fix,
  // or ours (probe 176: a 409 read "did not work" with the form left open to try again).
  function problemText(status, problem) {
    if (status === 409) {
      return words.refused.conflict;
    }
    if (status === 429) {
      return words.refused.limited;
    }
    var labels = [];
    (problem.errors || []).forEach(function (e) {
      var head = String(e.field || "").split(".")[0];
      var label = words.fields[head === "payment" ? "token" : head];
      if (label && labels.indexOf(label) < 0) {
        labels.push(label);
      }
    });
    if ((status === 400 || status === 404 || status === 422) && labels.length) {
      return words.refused.invalid + ": " + labels.join(", ") + ".";
    }
    return words.refused.failed;
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
        if (response.ok) {
          message.textContent = words.sent;
          form.setAttribute("data-done", "true");
          window.setTimeout(function () { window.location.reload(); }, 600);
          return null;
        }
        return response.json().then(function (problem) {
          message.className = "message error";
          message.textContent = problemText(response.status, problem);
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
