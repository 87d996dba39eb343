/* Bulky-waste maps over the configured tile source (Leaflet, vendored). The server-drawn SVG stays for readers
   without JavaScript; with it, the tiles replace the drawing. A map with data-pick lets people pick a point (or
   use the phone's location): the chosen point goes into hidden fields, and the server converts it to WGS-84. */
(function () {
  "use strict";
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  function tileLayer(d) {
    return L.tileLayer(d.url, { maxZoom: d.max_zoom || 18, attribution: d.attribution || "" });
  }
  document.querySelectorAll(".leaflet-map").forEach(function (box) {
    var d = data(box.dataset.map);
    if (!d || typeof L === "undefined") { return; }
    box.hidden = false;
    var fig = box.closest("figure"), svg = fig && fig.querySelector(".map-svg");
    if (svg) { svg.hidden = true; }
    var map = L.map(box), bounds = [];
    tileLayer(d).addTo(map);
    (d.lines || []).forEach(function (l) { L.polyline(l.at, { color: l.colour, weight: 4 }).addTo(map); bounds = bounds.concat(l.at); });
    (d.points || []).forEach(function (p) {
      var m = L.circleMarker(p.at, { radius: p.depot ? 8 : 12, color: p.colour, weight: 3, fillColor: "#fff", fillOpacity: 1 });
      m.bindTooltip((p.label ? p.label + ". " : "") + p.title, { permanent: !!p.label, direction: "center", className: "stop-label" });
      if (p.href) { m.on("click", function () { window.location.href = p.href; }); }
      m.addTo(map); bounds.push(p.at);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 }); } else { map.setView(d.center || [34.75, 113.65], 13); }
    var pick = box.dataset.pick;
    if (pick) {
      var f = pick.split(","), lat = document.getElementById(f[0]), lon = document.getElementById(f[1]), src = document.getElementById(f[2]);
      var marker = null;
      map.on("click", function (e) {
        lat.value = e.latlng.lat.toFixed(6); lon.value = e.latlng.lng.toFixed(6); src.value = "map";
        if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng).addTo(map); }
      });
    }
  });
  document.querySelectorAll("[data-locate]").forEach(function (button) {
    if (!navigator.geolocation) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var f = button.dataset.locate.split(","), status = document.getElementById(f[3]);
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById(f[0]).value = pos.coords.latitude.toFixed(6);
        document.getElementById(f[1]).value = pos.coords.longitude.toFixed(6);
        document.getElementById(f[2]).value = "device";
        if (status) { status.textContent = button.dataset.done; }
      }, function () { if (status) { status.textContent = button.dataset.failed; } }, { enableHighAccuracy: true, timeout: 10000 });
    });
  });
})();
