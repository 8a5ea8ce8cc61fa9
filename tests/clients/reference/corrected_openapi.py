"""The corrections tests/clients asks of openapi.json, written out as a transformation.

A reference for fixing the document at its source (the Rust types and the utoipa finishing
code in src/http/openapi.rs), never applied to the committed document: run
`python3 tests/clients/reference/corrected_openapi.py openapi.json OUT.json` and point
scripts/clients.sh at a copy to see every check pass with the corrected document.
"""

import copy
import json
import sys

UUID = {"type": "string", "maxLength": 36, "pattern": "^[0-9a-fA-F-]{36}$"}
CONTROL_FREE = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
ENTITY_TAGS = '^(\\*|(W/)?"[\\x21\\x23-\\x7e]*"(\\s*,\\s*(W/)?"[\\x21\\x23-\\x7e]*")*)$'
LIMITED_HEADERS = ("RateLimit", "RateLimit-Policy")
PUBLIC = {("/v1/health", "get"), ("/v1/openapi.json", "get"), ("/docs", "get"),
          ("/v1/auth/register", "post"), ("/v1/auth/login", "post"), ("/v1/auth/refresh", "post")}
NEVER_LIMITED = {"/v1/health", "/v1/openapi.json", "/docs"}
METHODS = ("get", "put", "post", "patch", "delete")


def header_ref(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def nullable_ref(name: str, extra: dict) -> dict:
    out = {k: v for k, v in extra.items() if k in ("description", "example")}
    out["oneOf"] = [{"$ref": f"#/components/schemas/{name}"}, {"type": "null"}]
    return out


def correct(doc: dict) -> dict:
    d = copy.deepcopy(doc)
    s = d["components"]["schemas"]

    # info.license: the SPDX expression as `identifier` (OpenAPI 3.1 License Object).
    d["info"]["license"]["identifier"] = d["info"]["license"]["name"]

    # Lists: items by $ref to the named schema; next_cursor is always sent (null on the last page).
    for name in [n for n in s if n.startswith("Page_")]:
        s[name]["properties"]["data"]["items"] = {"$ref": f"#/components/schemas/{name[5:]}"}
        s[name]["properties"]["data"]["maxItems"] = 100
        s[name]["required"] = ["data", "next_cursor"]

    # Always-sent nullable fields are required.
    for name, fields in {"Task": ["assignee_id", "due_date", "completed_at"], "Project": ["description"],
                         "ApiKey": ["expires_at"], "Event": ["actor_id", "subject_id"]}.items():
        s[name]["required"] += fields
    # Problem.errors is omitted when absent, never null; status is an HTTP error status.
    s["Problem"]["properties"]["errors"]["type"] = "array"
    s["Problem"]["properties"]["status"].update({"minimum": 400, "maximum": 599})
    # A problem type is any URI; the known ones are documented, not a closed enum.
    known = s["ProblemType"].pop("enum")
    s["ProblemType"] = {"type": "string", "format": "uri", "examples": known,
                        "description": "One URI per class of error; clients must accept others. Known: "
                        + ", ".join(f"`{u}`" for u in known) + "."}

    # Timestamps are date-times.
    for schema in s.values():
        for prop, p in schema.get("properties", {}).items():
            if prop.endswith("_at"):
                p["format"] = "date-time"

    # Enums by reference: nullable ones as oneOf [$ref, null].
    for req in ("CreateTaskRequest", "UpdateTaskRequest"):
        props = s[req]["properties"]
        props["priority"] = nullable_ref("Priority", props["priority"])
        props["status"] = nullable_ref("Status", props["status"])
        props["assignee_id"].update({"maxLength": 36, "pattern": "^[0-9a-fA-F-]{36}$"})
        props["due_date"]["maxLength"] = 10
    for req in ("AddMemberRequest", "UpdateMemberRequest"):
        role = s[req]["properties"]["role"]
        s[req]["properties"]["role"] = {"$ref": "#/components/schemas/Role",
                                        **({"example": role["example"]} if "example" in role else {})}

    # Request inputs get the bounds the server applies (OWASP API4).
    s["LoginRequest"]["properties"]["email"].update({"format": "email", "maxLength": 254})
    s["LoginRequest"]["properties"]["password"].update({"format": "password", "maxLength": 128})
    s["RegisterRequest"]["properties"]["password"]["format"] = "password"
    s["ChangePasswordRequest"]["properties"]["current_password"].update({"format": "password", "maxLength": 128})
    s["ChangePasswordRequest"]["properties"]["new_password"]["format"] = "password"
    s["RefreshRequest"]["properties"]["refresh_token"].update({"pattern": "^rt_[A-Za-z0-9_-]{43}$", "maxLength": 46})
    s["CreateApiKeyRequest"]["properties"]["scopes"].update({"maxItems": 2, "uniqueItems": True})

    d["components"]["securitySchemes"]["accessToken"]["description"] += (
        " Issued and verified per RFC8725 (JWT BCP): EdDSA only, the algorithm checked"
        " explicitly, `kid`, `iss`, `aud`, `exp`/`nbf`/`iat` and `token_use` verified.")

    # Problem responses shared by limited routes may carry the limiter's headers.
    for name in ("Malformed", "UnsupportedMediaType", "Validation"):
        for h in LIMITED_HEADERS:
            d["components"]["responses"][name]["headers"][h] = header_ref(h)

    for path, item in d["paths"].items():
        for method in [m for m in item if m in METHODS]:
            op = item[method]
            if (path, method) in PUBLIC:
                op["security"] = []
            if path in NEVER_LIMITED:
                op["responses"].pop("429", None)
            for p in op.get("parameters", []):
                if "$ref" in p:
                    continue
                sch, name = p["schema"], p["name"]
                if p["in"] == "header" and isinstance(sch.get("type"), list):
                    p["schema"] = {"type": "string", "maxLength": 1024, "pattern": ENTITY_TAGS}
                elif p["in"] == "path":
                    p["schema"] = dict(UUID)
                elif name in ("status", "priority"):
                    # Each value at most once: every status is 41 characters, every priority 24.
                    sch["maxLength"] = 64 if name == "status" else 32
                elif name == "limit":
                    sch["format"] = "int32"
                elif name == "cursor":
                    sch.update({"maxLength": 512, "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{22}$"})
                elif name == "assignee":
                    sch.update({"maxLength": 36, "pattern": "^(me|none|[0-9a-fA-F-]{36})$"})
                elif name == "label":
                    sch.update({"minLength": 1, "maxLength": 32, "pattern": CONTROL_FREE})
                elif name in ("due_before", "due_after"):
                    sch["maxLength"] = 10
                elif name == "q":
                    sch["pattern"] = CONTROL_FREE
                elif name == "Idempotency-Key":
                    sch["maxLength"] = 255
                elif name == "sort":
                    sch["x-enum-varnames"] = [
                        v.lstrip("-").upper() + ("_DESC" if v.startswith("-") else "") for v in sch["enum"]]
            limited = path not in NEVER_LIMITED
            for status, resp in op["responses"].items():
                if "$ref" in resp:
                    continue
                headers = resp.setdefault("headers", {})
                headers["X-Request-Id"] = header_ref("X-Request-Id")
                if status == "304":
                    headers["ETag"] = {"description": "The current version tag", "schema": {"type": "string"}}
                before_limiter = status == "413" or (status == "401" and (path, method) not in PUBLIC)
                if limited and not before_limiter and (status[0] in "23" or status[0] == "4"):
                    for h in LIMITED_HEADERS:
                        headers[h] = header_ref(h)
    return d


if __name__ == "__main__":
    doc = json.load(open(sys.argv[1]))
    json.dump(correct(doc), open(sys.argv[2], "w"), indent=2)
