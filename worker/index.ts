import { createApp } from "./app";

export { Trending } from "./state/trending";
export { UserState } from "./state/user-state";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
