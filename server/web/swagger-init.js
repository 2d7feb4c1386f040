// Starts Swagger UI on /docs. A file of its own: the pages' Content-Security-Policy allows no
// inline script. The schema's URL comes from the page (data-openapi).
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // no badge from an outside validator: a classroom may have no internet
});
