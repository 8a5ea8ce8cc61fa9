// Compiled with `tsc --strict` against the package's generated definitions (the web
// build): the request types and verdicts are usable as a client would use them.
import init, {
  validateCreateTask,
  validateUpdateTask,
  statusTransition,
  nextStatuses,
  type CreateTaskRequest,
  type UpdateTaskRequest,
  type Verdict,
  type TaskStatus,
  type Transition,
} from "../../packages/validate/pkg/web/taskapi_validate.js";

export async function beforeSending(body: CreateTaskRequest): Promise<string[]> {
  await init();
  const verdict: Verdict = validateCreateTask(body);
  if (verdict.valid) return [];
  const status: 400 | 413 | 422 = verdict.status;
  return verdict.errors.map((e) => `${status} ${e.field}: ${e.code} (${e.message})`);
}

export function patch(from: TaskStatus, body: UpdateTaskRequest): Transition | Verdict {
  const v = validateUpdateTask(body);
  if (!v.valid || !body.status) return v;
  const next: TaskStatus[] = nextStatuses(from);
  return next.includes(body.status) ? statusTransition(from, body.status) : "forbidden";
}

// @ts-expect-error: an unknown priority is not a CreateTaskRequest.
export const bad: CreateTaskRequest = { title: "x", priority: "whenever" };
