// The survey form, enhanced: without this script it posts as a plain HTML form to
// /surveys/{token}/form (303 back to the page); with it, it posts its answer as JSON to the
// page's own address and says how it went. One Idempotency-Key per filled-in form, and the
// button held while the answer is on its way: a double tap on a phone answered "you already
// told us" to the person who just had (probe 176).
(function () {
  "use strict";
  var form = document.getElementById("survey");
  if (!form) {
    return;
  }
  var result = document.getElementById("result");
  var button = form.querySelector("button[type=submit]");

  var key = newIdempotencyKey();
  form.addEventListener("input", function () {
    key = newIdempotencyKey(); // another answer is another request
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var picked = form.querySelector("input[name=score]:checked");
    if (!picked) {
      result.textContent = form.dataset.pick;
      return;
    }
    var body = { score: Number(picked.value) };
    var comment = form.querySelector("textarea[name=comment]").value.trim();
    if (comment) {
      body.comment = comment;
    }
    if (button) {
      button.disabled = true;
    }
    fetch(window.location.pathname, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Idempotency-Key": key
      },
      body: JSON.stringify(body),
      credentials: "omit"
    }).then(function (response) {
      if (response.status === 201) {
        form.hidden = true;
        result.textContent = form.dataset.thanks;
        return null;
      }
      if (response.status === 409 || response.status === 404) {
        // Answered already, closed since (its customer's data erased), or its link
        // renewed: the page, read again, says which (probe 221: every 409 read "you
        // already told us", and a dead link "please try again").
        window.location.assign(window.location.pathname);
        return null;
      }
      return response.json().then(function (problem) {
        // A refused comment is said as such, as the plain form's page says it: trying
        // again with the same text can never work (probe 176).
        var fields = (problem.errors || []).map(function (e) { return String(e.field || ""); });
        var aboutComment = response.status === 422 && fields.some(function (f) {
          return f.split(".")[0] === "comment";
        });
        result.textContent = aboutComment ? form.dataset.invalidComment : form.dataset.failed;
        if (button) {
          button.disabled = false;
        }
      });
    }).catch(function () {
      result.textContent = form.dataset.failed;
      if (button) {
        button.disabled = false;
      }
    });
  });
})();
