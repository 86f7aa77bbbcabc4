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
    /* A member select that narrows another select (data-filters="<id>") to the options of the chosen
     * member's category: the entry form offers only the items of that member's own scheme. */
    root.querySelectorAll("select[data-filters]").forEach(function (select) {
      var target = document.getElementById(select.getAttribute("data-filters"));
      if (!target) { return; }
      function narrow() {
        var chosen = select.options[select.selectedIndex];
        var category = chosen ? chosen.getAttribute("data-category") : null;
        Array.prototype.forEach.call(target.options, function (option) {
          var own = option.getAttribute("data-category");
          var fits = !category || !own || own.split(" ").indexOf(category) !== -1;
          option.hidden = !fits;
          option.disabled = !fits;
          if (!fits && option.selected) { target.value = ""; }
        });
      }
      select.addEventListener("change", narrow);
      narrow();
    });
    /* Progress bars: a width set through the CSSOM is allowed where a style attribute is not. */
    root.querySelectorAll("[data-width]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-width") + "%";
    });
  }

  window.htmx.onLoad(bind);
})();
