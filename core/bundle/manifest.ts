import { z } from "zod";
import { BundleError } from "./errors";

/** The one bundle format this code reads and writes; a new incompatible layout gets a new suffix. */
export const BUNDLE_FORMAT = "explore-edge-ranker/bundle@1";

/**
 * Versions become part of KV keys (`bundle/<version>/…`) and of log lines, so they stay short and plain:
 * letters, digits, `.`, `_`, `-`, starting with a letter or digit.
 */
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A file's path inside the bundle directory: relative, `/`-separated, no `.`/`..` segments, no empty segments,
 * and no `#` (the KV layout uses `#<i>` to name chunks) and no backslash (it would mean different files on Windows).
 */
export function relativePathProblem(path: string): string | undefined {
  if (path.length === 0) return "is empty";
  if (path.length > 300) return "is longer than 300 characters";
  if (path.startsWith("/")) return "is absolute (starts with /)";
  if (path.includes("\\")) return "contains a backslash";
  if (path.includes("#")) return "contains # (reserved for chunk keys)";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  const segments = path.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) return "has an empty, . or .. segment";
  return undefined;
}

export function versionProblem(version: string): string | undefined {
  return VERSION_PATTERN.test(version) ? undefined : "must be 1–128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit";
}

export const bundleFileEntrySchema = z.object({
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
});
export type BundleFileEntry = z.infer<typeof bundleFileEntrySchema>;

const versionSchema = z.string().superRefine((value, context) => {
  const problem = versionProblem(value);
  if (problem) context.addIssue({ code: "custom", message: problem });
});

const filesSchema = z.record(z.string(), bundleFileEntrySchema).superRefine((files, context) => {
  for (const path of Object.keys(files)) {
    const problem = relativePathProblem(path);
    if (problem) context.addIssue({ code: "custom", path: [path], message: `file path ${JSON.stringify(path)} ${problem}` });
  }
});

/**
 * The required part of `manifest.json`. Everything else the pipeline writes (feature spec, metrics, model
 * descriptions, serving config) passes through untouched: this layer moves bytes, it does not interpret them.
 */
export const bundleManifestSchema = z.looseObject({
  format: z.literal(BUNDLE_FORMAT),
  version: versionSchema,
  created_at: z.iso.datetime({ offset: true }),
  files: filesSchema,
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** Parses and validates a manifest; every problem is reported with its JSON path. */
export function parseManifest(value: unknown, source = "manifest.json"): BundleManifest {
  const parsed = bundleManifestSchema.safeParse(value);
  if (!parsed.success) throw new BundleError(`${source} is not a valid bundle manifest`, formatIssues(parsed.error.issues));
  return parsed.data;
}

/** Parses manifest text (JSON) and validates it. */
export function parseManifestText(text: string, source = "manifest.json"): BundleManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BundleError(`${source} is not valid JSON`, [(error as Error).message]);
  }
  return parseManifest(value, source);
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)"}: ${issue.message}`);
}

/** SHA-256 of `bytes` as lowercase hex, through WebCrypto (the same in Node 20 and workerd). */
export async function hashBytes(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** The manifest's `files` section for these file contents (sizes and hashes), keys in sorted order. */
export async function buildManifestFiles(
  files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>,
): Promise<Record<string, BundleFileEntry>> {
  const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
  entries.sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
  const result: Record<string, BundleFileEntry> = {};
  for (const [path, bytes] of entries) {
    const problem = relativePathProblem(path);
    if (problem) throw new BundleError(`cannot list file ${JSON.stringify(path)} in a manifest`, [`the path ${problem}`]);
    result[path] = { bytes: bytes.byteLength, sha256: await hashBytes(bytes) };
  }
  return result;
}

/**
 * Checks that `files` holds exactly the bytes the manifest promises: every listed file present, with its size and
 * hash. Returns every problem found (empty when the bundle is intact); files present but not listed are reported
 * separately because they are harmless to a reader but usually mean a stale directory.
 */
export async function verifyBundleFiles(
  manifest: BundleManifest,
  files: ReadonlyMap<string, Uint8Array>,
): Promise<{ problems: string[]; unlisted: string[] }> {
  const problems: string[] = [];
  for (const [path, entry] of Object.entries(manifest.files)) {
    const bytes = files.get(path);
    if (bytes === undefined) {
      problems.push(`${path}: missing`);
      continue;
    }
    if (bytes.byteLength !== entry.bytes) {
      problems.push(`${path}: ${bytes.byteLength} bytes, the manifest says ${entry.bytes}`);
      continue;
    }
    const sha256 = await hashBytes(bytes);
    if (sha256 !== entry.sha256) problems.push(`${path}: sha256 ${sha256} does not match the manifest's ${entry.sha256}`);
  }
  const unlisted = [...files.keys()].filter((path) => !Object.hasOwn(manifest.files, path)).sort();
  return { problems, unlisted };
}
