// The survey form, enhanced: without this script it posts as a plain HTML form to
// /surveys/{token}/form (303 back to the page); with it, it posts its answer as JSON to the
// page's own address and says how it went.
(function () {
  "use strict";
  var form = document.getElementById("survey");
  if (!form) {
    return;
  }
  var result = document.getElementById("result");
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
    fetch(window.location.pathname, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 201) {
        form.hidden = true;
        result.textContent = form.dataset.thanks;
      } else if (response.status === 409) {
        form.hidden = true;
        result.textContent = form.dataset.answered;
      } else {
        result.textContent = form.dataset.failed;
      }
    });
  });
})();
