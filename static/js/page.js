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
    /* The outcome-rule form: only the parameters the chosen kind of rule uses are shown, and under
     * the kind what it does (its option's data-summary). */
    root.querySelectorAll("[data-rule-kind-select]").forEach(function (select) {
      function show() {
        select.form.querySelectorAll("[data-rule-kinds]").forEach(function (input) {
          var wanted = input.getAttribute("data-rule-kinds").split(" ").indexOf(select.value) >= 0;
          var box = input.closest(".mb-3");
          if (box) { box.hidden = !wanted; }
        });
        var option = select.options[select.selectedIndex];
        var box = select.closest(".mb-3");
        var help = box && box.querySelector(".form-text");
        if (box && !help) {
          help = document.createElement("div");
          help.className = "form-text";
          select.insertAdjacentElement("afterend", help);
        }
        if (help) { help.textContent = (option && option.getAttribute("data-summary")) || ""; }
      }
      select.addEventListener("change", show);
      show();
    });
    /* The attendance sheet: "全部出席" marks everyone present; a QR sign-in arriving by polling marks
     * that member present, unless the secretary has already chosen for them by hand. */
    root.querySelectorAll("[data-all-present]").forEach(function (button) {
      button.addEventListener("click", function () {
        button.form.querySelectorAll("input[type=radio][value=present]").forEach(function (radio) {
          radio.checked = true;
        });
      });
    });
    root.querySelectorAll(".attendance-table input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () { radio.closest("tr").setAttribute("data-touched", "1"); });
    });
    var signedIn = Array.prototype.slice.call(root.querySelectorAll("[data-signed-in]"));
    if (root.matches && root.matches("[data-signed-in]")) { signedIn.push(root); }
    signedIn.forEach(function (cell) {
      var row = cell.closest("tr");
      var present = row && row.querySelector("input[type=radio][value=present]");
      if (present && !row.hasAttribute("data-touched")) { present.checked = true; }
    });
    /* 全选: a check box that ticks or clears every "ids" check box of its form (batch decisions). */
    root.querySelectorAll("[data-check-all]").forEach(function (all) {
      all.addEventListener("change", function () {
        all.form.querySelectorAll('input[type="checkbox"][name="ids"]').forEach(function (box) {
          box.checked = all.checked;
        });
      });
    });
    /* The bulk entry's quick picks: a button ticks the member check boxes whose data-groups carry its
     * group, adding to those already ticked; "all" ticks every one and "none" clears them. */
    root.querySelectorAll("[data-pick-group]").forEach(function (button) {
      button.addEventListener("click", function () {
        var group = button.getAttribute("data-pick-group");
        button.form.querySelectorAll('input[type="checkbox"][data-groups]').forEach(function (box) {
          if (group === "none") {
            box.checked = false;
          } else if (group === "all" || box.getAttribute("data-groups").split(" ").indexOf(group) !== -1) {
            box.checked = true;
          }
        });
      });
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
