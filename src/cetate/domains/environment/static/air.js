/* Public air pages: the station map (Leaflet), the 48-hour chart (uPlot), the download form. */
(function () {
  "use strict";
  var COLOURS = ["#0b5d7a", "#b5462a", "#6a4c93", "#2a7f3f", "#c08a00"];

  function initMap() {
    var el = document.getElementById("air-map");
    var dataNode = document.getElementById("air-map-data");
    if (!el || !dataNode || el.dataset.ready || typeof L === "undefined") return;
    el.dataset.ready = "1";
    var data = JSON.parse(dataNode.textContent || "{}");
    var map = L.map(el, { attributionControl: false });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    map.setView([45.94, 24.97], 6);
    var layer = L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          radius: 11, weight: 2, color: "#222", fillColor: feature.properties.colour, fillOpacity: 0.95
        });
      },
      onEachFeature: function (feature, lyr) {
        var p = feature.properties;
        var box = document.createElement("div");
        var title = document.createElement("strong");
        title.textContent = p.name;
        box.appendChild(title);
        if (p.label) {
          var band = document.createElement("div");
          band.textContent = p.label + (p.drivers ? " · " + p.drivers : "");
          box.appendChild(band);
        }
        var link = document.createElement("a");
        link.href = p.url;
        link.textContent = el.dataset.openLabel;
        box.appendChild(link);
        lyr.bindPopup(box);
        lyr.bindTooltip(p.name);
      }
    }).addTo(map);
    el.dataset.markers = String(data.features.length);
    if (data.features.length > 0) map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 14 });
    window.addEventListener("resize", function () { map.invalidateSize(); });
  }

  function initChart() {
    var el = document.getElementById("air-chart");
    var dataNode = document.getElementById("air-chart-data");
    if (!el || !dataNode || el.dataset.ready || typeof uPlot === "undefined") return;
    el.dataset.ready = "1";
    var chart = JSON.parse(dataNode.textContent || "{}");
    var series = [{}];
    var data = [chart.times];
    chart.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false });
      data.push(s.values);
    });
    var width = function () { return Math.max(el.clientWidth, 260); };
    var plot = new uPlot({
      width: width(), height: 240, series: series, scales: { x: { time: true } },
      axes: [{}, { size: 48 }], legend: { show: true }
    }, data, el);
    el.dataset.plotted = String(chart.series.length);
    window.addEventListener("resize", function () { plot.setSize({ width: width(), height: 240 }); });
  }

  function initDownload() {
    var form = document.getElementById("air-download");
    if (!form) return;
    var select = form.querySelector("[data-download-format]");
    form.addEventListener("submit", function () {
      form.action = form.action.replace(/\.(csv|geojson)$/, "." + select.value);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMap();
    initChart();
    initDownload();
  });
})();
