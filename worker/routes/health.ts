import { Hono } from "hono";
import packageJson from "../../package.json";
import type { AppEnv } from "../app";

export const healthRoutes = new Hono<AppEnv>().get("/health", (c) => c.json({ status: "ok", version: packageJson.version }));
