/* Starts Swagger UI or ReDoc from the locally shipped bundles (no inline script: see the CSP). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : null;
  }

  function start() {
    var swagger = document.getElementById("swagger-ui");
    if (swagger && window.SwaggerUIBundle) {
      window.ui = window.SwaggerUIBundle({
        url: swagger.dataset.specUrl,
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [window.SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        requestInterceptor: function (request) {
          // A signed-in browser session writes with its CSRF token, as the API requires.
          var token = csrfToken();
          if (token && request.method && request.method.toUpperCase() !== "GET") {
            request.headers["X-CSRFToken"] = token;
          }
          return request;
        }
      });
    }
    var redoc = document.getElementById("redoc");
    if (redoc && window.Redoc) {
      window.Redoc.init(redoc.dataset.specUrl, { hideDownloadButton: false, expandResponses: "200,201" }, redoc);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
