/* The "report a problem" form: a pin on a Leaflet map (tap/click, or the phone's location)
   fills lat/long; the chosen category's detail fields are shown, the others disabled. */
(function () {
  "use strict";
  var ORADEA = [47.0722, 21.9211];

  function showDetails() {
    var select = document.getElementById("service_code");
    if (!select) return;
    document.querySelectorAll("fieldset.service-details").forEach(function (box) {
      var on = box.dataset.service === select.value;
      box.hidden = !on;
      box.disabled = !on;
      box.querySelectorAll("[data-required]").forEach(function (input) {
        input.required = on && input.dataset.required === "yes";
      });
    });
  }

  function initMap() {
    var el = document.getElementById("pick-map");
    var lat = document.getElementById("lat");
    var lng = document.getElementById("long");
    var status = document.getElementById("location-status");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { attributionControl: false });
    if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    var marker = null;
    function place(latlng, pan) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.circleMarker(latlng, { radius: 10, color: "#a2261b", weight: 3 }).addTo(map);
      lat.value = latlng.lat.toFixed(6);
      lng.value = latlng.lng.toFixed(6);
      status.textContent = el.dataset.pinLabel.replace("{lat}", lat.value).replace("{long}", lng.value);
      if (pan) map.setView(latlng, 17);
    }
    var start = parseFloat(lat.value), startLng = parseFloat(lng.value);
    if (!isNaN(start) && !isNaN(startLng)) {
      map.setView([start, startLng], 16);
      place(L.latLng(start, startLng), false);
    } else {
      map.setView(ORADEA, 14);
    }
    map.on("click", function (event) { place(event.latlng, false); });
    [lat, lng].forEach(function (input) {
      input.addEventListener("change", function () {
        var a = parseFloat(lat.value), b = parseFloat(lng.value);
        if (!isNaN(a) && !isNaN(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180) place(L.latLng(a, b), true);
      });
    });
    var locate = document.getElementById("locate");
    if (locate) {
      if (!navigator.geolocation) locate.hidden = true;
      locate.addEventListener("click", function () {
        status.textContent = locate.dataset.locating;
        navigator.geolocation.getCurrentPosition(function (position) {
          place(L.latLng(position.coords.latitude, position.coords.longitude), true);
          status.textContent = locate.dataset.located + " " + status.textContent;
        }, function () {
          status.textContent = locate.dataset.failed;
        }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("service_code");
    if (select) select.addEventListener("change", showDetails);
    showDetails();
    initMap();
  });
})();
