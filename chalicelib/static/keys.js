// One Idempotency-Key for a filled-in form (put before the page's own script): a double
// tap or a retry on a flaky phone connection sends the same key, and acts once.
function newIdempotencyKey() {
  "use strict";
  var bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, function (b) {
    return ("0" + b.toString(16)).slice(-2);
  }).join("");
}
