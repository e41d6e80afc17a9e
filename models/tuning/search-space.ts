// The knobs a tuner may turn, and the map between their natural units and the unit cube the optimiser works in.
//
// Every dimension maps to [0, 1]: linearly, or through the logarithm for knobs whose effect is multiplicative (learning
// rates, quotas spanning decades), so that "halfway" means the geometric rather than the arithmetic middle.

export interface Dimension {
  readonly name: string;
  readonly low: number;
  readonly high: number;
  /** "log" spaces values geometrically and needs low > 0. Default "linear". */
  readonly scale?: "linear" | "log";
  /** Values are rounded to the nearest integer within [low, high]. */
  readonly integer?: boolean;
}

export type SearchSpace = readonly Dimension[];

export type Point = Readonly<Record<string, number>>;

/** Throws an Error naming the first offending dimension, so a mistyped config fails before any trial runs. */
export function validateSearchSpace(space: SearchSpace): void {
  if (space.length === 0) throw new Error("search space: no dimensions");
  const names = new Set<string>();
  for (const dimension of space) {
    const { name, low, high } = dimension;
    if (names.has(name)) throw new Error(`search space: duplicate dimension name "${name}"`);
    names.add(name);
    if (!Number.isFinite(low) || !Number.isFinite(high)) throw new Error(`search space: dimension "${name}" has non-finite bounds [${low}, ${high}]`);
    if (low >= high) throw new Error(`search space: dimension "${name}" needs low < high, got [${low}, ${high}]`);
    if (dimension.scale === "log" && low <= 0) throw new Error(`search space: log-scale dimension "${name}" needs low > 0, got ${low}`);
    if (dimension.integer && Math.ceil(low) > Math.floor(high)) throw new Error(`search space: integer dimension "${name}" has no integer in [${low}, ${high}]`);
  }
}

/** The point's coordinates in the unit cube, one per dimension in space order; values outside the bounds are clamped. */
export function toUnit(space: SearchSpace, point: Point): Float64Array {
  const unit = new Float64Array(space.length);
  for (let index = 0; index < space.length; index++) {
    const dimension = space[index] as Dimension;
    const value = point[dimension.name];
    if (value === undefined || !Number.isFinite(value)) throw new Error(`toUnit: dimension "${dimension.name}" is ${value} in the point`);
    unit[index] = clampUnit(
      dimension.scale === "log"
        ? Math.log(value / dimension.low) / Math.log(dimension.high / dimension.low)
        : (value - dimension.low) / (dimension.high - dimension.low),
    );
  }
  return unit;
}

/** The point at unit-cube coordinates (clamped to [0, 1]); integer dimensions are rounded, every value lies in [low, high]. */
export function fromUnit(space: SearchSpace, unit: ArrayLike<number>): Point {
  if (unit.length !== space.length) throw new Error(`fromUnit: ${unit.length} coordinates for ${space.length} dimensions`);
  const point: Record<string, number> = {};
  for (let index = 0; index < space.length; index++) {
    const dimension = space[index] as Dimension;
    const fraction = clampUnit(unit[index] as number);
    const value = dimension.scale === "log"
      ? dimension.low * Math.pow(dimension.high / dimension.low, fraction)
      : dimension.low + fraction * (dimension.high - dimension.low);
    point[dimension.name] = dimension.integer
      ? Math.min(Math.floor(dimension.high), Math.max(Math.ceil(dimension.low), Math.round(value)))
      // the log/linear formulas can land an ulp outside the bounds at the ends
      : Math.min(dimension.high, Math.max(dimension.low, value));
  }
  return point;
}

/**
 * The point restricted to the space's dimensions, in space order; throws if one is missing, non-finite, out of bounds,
 * or not an integer where one is required, or if the point names a dimension the space lacks (most likely a typo).
 */
export function checkPoint(space: SearchSpace, point: Point, label: string): Point {
  const known = new Set(space.map((dimension) => dimension.name));
  for (const name of Object.keys(point)) {
    if (!known.has(name)) throw new Error(`${label}: unknown dimension "${name}"`);
  }
  const checked: Record<string, number> = {};
  for (const dimension of space) {
    const value = point[dimension.name];
    if (value === undefined || !Number.isFinite(value)) throw new Error(`${label}: dimension "${dimension.name}" is ${value}`);
    if (value < dimension.low || value > dimension.high) {
      throw new Error(`${label}: dimension "${dimension.name}" = ${value} lies outside [${dimension.low}, ${dimension.high}]`);
    }
    if (dimension.integer && !Number.isInteger(value)) throw new Error(`${label}: integer dimension "${dimension.name}" = ${value}`);
    checked[dimension.name] = value;
  }
  return checked;
}

function clampUnit(value: number): number {
  return Math.min(1, Math.max(0, value));
}
