// wrangler and vitest-pool-workers import `.wasm` files as precompiled modules (CompiledWasm),
// because workerd refuses to compile WebAssembly from bytes at run time.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

// Swagger UI's prebuilt assets, bundled as Text modules (wrangler.toml [[rules]]) so that /docs needs no CDN.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const source: string;
  export default source;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const source: string;
  export default source;
}

// The inspector page's script and style (worker/inspector), bundled as Text modules (wrangler.toml [[rules]]).
declare module "*.browser.js" {
  const source: string;
  export default source;
}
declare module "*.browser.css" {
  const source: string;
  export default source;
}
