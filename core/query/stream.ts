import type { AttributeValue, StreamType } from "./types";

/** One step of how a candidate was reached: the root, then every operator that produced a new id. */
export interface PathStep {
  readonly operator: string;
  readonly kind: StreamType;
  readonly id: number;
  readonly score: number;
}

/**
 * The hops are a linked list so that 10k entries derived from 30 seeds share their prefixes;
 * `Candidate.path` materializes them only for the final candidates.
 */
interface Hop extends PathStep {
  readonly previous: Hop | undefined;
}

export interface StreamEntry {
  readonly id: number;
  readonly kind: StreamType;
  /** The score of the last step that scored this entry (the port's score, or the ranker's). */
  readonly score: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly seedType: string | undefined;
  readonly hop: Hop;
}

export function rootEntry(operator: string, kind: StreamType, id: number, seedType: string | undefined): StreamEntry {
  return { id, kind, score: 0, attributes: {}, seedType, hop: { operator, kind, id, score: 0, previous: undefined } };
}

/** A new entry reached from `parent` by `operator`: it inherits the parent's attributes and seed type. */
export function deriveEntry(parent: StreamEntry, operator: string, kind: StreamType, id: number, score: number, trackPath = true): StreamEntry {
  return { id, kind, score, attributes: parent.attributes, seedType: parent.seedType, hop: trackPath ? { operator, kind, id, score, previous: parent.hop } : parent.hop };
}

export function withScore(entry: StreamEntry, score: number): StreamEntry {
  return { ...entry, score };
}

export function withAttributes(entry: StreamEntry, attributes: Readonly<Record<string, AttributeValue>>): StreamEntry {
  return { ...entry, attributes };
}

export function entryPath(entry: StreamEntry): PathStep[] {
  const path: PathStep[] = [];
  for (let hop: Hop | undefined = entry.hop; hop; hop = hop.previous) {
    path.push({ operator: hop.operator, kind: hop.kind, id: hop.id, score: hop.score });
  }
  return path.reverse();
}

/** What a query returns for one media item, with how it was found. */
export interface Candidate {
  readonly id: number;
  readonly score: number;
  /** The `seed_id` attribute when the query binds one (`.let(seed_id=...)`), otherwise the id the path starts from. */
  readonly seedId: AttributeValue;
  /** The caller's seed type (H, R, F, ...): the seed's own for `seed_accounts`/`seed_media` roots, else `QueryContext.seedType`. */
  readonly seedType: string | undefined;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** Origin first, this item last. */
  readonly path: readonly PathStep[];
}

export function toCandidate(entry: StreamEntry): Candidate {
  const path = entryPath(entry);
  const seedId = entry.attributes["seed_id"] ?? (path[0] as PathStep).id;
  return { id: entry.id, score: entry.score, seedId, seedType: entry.seedType, attributes: entry.attributes, path };
}
