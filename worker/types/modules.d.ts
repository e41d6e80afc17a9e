// wrangler and vitest-pool-workers import `.wasm` files as precompiled modules (CompiledWasm),
// because workerd refuses to compile WebAssembly from bytes at run time.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
