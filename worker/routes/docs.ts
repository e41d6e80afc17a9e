import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css";
import { apiDocument } from "../contract";
import { appFactory } from "../http/factory";

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>explore-edge-ranker API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });</script>
</body>
</html>
`;

// the assets change only with the swagger-ui-dist version, i.e. with a deploy
const ASSET_CACHE = "public, max-age=3600";

/** The HTTP contract: the OpenAPI document generated from the routes' schemas, and Swagger UI over it. */
export const docsRoutes = appFactory.createApp()
  .get("/openapi.json", (c) => c.json(apiDocument()))
  .get("/docs", (c) => c.html(DOCS_PAGE))
  .get("/docs/swagger-ui-bundle.js", (c) => c.body(swaggerUiBundle, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": ASSET_CACHE }))
  .get("/docs/swagger-ui.css", (c) => c.body(swaggerUiCss, 200, { "content-type": "text/css; charset=utf-8", "cache-control": ASSET_CACHE }));
