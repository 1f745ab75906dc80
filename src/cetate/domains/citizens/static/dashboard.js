/* The dashboard's heat map: one rectangle per grid cell, darker for more reports (the cells
   come from the page's data-cells attribute; no tiles unless a tile URL is configured). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("heat-map");
    if (!el || typeof L === "undefined") return;
    var cells = JSON.parse(el.dataset.cells || "[]");
    var map = L.map(el, { attributionControl: false });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([47.0722, 21.9211], 13);
    var most = cells.reduce(function (m, c) { return Math.max(m, c.count); }, 1);
    var group = L.featureGroup();
    cells.forEach(function (c) {
      var share = c.count / most;
      L.rectangle([[c.south, c.west], [c.north, c.east]], {
        weight: 1, color: "#8a1c1c", fillColor: "#c0392b", fillOpacity: 0.15 + 0.7 * share
      }).bindTooltip(String(c.count)).addTo(group);
    });
    group.addTo(map);
    el.dataset.count = String(cells.length);
    if (cells.length) map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [20, 20], animate: false });
  });
})();
