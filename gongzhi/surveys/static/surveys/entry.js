/* Worker entry page: hide questions whose skip rule does not hold, with the same evaluator the server uses
   (logic.js). Without JavaScript every question shows and the server drops hidden answers on submit. */
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
      els.forEach(function (el) { if (el.checked) list.push(el.value); });
      return list.length ? list : null;
    }
    var v = null;
    els.forEach(function (el) {
      if ((el.type === "radio" && el.checked) || (el.type !== "radio" && el.value !== "")) v = el.value;
    });
    if (v !== null && (q.type === "rating") && /^[0-9]+$/.test(v)) return Number(v);
    if (v !== null && q.type === "number" && /^-?[0-9]+(\.[0-9]+)?$/.test(v.trim())) return Number(v.trim());
    return v;
  }

  function update() {
    var seen = {};
    rules.forEach(function (q) {
      var box = form.querySelector(".entry-question[data-key='" + q.key + "']");
      var show = true;
      if (q.relevant) {
        try { show = window.GongzhiLogic.evaluate(q.relevant, seen); } catch (e) { show = true; }
      }
      if (box) box.hidden = !show;
      if (show) {
        var v = value(q);
        if (v !== null) seen[q.key] = v;
      }
    });
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
