/* Placing a defect on a plan (平面图), a progressive enhancement of defect_form.html.
   Without this file the plan is drawn at its own pixel size in a scrolling box and a click submits the form
   (<input type="image">): the server turns the click's pixels into percents and draws the marker.
   With it the plan fits the page, a click fills the position fields (percent of the picture as drawn) and
   moves the marker here, and nothing is sent until the reporter presses 提交. A key press on the picture
   (Enter/Space: no spot) opens the fields for typing the position instead. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  document.querySelectorAll("[data-plan-pick]").forEach(function (box) {
    var form = box.closest("form");
    var plan = form.querySelector("[name=plan]");
    var px = form.querySelector("[name=plan_x]");
    var py = form.querySelector("[name=plan_y]");
    var status = box.querySelector(".plan-status");
    var numbers = box.querySelector(".plan-numbers");
    if (!plan || !px || !py) { return; }
    box.classList.add("plan-js");

    function mark(input, x, y) {
      box.querySelectorAll(".plan-mark").forEach(function (m) { m.parentNode.removeChild(m); });
      box.querySelectorAll(".plan-here").forEach(function (p) { p.parentNode.removeChild(p); });
      var layer = input.parentNode.querySelector(".plan-marks");
      var m = document.createElementNS(SVG, "svg");
      m.setAttribute("class", "plan-mark");
      m.setAttribute("x", x + "%");
      m.setAttribute("y", y + "%");
      m.setAttribute("overflow", "visible");
      var c = document.createElementNS(SVG, "circle");
      c.setAttribute("r", "17");
      var t = document.createElementNS(SVG, "text");
      t.setAttribute("text-anchor", "middle");
      t.setAttribute("dominant-baseline", "central");
      t.textContent = "1";
      m.appendChild(c);
      m.appendChild(t);
      layer.appendChild(m);
    }

    function words(x, y) {
      var trim = function (v) { return String(parseFloat(v)); };
      return box.getAttribute("data-label").replace("{x}", trim(x)).replace("{y}", trim(y));
    }

    box.querySelectorAll("input[type=image][data-plan]").forEach(function (input) {
      input.addEventListener("click", function (ev) {
        ev.preventDefault();
        if (ev.detail === 0) {  // the keyboard: no spot on the picture; type it
          plan.value = input.getAttribute("data-plan");
          if (numbers) { numbers.open = true; }
          px.focus();
          return;
        }
        var r = input.getBoundingClientRect();
        if (!r.width || !r.height) { return; }
        var x = (ev.clientX - r.left) / r.width * 100;
        var y = (ev.clientY - r.top) / r.height * 100;
        if (x < 0 || x > 100 || y < 0 || y > 100) { return; }
        x = x.toFixed(2);
        y = y.toFixed(2);
        plan.value = input.getAttribute("data-plan");
        px.value = x;
        py.value = y;
        mark(input, x, y);
        var title = document.getElementById("plan-title-" + plan.value);
        if (status) { status.textContent = (title ? title.textContent + " — " : "") + words(x, y); }
      });
    });
  });
})();
