// orval 7.13.x configuration (scripts/clients.sh): the committed openapi.json into
// .tmp/clients/orval with the fetch client, one file per model, and typed request headers
// (`headers: true`). CommonJS: orval 7.13 reads an ES module's default export as a project.
const path = require("node:path");

const root = path.resolve(__dirname, "../..");

module.exports = {
  taskapi: {
    input: { target: path.join(root, "openapi.json") },
    output: {
      target: path.join(root, ".tmp/clients/orval/taskapi.ts"),
      schemas: path.join(root, ".tmp/clients/orval/model"),
      mode: "split",
      client: "fetch",
      headers: true,
      clean: true,
    },
  },
};
