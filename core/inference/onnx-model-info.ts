// A minimal, dependency-free reader of the top-level fields of an ONNX ModelProto (protobuf wire format), so that
// runtime code in both Node and workerd can check that bytes look like a model and read its metadata_props (e.g. the
// feature spec hash a model bundle carries) without onnx-proto/protobufjs. Tensor payloads are skipped, not parsed.

export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly docString: string;
  /** opset per domain ("" = default ONNX domain). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly metadataProps: Readonly<Record<string, string>>;
  readonly graphByteLength: number;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class WireReader {
  offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  fail(reason: string): never {
    throw new Error(`not a valid ONNX model: ${this.what} ${reason} at byte ${this.offset}`);
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.bytes.length) this.fail("ends inside a varint");
      const byte = this.bytes[this.offset++]!;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result;
      multiplier *= 128;
    }
    return this.fail("has a varint longer than 10 bytes");
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (this.offset + length > this.bytes.length) this.fail(`has a field of ${length} bytes that runs past the end`);
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_I64) this.advance(8);
    else if (wireType === WIRE_LEN) this.lengthDelimited();
    else if (wireType === WIRE_I32) this.advance(4);
    else this.fail(`uses unsupported protobuf wire type ${wireType}`);
  }

  private advance(count: number): void {
    if (this.offset + count > this.bytes.length) this.fail("ends inside a fixed-size field");
    this.offset += count;
  }
}

const utf8 = new TextDecoder();

function readStringPair(bytes: Uint8Array, what: string, keyField: number, valueField: number): [string, string] {
  const reader = new WireReader(bytes, what);
  let key = "";
  let value = "";
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === keyField && wire === WIRE_LEN) key = utf8.decode(reader.lengthDelimited());
    else if (field === valueField && wire === WIRE_LEN) value = utf8.decode(reader.lengthDelimited());
    else reader.skip(wire);
  }
  return [key, value];
}

function readOpset(bytes: Uint8Array): [string, number] {
  const reader = new WireReader(bytes, "opset_import");
  let domain = "";
  let version = 0;
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === WIRE_LEN) domain = utf8.decode(reader.lengthDelimited());
    else if (field === 2 && wire === WIRE_VARINT) version = reader.varint();
    else reader.skip(wire);
  }
  return [domain, version];
}

/**
 * Reads ModelProto header fields. Throws "not a valid ONNX model: ..." for bytes that are not a well-formed
 * protobuf message, or that lack an IR version, an opset import or a graph.
 */
export function readOnnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  if (!(bytes instanceof Uint8Array)) throw new Error("not a valid ONNX model: expected a Uint8Array");
  if (bytes.length === 0) throw new Error("not a valid ONNX model: the buffer is empty");
  const reader = new WireReader(bytes, "ModelProto");
  let irVersion = 0;
  let producerName = "";
  let producerVersion = "";
  let domain = "";
  let modelVersion = 0;
  let docString = "";
  let graphByteLength = -1;
  const opsets: Record<string, number> = {};
  const metadataProps: Record<string, string> = {};
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) reader.fail("has field number 0");
    if (field === 1 && wire === WIRE_VARINT) irVersion = reader.varint();
    else if (field === 2 && wire === WIRE_LEN) producerName = utf8.decode(reader.lengthDelimited());
    else if (field === 3 && wire === WIRE_LEN) producerVersion = utf8.decode(reader.lengthDelimited());
    else if (field === 4 && wire === WIRE_LEN) domain = utf8.decode(reader.lengthDelimited());
    else if (field === 5 && wire === WIRE_VARINT) modelVersion = reader.varint();
    else if (field === 6 && wire === WIRE_LEN) docString = utf8.decode(reader.lengthDelimited());
    else if (field === 7 && wire === WIRE_LEN) graphByteLength = reader.lengthDelimited().length;
    else if (field === 8 && wire === WIRE_LEN) {
      const [opsetDomain, version] = readOpset(reader.lengthDelimited());
      opsets[opsetDomain] = version;
    } else if (field === 14 && wire === WIRE_LEN) {
      const [key, value] = readStringPair(reader.lengthDelimited(), "metadata_props", 1, 2);
      metadataProps[key] = value;
    } else reader.skip(wire);
  }
  if (irVersion <= 0) throw new Error("not a valid ONNX model: no ir_version");
  if (Object.keys(opsets).length === 0) throw new Error("not a valid ONNX model: no opset_import");
  if (graphByteLength < 0) throw new Error("not a valid ONNX model: no graph");
  return { irVersion, producerName, producerVersion, domain, modelVersion, docString, opsets, metadataProps, graphByteLength };
}
