/* The public map of open reports: markers from the page's GeoJSON; popups are built with
   textContent (descriptions are never parsed as HTML). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("reports-map");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { attributionControl: false });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([47.0722, 21.9211], 13);
    fetch(el.dataset.geojsonUrl, { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, { radius: 8, color: "#0b5d7a", weight: 3 });
          },
          onEachFeature: function (feature, marker) {
            var box = document.createElement("div");
            var title = document.createElement("strong");
            title.textContent = feature.properties.category + " · " + feature.properties.status;
            var text = document.createElement("p");
            text.textContent = feature.properties.description;
            box.appendChild(title);
            box.appendChild(text);
            marker.bindPopup(box);
          }
        }).addTo(map);
        el.dataset.count = String(data.features.length);
        if (data.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 16, padding: [20, 20], animate: false });
      })
      .catch(function (error) { el.dataset.error = String(error); });
  });
})();
