/**
 * The k highest-scoring rows, best first; equal scores keep the lower row first so results are deterministic.
 * A bounded min-heap keeps this O(n log k), which matters for million-item catalogues.
 * Rows whose score is -Infinity or NaN are never selected.
 */
export function topK(scores: ArrayLike<number>, k: number, candidates?: ArrayLike<number>): Int32Array {
  const n = candidates ? candidates.length : scores.length;
  const limit = Math.max(0, Math.min(k, n));
  const heapRows = new Int32Array(limit);
  const heapScores = new Float64Array(limit);
  let size = 0;
  // "worse" = lower score, or equal score and higher row: the heap root is the worst kept entry.
  const worse = (scoreA: number, rowA: number, scoreB: number, rowB: number) => scoreA < scoreB || (scoreA === scoreB && rowA > rowB);
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < size && worse(heapScores[left] as number, heapRows[left] as number, heapScores[worst] as number, heapRows[worst] as number)) worst = left;
      if (right < size && worse(heapScores[right] as number, heapRows[right] as number, heapScores[worst] as number, heapRows[worst] as number)) worst = right;
      if (worst === i) return;
      const row = heapRows[i] as number;
      const score = heapScores[i] as number;
      heapRows[i] = heapRows[worst] as number;
      heapScores[i] = heapScores[worst] as number;
      heapRows[worst] = row;
      heapScores[worst] = score;
      i = worst;
    }
  };
  if (limit > 0) {
    for (let c = 0; c < n; c++) {
      const row = candidates ? (candidates[c] as number) : c;
      const score = scores[row] as number;
      if (!(score > -Infinity)) continue;
      if (size < limit) {
        let i = size++;
        heapRows[i] = row;
        heapScores[i] = score;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (!worse(heapScores[i] as number, heapRows[i] as number, heapScores[parent] as number, heapRows[parent] as number)) break;
          const pr = heapRows[parent] as number;
          const ps = heapScores[parent] as number;
          heapRows[parent] = heapRows[i] as number;
          heapScores[parent] = heapScores[i] as number;
          heapRows[i] = pr;
          heapScores[i] = ps;
          i = parent;
        }
      } else if (worse(heapScores[0] as number, heapRows[0] as number, score, row)) {
        heapRows[0] = row;
        heapScores[0] = score;
        siftDown(0);
      }
    }
  }
  const result = new Int32Array(size);
  for (let i = size - 1; i >= 0; i--) {
    result[i] = heapRows[0] as number;
    heapRows[0] = heapRows[size - 1] as number;
    heapScores[0] = heapScores[size - 1] as number;
    size--;
    siftDown(0);
  }
  return result;
}

/**
 * The k highest-scoring rows as a 0/1 mask, unordered, in O(n): the same rows `topK` picks (equal scores keep the
 * lower row; -Infinity and NaN never) without sorting them. For cuts that only need membership, over large k.
 */
export function topKMask(scores: ArrayLike<number>, k: number): Uint8Array {
  const n = scores.length;
  const mask = new Uint8Array(n);
  const values: number[] = [];
  for (let i = 0; i < n; i++) if ((scores[i] as number) > -Infinity) values.push(scores[i] as number);
  const limit = Math.max(0, Math.min(k, values.length));
  if (limit === 0) return mask;
  if (limit === values.length) {
    for (let i = 0; i < n; i++) if ((scores[i] as number) > -Infinity) mask[i] = 1;
    return mask;
  }
  const threshold = kthLargest(Float64Array.from(values), limit);
  // everything above the threshold, then rows equal to it in row order until k are kept
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if ((scores[i] as number) > threshold) {
      mask[i] = 1;
      kept++;
    }
  }
  for (let i = 0; i < n && kept < limit; i++) {
    if (scores[i] === threshold) {
      mask[i] = 1;
      kept++;
    }
  }
  return mask;
}

/** The k-th largest value (1-based) by quickselect, reordering `values` in place. */
function kthLargest(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] as number) > pivot) i++;
      while ((values[j] as number) < pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target] as number;
  }
  return values[target] as number;
}
