// Deterministic benchmark data: shell history that looks like a developer's.

/** mulberry32: a small seeded PRNG. */
import { prng } from "../tests/_prng.ts";

export { prng };

const VERBS = [
  "git status",
  "git log --oneline -n 20",
  "git commit -m",
  "git push origin",
  "git checkout -b",
  "docker compose up -d",
  "docker ps -a",
  "kubectl get pods -n",
  "kubectl logs -f",
  "make test",
  "make build",
  "cargo test --release",
  "npm run dev",
  "deno task test",
  "python3 -m pytest -k",
  "ssh deploy@",
  "cd ~/src/",
  "ls -la",
  "grep -rn",
  "rg --hidden",
  "vim",
  "terraform plan -var-file=",
  "aws s3 ls s3://",
  "curl -sS https://api.example.com/v1/",
  "psql -h localhost -c 'select count(*) from",
];
const WORDS = [
  "main",
  "feature",
  "api",
  "web",
  "worker",
  "billing",
  "auth",
  "search",
  "staging",
  "prod",
  "users",
  "orders",
  "invoices",
  "payments",
  "cache",
  "queue",
  "metrics",
  "logs",
  "config",
  "fix",
];

/** One plausible command. */
export function command(rand: () => number): string {
  const verb = VERBS[Math.floor(rand() * VERBS.length)]!;
  const n = Math.floor(rand() * 3);
  const args: string[] = [];
  for (let i = 0; i < n; i++) args.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  if (rand() < 0.3) args.push(String(Math.floor(rand() * 100000)));
  return args.length === 0 ? verb : `${verb} ${args.join("-")}`;
}

/**
 * A zsh extended history file of `n` commands, one every ~30 s ending now-ish.
 *
 * @param n Commands.
 * @param seed PRNG seed (different seeds give different histories).
 * @param end Epoch seconds of the last command.
 */
export function zshHistory(n: number, seed: number, end = 1_790_000_000): string {
  const rand = prng(seed);
  const lines: string[] = new Array(n);
  let t = end - n * 30;
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(rand() * 59);
    lines[i] = `: ${t}:${Math.floor(rand() * 5)};${command(rand)}`;
  }
  return lines.join("\n") + "\n";
}
