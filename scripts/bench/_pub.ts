import { publishDirectory } from "../lib/kv-publish";
const r = await publishDirectory("bundles/default", { kind: "local", configPath: "wrangler.toml", binding: "BUNDLES", persistTo: process.argv[2]! }, { log: () => {} });
console.log(r.version, r.seconds);
