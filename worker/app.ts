import { timing } from "hono/timing";
import { appFactory } from "./http/factory";
import { ApiError, errorResponse, handleError } from "./http/errors";
import { adminRoutes } from "./routes/admin";
import { docsRoutes } from "./routes/docs";
import { eventsRoutes } from "./routes/events";
import { experimentRoutes } from "./routes/experiments";
import { exploreRoutes } from "./routes/explore";
import { healthRoutes } from "./routes/health";
import { inspectRoutes } from "./routes/inspect";
import { itemRoutes } from "./routes/items";
import { queryRoutes } from "./routes/query";
import { realtimeStateRoutes } from "./routes/realtime-state";
import { suggestedRoutes } from "./routes/suggested";

export function createApp() {
  const app = appFactory.createApp();
  // Server-Timing on every answer: `total` from here, the routes add their stages (setMetric)
  app.use(timing());
  app.route("/", healthRoutes);
  app.route("/", eventsRoutes);
  app.route("/", exploreRoutes);
  app.route("/", adminRoutes);
  app.route("/", experimentRoutes);
  app.route("/", realtimeStateRoutes);
  app.route("/", suggestedRoutes);
  app.route("/", queryRoutes);
  app.route("/", docsRoutes);
  app.route("/", inspectRoutes);
  app.route("/", itemRoutes);
  app.notFound((c) => errorResponse(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError(handleError);
  return app;
}
