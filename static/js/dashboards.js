/* PartyScore dashboards: draws the charts described in the page's JSON (json_script "dashboard-charts")
 * with the locally served Apache ECharts. Tooltips are drawn on the canvas (renderMode
 * "richText"): ECharts' HTML tooltips carry style attributes, which the Content-Security-Policy refuses,
 * and would interpret organization names as markup. Every bar, funnel stage or point carries the URL of the
 * members behind it: clicking it opens that list (which can be exported). No data leaves the page. */
(function () {
  "use strict";

  var RED = "#b71c1c";
  var PALETTE = ["#1f4e79", "#c98a00", "#2e7d32", "#6a1b9a", "#00838f", "#5d4037", "#546e7a", "#ad1457"];

  function item(d) {
    var out = {value: d.value, url: d.url, name: d.name};
    if (d.overdue) { out.itemStyle = {color: RED}; }
    return out;
  }

  function narrow() { return window.innerWidth < 576; }

  function rotation(count) { return count > (narrow() ? 3 : 6) ? 35 : 0; }

  function heatmap(spec, base) {
    var tall = spec.rows.length > 20;
    base.tooltip = {
      confine: true,
      renderMode: "richText",
      formatter: function (p) {
        var row = spec.rows[p.data[1]], column = spec.columns[p.data[0]];
        return row.name + "\n" + column.name + "：" + p.data[3] + "/" + p.data[4] +
          (p.data[2] < 0 ? "（" + spec.overdue + "）" : "");
      }
    };
    base.grid = {left: 8, right: tall ? 28 : 8, top: 36, bottom: 8, containLabel: true};
    base.xAxis = {type: "category", data: spec.columns.map(function (c) { return c.name; }),
                  axisLabel: {interval: 0, rotate: narrow() ? 60 : 30, fontSize: 11}, splitArea: {show: true}};
    base.yAxis = {type: "category", inverse: true, data: spec.rows.map(function (r) { return r.name; }),
                  axisLabel: {fontSize: 11, width: narrow() ? 90 : 160, overflow: "truncate"}};
    base.visualMap = {
      type: "piecewise", dimension: 2, orient: "horizontal", left: "center", top: 0, itemWidth: 14,
      pieces: [{value: -1, color: RED, label: spec.legend[0]}, {min: 0, max: 49, color: "#ffe0b2", label: spec.legend[1]},
               {min: 50, max: 99, color: "#aed581", label: spec.legend[2]},
               {value: 100, color: "#2e7d32", label: spec.legend[3]}]
    };
    if (tall) {
      base.dataZoom = [{type: "slider", yAxisIndex: 0, right: 2, width: 14, startValue: 0, endValue: 19,
                        showDetail: false},
                       {type: "inside", yAxisIndex: 0, zoomOnMouseWheel: false, moveOnMouseWheel: true}];
    }
    base.series = [{
      type: "heatmap", name: spec.name, data: spec.cells, cursor: "pointer",
      label: {show: true, fontSize: 10, formatter: function (p) { return p.data[2] < 0 ? "!" : p.data[2]; }}
    }];
    return base;
  }

  /* The members behind a heatmap cell: its column's metric (the missing ones when overdue). */
  function heatmapUrl(spec, data) {
    var column = spec.columns[data[0]], row = spec.rows[data[1]];
    var metric = data[2] < 0 ? column.missing : column.metric;
    var url = spec.drill + "?metric=" + encodeURIComponent(metric) + "&year=" + spec.year + "&org=" + row.org;
    return column.period ? url + "&period=" + column.period : url;
  }

  function option(spec, width) {
    var base = {
      color: PALETTE,
      animation: false,
      tooltip: {trigger: "item", confine: true, renderMode: "richText"},
      grid: {left: 8, right: 12, top: 36, bottom: 8, containLabel: true}
    };
    if (spec.kind === "heatmap") { return heatmap(spec, base); }
    if (spec.kind === "funnel") {
      /* Drawn as horizontal bars from the first stage down, so each bar's length is its number
         (ECharts' own funnel maps values onto 0–100 and draws 800 and 0 almost alike). */
      var stages = spec.items.map(function (d) { return d.name; });
      var top = Math.max.apply(null, spec.items.map(function (d) { return d.value; }).concat([1]));
      base.grid = {left: 8, right: 48, top: 8, bottom: 8, containLabel: true};
      base.yAxis = {type: "category", inverse: true, data: stages, axisTick: {show: false}};
      base.xAxis = {type: "value", max: top, minInterval: 1, splitLine: {show: false}, axisLabel: {show: false}};
      base.series = [{
        type: "bar", name: spec.name, barCategoryGap: "25%", cursor: "pointer",
        itemStyle: {color: "#c62828"}, label: {show: true, position: "right", formatter: "{c}"},
        data: spec.items.map(item)
      }];
      return base;
    }
    if (spec.kind === "bar") {
      var names = spec.items.map(function (d) { return d.name; });
      var turn = rotation(names.length);
      base.xAxis = {type: "category", data: names, axisLabel: turn ? {interval: 0, rotate: turn}
                                                                    : {interval: 0, width: 72, overflow: "break"}};
      base.yAxis = {type: "value", minInterval: 1};
      base.series = [{
        type: "bar", name: spec.name, data: spec.items.map(item), label: {show: true, position: "top"},
        cursor: "pointer"
      }];
      return base;
    }
    /* grouped (or stacked) bars over categories; the legend wraps onto as many lines as it needs
       (never a scrolling legend that hides steps), and the bars carry their numbers. */
    base.legend = {top: 0, type: "plain", itemGap: 8};
    base.tooltip = {trigger: "axis", confine: true, renderMode: "richText"};
    var legendWidth = spec.series.reduce(function (sum, s) { return sum + 34 + 12 * s.name.length; }, 0);
    var lines = Math.max(1, Math.ceil(legendWidth / Math.max(width - 16, 200)));
    base.grid.top = 16 + 22 * lines;
    base.extraHeight = 22 * (lines - 1);
    base.xAxis = {type: "category", data: spec.categories,
                  axisLabel: {interval: 0, rotate: rotation(spec.categories.length)}};
    base.yAxis = {type: "value", minInterval: 1};
    if (spec.max) { base.yAxis.max = spec.max; }
    var crowded = spec.series.length * spec.categories.length > (narrow() ? 8 : 24);
    var suffix = spec.max === 100 ? "%" : "";
    base.series = spec.series.map(function (s) {
      return {type: "bar", name: s.name, stack: spec.stack ? "all" : undefined, data: s.data.map(item),
              itemStyle: s.color ? {color: s.color} : undefined, cursor: "pointer",
              label: {show: !spec.stack || !crowded, position: spec.stack ? "inside" : "top", fontSize: 10,
                      rotate: crowded && !spec.stack ? 90 : 0, align: crowded && !spec.stack ? "left" : "center",
                      verticalAlign: "middle", distance: 4,
                      formatter: function (p) { return spec.stack && !p.value ? "" : p.value + suffix; }}};
    });
    return base;
  }

  function draw() {
    var source = document.getElementById("dashboard-charts");
    if (!source || typeof window.echarts === "undefined") { return; }
    var charts = JSON.parse(source.textContent);
    var drawn = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var spec = charts[element.getAttribute("data-chart")];
      if (!spec) { return; }
      element.style.height = element.getAttribute("data-height");
      var built = option(spec, element.clientWidth || 600);
      if (built.extraHeight) { element.style.height = "calc(" + element.getAttribute("data-height") + " + " + built.extraHeight + "px)"; }
      delete built.extraHeight;
      var chart = window.echarts.init(element, null, {renderer: "canvas"});
      chart.setOption(built);
      chart.on("click", function (params) {
        if (spec.kind === "heatmap" && params.data) {
          window.location.href = heatmapUrl(spec, params.data);
        } else if (params.data && params.data.url) {
          window.location.href = params.data.url;
        }
      });
      drawn.push(chart);
    });
    window.addEventListener("resize", function () {
      drawn.forEach(function (chart) { chart.resize(); });
    });
  }

  draw();
})();
