// The load section's topology (load.ts): the real-time state objects (UserState, Trending) served by a second
// `wrangler dev`, as a deployed Worker reaches Durable Objects that live outside its isolate and its process. In one
// `wrangler dev` the objects' SQLite page caches sit in the Worker's workerd and grow with their databases
// (`npx tsx scripts/reliability/sqlite-memory-control.ts`), which a deployed Worker's memory never holds.
import { rmSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The bindings whose objects the state process serves: the real-time state that events write. */
export const STATE_OBJECT_BINDINGS = [
  { name: "USER_STATE", className: "UserState" },
  { name: "TRENDING", className: "Trending" },
] as const;

export interface SplitConfigs {
  /** The Worker's config: the committed one, its state bindings pointing at `stateScript`. */
  readonly front: string;
  /** The state process's config: the committed one under the name `stateScript`. */
  readonly state: string;
  readonly stateScript: string;
  dispose(): void;
}

/** Writes both configs beside `checkout`'s wrangler.toml (wrangler resolves `main` from the config's folder). */
export function writeSplitConfigs(checkout: string, tag: string): SplitConfigs {
  const committed = readFileSync(join(checkout, "wrangler.toml"), "utf8");
  const name = /^name\s*=\s*"([^"]+)"/m.exec(committed)?.[1];
  if (!name) throw new Error("wrangler.toml: no top-level name");
  const stateScript = `${name}-state-${tag}`;
  let front = committed;
  for (const binding of STATE_OBJECT_BINDINGS) {
    const pattern = new RegExp(`(\\[\\[durable_objects\\.bindings\\]\\]\\s*\\nname\\s*=\\s*"${binding.name}"\\s*\\nclass_name\\s*=\\s*"${binding.className}")`);
    if (!pattern.test(front)) throw new Error(`wrangler.toml: no Durable Object binding ${binding.name} (${binding.className}) to serve from a second process`);
    front = front.replace(pattern, `$1\nscript_name = "${stateScript}"`);
  }
  const state = committed.replace(/^name\s*=\s*"[^"]+"/m, `name = "${stateScript}"`);
  const paths = { front: join(checkout, `wrangler.load-front-${tag}.toml`), state: join(checkout, `wrangler.load-state-${tag}.toml`) };
  writeFileSync(paths.front, front);
  writeFileSync(paths.state, state);
  return {
    ...paths,
    stateScript,
    dispose: () => {
      rmSync(paths.front, { force: true });
      rmSync(paths.state, { force: true });
    },
  };
}
