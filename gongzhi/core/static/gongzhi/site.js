/* Gongzhi — small progressive enhancements; every page reads and works without this file.
   A table that scrolls sideways must be reachable by keyboard (WCAG 2.1.1): templates mark their
   .table-scroll wrappers with tabindex/role/label; this gives the same to any wrapper that lacks them. */
(function () {
  "use strict";
  var label = document.documentElement.lang === "en" ? "Table (scrolls sideways)" : "表格（可左右滑动）";
  document.querySelectorAll(".table-scroll:not([tabindex])").forEach(function (el) {
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "region");
    if (!el.hasAttribute("aria-label")) { el.setAttribute("aria-label", label); }
  });
})();
