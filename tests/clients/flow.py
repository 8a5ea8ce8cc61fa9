"""One user's flow through the API with the client openapi-python-client generates.

Written the way a developer would write it from the document: the shared `Priority` and
`Status` enums in requests, list items treated as `Task`, sort values by their wire
value. `mypy --strict` checks it against the generated package; run it with BASE_URL set.
Prints one line per step and ends with `flow[HOST]: N passed, N failed`.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from datetime import date

from taskapi_client import AuthenticatedClient, Client
from taskapi_client.api.auth import login, register
from taskapi_client.api.projects import create_project
from taskapi_client.api.tasks import create_task, get_task, list_tasks, update_task
from taskapi_client.models import (
    CreateProjectRequest,
    CreateTaskRequest,
    ListTasksSort,
    LoginRequest,
    Priority,
    Problem,
    Project,
    RegisterRequest,
    RegisterResponse,
    Status,
    Task,
    TokenResponse,
    UpdateTaskRequest,
)

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8787")
HOST = os.environ.get("FLOW_HOST", BASE_URL)
PASSWORD = "flow-check password 1"
DUE = date(2026, 12, 1)

passed = 0
failed = 0


def step(name: str, check: Callable[[], str]) -> None:
    """Runs one step; a failed assertion or an exception fails it, and the flow goes on."""
    global passed, failed
    try:
        detail = check()
    except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
        failed += 1
        print(f"  FAIL {name}: {type(e).__name__}: {e}")
    else:
        passed += 1
        print(f"  ok   {name}{': ' + detail if detail else ''}")


def tasks_with_id(tasks: list[Task], task_id: str) -> list[Task]:
    return [t for t in tasks if t.id == task_id]


def main() -> int:
    anonymous = Client(base_url=BASE_URL, raise_on_unexpected_status=True)
    email = f"flow.{secrets.token_hex(6)}@example.test"
    state: dict[str, str] = {}

    def do_register() -> str:
        resp = register.sync_detailed(
            client=anonymous, body=RegisterRequest(email=email, password=PASSWORD, name="Flow")
        )
        assert resp.status_code == 201, f"status {resp.status_code}: {resp.content[:300]!r}"
        assert isinstance(resp.parsed, RegisterResponse), f"parsed as {type(resp.parsed).__name__}"
        assert resp.parsed.user.email == email
        return f"user {resp.parsed.user.id}"

    def do_login() -> str:
        resp = login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=PASSWORD))
        assert resp.status_code == 200, f"status {resp.status_code}: {resp.content[:300]!r}"
        assert isinstance(resp.parsed, TokenResponse), f"parsed as {type(resp.parsed).__name__}"
        state["token"] = resp.parsed.access_token
        return f"token_type {resp.parsed.token_type}, expires_in {resp.parsed.expires_in}"

    def authed() -> AuthenticatedClient:
        return AuthenticatedClient(base_url=BASE_URL, token=state["token"], raise_on_unexpected_status=True)

    def do_create_project() -> str:
        resp = create_project.sync_detailed(
            client=authed(),
            body=CreateProjectRequest(name="Client flow", description="generated client check"),
            idempotency_key=secrets.token_hex(8),
        )
        assert resp.status_code == 201, f"status {resp.status_code}: {resp.content[:300]!r}"
        assert isinstance(resp.parsed, Project), f"parsed as {type(resp.parsed).__name__}"
        state["project"] = resp.parsed.id
        return f"project {resp.parsed.id}, role {resp.parsed.role}"

    def do_create_task() -> str:
        resp = create_task.sync_detailed(
            state["project"],
            client=authed(),
            body=CreateTaskRequest(
                title="Write the launch post",
                priority=Priority.HIGH,
                status=Status.TODO,
                due_date=DUE,
                labels=["launch"],
            ),
        )
        assert resp.status_code == 201, f"status {resp.status_code}: {resp.content[:300]!r}"
        task = resp.parsed
        assert isinstance(task, Task), f"parsed as {type(task).__name__}"
        assert task.priority == Priority.HIGH and task.status == Status.TODO
        assert task.due_date == DUE, f"due_date {task.due_date!r}"
        state["task"] = task.id
        return f"task {task.id}"

    def do_list_filtered() -> str:
        hit = list_tasks.sync_detailed(
            state["project"],
            client=authed(),
            status="todo,in_progress",
            priority="high,urgent",
            label="launch",
            q="LAUNCH",
            due_before=date(2026, 12, 2),
            sort=ListTasksSort("-created_at"),
            limit=10,
        )
        assert hit.status_code == 200, f"status {hit.status_code}: {hit.content[:300]!r}"
        assert hit.parsed is not None and not isinstance(hit.parsed, Problem), f"parsed {hit.parsed!r}"
        found: list[Task] = tasks_with_id(hit.parsed.data, state["task"])
        assert len(found) == 1, f"{len(hit.parsed.data)} tasks, not the created one"
        assert found[0].due_date == DUE, f"listed due_date {found[0].due_date!r} is not {DUE!r}"
        miss = list_tasks.sync_detailed(state["project"], client=authed(), priority="low")
        assert miss.parsed is not None and not isinstance(miss.parsed, Problem)
        assert not tasks_with_id(miss.parsed.data, state["task"]), "priority=low listed a high task"
        return f"{len(hit.parsed.data)} match, next_cursor {hit.parsed.next_cursor!r}"

    def do_get_with_etag() -> str:
        resp = get_task.sync_detailed(state["task"], client=authed())
        assert resp.status_code == 200, f"status {resp.status_code}"
        etag = resp.headers.get("ETag")
        assert etag, "no ETag header"
        state["etag"] = etag
        again = get_task.sync_detailed(state["task"], client=authed(), if_none_match=etag)
        assert again.status_code == 304, f"If-None-Match: status {again.status_code}"
        return f"ETag {etag}, 304 with If-None-Match"

    def do_patch_if_match() -> str:
        resp = update_task.sync_detailed(
            state["task"],
            client=authed(),
            body=UpdateTaskRequest(status=Status.IN_PROGRESS, title="Write and edit the launch post"),
            if_match=state["etag"],
        )
        assert resp.status_code == 200, f"status {resp.status_code}: {resp.content[:300]!r}"
        assert isinstance(resp.parsed, Task), f"parsed as {type(resp.parsed).__name__}"
        assert resp.parsed.status == Status.IN_PROGRESS
        new_etag = resp.headers.get("ETag")
        assert new_etag and new_etag != state["etag"], f"ETag {new_etag!r} after the write"
        return f"200, ETag {state['etag']} -> {new_etag}"

    def do_patch_stale() -> str:
        resp = update_task.sync_detailed(
            state["task"],
            client=authed(),
            body=UpdateTaskRequest(priority=Priority.URGENT),
            if_match=state["etag"],
        )
        assert resp.status_code == 412, f"status {resp.status_code}: {resp.content[:300]!r}"
        assert isinstance(resp.parsed, Problem), f"parsed as {type(resp.parsed).__name__}"
        assert str(resp.parsed.type_) == "https://taskapi.dev/problems/precondition-failed", resp.parsed.type_
        return f"412 {resp.parsed.title}"

    print(f"flow against {BASE_URL}")
    for name, check in [
        ("register", do_register),
        ("login", do_login),
        ("create project", do_create_project),
        ("create task", do_create_task),
        ("list tasks with filters", do_list_filtered),
        ("GET with ETag, If-None-Match 304", do_get_with_etag),
        ("PATCH with If-Match", do_patch_if_match),
        ("PATCH with the stale ETag is 412", do_patch_stale),
    ]:
        step(name, check)
    print(f"flow[{HOST}]: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
