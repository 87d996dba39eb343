/* Worker entry page: walk the questions as the server does (logic.js walk): hide questions whose skip rule does
   not hold, offer only the options a choice filter keeps, and compute calculated values for the later rules.
   Without JavaScript every question and option shows, and the server drops hidden answers and refuses an option
   its filter does not keep, on submit. */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  var data = document.getElementById("survey-rules");
  if (!form || !data || !window.GongzhiLogic) return;
  var rules = JSON.parse(data.textContent);

  function value(q) {
    var p = q.key + "-";
    if (q.type === "matrix") {
      var out = {};
      form.querySelectorAll("input[name^='" + p + "row_']:checked").forEach(function (el) {
        out[el.name.slice(p.length + 4)] = el.value;
      });
      return Object.keys(out).length ? out : null;
    }
    var els = form.querySelectorAll("[name='" + p + "answer']");
    if (q.type === "multiple") {
      var list = [];
      els.forEach(function (el) { if (el.checked && !el.disabled) list.push(el.value); });
      return list.length ? list : null;
    }
    var v = null;
    els.forEach(function (el) {
      if (el.disabled) return;
      if ((el.type === "radio" && el.checked) || (el.type !== "radio" && el.value !== "")) v = el.value;
    });
    if (v !== null && (q.type === "rating") && /^[0-9]+$/.test(v)) return Number(v);
    if (v !== null && q.type === "number" && /^-?[0-9]+(\.[0-9]+)?$/.test(v.trim())) return Number(v.trim());
    return v;
  }

  function filterOptions(q, codes) {
    form.querySelectorAll("[name='" + q.key + "-answer']").forEach(function (el) {
      var keep = !codes || codes.indexOf(el.value) >= 0;
      var label = el.closest("label") || el;
      label.hidden = !keep;
      el.disabled = !keep;
      if (!keep) el.checked = false;
    });
  }

  function update() {
    var answers = {};
    rules.forEach(function (q) {
      if (q.type !== "calculate") {
        var v = value(q);
        if (v !== null) answers[q.key] = v;
      }
    });
    var walked;
    try {
      walked = window.GongzhiLogic.walk(rules, answers);
    } catch (e) {
      return; // a rule the browser cannot read: show everything, the server decides
    }
    rules.forEach(function (q) {
      var box = form.querySelector(".entry-question[data-key='" + q.key + "']");
      if (box) box.hidden = walked.shown.indexOf(q.key) < 0;
      if (q.choice_filter) filterOptions(q, walked.options[q.key] || []);
      var out = form.querySelector("output[data-key='" + q.key + "']");
      if (out) out.textContent = Object.prototype.hasOwnProperty.call(walked.values, q.key) ? walked.values[q.key] : "—";
    });
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
