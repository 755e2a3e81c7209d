import assert from "node:assert/strict";
import { join } from "node:path";
import { formatS3Config, parseS3Uri, redactS3Uri } from "../../src/store/s3/config.ts";
import { resolveS3Auth } from "../../src/store/s3/credentials.ts";
import { parseStoreUri, redactStoreUri } from "../../src/store/uri.ts";
import type { HxError } from "../../src/errors.ts";

Deno.test("parseS3Uri() maps URIs to typed configs", () => {
  const table: [string, Partial<ReturnType<typeof parseS3Uri>>][] = [
    ["s3://my-bucket/hx", {
      bucket: "my-bucket",
      prefix: "hx/",
      endpoint: null,
      region: null,
      pathStyle: null,
    }],
    ["s3://my-bucket", { bucket: "my-bucket", prefix: "" }],
    ["s3://my-bucket/a/b/", { prefix: "a/b/" }],
    ["s3://b1k/hx?region=eu-west-1", { region: "eu-west-1" }],
    [
      "s3://b1k/hx?endpoint=http://127.0.0.1:9000&path_style=true",
      { endpoint: "http://127.0.0.1:9000", pathStyle: true },
    ],
    ["s3://b1k/hx?endpoint=https://acct.r2.cloudflarestorage.com", {
      endpoint: "https://acct.r2.cloudflarestorage.com",
    }],
    ["s3+http://127.0.0.1:9000/bkt/pre", {
      bucket: "bkt",
      prefix: "pre/",
      endpoint: "http://127.0.0.1:9000",
      pathStyle: true,
    }],
    ["s3+https://s3.example.com/bkt", {
      bucket: "bkt",
      prefix: "",
      endpoint: "https://s3.example.com",
    }],
    ["s3://b1k/hx?profile=work", { profile: "work" }],
    ["s3://AKIA:sec%2Fret@b1k/hx", {
      credentials: { accessKeyId: "AKIA", secretAccessKey: "sec/ret" },
    }],
    ["s3://b1k/hx?conditional_put=false", { conditionalPut: "off" }],
    ["s3://b1k/hx?part_size_mib=16&concurrency=4", { partSize: 16 * 1024 * 1024, concurrency: 4 }],
    ["s3://b1k/with%20space", { prefix: "with space/" }],
  ];
  for (const [uri, want] of table) {
    const got = parseS3Uri(uri);
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(got[k as keyof typeof got], v, `${uri}: ${k}`);
    }
  }
});

Deno.test("parseS3Uri() rejects malformed URIs with invalid_input and never echoes secrets", () => {
  const table: [string, RegExp][] = [
    ["s3://", /bucket name is missing/],
    ["s3://x/", /not a valid bucket name/],
    ["s3://b1k/a/../b", /'\.\.'/],
    ["s3://b1k/hx?regoin=eu", /unknown parameter "regoin"/],
    ["s3://b1k/hx?endpoint=ftp://x", /endpoint must be http/],
    ["s3://b1k/hx?path_style=yes", /path_style must be true or false/],
    ["s3://AKIA:@b1k/hx", /need both parts/],
    ["s3://AKIA:topsecret@b1k/hx?bogus=1", /unknown parameter/],
  ];
  for (const [uri, message] of table) {
    assert.throws(() => parseS3Uri(uri), (e: HxError) => {
      assert.equal(e.category, "invalid_input");
      assert.match(e.message, message);
      assert.ok(!e.message.includes("topsecret"), e.message);
      return true;
    }, uri);
  }
});

Deno.test("S3 URIs are printed without credentials, parsed or not", () => {
  assert.equal(
    redactStoreUri("s3://AKIA:topsecret@bkt/hx?endpoint=http://h:9000"),
    "s3://***@bkt/hx/?endpoint=http://h:9000",
  );
  assert.equal(redactS3Uri("s3://AKIA:topsecret@bkt/hx?bogus"), "s3://***@bkt/hx?bogus");
  assert.ok(!redactStoreUri("s3://AKIA:topsecret@/broken").includes("topsecret"));
  assert.equal(
    formatS3Config(parseS3Uri("s3://bkt/hx?region=eu-west-1")),
    "s3://bkt/hx/?region=eu-west-1",
  );
  assert.equal(
    parseStoreUri("s3+http://127.0.0.1:9000/bkt/p").redacted,
    "s3://bkt/p/?endpoint=http://127.0.0.1:9000&path_style=true",
  );
});

Deno.test("credentials come from the URI, then AWS_* variables, then the profile; region likewise", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(home, ".aws"));
    await Deno.writeTextFile(
      join(home, ".aws", "credentials"),
      "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n\n[work]\naws_access_key_id=WORKKEY\naws_secret_access_key=worksecret\naws_session_token=worktoken\n",
    );
    await Deno.writeTextFile(
      join(home, ".aws", "config"),
      "[default]\nregion = eu-central-1\n\n[profile work]\nregion=ap-south-1\n",
    );
    const env = (vars: Record<string, string>) => ({ getEnv: (n: string) => vars[n], home });
    const envKeys = { AWS_ACCESS_KEY_ID: "ENVKEY", AWS_SECRET_ACCESS_KEY: "envsecret" };

    let auth = await resolveS3Auth(parseS3Uri("s3://bkt/hx"), env({}));
    assert.deepEqual(auth, {
      credentials: { accessKeyId: "DEFKEY", secretAccessKey: "defsecret" },
      region: "eu-central-1",
    });

    auth = await resolveS3Auth(
      parseS3Uri("s3://bkt/hx"),
      env({ ...envKeys, AWS_REGION: "us-west-2" }),
    );
    assert.deepEqual(auth, {
      credentials: { accessKeyId: "ENVKEY", secretAccessKey: "envsecret" },
      region: "us-west-2",
    });

    auth = await resolveS3Auth(parseS3Uri("s3://bkt/hx"), env({ AWS_PROFILE: "work" }));
    assert.deepEqual(auth.credentials, {
      accessKeyId: "WORKKEY",
      secretAccessKey: "worksecret",
      sessionToken: "worktoken",
    });
    assert.equal(auth.region, "ap-south-1");

    // an explicit profile in the URI wins over environment keys
    auth = await resolveS3Auth(parseS3Uri("s3://bkt/hx?profile=work"), env(envKeys));
    assert.equal(auth.credentials.accessKeyId, "WORKKEY");

    auth = await resolveS3Auth(parseS3Uri("s3://U:P@bkt/hx?region=auto"), env(envKeys));
    assert.deepEqual(auth, {
      credentials: { accessKeyId: "U", secretAccessKey: "P" },
      region: "auto",
    });

    auth = await resolveS3Auth(
      parseS3Uri("s3://bkt/hx?endpoint=https://x.r2.cloudflarestorage.com"),
      {
        getEnv: (n: string) => (envKeys as Record<string, string>)[n],
        home: "/nonexistent",
      },
    );
    assert.equal(auth.region, "auto");

    await assert.rejects(
      resolveS3Auth(parseS3Uri("s3://bkt/hx?profile=missing"), env({})),
      (e: HxError) =>
        e.category === "auth" && /no credentials found \(profile "missing"\)/.test(e.message),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
