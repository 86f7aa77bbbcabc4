/* Behaviour the templates would otherwise write inline. The Content-Security-Policy forbids inline
 * scripts, event-handler attributes and style attributes (docs/security.md), so markup only carries
 * data- attributes and this file binds them. htmx.onLoad runs `bind` for the page once and again for
 * every fragment htmx swaps in (the polling progress bars). */
(function () {
  "use strict";

  function bind(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    /* A submit button that also sets a hidden field of its form (the secretary's "decide" confirm). */
    root.querySelectorAll("[data-set-field]").forEach(function (button) {
      button.addEventListener("click", function () {
        button.form.elements[button.getAttribute("data-set-field")].value = button.getAttribute("data-set-value");
      });
    });
    /* The outcome-rule form: only the parameters the chosen kind of rule uses are shown. */
    root.querySelectorAll("[data-rule-kind-select]").forEach(function (select) {
      function show() {
        select.form.querySelectorAll("[data-rule-kinds]").forEach(function (input) {
          var wanted = input.getAttribute("data-rule-kinds").split(" ").indexOf(select.value) >= 0;
          var box = input.closest(".mb-3");
          if (box) { box.hidden = !wanted; }
        });
      }
      select.addEventListener("change", show);
      show();
    });
    /* Progress bars: a width set through the CSSOM is allowed where a style attribute is not. */
    root.querySelectorAll("[data-width]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-width") + "%";
    });
  }

  /* A link to a folded section (the fairness signals' "#flag-…") unfolds it. */
  function unfold() {
    var target = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }

  window.htmx.onLoad(bind);
  window.addEventListener("hashchange", unfold);
  unfold();
})();
