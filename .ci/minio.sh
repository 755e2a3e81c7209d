# Builds MinIO with `go install` at a pinned version, cached by version outside the clone.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

# ensure_minio CACHE_DIR: prints the path of a working minio binary, or fails.
ensure_minio() {
  local cache="$1" dir bin
  dir="$cache/minio-$MINIO_VERSION"
  bin="$dir/minio"
  if [[ -x "$bin" ]] && "$bin" --version >/dev/null 2>&1; then
    echo "$bin"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "ci: go not found; cannot build MinIO" >&2
    return 1
  fi
  echo "ci: building MinIO $MINIO_VERSION (a few minutes, once)" >&2
  mkdir -p "$dir"
  if GOBIN="$dir" GOFLAGS=-mod=mod go install "$MINIO_MODULE@$MINIO_VERSION" >&2; then
    echo "$bin"
    return 0
  fi
  echo "ci: MinIO build failed" >&2
  return 1
}
