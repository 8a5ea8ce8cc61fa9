// A property the server always sends, even as `null`, must be `required`; a property it
// omits when absent must not be nullable. In a response schema, a nullable property that is
// not required says both at once, and generators then type it `T | null | undefined`.
// Walks one component schema (properties, items, allOf/oneOf/anyOf), unresolved.
export default function nullableRequired(schema, _options, context) {
  const results = [];
  const walk = (node, path) => {
    if (node === null || typeof node !== "object" || "$ref" in node) return;
    const required = new Set(Array.isArray(node.required) ? node.required : []);
    for (const [name, prop] of Object.entries(node.properties ?? {})) {
      const types = Array.isArray(prop?.type) ? prop.type : [prop?.type];
      if (types.includes("null") && !required.has(name)) {
        results.push({
          message: `\`${name}\` is nullable but not required: list it in \`required\` if the server always sends it, or drop "null" from its type if the server omits it`,
          path: [...path, "properties", name],
        });
      }
      walk(prop, [...path, "properties", name]);
    }
    if (node.items) walk(node.items, [...path, "items"]);
    for (const key of ["allOf", "oneOf", "anyOf"]) {
      (node[key] ?? []).forEach((sub, i) => walk(sub, [...path, key, i]));
    }
  };
  walk(schema, context.path);
  return results;
}
