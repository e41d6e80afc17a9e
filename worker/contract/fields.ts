import { z } from "zod";

/** No control, format or unassigned characters, and no surrounding whitespace (almost always a client bug). */
const PRINTABLE_ID = /^[^\p{C}\s](?:[^\p{C}]*[^\p{C}\s])?$/u;

/**
 * A user or item id: a printable string of 1..64 characters or a non-negative safe integer, stored as its
 * decimal string (12 and "12" are the same item; "012" is another one).
 */
export const entityId = z
  .union([z.string().min(1).max(64).regex(PRINTABLE_ID), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)], {
    error: "must be a printable string of 1..64 characters without surrounding whitespace, or a non-negative safe integer",
  })
  .transform((id) => (typeof id === "number" ? String(id) : id));

/**
 * `at_ms`: serve as of this instant (epoch ms) instead of now. Replays, offline comparisons and tests use it to pin
 * the time-dependent features (hour of day, item age).
 */
export const servingInstant = z
  .number()
  .int()
  .min(Date.UTC(2000, 0, 1))
  .refine((ms) => ms <= Date.now() + 86_400_000, { error: "must not be more than 1 day in the future" });
