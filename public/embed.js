// tickerplex embed loader: paste once on any page, beside one element per widget:
//
//   <div data-tickerplex="watchlist" data-theme="light"></div>   (data-theme: dark, the default, or light)
//   <script src="https://<tickerplex host>/embed.js" async></script>
//
// Each element gets an iframe of ours, /embed/<topic>: one live widget with its own EventSource.
// All of them share one HTTP/2 connection to us. Plain JavaScript (no wasm, no dependencies).
(function () {
  "use strict";
  // Included twice: the first copy does the work (and also picks up later elements).
  if (window.__tickerplexEmbed) return;
  window.__tickerplexEmbed = true;

  // Our origin is where this script came from, whatever page includes it.
  var origin = new URL(document.currentScript.src).origin;

  function mount(element) {
    if (element.getAttribute("data-tickerplex-mounted")) return;
    element.setAttribute("data-tickerplex-mounted", "1");
    var topic = element.getAttribute("data-tickerplex") || "";
    var frame = document.createElement("iframe");
    var theme = element.getAttribute("data-theme");
    frame.src =
      origin + "/embed/" + topic.split("/").map(encodeURIComponent).join("/") +
      (theme ? "?theme=" + encodeURIComponent(theme) : "");
    frame.title = "tickerplex: " + topic;
    frame.loading = "lazy";
    // Scripts run, and the frame keeps our origin: without allow-same-origin its origin would be
    // opaque and its own fetches and EventSource would stop being same-origin requests.
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin");
    frame.setAttribute("data-tickerplex-frame", topic);
    frame.style.cssText = "display:block;width:100%;height:240px;border:0";
    element.appendChild(frame);
  }

  // An embed page says how tall it is; only messages from our origin, from a frame of ours.
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || data.tickerplex !== "height") return;
    var frames = document.querySelectorAll("iframe[data-tickerplex-frame]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source && data.height > 0) {
        frames[i].style.height = Math.ceil(Math.min(data.height, 4000)) + "px";
      }
    }
  });

  function mountAll() {
    var elements = document.querySelectorAll("[data-tickerplex]");
    for (var i = 0; i < elements.length; i++) mount(elements[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
