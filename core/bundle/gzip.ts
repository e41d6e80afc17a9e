/**
 * gzip through the runtime's own CompressionStream / DecompressionStream (Node ≥ 18 and workerd both have them), so
 * the publisher and the Worker use one native codec and no JavaScript inflater ships in the Worker.
 */
async function throughStream(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  // the bytes are never a SharedArrayBuffer here: they come from KV, a file or an encoder
  const output = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(output).arrayBuffer());
}

export function gzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  return throughStream(bytes, new CompressionStream("gzip"));
}

export function gunzipBytes(bytes: Uint8Array): Promise<Uint8Array> {
  return throughStream(bytes, new DecompressionStream("gzip"));
}
