/* Waste bins map (Leaflet): one circle per bin in the colour the page computed. */
(function () {
  "use strict";
  function initMap() {
    var el = document.getElementById("waste-map");
    var dataNode = document.getElementById("waste-map-data");
    if (!el || !dataNode || el.dataset.ready || typeof L === "undefined") return;
    el.dataset.ready = "1";
    var data = JSON.parse(dataNode.textContent || "{}");
    var map = L.map(el, { attributionControl: false, preferCanvas: true });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    map.setView([46.7712, 23.5899], 12);
    var layer = L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          radius: 7, weight: 1, color: "#222", fillColor: feature.properties.colour, fillOpacity: 0.9
        });
      },
      onEachFeature: function (feature, lyr) {
        var p = feature.properties;
        lyr.bindTooltip(p.name + " · " + p.label);
      }
    }).addTo(map);
    el.dataset.markers = String(data.features.length);
    if (data.features.length > 0) map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 16 });
    window.addEventListener("resize", function () { map.invalidateSize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initMap);
  else initMap();
})();
