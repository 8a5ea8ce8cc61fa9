// @hey-api/openapi-ts 0.95.x configuration (scripts/clients.sh): the committed openapi.json
// into .tmp/clients/hey-api, with the Fetch client, the types and the SDK functions.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** @type {import('@hey-api/openapi-ts').UserConfig} */
export default {
  input: `${root}openapi.json`,
  output: { path: `${root}.tmp/clients/hey-api` },
  logs: { path: `${root}.tmp/clients/logs`, level: "info" },
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", "@hey-api/sdk"],
};
