import { runStoreConformance } from "../../testing/mod.ts";
import { s3Test, storeFor } from "./servers.ts";

s3Test("S3Store passes the store conformance suite", async (server, t) => {
  await runStoreConformance(t, { open: () => storeFor(server) });
});
