/* Cetate console behaviour: phone menu, tenant auto-switch, Leaflet map, uPlot charts.
   Runs on first load and on content htmx swaps in (htmx.onLoad). No other dependencies. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var PALETTE = ["#0b5d7a", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207"];

  function initMenu(root) {
    var toggle = root.querySelector && root.querySelector(".menu-toggle");
    if (!toggle || toggle.dataset.ready) return;
    toggle.dataset.ready = "1";
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (menu) menu.classList.toggle("open", open);
    });
  }

  function initAutosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.ready) return;
      select.dataset.ready = "1";
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function popupContent(feature, openLabel) {
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = feature.properties.name;
    var type = document.createElement("span");
    type.className = "map-popup-type";
    type.textContent = feature.properties.type;
    var link = document.createElement("a");
    link.href = feature.properties.url;
    link.textContent = openLabel;
    box.appendChild(title);
    box.appendChild(type);
    box.appendChild(link);
    return box;
  }

  function initMap(root) {
    var el = root.querySelector && root.querySelector("#entity-map");
    if (!el || el.dataset.ready || typeof L === "undefined") return;
    el.dataset.ready = "1";
    var status = document.getElementById("map-status");
    var map = L.map(el, { zoomControl: true, attributionControl: false });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([45.94, 24.97], 6); /* Romania, until the entities are known */
    fetch(el.dataset.geojsonUrl, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, { radius: 8 });
          },
          /* applied to every layer, circle markers included */
          style: function (feature) {
            var type = feature && feature.geometry ? feature.geometry.type : "";
            return type === "Point" || type === "MultiPoint"
              ? { weight: 2, color: "#ffffff", fillColor: "#0b5d7a", fillOpacity: 0.9 }
              : { weight: 2, color: "#0b5d7a", fillColor: "#0b5d7a", fillOpacity: 0.2 };
          },
          onEachFeature: function (feature, lyr) {
            lyr.bindPopup(popupContent(feature, el.dataset.openLabel));
            lyr.bindTooltip(feature.properties.name);
          }
        }).addTo(map);
        var count = data.features.length;
        el.dataset.features = String(count);
        if (count > 0) {
          map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 16 });
          if (status) status.textContent = el.dataset.countLabel.replace("{count}", count);
        } else if (status) {
          status.textContent = el.dataset.emptyLabel;
        }
        el.dataset.loaded = "1";
      })
      .catch(function (error) {
        if (status) status.textContent = String(error);
      });
    window.addEventListener("resize", function () { map.invalidateSize(); });
  }

  function formatValue(value) {
    if (value === null || value === undefined) return "–";
    return Math.abs(value) >= 1000 ? value.toFixed(0) : String(Math.round(value * 1000) / 1000);
  }

  function initCharts(root) {
    var container = root.id === "charts" ? root : root.querySelector && root.querySelector("#charts");
    if (!container || container.dataset.ready || typeof uPlot === "undefined") return;
    var dataNode = container.querySelector("script.chart-data");
    if (!dataNode) return;
    container.dataset.ready = "1";
    var series = JSON.parse(dataNode.textContent || "[]");
    var plots = [];
    container.querySelectorAll(".chart-plot").forEach(function (el) {
      var s = series[Number(el.dataset.seriesIndex)];
      if (!s || s.times.length < 2) return; /* one reading is shown as text */
      var color = PALETTE[Number(el.dataset.seriesIndex) % PALETTE.length];
      var width = Math.max(el.clientWidth, 240);
      var opts = {
        width: width,
        height: 220,
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        series: [
          {},
          {
            label: s.label + (s.unit ? " (" + s.unit + ")" : ""),
            stroke: color,
            width: 2,
            fill: color + "22",
            points: { show: s.times.length < 60 },
            value: function (u, v) { return formatValue(v); }
          }
        ],
        axes: [{}, { size: 56, values: function (u, vals) { return vals.map(formatValue); } }]
      };
      plots.push({ el: el, plot: new uPlot(opts, [s.times, s.values], el) });
    });
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) cancelAnimationFrame(pending);
      pending = requestAnimationFrame(function () {
        plots.forEach(function (p) {
          if (document.body.contains(p.el)) p.plot.setSize({ width: Math.max(p.el.clientWidth, 240), height: 220 });
        });
      });
    });
  }

  function init(root) {
    root = root || document;
    initMenu(document);
    initAutosubmit(root);
    initMap(root);
    initCharts(root);
  }

  if (window.htmx) {
    window.htmx.onLoad(init);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
