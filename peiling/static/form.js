/* Progressive enhancement for the public form: live conditions, error focus, one submit.
   The form works without this file; conditions are applied again on the server. */
(function () {
  "use strict";
  var form = document.querySelector("form.survey");
  if (!form) return;
  document.documentElement.className += " js";

  // As logic.normalise() on the server: trimmed, whole numbers without leading zeros, in
  // any script's digits ("１４" from a Japanese keyboard, "١٤"), as Python's int() reads them.
  var DIGIT = /^\p{Nd}$/u;
  function digit(ch) {
    // Unicode keeps each script's digits as runs of ten, zero first: count back to the run.
    var cp = ch.codePointAt(0), start = cp;
    while (DIGIT.test(String.fromCodePoint(start - 1))) start--;
    return (cp - start) % 10;
  }
  function normalise(value) {
    var v = value.trim();
    if (!/^\p{Nd}{1,9}$/u.test(v)) return v;
    return String(Array.from(v).reduce(function (n, ch) { return n * 10 + digit(ch); }, 0));
  }

  function given(code) {
    var out = [];
    var els = form.querySelectorAll('[name="q_' + code + '"]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var on = el.type === "radio" || el.type === "checkbox" ? el.checked : el.value !== "";
      if (on) out.push(normalise(el.value));
    }
    return out;
  }

  function holds(c) {
    var source = document.getElementById("vraag-" + c.question);
    if (source && source.hidden) return false;
    var values = given(c.question);
    var hit = c.values.some(function (v) { return values.indexOf(v) >= 0; });
    if (c.op === "equals") return values.indexOf(c.values[0]) >= 0;
    return c.op === "not" ? !hit : hit;
  }

  // A parent's permission is asked under the age of digital consent, or while no age is
  // given; the server decides again (answers.check_guardian_consent).
  function consentNeeded(el) {
    var field = form.querySelector('[name="' + el.getAttribute("data-age-field") + '"]');
    var age = field ? normalise(field.value) : "";
    var limit = parseInt(el.getAttribute("data-consent-age"), 10);
    return !/^[0-9]{1,3}$/.test(age) || parseInt(age, 10) < limit;
  }

  function update() {
    // Document order, so a condition on a question that was just hidden sees it hidden.
    var items = form.querySelectorAll("[data-show-if]");
    for (var i = 0; i < items.length; i++) {
      items[i].hidden = !holds(JSON.parse(items[i].getAttribute("data-show-if")));
    }
    var consents = form.querySelectorAll("[data-consent-age]");
    for (var j = 0; j < consents.length; j++) {
      consents[j].hidden = !consentNeeded(consents[j]);
    }
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();

  var summary = document.getElementById("foutmeldingen");
  if (summary) summary.focus();

  var sending = false;
  form.addEventListener("submit", function (event) {
    // Submission is idempotent on the server; this only spares a second round trip.
    if (sending) event.preventDefault();
    sending = true;
    setTimeout(function () { sending = false; }, 4000);
  });
})();
