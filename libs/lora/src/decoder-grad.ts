import type { DecoderWeights, LoraParams, LoraSlot } from "./lora-params.js";
import type { TargetModule } from "./spec.js";

/** One training sequence: token ids, and the first position whose token is a target. */
export interface TrainingSequence {
  readonly ids: readonly number[];
  /** Positions t ≥ targetFrom (t ≥ 1) are predicted from ids[0..t-1]; the prompt is not. */
  readonly targetFrom: number;
}

/** What the backward pass needs from one block's forward pass. */
interface BlockTape {
  x: Float64Array;
  inv1: Float64Array;
  h: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  probs: Float64Array;
  ctx: Float64Array;
  resid: Float64Array;
  inv2: Float64Array;
  h2: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  act: Float64Array;
  lora: Map<TargetModule, Float64Array>;
}

/**
 * Mean next-token cross-entropy of the completion tokens of `seq` under the decoder with the LoRA
 * matrices applied, and (when `grad` is given) its gradient with respect to those matrices, added
 * into `grad` (same layout as `lora.values`). The frozen weights get no gradient. This is the
 * maths of the tiny decoder's ONNX graph (RMSNorm, rotary attention with grouped KV heads, SwiGLU),
 * one sequence at a time, in float64; it is checked against finite differences in the tests.
 */
export function lossAndGradient(
  w: DecoderWeights,
  lora: LoraParams,
  seq: TrainingSequence,
  grad?: Float64Array,
): number {
  const { hidden: H, vocabSize: V } = w;
  const S = seq.ids.length;
  const first = Math.max(1, seq.targetFrom);
  if (S < 2 || first >= S) throw new RangeError("the sequence has no target token");
  const rope = ropeTables(w, S);
  let x: Float64Array = new Float64Array(S * H);
  seq.ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id}`);
    for (let c = 0; c < H; c++) x[i * H + c] = w.embed[id * H + c]!;
  });
  const tapes: BlockTape[] = [];
  for (let l = 0; l < w.layers; l++) {
    const t = blockForward(w, lora, l, x, S, rope);
    tapes.push(t.tape);
    x = t.out;
  }
  const { y: f, inv: invF } = rmsNorm(x, w.finalNorm, S, H, w.rmsNormEps);
  const logits = mm(f, w.lmHead, S, H, V);
  const targets = S - first;
  let loss = 0;
  const dLogits = new Float64Array(S * V);
  for (let t = first; t < S; t++) {
    const row = (t - 1) * V;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[row + j]!);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[row + j]! - max);
    const target = seq.ids[t]!;
    loss += Math.log(sum) + max - logits[row + target]!;
    for (let j = 0; j < V; j++) dLogits[row + j] = Math.exp(logits[row + j]! - max) / sum / targets;
    dLogits[row + target] = dLogits[row + target]! - 1 / targets;
  }
  if (!grad) return loss / targets;

  let dx = rmsNormBackward(x, w.finalNorm, invF, mmT(dLogits, w.lmHead, S, V, H), S, H);
  for (let l = w.layers - 1; l >= 0; l--)
    dx = blockBackward(w, lora, l, tapes[l]!, dx, S, rope, grad);
  return loss / targets;
}

interface Rope {
  cos: Float64Array;
  sin: Float64Array;
  half: number;
}

function ropeTables(w: DecoderWeights, S: number): Rope {
  const half = w.headDim / 2;
  const cos = new Float64Array(S * half);
  const sin = new Float64Array(S * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / w.ropeTheta ** ((2 * i) / w.headDim));
    for (let p = 0; p < S; p++) {
      // Rounded like the graph's float32 Mul.
      const angle = Math.fround(p * inv);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, half };
}

/** HF rotate-half rotary embedding of every head of `buf` [S, n·d], in place; `sign` -1 undoes it. */
function applyRope(buf: Float64Array, S: number, n: number, d: number, r: Rope, sign: 1 | -1) {
  for (let p = 0; p < S; p++) {
    for (let hh = 0; hh < n; hh++) {
      const off = (p * n + hh) * d;
      for (let i = 0; i < r.half; i++) {
        const c = r.cos[p * r.half + i]!;
        const s = sign * r.sin[p * r.half + i]!;
        const lo = buf[off + i]!;
        const hi = buf[off + r.half + i]!;
        buf[off + i] = lo * c - hi * s;
        buf[off + r.half + i] = hi * c + lo * s;
      }
    }
  }
}

function blockForward(
  w: DecoderWeights,
  lora: LoraParams,
  l: number,
  x: Float64Array,
  S: number,
  rope: Rope,
): { out: Float64Array; tape: BlockTape } {
  const b = w.blocks[l]!;
  const { hidden: H, heads: nh, kvHeads: nkv, headDim: d, intermediate: I } = w;
  const loraU = new Map<TargetModule, Float64Array>();
  const proj = (m: TargetModule, input: Float64Array, W: Float32Array, inD: number, outD: number) =>
    linear(lora, lora.slot(l, m), input, W, S, inD, outD, loraU, m);
  const { y: h, inv: inv1 } = rmsNorm(x, b.inputNorm, S, H, w.rmsNormEps);
  const q = proj("q_proj", h, b.q, H, nh * d);
  const k = proj("k_proj", h, b.k, H, nkv * d);
  const v = proj("v_proj", h, b.v, H, nkv * d);
  applyRope(q, S, nh, d, rope, 1);
  applyRope(k, S, nkv, d, rope, 1);
  const group = nh / nkv;
  const scale = 1 / Math.sqrt(d);
  const probs = new Float64Array(nh * S * S);
  const ctx = new Float64Array(S * nh * d);
  for (let hh = 0; hh < nh; hh++) {
    const kh = Math.floor(hh / group);
    for (let i = 0; i < S; i++) {
      const pRow = (hh * S + i) * S;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[(i * nh + hh) * d + e]! * k[(j * nkv + kh) * d + e]!;
        probs[pRow + j] = dot * scale;
        max = Math.max(max, dot * scale);
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) {
        probs[pRow + j] = Math.exp(probs[pRow + j]! - max);
        sum += probs[pRow + j]!;
      }
      for (let j = 0; j <= i; j++) {
        probs[pRow + j] = probs[pRow + j]! / sum;
        const pj = probs[pRow + j]!;
        for (let e = 0; e < d; e++)
          ctx[(i * nh + hh) * d + e] =
            ctx[(i * nh + hh) * d + e]! + pj * v[(j * nkv + kh) * d + e]!;
      }
    }
  }
  const attn = proj("o_proj", ctx, b.o, nh * d, H);
  const resid = new Float64Array(S * H);
  for (let i = 0; i < resid.length; i++) resid[i] = x[i]! + attn[i]!;
  const { y: h2, inv: inv2 } = rmsNorm(resid, b.postNorm, S, H, w.rmsNormEps);
  const gate = proj("gate_proj", h2, b.gate, H, I);
  const up = proj("up_proj", h2, b.up, H, I);
  const act = new Float64Array(S * I);
  for (let i = 0; i < act.length; i++) act[i] = silu(gate[i]!) * up[i]!;
  const down = proj("down_proj", act, b.down, I, H);
  const out = new Float64Array(S * H);
  for (let i = 0; i < out.length; i++) out[i] = resid[i]! + down[i]!;
  const tape = { x, inv1, h, q, k, v, probs, ctx, resid, inv2, h2, gate, up, act, lora: loraU };
  return { out, tape };
}

function blockBackward(
  w: DecoderWeights,
  lora: LoraParams,
  l: number,
  t: BlockTape,
  dOut: Float64Array,
  S: number,
  rope: Rope,
  grad: Float64Array,
): Float64Array {
  const b = w.blocks[l]!;
  const { hidden: H, heads: nh, kvHeads: nkv, headDim: d, intermediate: I } = w;
  const back = (
    m: TargetModule,
    dy: Float64Array,
    x: Float64Array,
    W: Float32Array,
    inD: number,
    outD: number,
  ) => linearBackward(lora, lora.slot(l, m), dy, x, W, S, inD, outD, t.lora.get(m), grad);
  // out = resid + down(act)
  const dAct = back("down_proj", dOut, t.act, b.down, I, H);
  const dGate = new Float64Array(S * I);
  const dUp = new Float64Array(S * I);
  for (let i = 0; i < dAct.length; i++) {
    const g = t.gate[i]!;
    const sig = 1 / (1 + Math.exp(-g));
    dUp[i] = dAct[i]! * g * sig;
    dGate[i] = dAct[i]! * t.up[i]! * sig * (1 + g * (1 - sig));
  }
  const dH2 = back("gate_proj", dGate, t.h2, b.gate, H, I);
  addInto(dH2, back("up_proj", dUp, t.h2, b.up, H, I));
  const dResid = rmsNormBackward(t.resid, b.postNorm, t.inv2, dH2, S, H);
  addInto(dResid, dOut);
  // resid = x + o(ctx)
  const dCtx = back("o_proj", dResid, t.ctx, b.o, nh * d, H);
  const dq = new Float64Array(S * nh * d);
  const dk = new Float64Array(S * nkv * d);
  const dv = new Float64Array(S * nkv * d);
  const group = nh / nkv;
  const scale = 1 / Math.sqrt(d);
  const dP = new Float64Array(S);
  for (let hh = 0; hh < nh; hh++) {
    const kh = Math.floor(hh / group);
    for (let i = 0; i < S; i++) {
      const pRow = (hh * S + i) * S;
      const cOff = (i * nh + hh) * d;
      let dot = 0;
      for (let j = 0; j <= i; j++) {
        const vOff = (j * nkv + kh) * d;
        let s = 0;
        for (let e = 0; e < d; e++) {
          s += dCtx[cOff + e]! * t.v[vOff + e]!;
          dv[vOff + e] = dv[vOff + e]! + t.probs[pRow + j]! * dCtx[cOff + e]!;
        }
        dP[j] = s;
        dot += s * t.probs[pRow + j]!;
      }
      for (let j = 0; j <= i; j++) {
        const dScore = t.probs[pRow + j]! * (dP[j]! - dot) * scale;
        const kOff = (j * nkv + kh) * d;
        for (let e = 0; e < d; e++) {
          dq[cOff + e] = dq[cOff + e]! + dScore * t.k[kOff + e]!;
          dk[kOff + e] = dk[kOff + e]! + dScore * t.q[cOff + e]!;
        }
      }
    }
  }
  // The rotation is orthogonal: its gradient is the inverse rotation.
  applyRope(dq, S, nh, d, rope, -1);
  applyRope(dk, S, nkv, d, rope, -1);
  const dh = back("q_proj", dq, t.h, b.q, H, nh * d);
  addInto(dh, back("k_proj", dk, t.h, b.k, H, nkv * d));
  addInto(dh, back("v_proj", dv, t.h, b.v, H, nkv * d));
  const dx = rmsNormBackward(t.x, b.inputNorm, t.inv1, dh, S, H);
  addInto(dx, dResid);
  return dx;
}

/** `x·W`, plus `scale·(x·Aᵀ)·Bᵀ` when the projection is adapted (x·Aᵀ kept for backward). */
function linear(
  lora: LoraParams,
  slot: LoraSlot | undefined,
  x: Float64Array,
  W: Float32Array,
  S: number,
  inD: number,
  outD: number,
  keep: Map<TargetModule, Float64Array>,
  m: TargetModule,
): Float64Array {
  const y = mm(x, W, S, inD, outD);
  if (!slot) return y;
  const r = lora.rank;
  const u = mmT(x, lora.a(slot), S, inD, r);
  const delta = mmT(u, lora.b(slot), S, r, outD);
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + lora.scale * delta[i]!;
  keep.set(m, u);
  return y;
}

/** dL/dx of a (possibly adapted) projection; adds dL/dA and dL/dB into `grad`. */
function linearBackward(
  lora: LoraParams,
  slot: LoraSlot | undefined,
  dy: Float64Array,
  x: Float64Array,
  W: Float32Array,
  S: number,
  inD: number,
  outD: number,
  u: Float64Array | undefined,
  grad: Float64Array,
): Float64Array {
  const dx = mmT(dy, W, S, outD, inD);
  if (!slot || !u) return dx;
  const r = lora.rank;
  const s = lora.scale;
  const a = lora.a(slot);
  const b = lora.b(slot);
  const du = mm(dy, b, S, outD, r);
  for (let i = 0; i < du.length; i++) du[i] = du[i]! * s;
  for (let i = 0; i < S; i++) {
    for (let o = 0; o < outD; o++) {
      const g = s * dy[i * outD + o]!;
      if (g === 0) continue;
      for (let k = 0; k < r; k++)
        grad[slot.bOff + o * r + k] = grad[slot.bOff + o * r + k]! + g * u[i * r + k]!;
    }
    for (let k = 0; k < r; k++) {
      const g = du[i * r + k]!;
      for (let c = 0; c < inD; c++)
        grad[slot.aOff + k * inD + c] = grad[slot.aOff + k * inD + c]! + g * x[i * inD + c]!;
    }
  }
  addInto(dx, mm(du, a, S, r, inD));
  return dx;
}

function rmsNorm(x: Float64Array, g: Float32Array, S: number, H: number, eps: number) {
  const y = new Float64Array(S * H);
  const inv = new Float64Array(S);
  for (let i = 0; i < S; i++) {
    let ss = 0;
    for (let c = 0; c < H; c++) ss += x[i * H + c]! ** 2;
    inv[i] = 1 / Math.sqrt(ss / H + eps);
    for (let c = 0; c < H; c++) y[i * H + c] = x[i * H + c]! * inv[i]! * g[c]!;
  }
  return { y, inv };
}

/** y = x·inv·g with inv = (mean(x²)+ε)^-½: dx = inv·(g·dy) − x·inv³·Σ(g·dy·x)/H. */
function rmsNormBackward(
  x: Float64Array,
  g: Float32Array,
  inv: Float64Array,
  dy: Float64Array,
  S: number,
  H: number,
): Float64Array {
  const dx = new Float64Array(S * H);
  for (let i = 0; i < S; i++) {
    const r = inv[i]!;
    let dot = 0;
    for (let c = 0; c < H; c++) dot += g[c]! * dy[i * H + c]! * x[i * H + c]!;
    const k = (r * r * r * dot) / H;
    for (let c = 0; c < H; c++) dx[i * H + c] = r * g[c]! * dy[i * H + c]! - x[i * H + c]! * k;
  }
  return dx;
}

function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** [m×k]·[k×n] → [m×n]; `w` row-major. */
function mm(a: Float64Array, w: ArrayLike<number>, m: number, k: number, n: number) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) {
      const av = a[i * k + c]!;
      if (av === 0) continue;
      const wOff = c * n;
      const oOff = i * n;
      for (let j = 0; j < n; j++) out[oOff + j] = out[oOff + j]! + av * w[wOff + j]!;
    }
  }
  return out;
}

/** [m×n]·([k×n])ᵀ → [m×k]; `w` row-major [k, n]. */
function mmT(a: Float64Array, w: ArrayLike<number>, m: number, n: number, k: number) {
  const out = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += a[i * n + j]! * w[c * n + j]!;
      out[i * k + c] = acc;
    }
  }
  return out;
}

function addInto(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
}
