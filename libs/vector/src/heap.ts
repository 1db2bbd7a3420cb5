/**
 * Binary max-heap of (node, score) pairs on typed arrays, reused across searches so the hot
 * loop allocates nothing. A min-heap is this heap fed negated scores.
 */
export class ScoreHeap {
  nodes: Int32Array;
  scores: Float64Array;
  size = 0;

  constructor(capacity = 64) {
    this.nodes = new Int32Array(capacity);
    this.scores = new Float64Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  topNode(): number {
    return this.nodes[0]!;
  }

  topScore(): number {
    return this.scores[0]!;
  }

  push(node: number, score: number): void {
    if (this.size === this.nodes.length) this.grow();
    const nodes = this.nodes;
    const scores = this.scores;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const ps = scores[parent]!;
      if (ps >= score) break;
      nodes[i] = nodes[parent]!;
      scores[i] = ps;
      i = parent;
    }
    nodes[i] = node;
    scores[i] = score;
  }

  /** Removes the top; read it with topNode/topScore first. */
  pop(): void {
    const nodes = this.nodes;
    const scores = this.scores;
    const n = --this.size;
    if (n === 0) return;
    const node = nodes[n]!;
    const score = scores[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && scores[child + 1]! > scores[child]!) child++;
      if (scores[child]! <= score) break;
      nodes[i] = nodes[child]!;
      scores[i] = scores[child]!;
      i = child;
    }
    nodes[i] = node;
    scores[i] = score;
  }

  private grow(): void {
    const nodes = new Int32Array(this.nodes.length * 2);
    nodes.set(this.nodes);
    const scores = new Float64Array(this.scores.length * 2);
    scores.set(this.scores);
    this.nodes = nodes;
    this.scores = scores;
  }
}
