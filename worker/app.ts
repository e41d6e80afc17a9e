import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, errorResponse } from "./http/errors";
import { adminRoutes } from "./routes/admin";
import { eventsRoutes } from "./routes/events";
import { exploreRoutes } from "./routes/explore";
import { healthRoutes } from "./routes/health";
import { queryRoutes } from "./routes/query";
import { suggestedRoutes } from "./routes/suggested";

export type AppEnv = { Bindings: Env };

export function createApp() {
  const app = new Hono<AppEnv>();
  app.route("/", healthRoutes);
  app.route("/", eventsRoutes);
  app.route("/", exploreRoutes);
  app.route("/", adminRoutes);
  app.route("/", suggestedRoutes);
  app.route("/", queryRoutes);
  app.notFound((c) => errorResponse(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) return errorResponse(c, new ApiError(error.status as 400, "bad_request", error.message || "bad request"));
    console.error("unhandled error", error);
    return errorResponse(c, new ApiError(500, "internal", "internal error"));
  });
  return app;
}
