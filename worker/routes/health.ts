import { Hono } from "hono";
import packageJson from "../../package.json";

export const healthRoutes = new Hono().get("/health", (c) =>
  c.json({ status: "ok", version: packageJson.version }),
);
