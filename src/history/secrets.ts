/**
 * The secret filter: secrets typed into commands are redacted before a command is recorded
 * or imported, so they never reach the index, the store or another device. What stays is
 * the command with `(redacted)` where the secret was: still recognisable, no longer a secret.
 *
 * Built in: AWS access key ids, GitHub, GitLab, Slack, Stripe and Google API tokens,
 * `NAME=value` assignments whose name says token, secret, password, key or credential,
 * `--password`/`--token`/… flags, `Authorization:` headers, credentials in URLs
 * (`scheme://user:pass@`), private key blocks, and hx's own key export strings. Users add
 * their own patterns (regular expressions; the whole match is redacted).
 *
 * @module
 */

/** The replacement of a redacted secret. */
export const REDACTED = "(redacted)";

interface Rule {
  /** What the rule finds, for tests and docs. */
  name: string;
  re: RegExp;
  /** The replacement (may keep groups, e.g. the name of an assignment). */
  replace: string;
  /**
   * Texts one of which every match contains (in lower case when `fold`): a command with none
   * of them is not run through the expression. Most commands hold no secret; this makes
   * redaction a few string searches for them.
   */
  any: readonly string[];
  /** A text every match also contains. */
  also?: string;
  /** Whether `any` is searched in the command in lower case. */
  fold?: boolean;
}

const SECRET_NAME =
  "(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)";

const RULES: readonly Rule[] = [
  {
    name: "private key block",
    re: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    replace: REDACTED,
    any: ["PRIVATE KEY-----"],
  },
  {
    name: "hx key export",
    re: /hxk1_[0-9a-f]{32}_[0-9a-f]{64}_[0-9a-f]{8}/g,
    replace: `hxk1_${REDACTED}`,
    any: ["hxk1_"],
  },
  {
    name: "AWS access key id",
    re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b/g,
    replace: REDACTED,
    any: ["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA"],
  },
  {
    name: "GitHub token",
    re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
    replace: REDACTED,
    any: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
  },
  { name: "GitLab token", re: /\bglpat-[A-Za-z0-9_-]{20,}/g, replace: REDACTED, any: ["glpat-"] },
  { name: "Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, replace: REDACTED, any: ["xox"] },
  {
    name: "Slack webhook",
    re: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/g,
    replace: `https://hooks.slack.com/services/${REDACTED}`,
    any: ["https://hooks.slack.com/services/"],
  },
  {
    name: "Stripe key",
    re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g,
    replace: REDACTED,
    any: ["_live_", "_test_"],
  },
  { name: "Google API key", re: /\bAIza[0-9A-Za-z_-]{35}/g, replace: REDACTED, any: ["AIza"] },
  {
    name: "credentials in a URL",
    re: /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@'"]*):([^\s@/'"]+)@/g,
    replace: `$1:${REDACTED}@`,
    any: ["@"],
    also: "://",
  },
  {
    name: "Authorization header",
    re:
      /((?:authorization|proxy-authorization|x-api-key|api-key|private-token)\s*:\s*(?:(?:bearer|basic|token|digest)\s+)?)("[^"]*"|'[^']*'|[^\s'"]+)/gi,
    replace: `$1${REDACTED}`,
    any: ["authorization", "api-key", "private-token"],
    fold: true,
  },
  {
    name: "secret assignment",
    re: new RegExp(
      `\\b([A-Za-z_][A-Za-z0-9_]*${SECRET_NAME}[A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\\s;&|'"]+)`,
      "gi",
    ),
    replace: `$1=${REDACTED}`,
    any: [
      "secret",
      "token",
      "pass",
      "apikey",
      "api_key",
      "accesskey",
      "access_key",
      "privatekey",
      "private_key",
      "credential",
      "auth",
    ],
    also: "=",
    fold: true,
  },
  {
    name: "secret flag",
    re:
      /(--(?:password|passwd|pass|passphrase|token|secret|api-key|apikey|access-key|secret-key|auth-token|client-secret)(?:=|\s+))("[^"]*"|'[^']*'|[^\s'"]+)/gi,
    replace: `$1${REDACTED}`,
    any: ["pass", "token", "secret", "api-key", "apikey", "access-key"],
    also: "--",
    fold: true,
  },
];

/** The names of the built-in rules, in the order they apply. */
export const SECRET_RULES: readonly string[] = RULES.map((r) => r.name);

/**
 * Compiles users' patterns (regular expressions, as written in the config file).
 *
 * @param patterns The patterns.
 * @returns Global regular expressions.
 * @throws {SyntaxError} Naming the pattern that does not compile.
 */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(p, "g");
    } catch (err) {
      throw new SyntaxError(
        `Cannot use the secret pattern ${JSON.stringify(p)}: ${(err as Error).message}`,
      );
    }
  });
}

/**
 * Redacts secrets in a command.
 *
 * @param cmd The command as typed.
 * @param extra Users' patterns, from {@linkcode compilePatterns}.
 * @returns The command with every secret replaced by `(redacted)`.
 *
 * @example
 * ```ts
 * import { redactSecrets } from "./secrets.ts";
 * console.assert(redactSecrets("export GITHUB_TOKEN=abc123") === "export GITHUB_TOKEN=(redacted)");
 * console.assert(redactSecrets("git clone https://me:hunter2@example.com/r.git") ===
 *   "git clone https://me:(redacted)@example.com/r.git");
 * ```
 */
export function redactSecrets(cmd: string, extra: readonly RegExp[] = []): string {
  let out = cmd;
  let lower: string | undefined;
  for (const rule of RULES) {
    if (rule.also !== undefined && !out.includes(rule.also)) continue;
    const hay = rule.fold ? (lower ??= out.toLowerCase()) : out;
    if (!rule.any.some((n) => hay.includes(n))) continue;
    rule.re.lastIndex = 0;
    const next = out.replace(rule.re, rule.replace);
    if (next !== out) lower = undefined;
    out = next;
  }
  for (const re of extra) {
    re.lastIndex = 0;
    out = out.replace(re, REDACTED);
  }
  return out;
}

/**
 * {@linkcode redactSecrets} without the quick checks: every expression runs on every command.
 * The reference the quick checks are tested against.
 *
 * @param cmd The command as typed.
 * @returns The command with every secret replaced by `(redacted)`.
 */
export function redactSecretsThoroughly(cmd: string): string {
  let out = cmd;
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    out = out.replace(rule.re, rule.replace);
  }
  return out;
}
