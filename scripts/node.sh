# Node.js for the scripts: wrangler 4.164 (and its Miniflare 5 / workerd) needs
# Node >= 22.12. When the system's node is older (or absent), a pinned Node 22 LTS from
# the npm registry (package node-linux-<arch>, a plain node binary) is installed once
# into a cache outside the clone and put first on PATH for this shell only; the
# system's node is never replaced. npm itself stays the system's: it runs under
# whichever node is first on PATH (`#!/usr/bin/env node`).
# Sourced by scripts/lib.sh (and scripts/clients.sh); defines ensure_node.

NODE_MIN_VERSION="22.12.0"
NODE_PINNED_VERSION="22.23.5"
NODE_CACHE="${TASKAPI_NODE_CACHE:-$HOME/.cache/taskapi/node-$NODE_PINNED_VERSION}"

# version_at_least HAVE WANT: true when HAVE >= WANT (dotted numeric versions).
version_at_least() {
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]
}

# The version of the node first on PATH, without the leading v; empty when none.
current_node_version() {
  local v
  v="$(node --version 2>/dev/null || true)"
  echo "${v#v}"
}

ensure_node() {
  local have arch pkg bin
  have="$(current_node_version)"
  if [[ -n "$have" ]] && version_at_least "$have" "$NODE_MIN_VERSION"; then
    return 0
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=x64 ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 ;;
    *) echo "Node.js >= $NODE_MIN_VERSION is required (found ${have:-none}); install Node 22 LTS or newer" >&2; exit 1 ;;
  esac
  pkg="node-linux-$arch"
  bin="$NODE_CACHE/node_modules/$pkg/bin"
  if [[ "$("$bin/node" --version 2>/dev/null || true)" != "v$NODE_PINNED_VERSION" ]]; then
    command -v npm >/dev/null || {
      echo "Node.js >= $NODE_MIN_VERSION is required (found ${have:-none}), and npm to install it (apt-get install nodejs npm)" >&2
      exit 1
    }
    printf '==> %s\n' "system node is ${have:-absent} (< $NODE_MIN_VERSION): installing $pkg@$NODE_PINNED_VERSION into $NODE_CACHE" >&2
    mkdir -p "$NODE_CACHE"
    npm install --prefix "$NODE_CACHE" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      "$pkg@$NODE_PINNED_VERSION" >&2
    [[ "$("$bin/node" --version 2>/dev/null || true)" == "v$NODE_PINNED_VERSION" ]] || {
      echo "installing $pkg@$NODE_PINNED_VERSION did not give a working node in $bin" >&2
      exit 1
    }
  fi
  case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
  hash -r
}
