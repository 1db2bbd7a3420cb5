import { normalizeForMatching } from "./normalize.js";

/** One labelled training text: 1 = injection, 0 = benign. */
export interface Example {
  text: string;
  label: 0 | 1;
}

export interface TrainOptions {
  seed?: number;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  /** log2 of the hashed feature space. */
  bits?: number;
}

/** Serialised model: plain JSON, weights as base64 little-endian float32. */
export interface LinearModelJson {
  kind: "guard-injection-logreg";
  version: 1;
  bits: number;
  bias: number;
  weights: string;
  threshold: number;
}

const MAX_FEATURE_CHARS = 4096;

/**
 * Logistic regression over hashed word 1-2-grams and character 3-grams (FNV-1a), trained with
 * seeded SGD + AdaGrad; deterministic for a given seed and example order.
 */
export class InjectionClassifier {
  constructor(
    readonly bits: number,
    readonly weights: Float32Array,
    public bias: number,
    public threshold = 0.5,
  ) {}

  static create(bits = 16): InjectionClassifier {
    return new InjectionClassifier(bits, new Float32Array(1 << bits), 0);
  }

  /** Trains a fresh model on `examples`. */
  static train(examples: readonly Example[], options: TrainOptions = {}): InjectionClassifier {
    const bits = options.bits ?? 16;
    const epochs = options.epochs ?? 12;
    const lr = options.learningRate ?? 0.3;
    const l2 = options.l2 ?? 1e-5;
    const model = InjectionClassifier.create(bits);
    const feats = examples.map((e) => features(e.text, bits));
    const g2 = new Float32Array(1 << bits);
    let biasG2 = 0;
    const rand = mulberry32(options.seed ?? 1);
    const order = Array.from(examples.keys());
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const idx of order) {
        const f = feats[idx]!;
        const y = examples[idx]!.label;
        const p = sigmoid(model.dot(f));
        const err = p - y;
        for (let k = 0; k < f.idx.length; k++) {
          const h = f.idx[k]!;
          const g = err * f.val[k]! + l2 * model.weights[h]!;
          g2[h] = g2[h]! + g * g;
          model.weights[h] = model.weights[h]! - (lr * g) / Math.sqrt(g2[h]! + 1e-8);
        }
        biasG2 += err * err;
        model.bias -= (lr * err) / Math.sqrt(biasG2 + 1e-8);
      }
    }
    return model;
  }

  /** Probability that `text` is an injection. */
  score(text: string): number {
    return sigmoid(this.dot(features(text, this.bits)));
  }

  toJSON(): LinearModelJson {
    const bytes = new Uint8Array(
      this.weights.buffer,
      this.weights.byteOffset,
      this.weights.byteLength,
    );
    return {
      kind: "guard-injection-logreg",
      version: 1,
      bits: this.bits,
      bias: this.bias,
      weights: Buffer.from(bytes).toString("base64"),
      threshold: this.threshold,
    };
  }

  static fromJSON(json: LinearModelJson): InjectionClassifier {
    if (json.kind !== "guard-injection-logreg" || json.version !== 1) {
      throw new Error(`injection model: unsupported kind/version ${json.kind}@${json.version}`);
    }
    if (!Number.isInteger(json.bits) || json.bits < 4 || json.bits > 24) {
      throw new Error(`injection model: bits out of range: ${json.bits}`);
    }
    const buf = Buffer.from(json.weights, "base64");
    if (buf.byteLength !== 4 << json.bits) {
      throw new Error(
        `injection model: expected ${4 << json.bits} weight bytes, got ${buf.byteLength}`,
      );
    }
    const weights = new Float32Array(1 << json.bits);
    new Uint8Array(weights.buffer).set(buf);
    return new InjectionClassifier(json.bits, weights, json.bias, json.threshold);
  }

  private dot(f: Features): number {
    let z = this.bias;
    for (let k = 0; k < f.idx.length; k++) z += this.weights[f.idx[k]!]! * f.val[k]!;
    return z;
  }
}

interface Features {
  idx: Uint32Array;
  val: Float32Array;
}

/** Hashed, L2-normalised binary features of the first MAX_FEATURE_CHARS characters. */
export function features(text: string, bits: number): Features {
  const norm = normalizeForMatching(text.slice(0, MAX_FEATURE_CHARS));
  const mask = (1 << bits) - 1;
  const seen = new Set<number>();
  const words = norm.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
  for (let i = 0; i < words.length; i++) {
    seen.add(fnv1a(`w:${words[i]}`) & mask);
    if (i > 0) seen.add(fnv1a(`b:${words[i - 1]} ${words[i]}`) & mask);
  }
  for (let i = 0; i + 3 <= norm.length; i++) seen.add(fnv1a(`c:${norm.slice(i, i + 3)}`) & mask);
  const idx = Uint32Array.from(seen).sort();
  const val = new Float32Array(idx.length).fill(idx.length === 0 ? 0 : 1 / Math.sqrt(idx.length));
  return { idx, val };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Small seeded PRNG (mulberry32): reproducible shuffles without a dependency. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
