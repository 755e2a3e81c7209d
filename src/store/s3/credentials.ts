/**
 * Where S3 credentials and the region come from, in order: the URI, the `AWS_*`
 * environment variables, then a profile of `~/.aws/credentials` and `~/.aws/config`
 * (`AWS_PROFILE`, or `profile=` in the URI, which wins over the environment).
 *
 * @module
 */

import { join } from "node:path";
import { StoreError } from "../errors.ts";
import type { StoreEnvironment } from "../types.ts";
import type { S3Config, S3Credentials } from "./config.ts";

/** Parses an INI file into sections of key/value pairs. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current === null || eq < 0) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

async function readIni(path: string | undefined): Promise<Map<string, Map<string, string>>> {
  if (path === undefined) return new Map();
  try {
    return parseIni(await Deno.readTextFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      return new Map();
    }
    throw err;
  }
}

/** What signing needs. */
export interface ResolvedS3Auth {
  credentials: S3Credentials;
  region: string;
}

/**
 * Resolves credentials and region for an S3 config.
 *
 * @param config The parsed URI.
 * @param env Environment and home directory.
 * @returns Credentials and region.
 * @throws {StoreError} `auth` when no credentials can be found.
 */
export async function resolveS3Auth(
  config: S3Config,
  env: StoreEnvironment,
): Promise<ResolvedS3Auth> {
  const get = env.getEnv ?? ((name: string) => Deno.env.get(name));
  const home = env.home ?? get("HOME") ?? get("USERPROFILE");
  const profileName = config.profile ?? get("AWS_PROFILE") ?? "default";
  const credentialsFile = get("AWS_SHARED_CREDENTIALS_FILE") ??
    (home === undefined ? undefined : join(home, ".aws", "credentials"));
  const configFile = get("AWS_CONFIG_FILE") ??
    (home === undefined ? undefined : join(home, ".aws", "config"));
  const [creds, conf] = await Promise.all([readIni(credentialsFile), readIni(configFile)]);
  const profile = new Map([
    ...(conf.get(profileName === "default" ? "default" : `profile ${profileName}`) ?? []),
    ...(creds.get(profileName) ?? []),
  ]);

  let credentials: S3Credentials | null = config.credentials;
  const envKey = get("AWS_ACCESS_KEY_ID");
  const envSecret = get("AWS_SECRET_ACCESS_KEY");
  if (credentials === null && config.profile === null && envKey && envSecret) {
    const token = get("AWS_SESSION_TOKEN");
    credentials = {
      accessKeyId: envKey,
      secretAccessKey: envSecret,
      ...(token ? { sessionToken: token } : {}),
    };
  }
  if (credentials === null) {
    const key = profile.get("aws_access_key_id");
    const secret = profile.get("aws_secret_access_key");
    if (key && secret) {
      const token = profile.get("aws_session_token");
      credentials = {
        accessKeyId: key,
        secretAccessKey: secret,
        ...(token ? { sessionToken: token } : {}),
      };
    }
  }
  if (credentials === null) {
    throw new StoreError(
      "auth",
      `Cannot open s3://${config.bucket}: no credentials found (profile "${profileName}")`,
      {
        hint:
          "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the profile to ~/.aws/credentials",
      },
    );
  }
  const isR2 = config.endpoint !== null &&
    /\.r2\.cloudflarestorage\.com$/.test(new URL(config.endpoint).hostname);
  const region = config.region ?? get("AWS_REGION") ?? get("AWS_DEFAULT_REGION") ??
    profile.get("region") ??
    (isR2 ? "auto" : "us-east-1");
  return { credentials, region };
}
