// Compiles with `tsc --strict` against the types openapi-typescript generates from
// openapi.json: proof that the document is usable by a typed client.
import type { components, paths } from "../../.tmp/client/openapi";

type Task = components["schemas"]["Task"];
type Problem = components["schemas"]["Problem"];
type CreateTask = paths["/v1/projects/{id}/tasks"]["post"]["requestBody"]["content"]["application/json"];
type TaskPage = paths["/v1/projects/{id}/tasks"]["get"]["responses"][200]["content"]["application/json"];
type Tokens = paths["/v1/auth/login"]["post"]["responses"][200]["content"]["application/json"];

const create: CreateTask = { title: "Write the launch post", priority: "high", labels: ["launch"], due_date: "2026-12-01" };

export function firstTitle(page: TaskPage): string | undefined {
  const first: Task | undefined = page.data[0];
  return first?.title;
}

export function describe(problem: Problem): string {
  const fields = (problem.errors ?? []).map((e) => `${e.field}: ${e.code}`).join(", ");
  return `${problem.status} ${problem.title} (${problem.request_id})${fields ? `: ${fields}` : ""}`;
}

export function bearer(tokens: Tokens): string {
  return `${tokens.token_type} ${tokens.access_token}`;
}

export const example = create;
