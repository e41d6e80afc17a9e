import { Parameter, embedding, embeddingBag, glorotUniform, linear, normalInit, relu, type Rng, type Tensor } from "../autodiff";

/**
 * The building blocks of every model here. Each block owns named Parameters so the ONNX exporter can
 * write the same weights under the same names, and the trainer can hand them all to Adam.
 */
export interface Module {
  parameters(): Parameter[];
}

export class Dense implements Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly name: string, readonly inputs: number, readonly outputs: number, rng: Rng) {
    this.weight = new Parameter(`${name}.weight`, glorotUniform(rng, inputs, outputs), [inputs, outputs]);
    this.bias = new Parameter(`${name}.bias`, new Float32Array(outputs), [outputs]);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  parameters(): Parameter[] {
    return [this.weight, this.bias];
  }
}

/** Dense layers with ReLU between them (and after the last one when `finalActivation`). */
export class Mlp implements Module {
  readonly layers: Dense[];

  constructor(readonly name: string, sizes: readonly number[], rng: Rng, readonly finalActivation = false) {
    if (sizes.length < 2) throw new Error(`${name}: an MLP needs an input and an output size`);
    this.layers = sizes.slice(1).map((size, i) => new Dense(`${name}.${i}`, sizes[i] as number, size, rng));
  }

  get outputs(): number {
    return (this.layers[this.layers.length - 1] as Dense).outputs;
  }

  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1 || this.finalActivation) h = relu(h);
    });
    return h;
  }

  parameters(): Parameter[] {
    return this.layers.flatMap((layer) => layer.parameters());
  }
}

/**
 * An embedding table whose row 0 means "unknown, rare or padding". Bags skip id 0 entirely, so row 0 of a
 * bag table never trains and is exported as zeros: padding then adds nothing in the ONNX graph either.
 */
export class EmbeddingTable implements Module {
  readonly table: Parameter;

  constructor(readonly name: string, readonly rows: number, readonly dim: number, rng: Rng, std = 0.05) {
    this.table = new Parameter(`${name}.weight`, normalInit(rng, [rows, dim], std), [rows, dim], { sparse: true });
  }

  lookup(ids: Int32Array): Tensor {
    return embedding(this.table, ids);
  }

  /** Pools a padded [batch × width] id matrix (0 = padding), by sum or by mean over the non-padding ids. */
  bag(padded: Int32Array, batch: number, width: number, mode: "sum" | "mean"): Tensor {
    const offsets = new Int32Array(batch + 1);
    let count = 0;
    for (let i = 0; i < padded.length; i++) if (padded[i] !== 0) count++;
    const ids = new Int32Array(count);
    let p = 0;
    for (let b = 0; b < batch; b++) {
      for (let w = 0; w < width; w++) {
        const id = padded[b * width + w] as number;
        if (id !== 0) ids[p++] = id;
      }
      offsets[b + 1] = p;
    }
    return embeddingBag(this.table, ids, offsets, { mode });
  }

  /** Table values with row 0 zeroed, as exported for bags. */
  exportedForBags(): Float32Array {
    const values = Float32Array.from(this.table.data);
    values.fill(0, 0, this.dim);
    return values;
  }

  parameters(): Parameter[] {
    return [this.table];
  }
}
