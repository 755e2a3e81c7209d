import assert from "node:assert/strict";
import { join } from "node:path";
import {
  compilePatterns,
  redactSecrets,
  redactSecretsThoroughly,
} from "../../src/history/secrets.ts";
import { importHistoryFile } from "../../src/history/import_file.ts";
import { Vault } from "../../src/vault/vault.ts";
import { findEvents } from "../../src/vault/events.ts";

const R = "(redacted)";

/** Real-looking examples of every kind the filter knows: [typed, recorded]. */
const CASES: [string, string][] = [
  [
    "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
    `aws configure set aws_access_key_id ${R}`,
  ],
  [
    "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    `export AWS_SECRET_ACCESS_KEY=${R}`,
  ],
  ["AWS_SESSION_TOKEN='FwoGZXIvYXdzEBY' aws s3 ls", `AWS_SESSION_TOKEN=${R} aws s3 ls`],
  [
    "gh auth login --with-token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    `gh auth login --with-token ${R}`,
  ],
  [
    "export GITHUB_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
    `export GITHUB_TOKEN=${R}`,
  ],
  [
    "git clone https://oauth2:glpat-Abc123DEF456ghi789JKL@gitlab.com/me/r.git",
    `git clone https://oauth2:${R}@gitlab.com/me/r.git`,
  ],
  [
    "curl -X POST https://api.example/x -d token=xoxb-2048-4096-AbCdEfGhIjKlMnOpQrSt",
    `curl -X POST https://api.example/x -d token=${R}`,
  ],
  [
    "curl -X POST -d 'x' https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX",
    `curl -X POST -d 'x' https://hooks.slack.com/services/${R}`,
  ],
  ["stripe listen --api-key sk_live_51HxyzAbCdEfGhIjKlMnOpQr", `stripe listen --api-key ${R}`],
  [
    "gcloud ml vision detect-text x.png --key=AIzaSyD-1234567890abcdefghijklmnopqrstu",
    `gcloud ml vision detect-text x.png --key=${R}`,
  ],
  [
    "psql postgres://app:hunter2@db.internal:5432/app",
    `psql postgres://app:${R}@db.internal:5432/app`,
  ],
  [
    "git clone https://alice:s3cr3t@git.example.com/repo.git",
    `git clone https://alice:${R}@git.example.com/repo.git`,
  ],
  [
    'curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc" https://api.example',
    `curl -H "Authorization: Bearer ${R}" https://api.example`,
  ],
  ["DB_PASSWORD=hunter2 ./run.sh", `DB_PASSWORD=${R} ./run.sh`],
  ['export OPENAI_API_KEY="sk-abc123"', `export OPENAI_API_KEY=${R}`],
  ["MY_CLIENT_SECRET='x y z' make deploy", `MY_CLIENT_SECRET=${R} make deploy`],
  ["mysql -u root --password=hunter2 app", `mysql -u root --password=${R} app`],
  [
    "docker login --password hunter2 registry.example",
    `docker login --password ${R} registry.example`,
  ],
  ["vault login --token s.AbCdEf123", `vault login --token ${R}`],
  ["borg init --passphrase 'correct horse'", `borg init --passphrase ${R}`],
  ["ldapsearch --passwd=s3cret -x", `ldapsearch --passwd=${R} -x`],
  [
    "echo '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----' > k",
    `echo '${R}' > k`,
  ],
  [
    `hx sync join --key hxk1_${"0".repeat(32)}_${"1".repeat(64)}_${"2".repeat(8)}`,
    `hx sync join --key hxk1_${R}`,
  ],
];

const HARMLESS = [
  "ls -la",
  'git commit -m "fix token parsing"',
  "export PATH=/usr/local/bin:$PATH",
  "echo $GITHUB_TOKEN",
  "kubectl get secrets -n prod",
  "ssh git@github.com",
  "curl http://localhost:8080/health",
];

Deno.test("redactSecrets() redacts every kind of secret it knows, keeping the command readable", () => {
  for (const [typed, recorded] of CASES) assert.equal(redactSecrets(typed), recorded, typed);
});

Deno.test("redactSecrets() leaves commands without secrets as they are", () => {
  for (const cmd of HARMLESS) assert.equal(redactSecrets(cmd), cmd);
});

Deno.test("the quick checks before each rule never let a secret through: every case, spelt any way", () => {
  const variants = (t: string) => [
    t,
    t.toUpperCase(),
    t.toLowerCase(),
    t.replace(/[a-z]/g, (c, i: number) => (i % 2 === 0 ? c.toUpperCase() : c)),
    `cd /tmp && ${t} | tee out`,
  ];
  let checked = 0;
  for (const text of [...CASES.map(([t]) => t), ...HARMLESS]) {
    for (const v of variants(text)) {
      assert.equal(redactSecrets(v), redactSecretsThoroughly(v), v);
      checked++;
    }
  }
  assert.ok(checked > 100);
});

Deno.test("users' patterns redact what the built-in rules do not know", () => {
  const mine = compilePatterns(["corp-[0-9a-f]{16}"]);
  assert.equal(
    redactSecrets("deploy --id corp-0123456789abcdef now", mine),
    `deploy --id ${R} now`,
  );
  assert.throws(() => compilePatterns(["("]), /Cannot use the secret pattern "\("/);
});

Deno.test("secrets in an imported history file are redacted before they are stored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, ".zsh_history");
    await Deno.writeTextFile(
      file,
      CASES.slice(0, 5).map(([typed], i) => `: ${1700000000 + i}:0;${typed}`).join("\n") + "\n",
    );
    const vault = Vault.open(join(dir, "hx.db"));
    await importHistoryFile(vault, file);
    const stored = findEvents(vault.db, { oldestFirst: true }).map((e) => e.cmd);
    vault.close();
    assert.deepEqual(stored, CASES.slice(0, 5).map(([, recorded]) => recorded));
    const bytes = new TextDecoder("latin1").decode(await Deno.readFile(join(dir, "hx.db")));
    assert.ok(!bytes.includes("AKIAIOSFODNN7EXAMPLE") && !bytes.includes("wJalrXUtnFEMI"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
