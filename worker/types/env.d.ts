// Bindings the Worker sees (wrangler.toml), and the module behind `exports` in tests.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../index");
  }
  interface Env {}
}
interface Env extends Cloudflare.Env {}
