// Private helper of the sync commands that take a store: --store and the S3 flags.

import { withS3Params } from "../../store/s3/config.ts";
import { UsageError } from "../command.ts";

/** The options of commands that name a store. */
export const STORE_OPTIONS = {
  store: { type: "string" },
  endpoint: { type: "string" },
  region: { type: "string" },
  "path-style": { type: "boolean" },
} as const;

/** The store URI, with `--endpoint`, `--region` and `--path-style` folded in. */
export function storeUri(v: {
  store?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  "path-style"?: boolean | undefined;
}): string {
  if (v.store === undefined || v.store === "") throw new UsageError("--store URI is required");
  return withS3Params(v.store, {
    endpoint: v.endpoint,
    region: v.region,
    pathStyle: v["path-style"],
  });
}
