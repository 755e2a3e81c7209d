import { runStoreConformance } from "../../testing/mod.ts";
import { serverKinds, startServer, storeFor } from "./servers.ts";

for (const kind of serverKinds()) {
  Deno.test({
    name: `S3Store passes the store conformance suite on ${kind}`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const server = await startServer(kind);
      try {
        await runStoreConformance(t, { open: () => storeFor(server) });
      } finally {
        await server.stop();
      }
    },
  });
}
