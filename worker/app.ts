import { Hono } from "hono";
import { healthRoutes } from "./routes/health";

export function createApp() {
  return new Hono().route("/", healthRoutes);
}
